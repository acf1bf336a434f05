//! Reference solution of exercise 10: the backward pass of one GRU step in PyTorch's
//! (reset-after) form.
//!
//! From $h_t = (1 - z) \odot n + z \odot h_{t-1}$ the update gate gets
//! $dh \odot (h_{t-1} - n)$, the candidate $dh \odot (1 - z)$ and the old state
//! $dh \odot z$ directly. From $a_n = \dots + r \odot hn$ the reset gate gets
//! $da_n \odot hn$ and the hidden half $hn = h_{t-1} W_{hn}^\top + b_{hn}$ gets
//! $da_n \odot r$: the input and hidden halves of the candidate receive different
//! gradients, so $b_{in}$ and $b_{hn}$ do too.

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
    let GruCellCache {
        x_t,
        h_prev,
        r,
        z,
        n,
        hn,
    } = cache;

    // h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}, then through σ' = z(1 - z) and tanh' = 1 - n².
    let da_z = &dh * &(h_prev - n) * z.mapv(|z| z * (1.0 - z)); // (B, H)
    let da_n = &dh * &z.mapv(|z| 1.0 - z) * n.mapv(|n| 1.0 - n * n); // (B, H)

    // a_n = x W_in^T + b_in + r ⊙ hn: the product rule splits da_n between r and hn.
    let d_hn = &da_n * r; // (B, H)
    let da_r = &da_n * hn * r.mapv(|r| r * (1.0 - r)); // (B, H)

    // The input halves and the hidden halves of the three blocks, r, z, n.
    let g_x = concatenate![Axis(1), da_r, da_z, da_n]; // (B, 3H)
    let g_h = concatenate![Axis(1), da_r, da_z, d_hn]; // (B, 3H)

    GruCellGrads {
        dx: g_x.dot(&w_ih), // (B, 3H)·(3H, D) = (B, D)
        // Directly through z ⊙ h_{t-1}, plus through all three hidden halves.
        dh_prev: &dh * z + g_h.dot(&w_hh), // (B, H) + (B, 3H)·(3H, H)
        dw_ih: g_x.t().dot(x_t),           // (3H, B)·(B, D) = (3H, D)
        dw_hh: g_h.t().dot(h_prev),        // (3H, B)·(B, H) = (3H, H)
        db_ih: g_x.sum_axis(Axis(0)),      // (3H,)
        db_hh: g_h.sum_axis(Axis(0)),      // (3H,): its n block is scaled by r
    }
}
// ANCHOR_END: gru_cell_backward
