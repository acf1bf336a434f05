//! Planted mistakes in exercise 1, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: no_bias | did you add the bias b?
// MUTANT: no_tanh | did you apply tanh
// MUTANT: bias_outside_tanh | add b inside the tanh
// MUTANT: untransposed | transpose of W_hh
// MUTANT: no_recurrence | did you add the recurrent term
// MUTANT: no_input | did you add the input term

use ndarray::{Array2, ArrayView1, ArrayView2};

const MUTANTS: &[&str] = &[
    "zeros",
    "no_bias",
    "no_tanh",
    "bias_outside_tanh",
    "untransposed",
    "no_recurrence",
    "no_input",
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

pub fn rnn_step(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array2<f64> {
    let m = mutant();
    let is = |name: &str| m == name;
    let zeros = Array2::zeros((x_t.nrows(), w_hh.nrows())); // (B, H)
    if is("zeros") {
        return zeros;
    }
    let input_term = if is("no_input") {
        zeros.clone()
    } else {
        x_t.dot(&w_xh.t())
    }; // (B, H)
    let recurrent_term = if is("no_recurrence") {
        zeros
    } else if is("untransposed") {
        h_prev.dot(&w_hh)
    } else {
        h_prev.dot(&w_hh.t())
    }; // (B, H)
    let mut a_t = input_term + recurrent_term; // (B, H)
    if !is("no_bias") && !is("bias_outside_tanh") {
        a_t += &b;
    }
    let mut h_t = if is("no_tanh") {
        a_t
    } else {
        a_t.mapv(f64::tanh)
    }; // (B, H)
    if is("bias_outside_tanh") {
        h_t += &b;
    }
    h_t
}
