//! Grades exercise 11, `clip_grad_norm`, on lists of tensors of mixed shapes: the returned
//! norm, the clipped gradients against `recurrent::optim::clip_grad_norm`, gradients that
//! must be left alone, and the all-zero and empty edge cases. When a result is wrong the
//! grader works out which classic mistake produced it and names it.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex11_clip_grad_norm.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex11_clip_grad_norm.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex11_clip_grad_norm.rs"]
mod learner;

use ndarray::{arr1, arr2, ArrayD, ArrayViewMutD, IxDyn};
use rand::Rng;
use recurrent::init::rng;

/// Relative agreement required: PyTorch's `max_norm / (norm + 1e-6)` passes, a mistake is
/// off by far more.
const TOL: f64 = 1e-5;

/// The global L2 norm of every entry of every tensor.
fn global(grads: &[ArrayD<f64>]) -> f64 {
    grads
        .iter()
        .flat_map(|g| g.iter())
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
}

fn norm(g: &ArrayD<f64>) -> f64 {
    g.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// A list of gradients of the shapes of an RNN's parameters and its head: (H, D), (H, H),
/// (H,), (O, H), (O,), with entries from U(-scale, scale).
fn rnn_like(seed: u64, scale: f64) -> Vec<ArrayD<f64>> {
    let mut g = rng(seed);
    let (d, h, o) = (
        g.random_range(1..=4),
        g.random_range(1..=6),
        g.random_range(1..=3),
    );
    [vec![h, d], vec![h, h], vec![h], vec![o, h], vec![o]]
        .into_iter()
        .map(|shape| ArrayD::from_shape_simple_fn(IxDyn(&shape), || g.random_range(-scale..scale)))
        .collect()
}

/// What the crate's clipping makes of `grads` (the expected answer).
fn reference(grads: &[ArrayD<f64>], max_norm: f64) -> (f64, Vec<ArrayD<f64>>) {
    let mut out = grads.to_vec();
    let mut views: Vec<ArrayViewMutD<f64>> = out.iter_mut().map(|g| g.view_mut()).collect();
    let n = recurrent::optim::clip_grad_norm(&mut views, max_norm).expect("max_norm > 0");
    (n, out)
}

/// The mistake that best explains `got` (the learner's clipped tensors) given the input
/// `before`, or a general hint. Each classic mistake is recognised by rebuilding exactly
/// what it would have produced.
fn diagnose(before: &[ArrayD<f64>], got: &[ArrayD<f64>], max_norm: f64) -> String {
    let n = global(before);
    if got.iter().flat_map(|g| g.iter()).any(|x| !x.is_finite()) {
        return "a NaN or infinity appeared: was the gradient divided by a zero norm? Scale \
                only when the norm is larger than max_norm (> 0), and then it is never 0"
            .into();
    }
    if n <= max_norm {
        return format!(
            "the global norm {n:.4} is not above max_norm = {max_norm}, yet the gradients \
             changed: scale only when the norm is larger than max_norm; a short gradient \
             must be left exactly as it is"
        );
    }
    let matches = |make: &dyn Fn(&ArrayD<f64>) -> ArrayD<f64>| {
        got.iter().zip(before).all(|(g, b)| {
            let m = make(b);
            g.iter()
                .zip(m.iter())
                .all(|(x, y)| (x - y).abs() <= TOL * y.abs().max(1e-12))
        })
    };
    if matches(&|b| b.mapv(|x| x.clamp(-max_norm, max_norm))) {
        return "every entry was clamped into [-max_norm, max_norm]: that is clipping by \
                value, which changes the step's direction; multiply every entry by the same \
                factor max_norm / norm"
            .into();
    }
    if matches(&|b| b * (max_norm / norm(b)).min(1.0)) {
        return "each tensor was clipped by its own norm: use one norm over all tensors \
                together (one norm per tensor bends the step's direction) and one factor for \
                all of them"
            .into();
    }
    if matches(&|b| b * (max_norm / (n * n))) {
        return "the gradients were scaled by max_norm / norm² instead of max_norm / norm \
                (or the norm lacks its square root): after clipping the norm should be \
                max_norm"
            .into();
    }
    format!(
        "after clipping the global norm is {:.6}, expected max_norm = {max_norm} (it was \
         {n:.6}): compute one norm sqrt(Σ g²) over all entries of all tensors, and when it is \
         larger than max_norm multiply every entry by max_norm / norm",
        global(got)
    )
}

/// Runs the learner on `grads` and compares everything with the crate.
#[track_caller]
fn grade(what: &str, grads: Vec<ArrayD<f64>>, max_norm: f64) {
    let before = grads.clone();
    let (want_norm, want) = reference(&grads, max_norm);
    let mut got = grads;
    let got_norm = learner::clip_grad_norm(&mut got, max_norm);
    let close = |a: f64, b: f64| (a - b).abs() <= TOL * b.abs().max(1e-12);
    if !close(got_norm, want_norm) {
        let hint = if close(got_norm, want_norm * want_norm) {
            "the returned value is the sum of squares: did you forget the square root? The \
             norm is sqrt(Σ g²)"
                .to_string()
        } else if want_norm > max_norm && close(got_norm, global(&got)) {
            "you returned the norm after clipping: return the norm before clipping, the \
             number that shows the exploding gradient"
                .to_string()
        } else if !got_norm.is_finite() {
            "the returned norm is not finite: was a zero norm divided by?".to_string()
        } else {
            "return the global norm before clipping: sqrt of the sum of the squares of every \
             entry of every tensor"
                .to_string()
        };
        panic!(
            "{what}: returned {got_norm}, expected the norm before clipping {want_norm}.\n\
             Likely mistake: {hint}"
        );
    }
    if got.iter().flat_map(|g| g.iter()).any(|x| !x.is_finite()) {
        panic!(
            "{what}: the clipped gradients contain NaN or infinity.\nLikely mistake: {}",
            diagnose(&before, &got, max_norm)
        );
    }
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g.shape(),
            w.shape(),
            "{what}: tensor {k} changed shape; clip in place"
        );
        let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
        let worst = g
            .iter()
            .zip(w.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        if worst > TOL * scale {
            panic!(
                "{what}: tensor {k} is off by {worst:.3e} after clipping (max_norm = \
                 {max_norm}, norm before {want_norm:.4}).\nLikely mistake: {}",
                diagnose(&before, &got, max_norm)
            );
        }
    }
}

