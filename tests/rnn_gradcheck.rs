//! BPTT is checked against central differences: every parameter, the inputs and h0, on
//! random shapes and several seeds, in float64, to a max relative error below 1e-6.

use ndarray::{Array2, Array3, ArrayD, Ix2, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::{Init, Rnn, RnnConfig};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// The loss $L = \sum_t \sum_{b,j} G_{t,b,j} h_{t,b,j}$ with random weights G, so that
/// $\partial L/\partial h_t = G_t$ and every state and every unit matters.
fn weighted_sum_loss(rnn: &Rnn<f64>, xs: &Array3<f64>, h0: &Array2<f64>, g: &Array3<f64>) -> f64 {
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    (&cache.hs() * g).sum()
}

fn check_rnn(seed: u64, init: Init) {
    let mut r = rng(1000 + seed);
    let (t, b, d, h) = (
        r.random_range(1..=7),
        r.random_range(1..=3),
        r.random_range(1..=4),
        r.random_range(1..=5),
    );
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        init,
        seed,
    })
    .unwrap();
    let xs = random3((t, b, d), &mut r);
    let h0 = uniform(b, h, 1.0, &mut r);
    let g = random3((t, b, h), &mut r);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let back = rnn.backward(&cache, g.view()).unwrap();
    let tensors = [
        Checked::new(
            "w_xh",
            rnn.w_xh.clone().into_dyn(),
            back.grads.w_xh.into_dyn(),
        ),
        Checked::new(
            "w_hh",
            rnn.w_hh.clone().into_dyn(),
            back.grads.w_hh.into_dyn(),
        ),
        Checked::new("b", rnn.b.clone().into_dyn(), back.grads.b.into_dyn()),
        Checked::new("xs", xs.clone().into_dyn(), back.dxs.into_dyn()),
        Checked::new("h0", h0.clone().into_dyn(), back.ds0.into_dyn()),
    ];
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let rnn = Rnn {
            w_xh: v[0].clone().into_dimensionality::<Ix2>().unwrap(),
            w_hh: v[1].clone().into_dimensionality::<Ix2>().unwrap(),
            b: v[2].clone().into_dimensionality().unwrap(),
        };
        let xs = v[3].clone().into_dimensionality::<Ix3>().unwrap();
        let h0 = v[4].clone().into_dimensionality::<Ix2>().unwrap();
        weighted_sum_loss(&rnn, &xs, &h0, &g)
    });
    assert!(
        report.passes(TOLERANCE),
        "seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
    );
}

#[test]
fn bptt_matches_central_differences_on_random_shapes() {
    for seed in 0..6 {
        check_rnn(seed, Init::Uniform);
    }
}

#[test]
fn bptt_matches_central_differences_with_every_initialiser() {
    check_rnn(10, Init::Xavier);
    check_rnn(11, Init::Orthogonal { gain: 1.2 });
    check_rnn(12, Init::Identity { scale: 1.0 });
}

#[test]
fn total_derivative_of_the_first_state_feeds_h0() {
    // dL/dh0 = (dL/dh_1 ⊙ (1 - h_1²)) W_hh: the last link of the chain, checked by hand.
    let mut r = rng(5);
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: 2,
        hidden_size: 3,
        ..RnnConfig::default()
    })
    .unwrap();
    let xs = random3((4, 2, 2), &mut r);
    let h0 = uniform(2, 3, 1.0, &mut r);
    let g = random3((4, 2, 3), &mut r);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let back = rnn.backward(&cache, g.view()).unwrap();
    let h1 = cache.hs().index_axis(ndarray::Axis(0), 0).to_owned();
    let da1 = &back.dhs.index_axis(ndarray::Axis(0), 0) * &h1.mapv(|v| 1.0 - v * v);
    approx::assert_abs_diff_eq!(back.ds0, da1.dot(&rnn.w_hh), epsilon = 1e-12);
}
