//! The GRU's two forms: the fused forward pass against the gate-by-gate step, float32,
//! one unit by hand, the update-gate flip between the forms, its parameter count and its
//! error messages.

use approx::assert_abs_diff_eq;
use ndarray::{arr1, arr2, s, Array2, Array3, Axis};
use rand::Rng;
use recurrent::gru::{Gru, GruConfig, GruForm};
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::{Error, Params, Recurrent};

const FORMS: [GruForm; 2] = [GruForm::ResetAfter, GruForm::ResetBefore];

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

fn setup(
    (t, b, d, h): (usize, usize, usize, usize),
    form: GruForm,
    seed: u64,
) -> (Gru<f64>, Array3<f64>, Array2<f64>, Array3<f64>) {
    let mut r = rng(seed);
    let gru = Gru::new(&GruConfig {
        input_size: d,
        hidden_size: h,
        form,
        seed,
    })
    .unwrap();
    (
        gru,
        random3((t, b, d), &mut r),
        uniform(b, h, 1.0, &mut r),
        random3((t, b, h), &mut r),
    )
}

#[test]
fn fused_forward_equals_step_by_step() {
    for form in FORMS {
        let (gru, xs, h0, _) = setup((6, 3, 4, 5), form, 1);
        let cache = gru.forward(xs.view(), h0.view()).unwrap();
        let mut h = h0.clone();
        for t in 0..6 {
            h = gru.step(xs.slice(s![t, .., ..]), h.view()).unwrap();
            assert_abs_diff_eq!(cache.hs().index_axis(Axis(0), t), h.view(), epsilon = 1e-14);
        }
        assert_abs_diff_eq!(cache.h_last(), h.view(), epsilon = 1e-14);
    }
}

#[test]
fn the_two_forms_compute_different_states() {
    let (after, xs, h0, _) = setup((4, 2, 3, 4), GruForm::ResetAfter, 2);
    let before = Gru {
        form: GruForm::ResetBefore,
        ..after.clone()
    };
    let ha = after.forward(xs.view(), h0.view()).unwrap();
    let hb = before.forward(xs.view(), h0.view()).unwrap();
    let diff = (&ha.hs() - &hb.hs()).mapv(f64::abs).sum();
    assert!(diff > 1e-3, "same parameters, different forms: diff {diff}");
}

#[test]
fn with_the_reset_gate_open_the_forms_differ_only_by_the_update_convention() {
    // r = σ(40) is 1 to double precision, so both candidates are
    // tanh(x W_in^T + b_in + h W_hn^T + b_hn). ResetAfter's z keeps the old state and
    // ResetBefore's takes the candidate; negating the z rows (σ(-a) = 1 - σ(a)) turns one
    // convention into the other, and the two layers then compute the same states.
    let (mut after, xs, h0, _) = setup((5, 2, 3, 4), GruForm::ResetAfter, 3);
    let h = 4;
    after.w_ih.slice_mut(s![..h, ..]).fill(0.0);
    after.w_hh.slice_mut(s![..h, ..]).fill(0.0);
    after.b_ih.slice_mut(s![..h]).fill(40.0);
    after.b_hh.slice_mut(s![..h]).fill(0.0);
    let mut before = Gru {
        form: GruForm::ResetBefore,
        ..after.clone()
    };
    before.w_ih.slice_mut(s![h..2 * h, ..]).mapv_inplace(|v| -v);
    before.w_hh.slice_mut(s![h..2 * h, ..]).mapv_inplace(|v| -v);
    before.b_ih.slice_mut(s![h..2 * h]).mapv_inplace(|v| -v);
    before.b_hh.slice_mut(s![h..2 * h]).mapv_inplace(|v| -v);
    let ha = after.forward(xs.view(), h0.view()).unwrap();
    let hb = before.forward(xs.view(), h0.view()).unwrap();
    assert_abs_diff_eq!(ha.hs(), hb.hs(), epsilon = 1e-14);
}

