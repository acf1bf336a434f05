//! Reference solution of exercise 5: one LSTM step, PyTorch's equations and layout.
//!
//! $z_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$ (B, 4H), blocks i, f,
//! g, o; $i, f, o = \sigma(\cdot)$, $g = \tanh(z_g)$; $c_t = f \odot c_{t-1} + i \odot g$;
//! $h_t = o \odot \tanh(c_t)$.

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

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

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
    let h = h_prev.ncols();

    // Every gate's pre-activation at once: (B, D)·(D, 4H) + (B, H)·(H, 4H) = (B, 4H).
    let z = x_t.dot(&w_ih.t()) + b_ih + h_prev.dot(&w_hh.t()) + b_hh;

    // Block k of the columns, (B, H): 0 = i, 1 = f, 2 = g, 3 = o.
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);
    let i = block(0).mapv(sigmoid); // (B, H) how much of the candidate to write
    let f = block(1).mapv(sigmoid); // (B, H) how much of the old cell to keep
    let g = block(2).mapv(f64::tanh); // (B, H) the candidate values, in (-1, 1)
    let o = block(3).mapv(sigmoid); // (B, H) how much of the cell to show

    // Forget some, write some; then show a squashed view of the new cell.
    let c = &f * &c_prev + &i * &g; // (B, H)
    let h_t = &o * &c.mapv(f64::tanh); // (B, H)
    LstmStep {
        h: h_t,
        c,
        i,
        f,
        g,
        o,
    }
}
// ANCHOR_END: lstm_cell_forward
