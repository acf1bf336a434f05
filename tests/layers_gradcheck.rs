//! The output layer and both losses against central differences, and the whole model
//! (RNN + head + loss) end to end, for both kinds of task.

use ndarray::{Array2, ArrayD, Ix1, Ix2};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform};
use recurrent::loss::{mse, softmax_cross_entropy};
use recurrent::train::{SequenceModel, Task};
use recurrent::{Gru, GruConfig, Init, Linear, Lstm, LstmConfig, Params, Recurrent};

#[test]
fn linear_with_cross_entropy_matches_central_differences() {
    for seed in 0..3 {
        let mut r = rng(seed);
        let (n, h, c) = (
            r.random_range(1..6),
            r.random_range(1..5),
            r.random_range(2..6),
        );
        let layer = Linear::<f64>::new(h, c, &mut r).unwrap();
        let x = uniform(n, h, 2.0, &mut r);
        let targets: Vec<usize> = (0..n).map(|_| r.random_range(0..c)).collect();
        let (_, dlogits) =
            softmax_cross_entropy(layer.forward(x.view()).unwrap().view(), &targets).unwrap();
        let (grads, dx) = layer.backward(x.view(), dlogits.view()).unwrap();
        let tensors = [
            Checked::new("w", layer.w.clone().into_dyn(), grads.w.into_dyn()),
            Checked::new("b", layer.b.clone().into_dyn(), grads.b.into_dyn()),
            Checked::new("x", x.clone().into_dyn(), dx.into_dyn()),
        ];
        let report = check(&tensors, |v: &[ArrayD<f64>]| {
            let l = Linear {
                w: v[0].clone().into_dimensionality::<Ix2>().unwrap(),
                b: v[1].clone().into_dimensionality::<Ix1>().unwrap(),
            };
            let x = v[2].clone().into_dimensionality::<Ix2>().unwrap();
            softmax_cross_entropy(l.forward(x.view()).unwrap().view(), &targets)
                .unwrap()
                .0
        });
        assert!(report.passes(TOLERANCE), "seed {seed}:\n{report}");
    }
}

#[test]
fn mse_matches_central_differences() {
    let mut r = rng(9);
    let pred = uniform(4, 3, 1.0, &mut r);
    let target = uniform(4, 3, 1.0, &mut r);
    let (_, d) = mse(pred.view(), target.view()).unwrap();
    let report = check(
        &[Checked::new("pred", pred.into_dyn(), d.into_dyn())],
        |v: &[ArrayD<f64>]| {
            mse(
                v[0].view().into_dimensionality::<Ix2>().unwrap(),
                target.view(),
            )
            .unwrap()
            .0
        },
    );
    assert!(report.passes(TOLERANCE), "{report}");
}

#[test]
fn cross_entropy_is_finite_for_huge_logits_and_rejects_bad_targets() {
    let logits = ndarray::arr2(&[[1e4_f64, -1e4, 0.0], [-1e4, -1e4, 1e4]]);
    let (loss, grad) = softmax_cross_entropy(logits.view(), &[1, 2]).unwrap();
    assert!(loss.is_finite() && grad.iter().all(|g| g.is_finite()));
    approx::assert_abs_diff_eq!(loss, 1e4, epsilon = 1e-6);
    let err = softmax_cross_entropy(logits.view(), &[0, 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value in `targets`: targets[1] = 3 but there are only 3 classes"
    );
    let err = softmax_cross_entropy(logits.view(), &[0]).unwrap_err();
    assert!(err.to_string().contains("`logits`"), "{err}");
}

fn check_model<C: Recurrent<f64> + Clone>(model: SequenceModel<f64, C>, task: Task, seed: u64) {
    let batch = task.batch::<f64>(3, &mut rng(seed + 100)).unwrap();
    let eval = model.evaluate(&batch, None).unwrap();
    let tensors: Vec<Checked> = model
        .params()
        .into_iter()
        .zip(eval.params())
        .map(|((name, p), (_, g))| Checked::new(name, p.to_owned(), g.to_owned()))
        .collect();
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let mut m = model.clone();
        for ((_, mut p), value) in m.params_mut().into_iter().zip(v) {
            p.assign(value);
        }
        m.loss(&batch).unwrap()
    });
    assert!(report.passes(TOLERANCE), "{task:?}:\n{report}");
}

#[test]
fn whole_model_gradients_match_for_many_to_one_and_many_to_many() {
    for (task, seed) in [
        (Task::Adding { seq_len: 6 }, 0),
        (
            Task::Echo {
                seq_len: 6,
                delay: 2,
                vocab: 3,
            },
            1,
        ),
    ] {
        check_model(
            SequenceModel::<f64>::new(&task, 4, Init::Uniform, seed).unwrap(),
            task,
            seed,
        );
    }
}

#[test]
fn whole_model_gradients_match_with_lstm_and_gru_cells() {
    let task = Task::Echo {
        seq_len: 5,
        delay: 1,
        vocab: 3,
    };
    let lstm = Lstm::new(&LstmConfig {
        input_size: 3,
        hidden_size: 3,
        seed: 2,
        ..LstmConfig::default()
    })
    .unwrap();
    check_model(
        SequenceModel::with_cell(lstm, &task, 2).unwrap(),
        task.clone(),
        2,
    );
    let gru = Gru::new(&GruConfig {
        input_size: 3,
        hidden_size: 3,
        seed: 3,
        ..GruConfig::default()
    })
    .unwrap();
    check_model(SequenceModel::with_cell(gru, &task, 3).unwrap(), task, 3);
}

#[test]
fn linear_rejects_wrong_widths() {
    let layer = Linear::<f64>::new(3, 2, &mut rng(0)).unwrap();
    let err = layer.forward(Array2::zeros((4, 5)).view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch in `x`: expected [N, H=3], found [4, 5]"
    );
    assert!(Linear::<f64>::new(0, 2, &mut rng(0)).is_err());
}