#[test]
fn float32_agrees_with_float64() {
    for form in FORMS {
        let (gru, xs, h0, g) = setup((7, 3, 4, 6), form, 5);
        let gru32 = Gru {
            w_ih: gru.w_ih.mapv(|v| v as f32),
            w_hh: gru.w_hh.mapv(|v| v as f32),
            b_ih: gru.b_ih.mapv(|v| v as f32),
            b_hh: gru.b_hh.mapv(|v| v as f32),
            form,
        };
        let c64 = gru.forward(xs.view(), h0.view()).unwrap();
        let c32 = gru32
            .forward(xs.mapv(|v| v as f32).view(), h0.mapv(|v| v as f32).view())
            .unwrap();
        assert_abs_diff_eq!(c32.hs().mapv(f64::from), c64.hs(), epsilon = 1e-5);
        let b64 = gru.backward(&c64, g.view()).unwrap();
        let b32 = gru32.backward(&c32, g.mapv(|v| v as f32).view()).unwrap();
        assert_abs_diff_eq!(
            b32.grads.w_hh.mapv(f64::from),
            b64.grads.w_hh,
            epsilon = 1e-4
        );
        assert_abs_diff_eq!(b32.ds0.mapv(f64::from), b64.ds0, epsilon = 1e-5);
    }
}

/// One unit, one input: only the candidate reads x and h, and the gates are set by their
/// biases, r = σ(0) = 1/2 and z = σ(ln 3) = 3/4.
fn one_unit(form: GruForm) -> Gru<f64> {
    Gru {
        w_ih: arr2(&[[0.0], [0.0], [1.0]]),    // W_ir, W_iz, W_in
        w_hh: arr2(&[[0.0], [0.0], [2.0]]),    // W_hr, W_hz, W_hn
        b_ih: arr1(&[0.0, 3.0_f64.ln(), 0.0]), // b_ir, b_iz, b_in
        b_hh: arr1(&[0.0, 0.0, 1.0]),          // b_hr, b_hz, b_hn
        form,
    }
}

#[test]
fn one_unit_by_hand_reset_after() {
    // x = 1, h0 = 1/2:
    // n  = tanh(1·1 + 0 + r·(2·(1/2) + 1)) = tanh(1 + 1/2 · 2) = tanh 2
    // h1 = (1 - z) n + z h0 = tanh(2)/4 + 3/8
    let gru = one_unit(GruForm::ResetAfter);
    let (x, h0) = (arr2(&[[1.0]]), arr2(&[[0.5]]));
    let h1 = 0.25 * 2.0_f64.tanh() + 0.375;
    assert_abs_diff_eq!(h1, 0.616_006_895_018_954_2, epsilon = 1e-15);
    assert_abs_diff_eq!(
        gru.step(x.view(), h0.view()).unwrap()[[0, 0]],
        h1,
        epsilon = 1e-15
    );
    let xs = x.insert_axis(Axis(0));
    let cache = gru.forward(xs.view(), h0.view()).unwrap();
    assert_abs_diff_eq!(cache.h_last()[[0, 0]], h1, epsilon = 1e-15);
    // L = h1. With W_hr = W_hz = 0, h0 reaches h1 directly (weight z) and through n's
    // recurrent term: dL/dh0 = z + (1 - z)(1 - n²) · r · W_hn.
    let back = gru
        .backward(&cache, Array3::ones((1, 1, 1)).view())
        .unwrap();
    let n = 2.0_f64.tanh();
    let dh0 = 0.75 + 0.25 * (1.0 - n * n) * 0.5 * 2.0;
    assert_abs_diff_eq!(back.ds0[[0, 0]], dh0, epsilon = 1e-15);
}

