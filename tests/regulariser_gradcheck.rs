//! Pascanu et al.'s gradient-flow penalty Ω is checked against central differences of the
//! function it states: the errors δ_t = ∂E/∂h_t are held fixed (the paper's approximation)
//! and Ω is differenced through the forward pass, over every parameter, the inputs and h0,
//! on random shapes and several seeds, in float64, to a max relative error below 1e-6.

use ndarray::{Array2, Array3, ArrayD, Ix2, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::regulariser::gradient_flow_penalty;
use recurrent::{Init, Rnn, RnnConfig};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

fn omega(rnn: &Rnn<f64>, xs: &Array3<f64>, h0: &Array2<f64>, deltas: &Array3<f64>) -> f64 {
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    gradient_flow_penalty(rnn, &cache, deltas.view()).unwrap().0
}

fn check_penalty(seed: u64, init: Init) {
    let mut r = rng(3000 + seed);
    let (t, b, d, h) = (
        r.random_range(1..=6),
        r.random_range(1..=3),
        r.random_range(1..=4),
        r.random_range(1..=5),
    );
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        init,
        seed,
        ..RnnConfig::default()
    })
    .unwrap();
    let xs = random3((t, b, d), &mut r);
    let h0 = uniform(b, h, 1.0, &mut r);
    let deltas = random3((t, b, h), &mut r);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let (_, back) = gradient_flow_penalty(&rnn, &cache, deltas.view()).unwrap();
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
            nonlinearity: recurrent::Nonlinearity::Tanh,
        };
        let xs = v[3].clone().into_dimensionality::<Ix3>().unwrap();
        let h0 = v[4].clone().into_dimensionality::<Ix2>().unwrap();
        omega(&rnn, &xs, &h0, &deltas)
    });
    assert!(
        report.passes(TOLERANCE),
        "seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
    );
}

#[test]
fn penalty_gradient_matches_central_differences_on_random_shapes() {
    for seed in 0..8 {
        check_penalty(seed, Init::Uniform);
    }
}

#[test]
fn penalty_gradient_matches_central_differences_with_large_and_orthogonal_weights() {
    // Gain 1.5 drives tanh towards saturation, where the (1 - h²) route dominates.
    check_penalty(20, Init::Orthogonal { gain: 1.5 });
    check_penalty(21, Init::Xavier);
    check_penalty(22, Init::Identity { scale: 1.0 });
}

#[test]
fn penalty_with_the_true_errors_of_a_loss_is_differentiable_the_same_way() {
    // δ_t taken from BPTT of a weighted-sum loss, as the training loop does, then frozen.
    let mut r = rng(77);
    let rnn = Rnn::<f64>::new(&RnnConfig {
        input_size: 3,
        hidden_size: 4,
        init: Init::Uniform,
        seed: 7,
        ..RnnConfig::default()
    })
    .unwrap();
    let xs = random3((5, 2, 3), &mut r);
    let h0 = uniform(2, 4, 1.0, &mut r);
    let g = random3((5, 2, 4), &mut r);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let deltas = rnn.backward(&cache, g.view()).unwrap().dhs;
    let (_, back) = gradient_flow_penalty(&rnn, &cache, deltas.view()).unwrap();
    let tensors = [Checked::new(
        "w_hh",
        rnn.w_hh.clone().into_dyn(),
        back.grads.w_hh.into_dyn(),
    )];
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let rnn = Rnn {
            w_hh: v[0].clone().into_dimensionality::<Ix2>().unwrap(),
            ..rnn.clone()
        };
        omega(&rnn, &xs, &h0, &deltas)
    });
    assert!(report.passes(TOLERANCE), "{report}");
}
