//! The fast layers with the batch split across two threads give the readable layers'
//! numbers, in float64 and, through the float32 vector kernels where the processor has
//! them (the weight gradients split by columns across the threads), in float32. A test
//! binary of its own, because the thread count is read once per process.

use ndarray::Array3;
use rand::Rng;
use recurrent::fast::{parts, threads, FastGru, FastLstm, MIN_ROWS_PER_THREAD};
use recurrent::gru::GruConfig;
use recurrent::init::rng;
use recurrent::lstm::LstmConfig;
use recurrent::{Params, Recurrent};

/// Units: large enough that the recurrence is worth two threads.
const HIDDEN: usize = 64;

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Sets two threads for this process (every test of this binary does it first, so
/// whichever runs first reads it).
fn two_threads() {
    std::env::set_var("MATMUL_NUM_THREADS", "2");
    assert_eq!(
        threads(),
        2,
        "the thread count was read before this test set it"
    );
}

/// Forward and backward of `fast` and `readable` on the same data: outputs, input and
/// state gradients, and every parameter gradient agree to 1e-12.
fn agree<A: Recurrent<f64>, B: Recurrent<f64>>(fast: &A, readable: &B, batch: usize) {
    let (t, d, h) = (20, 3, HIDDEN);
    let mut r = rng(11);
    let xs = Array3::from_shape_simple_fn((t, batch, d), || r.random_range(-1.0..1.0));
    let dhs = Array3::from_shape_simple_fn((t, batch, h), || r.random_range(-1.0..1.0));
    let fc = fast
        .forward_seq(xs.view(), &fast.zero_state(batch))
        .unwrap();
    let rc = readable
        .forward_seq(xs.view(), &readable.zero_state(batch))
        .unwrap();
    let (fo, ro) = (
        fast.outputs(&fc).to_owned(),
        readable.outputs(&rc).to_owned(),
    );
    assert!(
        max_diff(fo.as_slice().unwrap(), ro.as_slice().unwrap()) < 1e-12,
        "outputs differ"
    );
    let fb = fast.backward_seq(&fc, dhs.view()).unwrap();
    let rb = readable.backward_seq(&rc, dhs.view()).unwrap();
    assert!(
        max_diff(fb.dxs.as_slice().unwrap(), rb.dxs.as_slice().unwrap()) < 1e-12,
        "dL/dx differs"
    );
    for ((name, g), (_, e)) in fb.grads.params().into_iter().zip(rb.grads.params()) {
        let (g, e) = (g.to_owned(), e.to_owned());
        let diff = max_diff(g.as_slice().unwrap(), e.as_slice().unwrap());
        assert!(diff < 1e-12, "dL/d{name} differs by {diff:e}");
    }
}

#[test]
fn a_batch_split_across_two_threads_gives_the_readable_numbers() {
    two_threads();
    // Two parts, the second one row longer than the first; enough work for two threads.
    let batch = 2 * MIN_ROWS_PER_THREAD + 1;
    assert_eq!(
        parts(batch, 2.0 * (20 * batch * HIDDEN * 3 * HIDDEN) as f64),
        2
    );
    let lstm = recurrent::Lstm::<f64>::new(&LstmConfig {
        input_size: 3,
        hidden_size: HIDDEN,
        ..LstmConfig::default()
    })
    .unwrap();
    agree(&FastLstm::from_lstm(&lstm).unwrap(), &lstm, batch);
    let gru = recurrent::Gru::<f64>::new(&GruConfig {
        input_size: 3,
        hidden_size: HIDDEN,
        ..GruConfig::default()
    })
    .unwrap();
    agree(&FastGru::from_gru(&gru).unwrap(), &gru, batch);
}

/// `fast` in float32 against the same layer in float64 (`exact`): outputs, input
/// gradients and every parameter gradient agree to float32's precision (1e-4 relative to
/// the largest value).
fn agree_f32<A: Recurrent<f32>, B: Recurrent<f64>>(fast: &A, exact: &B, batch: usize) {
    let (t, d, h) = (20, 3, HIDDEN);
    let mut r = rng(12);
    let xs = Array3::from_shape_simple_fn((t, batch, d), || r.random_range(-1.0..1.0));
    let dhs = Array3::from_shape_simple_fn((t, batch, h), || r.random_range(-1.0..1.0));
    let close = |what: &str, got: Vec<f32>, want: &[f64]| {
        let got: Vec<f64> = got.into_iter().map(f64::from).collect();
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let diff = max_diff(&got, want);
        assert!(
            diff < 1e-4 * scale,
            "{what}: float32 differs by {diff:e} (scale {scale})"
        );
    };
    let fc = fast
        .forward_seq(xs.mapv(|v| v as f32).view(), &fast.zero_state(batch))
        .unwrap();
    let ec = exact
        .forward_seq(xs.view(), &exact.zero_state(batch))
        .unwrap();
    let outputs = exact.outputs(&ec).to_owned();
    close(
        "outputs",
        fast.outputs(&fc).iter().copied().collect(),
        outputs.as_slice().unwrap(),
    );
    let fb = fast
        .backward_seq(&fc, dhs.mapv(|v| v as f32).view())
        .unwrap();
    let eb = exact.backward_seq(&ec, dhs.view()).unwrap();
    close(
        "dL/dx",
        fb.dxs.iter().copied().collect(),
        eb.dxs.as_slice().unwrap(),
    );
    for ((name, g), (_, e)) in fb.grads.params().into_iter().zip(eb.grads.params()) {
        let e = e.to_owned();
        close(
            &format!("dL/d{name}"),
            g.iter().copied().collect(),
            e.as_slice().unwrap(),
        );
    }
}

/// `single` with `exact`'s parameters, rounded to float32.
fn rounded<P: Params<f32>, Q: Params<f64>>(mut single: P, exact: &Q) -> P {
    for ((_, mut s), (_, e)) in single.params_mut().into_iter().zip(exact.params()) {
        s.zip_mut_with(&e, |s, &e| *s = e as f32);
    }
    single
}

#[test]
fn float32_on_two_threads_gives_the_float64_numbers() {
    two_threads();
    let batch = 2 * MIN_ROWS_PER_THREAD + 1;
    let lstm = LstmConfig {
        input_size: 3,
        hidden_size: HIDDEN,
        ..LstmConfig::default()
    };
    let exact = FastLstm::<f64>::new(&lstm).unwrap();
    let single = rounded(FastLstm::<f32>::new(&lstm).unwrap(), &exact);
    agree_f32(&single, &exact, batch);
    let gru = GruConfig {
        input_size: 3,
        hidden_size: HIDDEN,
        ..GruConfig::default()
    };
    let exact = FastGru::<f64>::new(&gru).unwrap();
    let single = rounded(FastGru::<f32>::new(&gru).unwrap(), &exact);
    agree_f32(&single, &exact, batch);
}
