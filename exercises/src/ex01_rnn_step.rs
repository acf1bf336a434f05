//! # Exercise 1: one step of an Elman RNN
//!
//! Read first: *What a recurrent network is* (`book/src/what-is-an-rnn.md`), section
//! "The Elman network".
//!
//! Write the function that reads one time step of a batch of sequences:
//!
//! $$h_t = \tanh\left(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b\right)$$
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `x_t` | the inputs at step t, one row per example | (B, D) |
//! | `h_prev` | the previous states $h_{t-1}$ | (B, H) |
//! | `w_xh` | input weights $W_{xh}$ | (H, D) |
//! | `w_hh` | recurrent weights $W_{hh}$ | (H, H) |
//! | `b` | bias | (H,) |
//!
//! It returns $h_t$, shape (B, H).
//!
//! Grade it with `cargo test -p exercises --test ex01_rnn_step`.
#![allow(unused_variables, unused_imports)]

use ndarray::{Array2, ArrayView1, ArrayView2};

// ANCHOR: rnn_step
/// One time step of the Elman RNN: returns $h_t$, (B, H).
pub fn rnn_step(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array2<f64> {
    // TODO: the input term. `a.dot(&m)` is a matrix product and `m.t()` a transpose;
    //       a (B, D) matrix times a (D, H) matrix is (B, H). Which of w_xh and its
    //       transpose is (D, H)?
    // TODO: the recurrent term, the same way with h_prev (B, H) and w_hh (H, H). Both
    //       w_hh and its transpose are (H, H), so the shapes will not catch a missing
    //       transpose: follow the equation.
    // TODO: add the bias. `array + &b` adds the (H,) vector to every row of a (B, H) array.
    // TODO: squash the sum elementwise: `a.mapv(f64::tanh)`.
    todo!("exercise 1: compute h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b)")
}
// ANCHOR_END: rnn_step
