//! Reference solution of exercise 8: one CIFG step, blocks f, g, o, and
//! $c_t = f \odot c_{t-1} + (1 - f) \odot g$.

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

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

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
    let h = h_prev.ncols();
    let z = x_t.dot(&w_ih.t()) + b_ih + h_prev.dot(&w_hh.t()) + b_hh; // (B, 3H)
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);
    let f = block(0).mapv(sigmoid); // (B, H)
    let g = block(1).mapv(f64::tanh); // (B, H)
    let o = block(2).mapv(sigmoid); // (B, H)

    // Write exactly as much as is forgotten: the input gate is 1 - f.
    let i = f.mapv(|f| 1.0 - f); // (B, H)
    let c = &f * &c_prev + &i * &g; // (B, H)
    let h_t = &o * &c.mapv(f64::tanh); // (B, H)
    CifgStep { h: h_t, c, f, g, o }
}
// ANCHOR_END: cifg_cell_forward
