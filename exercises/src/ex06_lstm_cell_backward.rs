//! # Exercise 6: backpropagation through one LSTM step
//!
//! Read first: *The LSTM* (`book/src/lstm.md`), the section on its backward pass and the
//! constant error carousel.
//!
//! The forward step of exercise 5 computed, with $z = x_t W_{ih}^\top + b_{ih} + h_{t-1}
//! W_{hh}^\top + b_{hh}$ split into blocks i, f, g, o,
//!
//! $$i, f, o = \sigma(z_i), \sigma(z_f), \sigma(z_o), \quad g = \tanh(z_g), \quad
//! c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t).$$
//!
//! From above and from later steps arrive `dh` $= \partial L/\partial h_t$ and `dc`
//! $= \partial L/\partial c_t$ through $c_{t+1}$ (B, H each). Walk the equations backwards:
//!
//! $$\begin{aligned}
//! do &= dh \odot \tanh(c_t), &
//! dc_t &= dc + dh \odot o \odot (1 - \tanh^2(c_t)), \\
//! di &= dc_t \odot g, \quad df = dc_t \odot c_{t-1}, \quad dg = dc_t \odot i, &
//! dc_{t-1} &= dc_t \odot f, \\
//! dz_i &= di \odot i(1 - i), \quad dz_f = df \odot f(1 - f), &
//! dz_g &= dg \odot (1 - g^2), \quad dz_o = do \odot o(1 - o).
//! \end{aligned}$$
//!
//! Stack $dz = [dz_i, dz_f, dz_g, dz_o]$ (B, 4H), in the forward pass's block order, and
//! everything else is a matrix product, as in exercise 3:
//!
//! $$\frac{\partial L}{\partial x_t} = dz\, W_{ih}, \quad
//! \frac{\partial L}{\partial h_{t-1}} = dz\, W_{hh}, \quad
//! \frac{\partial L}{\partial W_{ih}} = dz^\top x_t, \quad
//! \frac{\partial L}{\partial W_{hh}} = dz^\top h_{t-1}, \quad
//! \frac{\partial L}{\partial b} = \sum_{\text{batch}} dz.$$
//!
//! One bias gradient is enough: $b_{ih}$ and $b_{hh}$ are only ever added together, so
//! the loss has the same gradient with respect to each.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `cache` | what the forward step read and computed: $x_t$, $h_{t-1}$, $c_{t-1}$, the four activations and $c_t$ | see [`LstmCellCache`] |
//! | `w_ih`, `w_hh` | the weights, blocks i, f, g, o | (4H, D), (4H, H) |
//! | `dh`, `dc` | $\partial L/\partial h_t$ and $\partial L/\partial c_t$ from above and later | (B, H) each |
//!
//! Return an [`LstmCellGrads`]. The graders check every gradient against central
//! differences (the gradient checker) and against `recurrent::Lstm::backward`.
//!
//! Grade it with `cargo test -p exercises --test ex06_lstm_cell_backward`.
#![allow(unused_variables, unused_imports)]

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

// ANCHOR: lstm_cell_cache
/// What the forward step read and computed, every field (B, ·).
#[derive(Clone, Debug)]
pub struct LstmCellCache {
    /// $x_t$: (B, D).
    pub x_t: Array2<f64>,
    /// $h_{t-1}$: (B, H).
    pub h_prev: Array2<f64>,
    /// $c_{t-1}$: (B, H).
    pub c_prev: Array2<f64>,
    /// The activations $i_t, f_t, g_t, o_t$: (B, H) each.
    pub i: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
    /// The new cell $c_t$: (B, H).
    pub c: Array2<f64>,
}

/// The gradients of the loss with respect to everything the step read.
#[derive(Clone, Debug)]
pub struct LstmCellGrads {
    /// $\partial L/\partial x_t$: (B, D).
    pub dx: Array2<f64>,
    /// $\partial L/\partial h_{t-1}$: (B, H).
    pub dh_prev: Array2<f64>,
    /// $\partial L/\partial c_{t-1}$: (B, H).
    pub dc_prev: Array2<f64>,
    /// $\partial L/\partial W_{ih}$: (4H, D).
    pub dw_ih: Array2<f64>,
    /// $\partial L/\partial W_{hh}$: (4H, H).
    pub dw_hh: Array2<f64>,
    /// $\partial L/\partial b_{ih} = \partial L/\partial b_{hh}$: (4H,).
    pub db: Array1<f64>,
}
// ANCHOR_END: lstm_cell_cache

// ANCHOR: lstm_cell_backward
/// The backward pass of one LSTM step.
pub fn lstm_cell_backward(
    cache: &LstmCellCache,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    dh: ArrayView2<f64>,
    dc: ArrayView2<f64>,
) -> LstmCellGrads {
    // TODO: tanh(c_t) (B, H) is needed twice: `cache.c.mapv(f64::tanh)`.
    // TODO: do = dh ⊙ tanh(c_t); the total dc_t = dc + dh ⊙ o ⊙ (1 - tanh²(c_t)): the
    //       cell reaches the loss both directly (dc) and through h_t.
    // TODO: di, df, dg from c_t = f ⊙ c_prev + i ⊙ g, and dc_prev = dc_t ⊙ f.
    // TODO: through the squashings: σ' = s(1 - s) and tanh' = 1 - t² from the outputs.
    // TODO: dz (B, 4H) = `concatenate![Axis(1), dz_i, dz_f, dz_g, dz_o]`.
    // TODO: dx (B, 4H)·(4H, D), dh_prev (B, 4H)·(4H, H), dw_ih (4H, B)·(B, D),
    //       dw_hh (4H, B)·(B, H), db = `dz.sum_axis(Axis(0))`.
    todo!("exercise 6: backpropagate dh and dc through one LSTM step")
}
// ANCHOR_END: lstm_cell_backward
