//! Reference solution of exercise 2: the forward pass of the Elman RNN over a sequence,
//! $h_t = \tanh(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$ for $t = 1, \dots, T$.

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

// ANCHOR: rnn_forward
/// Runs the Elman RNN over `xs` (T, B, D) from `h0` (B, H) and returns every state
/// $h_1, \dots, h_T$ as (T, B, H). `w_xh` is (H, D), `w_hh` is (H, H), `b` is (H,).
pub fn rnn_forward(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array3<f64> {
    let (t_len, batch, _input_size) = xs.dim();
    let hidden_size = w_hh.nrows();
    let mut hs = Array3::zeros((t_len, batch, hidden_size)); // (T, B, H)
    let mut h_prev = h0.to_owned(); // (B, H): h_{t-1}, which is h0 before the first step
    for t in 0..t_len {
        let x_t = xs.index_axis(Axis(0), t); // (B, D)
        let h_t = step(x_t, h_prev.view(), w_xh, w_hh, b); // (B, H)

        // Slot t holds h_{t+1} in the book's 1-based numbering: hs[0] is h_1, not h0.
        hs.index_axis_mut(Axis(0), t).assign(&h_t);
        // The new state is the previous state of the next step.
        h_prev = h_t;
    }
    hs
}
// ANCHOR_END: rnn_forward

/// One step, $h_t = \tanh(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$: (B, H).
fn step(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array2<f64> {
    let a_t = x_t.dot(&w_xh.t()) + h_prev.dot(&w_hh.t()) + b; // (B, H)
    a_t.mapv(f64::tanh) // (B, H)
}
