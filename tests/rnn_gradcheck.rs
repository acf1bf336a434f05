//! BPTT is checked against central differences: every parameter, the inputs and h0, on
//! random shapes and several seeds, in float64, to a max relative error below 1e-6, for
//! the tanh RNN and the ReLU RNN (with the IRNN's initialisation among them).

use ndarray::{Array2, Array3, ArrayD, Axis, Ix2, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform, SeededRng, IRNN_INPUT_STD};
use recurrent::{Init, Nonlinearity, Rnn, RnnConfig};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// The loss $L = \sum_t \sum_{b,j} G_{t,b,j} h_{t,b,j}$ with random weights G, so that
/// $\partial L/\partial h_t = G_t$ and every state and every unit matters.
fn weighted_sum_loss(rnn: &Rnn<f64>, xs: &Array3<f64>, h0: &Array2<f64>, g: &Array3<f64>) -> f64 {
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    (&cache.hs() * g).sum()
}

/// The signs of every pre-activation $a_t = x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b$
/// (true where $a > 0$): where the rectifier is on and where it is off.
fn active(rnn: &Rnn<f64>, xs: &Array3<f64>, h0: &Array2<f64>) -> Vec<bool> {
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let hs = cache.hs();
    let mut signs = Vec::new();
    for t in 0..xs.len_of(Axis(0)) {
        let h_prev = if t == 0 {
            h0.view()
        } else {
            hs.index_axis(Axis(0), t - 1)
        }; // (B, H)
        let a_t = xs.index_axis(Axis(0), t).dot(&rnn.w_xh.t()) + h_prev.dot(&rnn.w_hh.t()) + &rnn.b; // (B, H)
        signs.extend(a_t.iter().map(|&a| a > 0.0));
    }
    signs
}

fn check_rnn(seed: u64, init: Init, nonlinearity: Nonlinearity) {
    let mut r = rng(1000 + seed);
    let (t, b, d, h) = (
        r.random_range(1..=7),
        r.random_range(1..=3),
        r.random_range(1..=4),
        r.random_range(1..=5),
    );
    let mut rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        init,
        nonlinearity,
        seed,
    })
    .unwrap();
    // The IRNN's input weights (std 0.001) leave every unit that starts at zero within
    // 0.001 of the kink; spread them so the check exercises both sides of the rectifier.
    if init == (Init::Identity { scale: 1.0 }) {
        rnn.w_xh.mapv_inplace(|w| w * 500.0);
    }
    // The rectifier has no derivative at a = 0. If moving one number by ±ε moves a
    // pre-activation across 0, the central difference averages the two one-sided slopes
    // and disagrees with backward, which (like PyTorch) takes one of them: a failure of
    // the finite difference, not of the backward pass. So every perturbed evaluation
    // compares the on/off pattern of all pre-activations with the unperturbed one, and a
    // draw where any flips is redrawn. tanh is smooth and never needs this.
    for attempt in 0..20 {
        let xs = random3((t, b, d), &mut r);
        let h0 = uniform(b, h, 1.0, &mut r);
        let g = random3((t, b, h), &mut r);
        let pattern = active(&rnn, &xs, &h0);
        let crossed = std::cell::Cell::new(false);
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
                nonlinearity,
            };
            let xs = v[3].clone().into_dimensionality::<Ix3>().unwrap();
            let h0 = v[4].clone().into_dimensionality::<Ix2>().unwrap();
            if nonlinearity == Nonlinearity::Relu && active(&rnn, &xs, &h0) != pattern {
                crossed.set(true);
            }
            weighted_sum_loss(&rnn, &xs, &h0, &g)
        });
        if crossed.get() {
            continue;
        }
        assert!(
            report.passes(TOLERANCE),
            "seed {seed}, {nonlinearity:?}, attempt {attempt}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
        );
        return;
    }
    panic!("seed {seed}: every draw put a pre-activation within ε of the rectifier's kink");
}

#[test]
fn bptt_matches_central_differences_on_random_shapes() {
    for seed in 0..6 {
        check_rnn(seed, Init::Uniform, Nonlinearity::Tanh);
    }
}

#[test]
fn bptt_matches_central_differences_with_every_initialiser() {
    check_rnn(10, Init::Xavier, Nonlinearity::Tanh);
    check_rnn(11, Init::Orthogonal { gain: 1.2 }, Nonlinearity::Tanh);
    check_rnn(12, Init::Identity { scale: 1.0 }, Nonlinearity::Tanh);
}

#[test]
fn relu_bptt_matches_central_differences_on_random_shapes() {
    for seed in 20..26 {
        check_rnn(seed, Init::Uniform, Nonlinearity::Relu);
    }
    check_rnn(26, Init::Orthogonal { gain: 1.0 }, Nonlinearity::Relu);
    // The IRNN: W_hh = I, b = 0.
    for seed in 27..30 {
        check_rnn(seed, Init::Identity { scale: 1.0 }, Nonlinearity::Relu);
    }
}

#[test]
fn irnn_initialisation_is_le_et_al_s() {
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: 40,
        hidden_size: 50,
        init: Init::Identity { scale: 1.0 },
        nonlinearity: Nonlinearity::Relu,
        seed: 3,
    })
    .unwrap();
    assert_eq!(rnn.w_hh, Array2::eye(50));
    assert!(rnn.b.iter().all(|&v| v == 0.0));
    let n = rnn.w_xh.len() as f64;
    let mean = rnn.w_xh.sum() / n;
    let std = (rnn.w_xh.mapv(|w| (w - mean).powi(2)).sum() / n).sqrt();
    assert!(mean.abs() < 1e-4, "mean {mean}");
    assert!((std / IRNN_INPUT_STD - 1.0).abs() < 0.05, "std {std}");
}

#[test]
fn relu_step_is_the_rectified_pre_activation() {
    // With W_hh = I, b = 0 and no input, an IRNN copies its state's positive part.
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: 1,
        hidden_size: 3,
        init: Init::Identity { scale: 1.0 },
        nonlinearity: Nonlinearity::Relu,
        seed: 0,
    })
    .unwrap();
    let h_prev = ndarray::arr2(&[[0.5, -0.2, 2.0]]);
    let h = rnn
        .step(Array2::zeros((1, 1)).view(), h_prev.view())
        .unwrap();
    assert_eq!(h, ndarray::arr2(&[[0.5, 0.0, 2.0]]));
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