#[test]
fn returns_the_global_norm_of_all_tensors() {
    // 3-4-12: the norm of [3, 4] is 5, with [12] it is 13; nothing is clipped.
    let grads = vec![arr1(&[3.0, 4.0]).into_dyn(), arr1(&[12.0]).into_dyn()];
    grade("[[3, 4], [12]] with max_norm 100", grads, 100.0);
}

#[test]
fn long_gradients_are_scaled_to_max_norm_in_one_direction() {
    let grads = vec![
        arr2(&[[3.0, 0.0], [0.0, -4.0]]).into_dyn(),
        arr1(&[0.5]).into_dyn(),
        arr1(&[-12.0, 1.0]).into_dyn(),
    ];
    grade("three tensors of norm 13.05 with max_norm 1", grads, 1.0);
    for seed in 0..6 {
        for max_norm in [0.5, 1.0, 5.0] {
            grade(
                &format!("RNN-shaped gradients (seed {seed}) with max_norm {max_norm}"),
                rnn_like(seed, 10.0),
                max_norm,
            );
        }
    }
}

#[test]
fn one_large_tensor_shrinks_the_others_too() {
    // The first tensor alone is long; the others are tiny. Clipping all together shrinks
    // every one of them by the same factor.
    let grads = vec![
        arr1(&[30.0, -40.0]).into_dyn(),
        arr1(&[0.1, 0.2]).into_dyn(),
        arr2(&[[0.3], [-0.1]]).into_dyn(),
    ];
    grade(
        "[[30, -40], [0.1, 0.2], [[0.3], [-0.1]]] with max_norm 5",
        grads,
        5.0,
    );
}

#[test]
fn short_gradients_are_left_exactly_alone() {
    for seed in 10..14 {
        grade(
            &format!("small RNN-shaped gradients (seed {seed}) with max_norm 100"),
            rnn_like(seed, 0.5),
            100.0,
        );
    }
    // Exactly at the threshold: not larger, so not scaled.
    grade(
        "[[0.6, 0.8]] (norm exactly 1) with max_norm 1",
        vec![arr1(&[0.6, 0.8]).into_dyn()],
        1.0,
    );
}

#[test]
fn zero_and_empty_gradients_are_safe() {
    grade(
        "all-zero gradients with max_norm 1",
        vec![ArrayD::zeros(IxDyn(&[3, 2])), ArrayD::zeros(IxDyn(&[4]))],
        1.0,
    );
    let mut none: Vec<ArrayD<f64>> = Vec::new();
    let n = learner::clip_grad_norm(&mut none, 1.0);
    assert!(
        n == 0.0,
        "an empty list of gradients returned {n}, expected 0 (the norm of nothing)"
    );
}

#[test]
fn entries_below_max_norm_still_shrink() {
    // Every entry is below max_norm = 2 but the norm is 9.5: clipping by value would
    // change nothing, clipping by norm must shrink every entry by 4.75.
    let grads = vec![ArrayD::from_elem(IxDyn(&[5, 5]), 1.9)];
    grade(
        "a 5×5 tensor of 1.9s (norm 9.5) with max_norm 2",
        grads,
        2.0,
    );
}
