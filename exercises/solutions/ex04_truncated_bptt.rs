//! Reference solution of exercise 4: truncated backpropagation through time, BPTT(k).
//!
//! The error $\partial L/\partial h_s$ injected at step $s$ is carried back through the
//! steps $s, s-1, \dots, s-k+1$ only, and then dropped. Each step it passes through adds
//! to the gradients exactly as in full BPTT; only if its chain reaches step 1 does what is
//! left reach $h_0$.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};

// ANCHOR: bptt_grads
/// The gradients of the loss with respect to everything the forward pass read.
#[derive(Clone, Debug)]
pub struct BpttGrads {
    /// $\partial L/\partial W_{xh}$: (H, D).
    pub dw_xh: Array2<f64>,
    /// $\partial L/\partial W_{hh}$: (H, H).
    pub dw_hh: Array2<f64>,
    /// $\partial L/\partial b$: (H,).
    pub db: Array1<f64>,
    /// $\partial L/\partial x_t$ for every step: (T, B, D).
    pub dxs: Array3<f64>,
    /// $\partial L/\partial h_0$: (B, H).
    pub dh0: Array2<f64>,
}
// ANCHOR_END: bptt_grads

// ANCHOR: bptt_truncated
/// Truncated BPTT(k): like full BPTT, but the error injected at each step travels back
/// through at most `k` steps (itself included). `k` is at least 1; with `k >= T` this is
/// full BPTT. Arguments as in exercise 3.
pub fn bptt_truncated(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
    k: usize,
) -> BpttGrads {
    let (t_len, batch, input_size) = xs.dim();
    let hidden_size = w_hh.nrows();
    let mut dw_xh = Array2::zeros((hidden_size, input_size)); // (H, D)
    let mut dw_hh = Array2::zeros((hidden_size, hidden_size)); // (H, H)
    let mut db = Array1::zeros(hidden_size); // (H,)
    let mut dxs = Array3::zeros((t_len, batch, input_size)); // (T, B, D)
    let mut dh0 = Array2::zeros((batch, hidden_size)); // (B, H)

    // One backward walk per injected error: from step s down to step s-k+1 (or 1).
    for s in (0..t_len).rev() {
        // The error from step s, as it arrives at h_t: dhs[s] at t = s.
        let mut delta = dhs.index_axis(Axis(0), s).to_owned(); // (B, H)
        let earliest = (s + 1).saturating_sub(k); // s - k + 1, but not before step 0
        for t in (earliest..=s).rev() {
            let x_t = xs.index_axis(Axis(0), t); // (B, D)
            let h_t = hs.index_axis(Axis(0), t); // (B, H)

            // h_{t-1} (B, H), h0 at the first step.
            let h_prev = if t == 0 {
                h0.view()
            } else {
                hs.index_axis(Axis(0), t - 1)
            };

            // Through the tanh: this error's share of dL/da_t.
            let da_t = &delta * &h_t.mapv(|h| 1.0 - h * h); // (B, H)
            dw_xh += &da_t.t().dot(&x_t); // (H, D)
            dw_hh += &da_t.t().dot(&h_prev); // (H, H)
            db += &da_t.sum_axis(Axis(0)); // (H,)
            let mut dx_t = dxs.index_axis_mut(Axis(0), t); // (B, D)
            dx_t += &da_t.dot(&w_xh); // (B, H)·(H, D) = (B, D)

            // On to h_{t-1}.
            delta = da_t.dot(&w_hh); // (B, H)
        }
        // The chain went through step 1, so what is left arrives at h0.
        if earliest == 0 {
            dh0 += &delta;
        }
    }
    BpttGrads {
        dw_xh,
        dw_hh,
        db,
        dxs,
        dh0,
    }
}
// ANCHOR_END: bptt_truncated
