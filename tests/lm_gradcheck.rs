//! The language model's backward pass against central differences, in float64: the
//! embedding (whose gradient is a scatter-add of the input gradients), every LSTM layer,
//! the head, and the initial state of every layer, over random vocabularies, depths and
//! window shapes, several seeds, to a max relative error below 1e-6.

use ndarray::{Array2, ArrayD, Ix2};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform};
use recurrent::lm::{LanguageModel, LmConfig, LmState, LmWorkspace};
use recurrent::Params;

#[test]
fn language_model_gradients_match_central_differences() {
    for seed in 0..6 {
        let mut r = rng(900 + seed);
        let (v, e, h) = (
            r.random_range(2..=7),
            r.random_range(1..=4),
            r.random_range(1..=5),
        );
        let (layers, t, b) = (
            r.random_range(1..=3),
            r.random_range(1..=5),
            r.random_range(1..=6),
        );
        let model = LanguageModel::<f64>::new(&LmConfig {
            vocab_size: v,
            embed_size: e,
            hidden_size: h,
            layers,
            forget_bias: 1.0,
            seed,
        })
        .unwrap();
        // Tokens repeat, so some embedding rows collect several steps' gradients.
        let inputs = Array2::from_shape_simple_fn((t, b), || r.random_range(0..v));
        let targets = Array2::from_shape_simple_fn((t, b), || r.random_range(0..v));
        let s0 = LmState {
            h: (0..layers).map(|_| uniform(b, h, 1.0, &mut r)).collect(),
            c: (0..layers).map(|_| uniform(b, h, 1.0, &mut r)).collect(),
        };
        let mut ws = LmWorkspace::default();
        let mut state = s0.clone();
        model
            .train_step(inputs.view(), targets.view(), &mut state, &mut ws)
            .unwrap();
        let ds0 = ws.initial_state_grads();
        let mut tensors: Vec<Checked> = model
            .params()
            .into_iter()
            .zip(ws.grads())
            .map(|((name, p), (gname, g))| {
                assert_eq!(name, gname, "gradients are listed as the parameters");
                Checked::new(name, p.to_owned(), g.to_owned())
            })
            .collect();
        let n_params = tensors.len();
        for l in 0..layers {
            tensors.push(Checked::new(
                format!("h0[{l}]"),
                s0.h[l].clone().into_dyn(),
                ds0.h[l].clone().into_dyn(),
            ));
            tensors.push(Checked::new(
                format!("c0[{l}]"),
                s0.c[l].clone().into_dyn(),
                ds0.c[l].clone().into_dyn(),
            ));
        }
        let report = check(&tensors, |vals: &[ArrayD<f64>]| {
            let mut m = model.clone();
            for ((_, mut p), val) in m.params_mut().into_iter().zip(vals) {
                p.assign(val);
            }
            let two = |a: &ArrayD<f64>| a.clone().into_dimensionality::<Ix2>().unwrap();
            let mut s = LmState {
                h: (0..layers).map(|l| two(&vals[n_params + 2 * l])).collect(),
                c: (0..layers)
                    .map(|l| two(&vals[n_params + 2 * l + 1]))
                    .collect(),
            };
            m.train_step(
                inputs.view(),
                targets.view(),
                &mut s,
                &mut LmWorkspace::default(),
            )
            .unwrap()
        });
        assert!(
            report.passes(TOLERANCE),
            "seed {seed} (V={v}, E={e}, H={h}, layers={layers}, T={t}, B={b}):\n{report}"
        );
    }
}
