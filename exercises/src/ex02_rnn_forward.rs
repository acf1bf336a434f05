//! # Exercise 2: the forward pass over a sequence
//!
//! Read first: *What a recurrent network is* (`book/src/what-is-an-rnn.md`), sections
//! "The Elman network" and "Unrolling in time".
//!
//! Run the Elman RNN over a whole batch of sequences, starting from $h_0$, and return every
//! state:
//!
//! $$h_t = \tanh\left(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b\right), \qquad t = 1, \dots, T$$
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `xs` | the inputs, time-major: `xs[t]` is one step | (T, B, D) |
//! | `h0` | the initial states | (B, H) |
//! | `w_xh` | input weights $W_{xh}$ | (H, D) |
//! | `w_hh` | recurrent weights $W_{hh}$ | (H, H) |
//! | `b` | bias | (H,) |
//!
//! It returns the states $h_1, \dots, h_T$ as one (T, B, H) array: slot 0 holds $h_1$, the
//! state after reading the first input, and slot T-1 holds $h_T$. $h_0$ is not returned.
//!
//! This exercise does not use your exercise 1: write the step inline, or copy your
//! `rnn_step` into this file as a helper function.
//!
//! Grade it with `cargo test -p exercises --test ex02_rnn_forward`.
#![allow(unused_variables, unused_imports)]

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

// ANCHOR: rnn_forward
/// Runs the Elman RNN over `xs` from `h0`; returns every state $h_1, \dots, h_T$:
/// (T, B, H).
pub fn rnn_forward(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array3<f64> {
    // TODO: read the sizes: `let (t_len, batch, _) = xs.dim();` and H is `w_hh.nrows()`.
    // TODO: make the output, `Array3::zeros((t_len, batch, hidden))`, and a state
    //       `h_prev` (B, H) that starts as a copy of h0 (`h0.to_owned()`).
    // TODO: for t in 0..t_len: take `xs.index_axis(Axis(0), t)` (B, D), compute the new
    //       state from it and h_prev, write it into `hs.index_axis_mut(Axis(0), t)` with
    //       `.assign(&h_t)`, and make it the h_prev of the next step. Each step must read
    //       the state the previous step produced, not h0 every time.
    todo!("exercise 2: run h_t = tanh(x_t W_xh^T + h_(t-1) W_hh^T + b) for t = 1..T")
}
// ANCHOR_END: rnn_forward
