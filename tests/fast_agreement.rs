//! The fast paths compute the readable layers' numbers: on random shapes (batch sizes on
//! both sides of the small-batch switch) and several seeds, in float64, outputs, final
//! states, every parameter gradient, the input gradients, the initial-state gradients and
//! the total dL/dh_t agree to 1e-12 relative; workspaces reused across calls of other
//! shapes give the same numbers; unsupported variants and bad shapes are errors.

use ndarray::{Array2, Array3, ArrayView, Dimension};
use rand::Rng;
use recurrent::fast::{FastGru, FastGruBackward, FastGruCache, FastLstm, SMALL_BATCH};
use recurrent::gru::{Gru, GruConfig, GruForm};
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::lstm::{GreffVariant, Lstm, LstmConfig, LstmState};
use recurrent::{Error, Params, Recurrent};

const TOL: f64 = 1e-12;

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// max |a - b| / max(1, |b|) must be at most [`TOL`].
fn close<D: Dimension>(what: &str, a: ArrayView<f64, D>, b: ArrayView<f64, D>) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let worst = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(worst <= TOL, "{what}: max relative difference {worst:e}");
}

/// Same names in the same order, and every tensor close.
fn close_params(what: &str, a: &impl Params<f64>, b: &impl Params<f64>) {
    let (a, b) = (a.params(), b.params());
    let names = |p: &[(&str, _)]| p.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{what}: parameter names");
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        close(&format!("{what} {name}"), x.view(), y.view());
    }
}

/// Random sizes; `b` spans the small-batch row loop and the general multiply.
fn shape(r: &mut SeededRng) -> (usize, usize, usize, usize) {
    (
        r.random_range(1..=7),
        r.random_range(1..=2 * SMALL_BATCH + 1),
        r.random_range(1..=5),
        r.random_range(1..=9),
    )
}

#[test]
fn fast_lstm_agrees_with_the_readable_lstm() {
    for seed in 0..12 {
        let mut r = rng(100 + seed);
        let (t, b, d, h) = shape(&mut r);
        let config = LstmConfig {
            input_size: d,
            hidden_size: h,
            forget_bias: 1.0,
            seed,
            ..LstmConfig::default()
        };
        let slow = Lstm::<f64>::new(&config).unwrap();
        let fast = FastLstm::from_lstm(&slow).unwrap();
        assert_eq!(fast, FastLstm::new(&config).unwrap());
        let xs = random3((t, b, d), &mut r);
        let s0 = LstmState {
            h: uniform(b, h, 1.0, &mut r),
            c: uniform(b, h, 1.0, &mut r),
        };
        let g = random3((t, b, h), &mut r);
        let what = format!("seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h})");

        let (cs, cf) = (
            slow.forward_seq(xs.view(), &s0).unwrap(),
            fast.forward_seq(xs.view(), &s0).unwrap(),
        );
        close(&what, fast.outputs(&cf), slow.outputs(&cs));
        let (ls, lf) = (slow.final_state(&cs), fast.final_state(&cf));
        close(&what, lf.h.view(), ls.h.view());
        close(&what, lf.c.view(), ls.c.view());

        let (bs, bf) = (
            slow.backward_seq(&cs, g.view()).unwrap(),
            fast.backward_seq(&cf, g.view()).unwrap(),
        );
        close_params(&what, &bf.grads, &bs.grads);
        close(&what, bf.dxs.view(), bs.dxs.view());
        close(&what, bf.ds0.h.view(), bs.ds0.h.view());
        close(&what, bf.ds0.c.view(), bs.ds0.c.view());
        close(&what, bf.dhs.view(), bs.dhs.view());
        close_params(&what, &fast.to_lstm().unwrap(), &slow);
    }
}

#[test]
fn fast_gru_agrees_with_the_readable_gru() {
    for seed in 0..12 {
        let mut r = rng(200 + seed);
        let (t, b, d, h) = shape(&mut r);
        let config = GruConfig {
            input_size: d,
            hidden_size: h,
            seed,
            ..GruConfig::default()
        };
        let slow = Gru::<f64>::new(&config).unwrap();
        let fast = FastGru::from_gru(&slow).unwrap();
        assert_eq!(fast, FastGru::new(&config).unwrap());
        let xs = random3((t, b, d), &mut r);
        let h0 = uniform(b, h, 1.0, &mut r);
        let g = random3((t, b, h), &mut r);
        let what = format!("seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h})");

        let (cs, cf) = (
            slow.forward_seq(xs.view(), &h0).unwrap(),
            fast.forward_seq(xs.view(), &h0).unwrap(),
        );
        close(&what, fast.outputs(&cf), slow.outputs(&cs));
        close(
            &what,
            fast.final_state(&cf).view(),
            slow.final_state(&cs).view(),
        );
        let (bs, bf) = (
            slow.backward_seq(&cs, g.view()).unwrap(),
            fast.backward_seq(&cf, g.view()).unwrap(),
        );
        close_params(&what, &bf.grads, &bs.grads);
        close(&what, bf.dxs.view(), bs.dxs.view());
        close(&what, bf.ds0.view(), bs.ds0.view());
        close(&what, bf.dhs.view(), bs.dhs.view());
        close_params(&what, &fast.to_gru().unwrap(), &slow);
    }
}