#[test]
fn one_unit_by_hand_reset_before() {
    // x = 1, h0 = 1/2:
    // h̃  = tanh(1·1 + 0 + 2·(r·h0) + 1) = tanh(1 + 2·1/4 + 1) = tanh 2.5
    // h1 = (1 - z) h0 + z h̃ = 1/8 + 3/4 tanh 2.5
    let gru = one_unit(GruForm::ResetBefore);
    let (x, h0) = (arr2(&[[1.0]]), arr2(&[[0.5]]));
    let h1 = 0.125 + 0.75 * 2.5_f64.tanh();
    assert_abs_diff_eq!(h1, 0.864_960_723_613_572_8, epsilon = 1e-15);
    assert_abs_diff_eq!(
        gru.step(x.view(), h0.view()).unwrap()[[0, 0]],
        h1,
        epsilon = 1e-15
    );
    let xs = x.insert_axis(Axis(0));
    let cache = gru.forward(xs.view(), h0.view()).unwrap();
    assert_abs_diff_eq!(cache.h_last()[[0, 0]], h1, epsilon = 1e-15);
    // L = h1: dL/dh0 = (1 - z) + z (1 - h̃²) · W_hn · r.
    let back = gru
        .backward(&cache, Array3::ones((1, 1, 1)).view())
        .unwrap();
    let ht = 2.5_f64.tanh();
    let dh0 = 0.25 + 0.75 * (1.0 - ht * ht) * 2.0 * 0.5;
    assert_abs_diff_eq!(back.ds0[[0, 0]], dh0, epsilon = 1e-15);
}

#[test]
fn parameters_follow_pytorch_layout_and_init() {
    let gru = Gru::<f64>::new(&GruConfig {
        input_size: 3,
        hidden_size: 4,
        ..GruConfig::default()
    })
    .unwrap();
    assert_eq!(gru.form, GruForm::ResetAfter);
    let shapes: Vec<(&str, Vec<usize>)> = gru
        .params()
        .into_iter()
        .map(|(name, p)| (name, p.shape().to_vec()))
        .collect();
    assert_eq!(
        shapes,
        vec![
            ("w_ih", vec![12, 3]),
            ("w_hh", vec![12, 4]),
            ("b_ih", vec![12]),
            ("b_hh", vec![12]),
        ]
    );
    // Every parameter from U(±1/√H) = U(±1/2), as nn.GRU draws them.
    for (name, p) in gru.params() {
        assert!(p.iter().all(|v| v.abs() <= 0.5), "{name}");
        assert!(p.iter().any(|v| v.abs() > 0.25), "{name} looks too narrow");
    }
    let again = Gru::<f64>::new(&GruConfig {
        input_size: 3,
        hidden_size: 4,
        ..GruConfig::default()
    })
    .unwrap();
    assert_eq!(gru, again);
}

#[test]
fn a_gru_has_three_quarters_of_an_lstms_parameters() {
    for (d, h) in [(1, 1), (3, 4), (10, 32)] {
        let gru = Gru::<f64>::new(&GruConfig {
            input_size: d,
            hidden_size: h,
            ..GruConfig::default()
        })
        .unwrap();
        // Three gates of H(D + H + 2) each (two weight blocks, two biases), against the
        // LSTM's four.
        let lstm = 4 * h * (d + h + 2);
        assert_eq!(gru.num_params(), 3 * h * (d + h + 2));
        assert_eq!(4 * gru.num_params(), 3 * lstm);
    }
}

#[test]
fn the_trait_view_is_the_same_layer() {
    for form in FORMS {
        let (gru, xs, h0, g) = setup((4, 2, 3, 4), form, 6);
        let cache = gru.forward_seq(xs.view(), &h0).unwrap();
        assert_eq!(
            gru.outputs(&cache),
            gru.forward(xs.view(), h0.view()).unwrap().hs()
        );
        assert_eq!(gru.final_state(&cache), cache.h_last());
        assert_eq!(gru.zero_state(2).dim(), (2, 4));
        let back = gru.backward_seq(&cache, g.view()).unwrap();
        assert_eq!(back.grads, gru.backward(&cache, g.view()).unwrap().grads);
        assert_eq!(cache.gates().dim(), (4, 2, 12));
        assert_eq!(cache.len(), 4);
    }
}

