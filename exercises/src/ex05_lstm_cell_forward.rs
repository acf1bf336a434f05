//! # Exercise 5: one step of an LSTM cell
//!
//! Read first: *The LSTM* (`book/src/lstm.md`).
//!
//! The four blocks of pre-activations come from one fused product, as in PyTorch's
//! `nn.LSTM`:
//!
//! $$z_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \qquad (B, 4H),$$
//!
//! split into four (B, H) blocks in the order **i, f, g, o** (columns `0..H` are $z_i$,
//! `H..2H` $z_f$, `2H..3H` $z_g$, `3H..4H` $z_o$). Then
//!
//! $$\begin{aligned}
//! i_t &= \sigma(z_i), & f_t &= \sigma(z_f), & g_t &= \tanh(z_g), & o_t &= \sigma(z_o),\\
//! c_t &= f_t \odot c_{t-1} + i_t \odot g_t, & h_t &= o_t \odot \tanh(c_t),
//! \end{aligned}$$
//!
//! with $\sigma(v) = 1/(1 + e^{-v})$ and $\odot$ the elementwise product.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `x_t` | the inputs at step t, one row per example | (B, D) |
//! | `h_prev`, `c_prev` | the previous state $h_{t-1}$, $c_{t-1}$ | (B, H) each |
//! | `w_ih` | input weights, blocks i, f, g, o stacked by rows | (4H, D) |
//! | `w_hh` | recurrent weights, same blocks | (4H, H) |
//! | `b_ih`, `b_hh` | the two biases (PyTorch keeps both; add both) | (4H,) each |
//!
//! Return an [`LstmStep`]: the new state $h_t$, $c_t$ and the four activations $i_t, f_t,
//! g_t, o_t$ (the backward pass of exercise 6 needs them), all (B, H).
//!
//! Grade it with `cargo test -p exercises --test ex05_lstm_cell_forward`.
#![allow(unused_variables, unused_imports)]

use ndarray::{s, Array2, ArrayView1, ArrayView2};

// ANCHOR: lstm_step
/// What one LSTM step computes, every field (B, H).
#[derive(Clone, Debug)]
pub struct LstmStep {
    /// The new output $h_t$.
    pub h: Array2<f64>,
    /// The new cell $c_t$.
    pub c: Array2<f64>,
    /// The input gate $i_t$.
    pub i: Array2<f64>,
    /// The forget gate $f_t$.
    pub f: Array2<f64>,
    /// The candidate $g_t$.
    pub g: Array2<f64>,
    /// The output gate $o_t$.
    pub o: Array2<f64>,
}
// ANCHOR_END: lstm_step

// ANCHOR: lstm_cell_forward
/// One LSTM step with PyTorch's equations and layout.
pub fn lstm_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
) -> LstmStep {
    // TODO: H is `h_prev.ncols()`.
    // TODO: the fused pre-activations z (B, 4H): x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh
    //       (`a.dot(&m.t())` is a product with a transpose; `array + &b` adds a vector to
    //       every row).
    // TODO: cut z into its four (B, H) blocks with `z.slice(s![.., k * h..(k + 1) * h])`,
    //       k = 0, 1, 2, 3 for i, f, g, o, and squash each: a sigmoid for the three gates,
    //       tanh for the candidate g (`mapv(|v| 1.0 / (1.0 + (-v).exp()))`,
    //       `mapv(f64::tanh)`).
    // TODO: c_t = f ⊙ c_prev + i ⊙ g (`&a * &b` is elementwise), h_t = o ⊙ tanh(c_t).
    todo!("exercise 5: one LSTM step")
}
// ANCHOR_END: lstm_cell_forward
