//! Reference solution of exercise 7: one LSTM step with diagonal peepholes; i and f peep
//! at $c_{t-1}$, o at the new $c_t$.

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

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

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
    let h = h_prev.ncols();
    let z = x_t.dot(&w_ih.t()) + h_prev.dot(&w_hh.t()) + b; // (B, 4H)
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);

    // The input and forget gates peep at the old cell: (B, H) ⊙ (H,) scales each column.
    let i = (&block(0) + &(&c_prev * &peepholes.p_i)).mapv(sigmoid); // (B, H)
    let f = (&block(1) + &(&c_prev * &peepholes.p_f)).mapv(sigmoid); // (B, H)
    let g = block(2).mapv(f64::tanh); // (B, H), no peephole
    let c = &f * &c_prev + &i * &g; // (B, H)

    // The output gate is computed after the update, so it peeps at the new cell.
    let o = (&block(3) + &(&c * &peepholes.p_o)).mapv(sigmoid); // (B, H)
    let h_t = &o * &c.mapv(f64::tanh); // (B, H)
    PeepholeStep {
        h: h_t,
        c,
        i,
        f,
        g,
        o,
    }
}
// ANCHOR_END: peephole_cell_forward