/// One cache and one gradient buffer through calls of changing shapes: each call's
/// numbers are those of fresh buffers, and asking for no input gradient leaves none.
#[test]
fn reused_workspaces_give_the_numbers_of_fresh_ones() {
    let gru = FastGru::<f64>::new(&GruConfig {
        input_size: 3,
        hidden_size: 5,
        ..GruConfig::default()
    })
    .unwrap();
    let mut cache = FastGruCache::default();
    let mut out = FastGruBackward::default();
    let mut r = rng(7);
    for (t, b) in [(4, 2), (6, 9), (4, 2), (1, 1)] {
        let xs = random3((t, b, 3), &mut r);
        let h0 = Array2::zeros((b, 5));
        let g = random3((t, b, 5), &mut r);
        gru.forward_into(xs.view(), h0.view(), &mut cache).unwrap();
        gru.backward_into(&cache, g.view(), false, &mut out)
            .unwrap();
        assert!(out.dxs.is_none());
        let fresh = gru.forward_seq(xs.view(), &h0).unwrap();
        close("hs", cache.hs(), fresh.hs());
        let back = gru.backward_seq(&fresh, g.view()).unwrap();
        close_params("grads", &out.grads, &back.grads);
        close("dh0", out.dh0.view(), back.ds0.view());
    }
}

#[test]
fn variants_the_fast_path_does_not_compute_are_configuration_errors() {
    for variant in GreffVariant::ALL {
        let lstm = Lstm::<f64>::new(&LstmConfig::greff(variant, 2, 3)).unwrap();
        if variant == GreffVariant::NP {
            // No peepholes: the standard LSTM, which the fast path does compute.
            assert!(FastLstm::from_lstm(&lstm).is_ok());
            continue;
        }
        let err = FastLstm::from_lstm(&lstm).unwrap_err();
        assert!(
            matches!(err, Error::Config { field: "lstm", .. }),
            "{variant:?}: {err}"
        );
    }
    let gru = Gru::<f64>::new(&GruConfig {
        form: GruForm::ResetBefore,
        ..GruConfig::default()
    })
    .unwrap();
    let err = FastGru::from_gru(&gru).unwrap_err();
    assert!(matches!(err, Error::Config { field: "form", .. }), "{err}");
}

#[test]
fn bad_shapes_are_shape_errors_not_panics() {
    let lstm = FastLstm::<f32>::new(&LstmConfig {
        input_size: 3,
        hidden_size: 4,
        ..LstmConfig::default()
    })
    .unwrap();
    let s0 = lstm.zero_state(2);
    let err = lstm
        .forward_seq(Array3::zeros((5, 2, 4)).view(), &s0)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { arg: "xs", .. }), "{err}");
    let err = lstm
        .forward_seq(Array3::zeros((5, 3, 3)).view(), &s0)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { arg: "h0", .. }), "{err}");
    let err = lstm
        .forward_seq(Array3::zeros((0, 2, 3)).view(), &s0)
        .unwrap_err();
    assert!(matches!(err, Error::Empty { arg: "xs", .. }), "{err}");
    let cache = lstm
        .forward_seq(Array3::zeros((5, 2, 3)).view(), &s0)
        .unwrap();
    let err = lstm
        .backward_seq(&cache, Array3::zeros((5, 2, 5)).view())
        .unwrap_err();
    assert!(matches!(err, Error::Shape { arg: "dhs", .. }), "{err}");

    let mut gru = FastGru::<f32>::new(&GruConfig {
        input_size: 3,
        hidden_size: 4,
        ..GruConfig::default()
    })
    .unwrap();
    gru.b_hh = ndarray::Array1::zeros(5);
    let err = gru
        .forward_seq(Array3::zeros((5, 2, 3)).view(), &Array2::zeros((2, 4)))
        .unwrap_err();
    assert!(matches!(err, Error::Shape { arg: "b_hh", .. }), "{err}");
}
