//! Planted mistakes in exercise 2, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: no_recurrence | did you feed h_{t-1} into step t
// MUTANT: h0_every_step | did you feed h_{t-1} into step t
// MUTANT: off_by_one | off by one
// MUTANT: no_tanh | did you apply tanh
// MUTANT: no_bias | did you add the bias b?

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "no_recurrence",
    "h0_every_step",
    "off_by_one",
    "no_tanh",
    "no_bias",
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

pub fn rnn_forward(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array3<f64> {
    let m = mutant();
    let is = |name: &str| m == name;
    let (t_len, batch, _) = xs.dim();
    let hidden = w_hh.nrows();
    let mut hs = Array3::zeros((t_len, batch, hidden)); // (T, B, H)
    if is("zeros") {
        return hs;
    }
    let mut h_prev = h0.to_owned(); // (B, H)
    for t in 0..t_len {
        let x_t = xs.index_axis(Axis(0), t); // (B, D)
        let state_read = if is("no_recurrence") {
            Array2::zeros((batch, hidden))
        } else if is("h0_every_step") {
            h0.to_owned()
        } else {
            h_prev.clone()
        }; // (B, H)
        let mut a_t = x_t.dot(&w_xh.t()) + state_read.dot(&w_hh.t()); // (B, H)
        if !is("no_bias") {
            a_t += &b;
        }
        let h_t = if is("no_tanh") {
            a_t
        } else {
            a_t.mapv(f64::tanh)
        }; // (B, H)

        // off_by_one stores the state the step read (h0, h_1, ..., h_{T-1}).
        let stored = if is("off_by_one") { &h_prev } else { &h_t };
        hs.index_axis_mut(Axis(0), t).assign(stored);
        h_prev = h_t;
    }
    hs
}