#[test]
fn wrong_shapes_name_the_argument_and_both_shapes() {
    let (gru, _, _, _) = setup((1, 1, 3, 4), GruForm::ResetAfter, 0);
    let msg = gru
        .forward(
            Array3::zeros((5, 2, 7)).view(),
            Array2::zeros((2, 4)).view(),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `xs`: expected [T, B, D=3], found [5, 2, 7]"
    );
    let msg = gru
        .forward(
            Array3::zeros((5, 2, 3)).view(),
            Array2::zeros((3, 4)).view(),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `h0`: expected [B=2, H=4], found [3, 4]"
    );
    let msg = gru
        .step(Array2::zeros((2, 2)).view(), Array2::zeros((2, 4)).view())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `x_t`: expected [B, D=3], found [2, 2]"
    );
    let msg = gru
        .step(Array2::zeros((2, 3)).view(), Array2::zeros((2, 5)).view())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `h_prev`: expected [B=2, H=4], found [2, 5]"
    );
    let cache = gru
        .forward(
            Array3::zeros((5, 2, 3)).view(),
            Array2::zeros((2, 4)).view(),
        )
        .unwrap();
    let msg = gru
        .backward(&cache, Array3::zeros((5, 2, 5)).view())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "shape mismatch in `dhs`: expected [T=5, B=2, H=4], found [5, 2, 5]"
    );
}

#[test]
fn a_cache_from_another_gru_is_rejected() {
    let (after, xs, h0, g) = setup((3, 2, 3, 4), GruForm::ResetAfter, 7);
    let before = Gru {
        form: GruForm::ResetBefore,
        ..after.clone()
    };
    let cache = after.forward(xs.view(), h0.view()).unwrap();
    let err = before.backward(&cache, g.view()).unwrap_err();
    assert!(matches!(err, Error::Value { arg: "cache", .. }), "{err}");
    let (wider, _, _, _) = setup((1, 1, 3, 5), GruForm::ResetAfter, 7);
    let err = wider.backward(&cache, g.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch in `cache`: expected [T, B, H=5], found [3, 2, 4]"
    );
}

#[test]
fn empty_sequences_nan_and_bad_configs_are_clear_errors() {
    let (gru, _, _, _) = setup((1, 1, 3, 4), GruForm::ResetBefore, 0);
    let err = gru
        .forward(
            Array3::zeros((0, 2, 3)).view(),
            Array2::zeros((2, 4)).view(),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "`xs` is empty: axis T has length 0");
    let mut xs = Array3::<f64>::zeros((2, 2, 3));
    xs[[1, 0, 2]] = f64::NAN;
    let err = gru
        .forward(xs.view(), Array2::zeros((2, 4)).view())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`xs` holds a non-finite value NaN at index [1, 0, 2]"),
        "{err}"
    );
    for (config, field) in [
        (
            GruConfig {
                hidden_size: 0,
                ..GruConfig::default()
            },
            "hidden_size",
        ),
        (
            GruConfig {
                input_size: 0,
                ..GruConfig::default()
            },
            "input_size",
        ),
    ] {
        let err = Gru::<f64>::new(&config).unwrap_err();
        assert!(
            matches!(err, Error::Config { field: f, .. } if f == field),
            "{err}"
        );
    }
}

#[test]
fn cache_memory_grows_linearly_with_t() {
    let (gru, _, h0, _) = setup((1, 2, 3, 4), GruForm::ResetAfter, 0);
    let bytes = |t: usize| {
        gru.forward(Array3::zeros((t, 2, 3)).view(), h0.view())
            .unwrap()
            .bytes()
    };
    // Per step and example: the input (D), the state, three gates and the candidate's
    // hidden term (5H).
    assert_eq!(bytes(20) - bytes(10), 10 * 2 * (3 + 5 * 4) * 8);
}
