//! The LSTM's BPTT is checked against central differences for every variant: every
//! parameter, the inputs, h0 and c0, on random shapes and several seeds, in float64, to a max
//! relative error below 1e-6.

use ndarray::{Array2, Array3, ArrayD, Ix2, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::lstm::{GreffVariant, Lstm, LstmConfig};
use recurrent::Params;

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// The loss $L = \sum_t \sum_{b,j} G_{t,b,j} h_{t,b,j} + \sum_{b,j} C_{b,j} c_{T,b,j}$ with
/// random weights G and C, so that every output, the final cell and every path between them
/// matter: $\partial L/\partial h_t = G_t$ and $\partial L/\partial c_T = C$ from outside.
fn weighted_sum_loss(
    lstm: &Lstm<f64>,
    xs: &Array3<f64>,
    h0: &Array2<f64>,
    c0: &Array2<f64>,
    g: &Array3<f64>,
    gc: &Array2<f64>,
) -> f64 {
    let cache = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
    (&cache.hs() * g).sum() + (&cache.c_last() * gc).sum()
}

fn check_lstm(name: &str, base: &LstmConfig, seed: u64) {
    let mut r = rng(2000 + seed);
    let (t, b, d, h) = (
        r.random_range(1..=6),
        r.random_range(1..=3),
        r.random_range(1..=4),
        r.random_range(1..=4),
    );
    let config = LstmConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..base.clone()
    };
    let lstm = Lstm::<f64>::new(&config).unwrap();
    let xs = random3((t, b, d), &mut r);
    let h0 = uniform(b, h, 1.0, &mut r);
    let c0 = uniform(b, h, 1.0, &mut r);
    let g = random3((t, b, h), &mut r);
    let gc = uniform(b, h, 1.0, &mut r);
    let cache = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
    let back = lstm.backward(&cache, g.view(), Some(gc.view())).unwrap();
    let mut tensors: Vec<Checked> = lstm
        .params()
        .into_iter()
        .zip(back.grads.params())
        .map(|((name, value), (grad_name, grad))| {
            assert_eq!(
                name, grad_name,
                "gradients must list the parameters in order"
            );
            Checked::new(name, value.to_owned(), grad.to_owned())
        })
        .collect();
    let n = tensors.len();
    tensors.push(Checked::new("xs", xs.into_dyn(), back.dxs.into_dyn()));
    tensors.push(Checked::new("h0", h0.into_dyn(), back.ds0.h.into_dyn()));
    tensors.push(Checked::new("c0", c0.into_dyn(), back.ds0.c.into_dyn()));
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let mut nudged = lstm.clone();
        for ((_, mut p), value) in nudged.params_mut().into_iter().zip(v) {
            p.assign(value);
        }
        let xs = v[n].clone().into_dimensionality::<Ix3>().unwrap();
        let h0 = v[n + 1].clone().into_dimensionality::<Ix2>().unwrap();
        let c0 = v[n + 2].clone().into_dimensionality::<Ix2>().unwrap();
        weighted_sum_loss(&nudged, &xs, &h0, &c0, &g, &gc)
    });
    assert!(
        report.passes(TOLERANCE),
        "{name}, seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
    );
}

fn check_seeds(name: &str, config: &LstmConfig) {
    for seed in 0..5 {
        check_lstm(name, config, seed);
    }
}

#[test]
fn pytorch_lstm_matches_central_differences() {
    check_seeds("PyTorch", &LstmConfig::default());
}

#[test]
fn pytorch_lstm_with_forget_bias_matches_central_differences() {
    let config = LstmConfig {
        forget_bias: 1.0,
        ..LstmConfig::default()
    };
    check_seeds("PyTorch, forget_bias 1", &config);
}

#[test]
fn every_greff_variant_matches_central_differences() {
    for variant in GreffVariant::ALL {
        let config = LstmConfig::greff(variant, 1, 1);
        check_seeds(&format!("{variant:?}"), &config);
    }
}

#[test]
fn combined_variants_match_central_differences() {
    let combos = [
        (
            "CIFG without peepholes",
            LstmConfig {
                coupled: true,
                ..LstmConfig::default()
            },
        ),
        (
            "FGR without peepholes",
            LstmConfig {
                full_gate_recurrence: true,
                ..LstmConfig::default()
            },
        ),
        (
            "no gates and no activations",
            LstmConfig {
                input_gate: false,
                forget_gate: false,
                output_gate: false,
                input_activation: false,
                output_activation: false,
                ..LstmConfig::default()
            },
        ),
    ];
    for (name, config) in &combos {
        check_seeds(name, config);
    }
}
