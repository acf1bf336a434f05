//! # Exercise 9: one step of a GRU cell, in both forms
//!
//! Read first: *The GRU* (`book/src/gru.md`).
//!
//! The weights are stacked as in PyTorch's `nn.GRU`: `w_ih` (3H, D), `w_hh` (3H, H),
//! `b_ih` and `b_hh` (3H,), each three blocks in the order **r, z, n** (rows `0..H` for the
//! reset gate, `H..2H` for the update gate, `2H..3H` for the candidate). Write $W_{ir}$
//! for rows `0..H` of `w_ih`, $W_{hn}$ for rows `2H..3H` of `w_hh`, $b_{hn}$ for entries
//! `2H..3H` of `b_hh`, and so on. Both forms share the two gates
//!
//! $$r_t = \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}), \qquad
//! z_t = \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}),$$
//!
//! and differ in where the reset gate acts and in which way round the update gate works.
//!
//! **`GruForm::ResetAfter`** (PyTorch, cuDNN): the reset gate scales the candidate's
//! recurrent term *after* the product, and $z_t \approx 1$ *keeps* the old state:
//!
//! $$n_t = \tanh\big(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})\big),
//! \qquad h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.$$
//!
//! **`GruForm::ResetBefore`** (Olah, Chung et al.): the reset gate scales the old state
//! *before* the product, and $z_t \approx 1$ *takes* the candidate:
//!
//! $$\tilde h_t = \tanh\big(x_t W_{in}^\top + b_{in} + (r_t \odot h_{t-1}) W_{hn}^\top +
//! b_{hn}\big), \qquad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t.$$
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `x_t` | the inputs at step t | (B, D) |
//! | `h_prev` | the previous state $h_{t-1}$ | (B, H) |
//! | `w_ih`, `w_hh` | the weights, blocks r, z, n | (3H, D), (3H, H) |
//! | `b_ih`, `b_hh` | the biases, blocks r, z, n | (3H,) each |
//! | `form` | which of the two steps to compute | |
//!
//! Return a [`GruStep`]: $h_t$, and $r_t$, $z_t$ and the candidate ($n_t$, or
//! $\tilde h_t$ in `ResetBefore`), all (B, H).
//!
//! Grade it with `cargo test -p exercises --test ex09_gru_cell_forward`.
#![allow(unused_variables, unused_imports)]

use ndarray::{s, Array2, ArrayView1, ArrayView2};
pub use recurrent::GruForm;

// ANCHOR: gru_step
/// What one GRU step computes, every field (B, H).
#[derive(Clone, Debug)]
pub struct GruStep {
    /// The new state $h_t$.
    pub h: Array2<f64>,
    /// The reset gate $r_t$.
    pub r: Array2<f64>,
    /// The update gate $z_t$.
    pub z: Array2<f64>,
    /// The candidate: $n_t$ in `ResetAfter`, $\tilde h_t$ in `ResetBefore`.
    pub n: Array2<f64>,
}
// ANCHOR_END: gru_step

// ANCHOR: gru_cell_forward
/// One GRU step in either form, PyTorch's layout.
pub fn gru_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
    form: GruForm,
) -> GruStep {
    // TODO: H is `h_prev.ncols()`. The input halves of all three blocks are one product,
    //       gx = x_t W_ih^T + b_ih (B, 3H); cut out block k with
    //       `gx.slice(s![.., k * h..(k + 1) * h])`, k = 0, 1, 2 for r, z, n.
    // TODO: r and z need the hidden halves too: h_prev W_hh^T + b_hh, blocks 0 and 1.
    //       Rows of a weight matrix: `w_hh.slice(s![k * h..(k + 1) * h, ..])`.
    // TODO: `match form { GruForm::ResetAfter => ..., GruForm::ResetBefore => ... }`:
    //       where does r multiply, and what does z ≈ 1 mean, in each form?
    todo!("exercise 9: one GRU step in the given form")
}
// ANCHOR_END: gru_cell_forward
