//! Reference solution of exercise 9: one GRU step in both forms, PyTorch's layout
//! (blocks r, z, n).
//!
//! ResetAfter: $n = \tanh(x W_{in}^\top + b_{in} + r \odot (h W_{hn}^\top + b_{hn}))$,
//! $h_t = (1 - z) \odot n + z \odot h_{t-1}$. ResetBefore:
//! $\tilde h = \tanh(x W_{in}^\top + b_{in} + (r \odot h_{t-1}) W_{hn}^\top + b_{hn})$,
//! $h_t = (1 - z) \odot h_{t-1} + z \odot \tilde h$.

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

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

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
    let h = h_prev.ncols();
    let block = |k: usize| k * h..(k + 1) * h;

    // The input halves of all three blocks at once: (B, D)·(D, 3H) + (3H,) = (B, 3H).
    let gx = x_t.dot(&w_ih.t()) + b_ih;
    // The hidden halves of the two gates: (B, H)·(H, 2H) + (2H,) = (B, 2H).
    let gh_rz = h_prev.dot(&w_hh.slice(s![0..2 * h, ..]).t()) + b_hh.slice(s![0..2 * h]);

    let r = (&gx.slice(s![.., block(0)]) + &gh_rz.slice(s![.., block(0)])).mapv(sigmoid); // (B, H)
    let z = (&gx.slice(s![.., block(1)]) + &gh_rz.slice(s![.., block(1)])).mapv(sigmoid); // (B, H)

    let w_hn = w_hh.slice(s![block(2), ..]); // (H, H)
    let b_hn = b_hh.slice(s![block(2)]); // (H,)
    let gx_n = gx.slice(s![.., block(2)]); // (B, H)
    let one_minus_z = z.mapv(|z| 1.0 - z); // (B, H)
    let (n, h_t) = match form {
        GruForm::ResetAfter => {
            // r scales the whole recurrent term, bias included, after the product.
            let gh_n = h_prev.dot(&w_hn.t()) + b_hn; // (B, H)
            let n = (&gx_n + &(&r * &gh_n)).mapv(f64::tanh); // (B, H)
                                                             // z ≈ 1 keeps the old state.
            let h_t = &one_minus_z * &n + &z * &h_prev; // (B, H)
            (n, h_t)
        }
        GruForm::ResetBefore => {
            // r scales the old state before the product.
            let rh = &r * &h_prev; // (B, H)
            let h_tilde = (&gx_n + &rh.dot(&w_hn.t()) + b_hn).mapv(f64::tanh); // (B, H)
                                                                               // z ≈ 1 takes the candidate.
            let h_t = &one_minus_z * &h_prev + &z * &h_tilde; // (B, H)
            (h_tilde, h_t)
        }
    };
    GruStep { h: h_t, r, z, n }
}
// ANCHOR_END: gru_cell_forward
