//! The Elman RNN's forward pass, truncated BPTT, float32, and its error messages.

use approx::assert_abs_diff_eq;
use ndarray::{s, Array2, Array3, Axis};
use rand::Rng;
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::{Error, Recurrent, Rnn, RnnConfig};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

fn setup(
    t: usize,
    b: usize,
    d: usize,
    h: usize,
    seed: u64,
) -> (Rnn<f64>, Array3<f64>, Array2<f64>, Array3<f64>) {
    let mut r = rng(seed);
    let rnn = Rnn::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..RnnConfig::default()
    })
    .unwrap();
    (
        rnn,
        random3((t, b, d), &mut r),
        uniform(b, h, 1.0, &mut r),
        random3((t, b, h), &mut r),
    )
}

#[test]
fn fused_forward_equals_step_by_step() {
    let (rnn, xs, h0, _) = setup(6, 3, 4, 5, 1);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let mut h = h0.clone();
    for t in 0..6 {
        h = rnn.step(xs.slice(s![t, .., ..]), h.view()).unwrap();
        assert_abs_diff_eq!(cache.hs().index_axis(Axis(0), t), h.view(), epsilon = 1e-14);
    }
    assert_abs_diff_eq!(cache.h_last(), h.view(), epsilon = 1e-14);
}

#[test]
fn truncated_bptt_equals_full_bptt_when_k_covers_the_sequence() {
    for (seed, t) in [(0, 1), (1, 5), (2, 9)] {
        let (rnn, xs, h0, g) = setup(t, 2, 3, 4, seed);
        let cache = rnn.forward(xs.view(), h0.view()).unwrap();
        let full = rnn.backward(&cache, g.view()).unwrap();
        for k in [t, t + 3] {
            let trunc = rnn.backward_truncated(&cache, g.view(), k).unwrap();
            assert_abs_diff_eq!(trunc.grads.w_xh, full.grads.w_xh, epsilon = 1e-12);
            assert_abs_diff_eq!(trunc.grads.w_hh, full.grads.w_hh, epsilon = 1e-12);
            assert_abs_diff_eq!(trunc.grads.b, full.grads.b, epsilon = 1e-12);
            assert_abs_diff_eq!(trunc.dxs, full.dxs, epsilon = 1e-12);
            assert_abs_diff_eq!(trunc.ds0, full.ds0, epsilon = 1e-12);
            assert_abs_diff_eq!(trunc.dhs, full.dhs, epsilon = 1e-12);
        }
    }
}

#[test]
fn bptt_1_keeps_only_the_direct_terms() {
    // With k = 1 each error passes one step only: dL/da_t = G_t ⊙ (1 - h_t²), and only the
    // error at h_1 reaches h0, as da_1 W_hh.
    let (rnn, xs, h0, g) = setup(5, 2, 3, 4, 3);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let trunc = rnn.backward_truncated(&cache, g.view(), 1).unwrap();
    let das = &g * &cache.hs().mapv(|v| 1.0 - v * v);
    let db = das.sum_axis(Axis(0)).sum_axis(Axis(0));
    assert_abs_diff_eq!(trunc.grads.b, db, epsilon = 1e-12);
    assert_abs_diff_eq!(trunc.dhs, g, epsilon = 1e-12);
    assert_abs_diff_eq!(
        trunc.ds0,
        das.index_axis(Axis(0), 0).dot(&rnn.w_hh),
        epsilon = 1e-12
    );
}

#[test]
fn shorter_truncation_changes_the_gradient() {
    let (rnn, xs, h0, g) = setup(8, 2, 3, 4, 4);
    let cache = rnn.forward(xs.view(), h0.view()).unwrap();
    let full = rnn.backward(&cache, g.view()).unwrap();
    let trunc = rnn.backward_truncated(&cache, g.view(), 3).unwrap();
    let diff = (&full.grads.w_hh - &trunc.grads.w_hh).mapv(f64::abs).sum();
    assert!(
        diff > 1e-6,
        "truncation to 3 of 8 steps should drop some gradient, diff {diff}"
    );
}

