//! Reference solution of exercise 1: one time step of the Elman RNN,
//! $h_t = \tanh(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$.

use ndarray::{Array2, ArrayView1, ArrayView2};

// ANCHOR: rnn_step
/// One time step of the Elman RNN.
///
/// `x_t` is (B, D), `h_prev` is (B, H), `w_xh` is (H, D), `w_hh` is (H, H), `b` is (H,);
/// returns $h_t$, (B, H).
pub fn rnn_step(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
) -> Array2<f64> {
    // Rows are examples, so the weights act from the right, transposed.
    let input_term = x_t.dot(&w_xh.t()); // (B, D)·(D, H) = (B, H)
    let recurrent_term = h_prev.dot(&w_hh.t()); // (B, H)·(H, H) = (B, H)

    // a_t = x_t W_xh^T + h_{t-1} W_hh^T + b; b (H,) is added to each of the B rows.
    let a_t = input_term + recurrent_term + b; // (B, H)

    // h_t = tanh(a_t), elementwise.
    a_t.mapv(f64::tanh) // (B, H)
}
// ANCHOR_END: rnn_step
