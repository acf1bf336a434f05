//! The GRU's BPTT is checked against central differences: every parameter, the inputs and
//! h0, in both forms, on random shapes and several seeds, in float64, to a max relative
//! error below 1e-6.

use ndarray::{Array2, Array3, ArrayD, Ix1, Ix2, Ix3};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::gru::{Gru, GruConfig, GruForm};
use recurrent::init::{rng, uniform, SeededRng};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// The loss $L = \sum_t \sum_{b,j} G_{t,b,j} h_{t,b,j}$ with random weights G, so that
/// $\partial L/\partial h_t = G_t$ and every state and every unit matters.
fn weighted_sum_loss(gru: &Gru<f64>, xs: &Array3<f64>, h0: &Array2<f64>, g: &Array3<f64>) -> f64 {
    let cache = gru.forward(xs.view(), h0.view()).unwrap();
    (&cache.hs() * g).sum()
}

/// Checks one random GRU of `form`; `scale` multiplies every parameter, so that a scale
/// above 1 drives the gates away from 1/2 and towards saturation.
fn check_gru(seed: u64, form: GruForm, scale: f64) {
    let mut r = rng(2000 + seed);
    let (t, b, d, h) = (
        r.random_range(1..=6),
        r.random_range(1..=3),
        r.random_range(1..=4),
        r.random_range(1..=4),
    );
    let mut gru = Gru::<f64>::new(&GruConfig {
        input_size: d,
        hidden_size: h,
        form,
        seed,
    })
    .unwrap();
    gru.w_ih *= scale;
    gru.w_hh *= scale;
    gru.b_ih *= scale;
    gru.b_hh *= scale;
    let xs = random3((t, b, d), &mut r);
    let h0 = uniform(b, h, 1.0, &mut r);
    let g = random3((t, b, h), &mut r);
    let cache = gru.forward(xs.view(), h0.view()).unwrap();
    let back = gru.backward(&cache, g.view()).unwrap();
    let tensors = [
        Checked::new(
            "w_ih",
            gru.w_ih.clone().into_dyn(),
            back.grads.w_ih.into_dyn(),
        ),
        Checked::new(
            "w_hh",
            gru.w_hh.clone().into_dyn(),
            back.grads.w_hh.into_dyn(),
        ),
        Checked::new(
            "b_ih",
            gru.b_ih.clone().into_dyn(),
            back.grads.b_ih.into_dyn(),
        ),
        Checked::new(
            "b_hh",
            gru.b_hh.clone().into_dyn(),
            back.grads.b_hh.into_dyn(),
        ),
        Checked::new("xs", xs.clone().into_dyn(), back.dxs.into_dyn()),
        Checked::new("h0", h0.clone().into_dyn(), back.ds0.into_dyn()),
    ];
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let gru = Gru {
            w_ih: v[0].clone().into_dimensionality::<Ix2>().unwrap(),
            w_hh: v[1].clone().into_dimensionality::<Ix2>().unwrap(),
            b_ih: v[2].clone().into_dimensionality::<Ix1>().unwrap(),
            b_hh: v[3].clone().into_dimensionality::<Ix1>().unwrap(),
            form,
        };
        let xs = v[4].clone().into_dimensionality::<Ix3>().unwrap();
        let h0 = v[5].clone().into_dimensionality::<Ix2>().unwrap();
        weighted_sum_loss(&gru, &xs, &h0, &g)
    });
    assert!(
        report.passes(TOLERANCE),
        "{form:?}, seed {seed}, scale {scale}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
    );
}

#[test]
fn reset_after_bptt_matches_central_differences_on_random_shapes() {
    for seed in 0..8 {
        check_gru(seed, GruForm::ResetAfter, 1.0);
    }
}

#[test]
fn reset_before_bptt_matches_central_differences_on_random_shapes() {
    for seed in 0..8 {
        check_gru(seed, GruForm::ResetBefore, 1.0);
    }
}

#[test]
fn bptt_matches_central_differences_with_gates_near_saturation() {
    for seed in 20..24 {
        check_gru(seed, GruForm::ResetAfter, 3.0);
        check_gru(seed, GruForm::ResetBefore, 3.0);
    }
}
