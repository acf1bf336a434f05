//! The kinds of sequence task train through `SequenceModel::evaluate`: its gradients on
//! their batches (front-padded reviews read at the last step, a number fed once, a tag at
//! every step) against central differences, for the RNN, the LSTM and the GRU, every
//! parameter and the inputs, random sizes, several seeds.

use ndarray::{s, Array3, ArrayD, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::rng;
use recurrent::kinds::{Names, Sentiment, Spell};
use recurrent::tasks::{Batch, Targets};
use recurrent::train::{Data, SequenceModel};
use recurrent::{Gru, GruConfig, Lstm, LstmConfig, Params, Recurrent, Rnn, RnnConfig};

fn check_on<C: Recurrent<f64> + Clone>(
    model: SequenceModel<f64, C>,
    batch: &Batch<f64>,
    what: &str,
) {
    let eval = model.evaluate(batch, None).unwrap();
    let mut tensors: Vec<Checked> = model
        .params()
        .into_iter()
        .zip(eval.params())
        .map(|((name, p), (_, g))| Checked::new(name, p.to_owned(), g.to_owned()))
        .collect();
    tensors.push(Checked::new(
        "xs",
        batch.xs.clone().into_dyn(),
        eval.rnn.dxs.clone().into_dyn(),
    ));
    let n = tensors.len() - 1;
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let mut m = model.clone();
        for ((_, mut p), value) in m.params_mut().into_iter().zip(&v[..n]) {
            p.assign(value);
        }
        let xs: Array3<f64> = v[n].clone().into_dimensionality::<Ix3>().unwrap();
        let b = Batch {
            xs,
            targets: batch.targets.clone(),
        };
        m.loss(&b).unwrap()
    });
    assert!(report.passes(TOLERANCE), "{what}:\n{report}");
}

fn every_cell(data: &impl Data, batch: &Batch<f64>, h: usize, seed: u64, what: &str) {
    let d = data.input_size();
    let rnn = Rnn::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..RnnConfig::default()
    })
    .unwrap();
    check_on(
        SequenceModel::with_cell(rnn, data, seed).unwrap(),
        batch,
        &format!("{what}, RNN"),
    );
    let lstm = Lstm::new(&LstmConfig {
        input_size: d,
        hidden_size: h,
        forget_bias: 1.0,
        seed,
        ..LstmConfig::default()
    })
    .unwrap();
    check_on(
        SequenceModel::with_cell(lstm, data, seed).unwrap(),
        batch,
        &format!("{what}, LSTM"),
    );
    let gru = Gru::new(&GruConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..GruConfig::default()
    })
    .unwrap();
    check_on(
        SequenceModel::with_cell(gru, data, seed).unwrap(),
        batch,
        &format!("{what}, GRU"),
    );
}

/// The first `steps` steps of a batch whose targets start at step 0. The speller's full
/// 14 steps of 28 classes give a loss whose rounding (about 1e-14) central differences turn
/// into errors of about 1e-10, the size of its smallest recurrent gradients; six steps of
/// the same task (one input, then zeros) keep the check sharp.
fn first_steps(batch: Batch<f64>, steps: usize) -> Batch<f64> {
    let Targets::Classes { from: 0, classes } = batch.targets else {
        panic!("the speller has a target at every step")
    };
    let b = batch.xs.dim().1;
    Batch {
        xs: batch.xs.slice(s![..steps, .., ..]).to_owned(),
        targets: Targets::Classes {
            from: 0,
            classes: classes[..steps * b].to_vec(),
        },
    }
}

#[test]
fn gradients_match_on_every_kind_of_task() {
    for seed in 0..3 {
        let mut r = rng(seed);
        let (h, b) = (r.random_range(2..6), r.random_range(1..4));
        let sentiment = Sentiment::default();
        let batch = sentiment.batch::<f64>(b, &mut r).unwrap();
        every_cell(
            &sentiment,
            &batch,
            h,
            seed,
            &format!("many-to-one, seed {seed}"),
        );
        let spell = Spell::default();
        let batch = first_steps(spell.batch::<f64>(b, &mut r).unwrap(), 6);
        every_cell(
            &spell,
            &batch,
            h,
            seed,
            &format!("one-to-many, seed {seed}"),
        );
        let names = Names {
            seq_len: r.random_range(3..9),
        };
        let batch = names.batch::<f64>(b, &mut r).unwrap();
        every_cell(
            &names,
            &batch,
            h,
            seed,
            &format!("aligned tagging, seed {seed}"),
        );
    }
}
