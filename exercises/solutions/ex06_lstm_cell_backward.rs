//! Reference solution of exercise 6: the backward pass of one LSTM step.
//!
//! The cell reaches the loss two ways, directly (`dc`) and through
//! $h_t = o \odot \tanh(c_t)$, so $dc_t = dc + dh \odot o \odot (1 - \tanh^2 c_t)$. From
//! $c_t = f \odot c_{t-1} + i \odot g$ the gates get $dc_t \odot g$, $dc_t \odot c_{t-1}$,
//! $dc_t \odot i$, and the old cell gets $dc_t \odot f$: a gate, not a weight matrix, which
//! is the constant error carousel. The rest is exercise 3's matrix products with the
//! stacked pre-activation gradient $dz$ (B, 4H).

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
    let LstmCellCache {
        x_t,
        h_prev,
        c_prev,
        i,
        f,
        g,
        o,
        c,
    } = cache;
    let tanh_c = c.mapv(f64::tanh); // (B, H)

    // h_t = o ⊙ tanh(c_t): the output gate gets dh ⊙ tanh(c_t), the cell gets
    // dh ⊙ o ⊙ tanh'(c_t) on top of what reached it directly.
    let d_o = &dh * &tanh_c; // (B, H)
    let dc_t = &dc + &(&dh * o * &tanh_c.mapv(|t| 1.0 - t * t)); // (B, H)

    // c_t = f ⊙ c_{t-1} + i ⊙ g.
    let di = &dc_t * g; // (B, H)
    let df = &dc_t * c_prev; // (B, H)
    let dg = &dc_t * i; // (B, H)
    let dc_prev = &dc_t * f; // (B, H)  the constant error carousel

    // Through the squashings, from their outputs: σ' = s(1 - s), tanh' = 1 - t².
    let dsig = |s: &Array2<f64>| s.mapv(|s| s * (1.0 - s));
    let dz_i = di * dsig(i); // (B, H)
    let dz_f = df * dsig(f); // (B, H)
    let dz_g = dg * g.mapv(|t| 1.0 - t * t); // (B, H)
    let dz_o = d_o * dsig(o); // (B, H)
    let dz = concatenate![Axis(1), dz_i, dz_f, dz_g, dz_o]; // (B, 4H), blocks i, f, g, o

    LstmCellGrads {
        dx: dz.dot(&w_ih),         // (B, 4H)·(4H, D) = (B, D)
        dh_prev: dz.dot(&w_hh),    // (B, 4H)·(4H, H) = (B, H)
        dc_prev,                   // (B, H)
        dw_ih: dz.t().dot(x_t),    // (4H, B)·(B, D) = (4H, D)
        dw_hh: dz.t().dot(h_prev), // (4H, B)·(B, H) = (4H, H)
        db: dz.sum_axis(Axis(0)),  // (4H,), the same for b_ih and b_hh
    }
}
// ANCHOR_END: lstm_cell_backward
