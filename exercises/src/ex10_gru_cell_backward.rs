//! # Exercise 10: backpropagation through one GRU step
//!
//! Read first: *The GRU* (`book/src/gru.md`), the section on its backward pass.
//!
//! The step is PyTorch's form (`GruForm::ResetAfter`, exercise 9), blocks r, z, n:
//!
//! $$\begin{aligned}
//! r &= \sigma(a_r), \quad a_r = x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}, &
//! z &= \sigma(a_z), \quad a_z = x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz},\\
//! n &= \tanh(a_n), \quad a_n = x_t W_{in}^\top + b_{in} + r \odot \underbrace{(h_{t-1}
//! W_{hn}^\top + b_{hn})}_{hn}, &
//! h_t &= (1 - z) \odot n + z \odot h_{t-1}.
//! \end{aligned}$$
//!
//! Given `dh` $= \partial L/\partial h_t$ (B, H), walk it back:
//!
//! $$\begin{aligned}
//! da_z &= dh \odot (h_{t-1} - n) \odot z(1 - z), &
//! da_n &= dh \odot (1 - z) \odot (1 - n^2), \\
//! d(hn) &= da_n \odot r, &
//! da_r &= da_n \odot hn \odot r(1 - r).
//! \end{aligned}$$
//!
//! The input halves $x_t W_{ih}^\top + b_{ih}$ of the three blocks get
//! $g_x = [da_r, da_z, da_n]$ (B, 3H); the hidden halves $h_{t-1} W_{hh}^\top + b_{hh}$ get
//! $g_h = [da_r, da_z, d(hn)]$, **not** the same, because the reset gate multiplies the
//! candidate's hidden half, bias $b_{hn}$ included. That is why PyTorch keeps two biases
//! for a GRU and why `db_ih` and `db_hh` differ here (in the LSTM they are equal). Then
//!
//! $$\frac{\partial L}{\partial x_t} = g_x W_{ih}, \quad
//! \frac{\partial L}{\partial h_{t-1}} = dh \odot z + g_h W_{hh}, \quad
//! \frac{\partial L}{\partial W_{ih}} = g_x^\top x_t, \quad
//! \frac{\partial L}{\partial W_{hh}} = g_h^\top h_{t-1},$$
//!
//! and the bias gradients are $g_x$ and $g_h$ summed over the batch rows. Note the first
//! term of $\partial L/\partial h_{t-1}$: the old state also reaches $h_t$ directly.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `cache` | what the forward step read and computed: $x_t$, $h_{t-1}$, $r$, $z$, $n$, $hn$ | see [`GruCellCache`] |
//! | `w_ih`, `w_hh` | the weights, blocks r, z, n | (3H, D), (3H, H) |
//! | `dh` | $\partial L/\partial h_t$ | (B, H) |
//!
//! Return a [`GruCellGrads`]. The graders check every gradient against central
//! differences and against `recurrent::Gru::backward`.
//!
//! Grade it with `cargo test -p exercises --test ex10_gru_cell_backward`.
#![allow(unused_variables, unused_imports)]

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

// ANCHOR: gru_cell_cache
/// What the forward step (ResetAfter) read and computed.
#[derive(Clone, Debug)]
pub struct GruCellCache {
    /// $x_t$: (B, D).
    pub x_t: Array2<f64>,
    /// $h_{t-1}$: (B, H).
    pub h_prev: Array2<f64>,
    /// The reset gate $r$, the update gate $z$ and the candidate $n$: (B, H) each.
    pub r: Array2<f64>,
    pub z: Array2<f64>,
    pub n: Array2<f64>,
    /// The candidate's hidden half before the reset, $h_{t-1} W_{hn}^\top + b_{hn}$: (B, H).
    pub hn: Array2<f64>,
}

/// The gradients of the loss with respect to everything the step read.
#[derive(Clone, Debug)]
pub struct GruCellGrads {
    /// $\partial L/\partial x_t$: (B, D).
    pub dx: Array2<f64>,
    /// $\partial L/\partial h_{t-1}$: (B, H).
    pub dh_prev: Array2<f64>,
    /// $\partial L/\partial W_{ih}$: (3H, D).
    pub dw_ih: Array2<f64>,
    /// $\partial L/\partial W_{hh}$: (3H, H).
    pub dw_hh: Array2<f64>,
    /// $\partial L/\partial b_{ih}$: (3H,).
    pub db_ih: Array1<f64>,
    /// $\partial L/\partial b_{hh}$: (3H,); its n block differs from `db_ih`'s.
    pub db_hh: Array1<f64>,
}
// ANCHOR_END: gru_cell_cache

// ANCHOR: gru_cell_backward
/// The backward pass of one GRU step in PyTorch's (reset-after) form.
pub fn gru_cell_backward(
    cache: &GruCellCache,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    dh: ArrayView2<f64>,
) -> GruCellGrads {
    // TODO: da_z, da_n from h_t = (1 - z) ⊙ n + z ⊙ h_prev, through σ' = z(1 - z) and
    //       tanh' = 1 - n² (`&a * &b` is elementwise; `mapv(|v| ...)` maps).
    // TODO: a_n = ... + r ⊙ hn: the hidden half hn gets da_n ⊙ r, the gate r gets
    //       da_n ⊙ hn (then through σ').
    // TODO: g_x = `concatenate![Axis(1), da_r, da_z, da_n]` (B, 3H) and
    //       g_h = [da_r, da_z, da_n ⊙ r] (B, 3H).
    // TODO: dx (B, 3H)·(3H, D); dh_prev = dh ⊙ z + (B, 3H)·(3H, H); dw_ih (3H, B)·(B, D);
    //       dw_hh (3H, B)·(B, H); db_ih, db_hh = `sum_axis(Axis(0))` of g_x and g_h.
    todo!("exercise 10: backpropagate dh through one GRU step")
}
// ANCHOR_END: gru_cell_backward
