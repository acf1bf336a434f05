//! Planted mistakes in exercise 12, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: rayleigh | Rayleigh quotient
// MUTANT: last_ratio | last step alone
// MUTANT: no_normalise | normalise
// MUTANT: one_step | after one step
// MUTANT: ones_start | random start
// MUTANT: zero_len | divide by a zero norm

use ndarray::{Array1, ArrayView2};
use recurrent::init::{rng, standard_normal};

const MUTANTS: &[&str] = &[
    "rayleigh",
    "last_ratio",
    "no_normalise",
    "one_step",
    "ones_start",
    "zero_len",
];

/// The planted mistake to make, or "" for none.
fn mutant() -> String {
    let name = std::env::var("RECURRENT_MUTANT").unwrap_or_default();
    assert!(
        name.is_empty() || MUTANTS.contains(&name.as_str()),
        "unknown RECURRENT_MUTANT={name:?}; this file plants {MUTANTS:?}"
    );
    name
}

const STEPS: usize = 4000;

pub fn spectral_radius(w: ArrayView2<f64>) -> f64 {
    let m = mutant();
    let is = |name: &str| m == name;
    let n = w.nrows();
    let mut v = if is("ones_start") {
        Array1::ones(n)
    } else {
        let mut g = rng(1);
        Array1::from_shape_simple_fn(n, || standard_normal(&mut g))
    }; // (n,)
    v /= v.dot(&v).sqrt();
    if is("one_step") {
        let u = w.dot(&v);
        return u.dot(&u).sqrt();
    }
    let mut sum_log = 0.0;
    let mut last_len = 0.0;
    let mut norm_half = 1.0;
    for k in 0..STEPS {
        let u = w.dot(&v); // (n,)
        let len = u.dot(&u).sqrt();
        if len == 0.0 && !is("zero_len") && !is("no_normalise") {
            return 0.0;
        }
        if k >= STEPS / 2 {
            sum_log += len.ln();
        }
        last_len = len;
        if is("rayleigh") && k == STEPS - 1 {
            return v.dot(&u);
        }
        if is("no_normalise") {
            if k == STEPS / 2 - 1 {
                norm_half = len;
            }
            v = u;
        } else {
            v = u / len;
        }
    }
    if is("no_normalise") {
        // The growth of ‖W^k v‖ over the second half, from unnormalised iterates.
        return (last_len / norm_half).powf(1.0 / (STEPS - STEPS / 2) as f64);
    }
    if is("last_ratio") {
        return last_len;
    }
    (sum_log / (STEPS - STEPS / 2) as f64).exp()
}