#[test]
fn float32_agrees_with_float64() {
    let (rnn, xs, h0, g) = setup(7, 3, 4, 6, 5);
    let rnn32 = Rnn {
        w_xh: rnn.w_xh.mapv(|v| v as f32),
        w_hh: rnn.w_hh.mapv(|v| v as f32),
        b: rnn.b.mapv(|v| v as f32),
        nonlinearity: recurrent::Nonlinearity::Tanh,
    };
    let c64 = rnn.forward(xs.view(), h0.view()).unwrap();
    let c32 = rnn32
        .forward(xs.mapv(|v| v as f32).view(), h0.mapv(|v| v as f32).view())
        .unwrap();
    assert_abs_diff_eq!(c32.hs().mapv(f64::from), c64.hs(), epsilon = 1e-5);
    let b64 = rnn.backward(&c64, g.view()).unwrap();
    let b32 = rnn32.backward(&c32, g.mapv(|v| v as f32).view()).unwrap();
    assert_abs_diff_eq!(
        b32.grads.w_hh.mapv(f64::from),
        b64.grads.w_hh,
        epsilon = 1e-4
    );
}

#[test]
fn the_trait_view_is_the_same_layer() {
    let (rnn, xs, h0, g) = setup(4, 2, 3, 4, 6);
    let cache = rnn.forward_seq(xs.view(), &h0).unwrap();
    assert_eq!(
        rnn.outputs(&cache),
        rnn.forward(xs.view(), h0.view()).unwrap().hs()
    );
    assert_eq!(rnn.final_state(&cache), cache.h_last());
    assert_eq!(rnn.zero_state(2).dim(), (2, 4));
    let back = rnn.backward_seq(&cache, g.view()).unwrap();
    assert_eq!(back.grads, rnn.backward(&cache, g.view()).unwrap().grads);
}

#[test]
fn wrong_shapes_name_the_argument_and_both_shapes() {
    let (rnn, _, _, _) = setup(1, 1, 3, 4, 0);
    let xs = Array3::<f64>::zeros((5, 2, 7));
    let h0 = Array2::<f64>::zeros((2, 4));
    let msg = rnn.forward(xs.view(), h0.view()).unwrap_err().to_string();
    assert_eq!(
        msg,
        "shape mismatch in `xs`: expected [T, B, D=3], found [5, 2, 7]"
    );
    let xs = Array3::<f64>::zeros((5, 2, 3));
    let h0 = Array2::<f64>::zeros((3, 4));
    let msg = rnn.forward(xs.view(), h0.view()).unwrap_err().to_string();
    assert_eq!(
        msg,
        "shape mismatch in `h0`: expected [B=2, H=4], found [3, 4]"
    );
    let cache = rnn
        .forward(xs.view(), Array2::zeros((2, 4)).view())
        .unwrap();
    let msg = rnn
        .backward(&cache, Array3::zeros((5, 2, 5)).view())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `dhs`: expected [T=5, B=2, H=4], found [5, 2, 5]"
    );
}

#[test]
fn empty_sequences_nan_and_bad_configs_are_clear_errors() {
    let (rnn, _, _, _) = setup(1, 1, 3, 4, 0);
    let err = rnn
        .forward(
            Array3::zeros((0, 2, 3)).view(),
            Array2::zeros((2, 4)).view(),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "`xs` is empty: axis T has length 0");
    let mut xs = Array3::<f64>::zeros((2, 2, 3));
    xs[[1, 0, 2]] = f64::NAN;
    let err = rnn
        .forward(xs.view(), Array2::zeros((2, 4)).view())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`xs` holds a non-finite value NaN at index [1, 0, 2]"),
        "{err}"
    );
    let err = Rnn::<f64>::new(&RnnConfig {
        hidden_size: 0,
        ..RnnConfig::default()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Config {
            field: "hidden_size",
            ..
        }
    ));
    let cache = rnn
        .forward(
            Array3::zeros((2, 2, 3)).view(),
            Array2::zeros((2, 4)).view(),
        )
        .unwrap();
    let err = rnn
        .backward_truncated(&cache, Array3::zeros((2, 2, 4)).view(), 0)
        .unwrap_err();
    assert!(matches!(err, Error::Config { field: "k", .. }));
}

#[test]
fn cache_memory_grows_linearly_with_t() {
    let (rnn, _, h0, _) = setup(1, 2, 3, 4, 0);
    let bytes = |t: usize| {
        rnn.forward(Array3::zeros((t, 2, 3)).view(), h0.view())
            .unwrap()
            .bytes()
    };
    assert_eq!(bytes(20) - bytes(10), 10 * 2 * (3 + 4) * 8);
}
