//! # Exercise 7: an LSTM step with peepholes
//!
//! Read first: *Peepholes* (`book/src/peepholes.md`).
//!
//! Gers & Schmidhuber (2000) let the gates look at the cell itself. The peephole weights
//! $p_i, p_f, p_o$ (H,) are diagonal: each cell's gates see that cell only, an elementwise
//! product. The input and forget gates see the old cell $c_{t-1}$; the output gate is
//! computed after the cell is updated and sees the **new** cell $c_t$:
//!
//! $$\begin{aligned}
//! z &= x_t W_{ih}^\top + h_{t-1} W_{hh}^\top + b \quad (B, 4H), \text{ blocks i, f, g, o},\\
//! i_t &= \sigma(z_i + p_i \odot c_{t-1}), \quad f_t = \sigma(z_f + p_f \odot c_{t-1}),
//! \quad g_t = \tanh(z_g),\\
//! c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \quad
//! o_t = \sigma(z_o + p_o \odot c_t), \quad h_t = o_t \odot \tanh(c_t).
//! \end{aligned}$$
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `x_t` | the inputs at step t | (B, D) |
//! | `h_prev`, `c_prev` | the previous state | (B, H) each |
//! | `w_ih`, `w_hh` | the weights, blocks i, f, g, o | (4H, D), (4H, H) |
//! | `b` | the bias: PyTorch's `b_ih + b_hh`, which are only ever added | (4H,) |
//! | `peepholes` | $p_i$, $p_f$, $p_o$ | (H,) each |
//!
//! A vector `p` (H,) times a matrix `c` (B, H), `&c * &p`, multiplies every row of `c`
//! elementwise by `p`: exactly the diagonal peephole. Return a [`PeepholeStep`].
//!
//! Grade it with `cargo test -p exercises --test ex07_peephole_cell`.
#![allow(unused_variables, unused_imports, dead_code)]

use ndarray::{s, Array2, ArrayView1, ArrayView2};

// ANCHOR: peephole_step
/// The three diagonal peephole weights, (H,) each.
#[derive(Clone, Copy, Debug)]
pub struct Peepholes<'a> {
    /// The input gate's view of $c_{t-1}$.
    pub p_i: ArrayView1<'a, f64>,
    /// The forget gate's view of $c_{t-1}$.
    pub p_f: ArrayView1<'a, f64>,
    /// The output gate's view of $c_t$.
    pub p_o: ArrayView1<'a, f64>,
}

/// What one step computes, every field (B, H).
#[derive(Clone, Debug)]
pub struct PeepholeStep {
    pub h: Array2<f64>,
    pub c: Array2<f64>,
    pub i: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
}
// ANCHOR_END: peephole_step

// ANCHOR: peephole_cell_forward
/// One LSTM step with diagonal peepholes.
pub fn peephole_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
    peepholes: Peepholes,
) -> PeepholeStep {
    // TODO: z (B, 4H) as in exercise 5, with the single bias b; block k is
    //       `z.slice(s![.., k * h..(k + 1) * h])`.
    // TODO: i and f: add the peephole term `&c_prev * &peepholes.p_i` (and p_f) to their
    //       block *inside* the sigmoid.
    // TODO: g as before; then the new cell c_t.
    // TODO: only now the output gate, peeping at c_t; then h_t = o ⊙ tanh(c_t).
    todo!("exercise 7: one LSTM step with peepholes")
}
// ANCHOR_END: peephole_cell_forward
