//! # Exercise 8: an LSTM step with coupled input and forget gates (CIFG)
//!
//! Read first: *Coupled gates* (`book/src/coupled-gates.md`).
//!
//! The coupled input-forget gate LSTM computes only the forget gate and writes exactly as
//! much as it forgets: the input gate is $1 - f_t$. With no input-gate rows, the weights
//! stack **three** blocks, in the order **f, g, o** (the order `recurrent::Lstm` keeps for
//! its CIFG variant: PyTorch's i, f, g, o with the i rows removed):
//!
//! $$\begin{aligned}
//! z &= x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \quad (B, 3H),
//! \text{ blocks f, g, o},\\
//! f_t &= \sigma(z_f), \quad g_t = \tanh(z_g), \quad o_t = \sigma(z_o),\\
//! c_t &= f_t \odot c_{t-1} + (1 - f_t) \odot g_t, \quad h_t = o_t \odot \tanh(c_t).
//! \end{aligned}$$
//!
//! The new cell is a convex combination of the old cell and the candidate, per unit.
//! (Greff et al. (2015) couple the other way round, $f_t = 1 - i_t$; since
//! $1 - \sigma(v) = \sigma(-v)$ that is the same model with the sign of one block flipped.)
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `x_t` | the inputs at step t | (B, D) |
//! | `h_prev`, `c_prev` | the previous state | (B, H) each |
//! | `w_ih`, `w_hh` | the weights, blocks f, g, o | (3H, D), (3H, H) |
//! | `b_ih`, `b_hh` | the biases, blocks f, g, o | (3H,) each |
//!
//! Return a [`CifgStep`].
//!
//! Grade it with `cargo test -p exercises --test ex08_cifg_cell`.
#![allow(unused_variables, unused_imports)]

use ndarray::{s, Array2, ArrayView1, ArrayView2};

// ANCHOR: cifg_step
/// What one CIFG step computes, every field (B, H). The input gate is `1 - f`.
#[derive(Clone, Debug)]
pub struct CifgStep {
    pub h: Array2<f64>,
    pub c: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
}
// ANCHOR_END: cifg_step

// ANCHOR: cifg_cell_forward
/// One LSTM step with coupled input and forget gates.
pub fn cifg_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
) -> CifgStep {
    // TODO: z (B, 3H) as in exercise 5; block k is `z.slice(s![.., k * h..(k + 1) * h])`,
    //       k = 0, 1, 2 for f, g, o.
    // TODO: f, g, o as in exercise 5.
    // TODO: the coupling: what the cell writes is scaled by 1 - f (`f.mapv(|f| 1.0 - f)`).
    todo!("exercise 8: one CIFG step")
}
// ANCHOR_END: cifg_cell_forward
