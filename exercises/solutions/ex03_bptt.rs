//! Reference solution of exercise 3: backpropagation through time for the Elman RNN.
//!
//! With $a_t = x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b$ and $h_t = \tanh(a_t)$, walking
//! from $t = T$ down to 1:
//!
//! - $\frac{dL}{dh_t} = \frac{\partial L}{\partial h_t} + \frac{dL}{da_{t+1}} W_{hh}$
//!   (the direct term from the layers above plus what comes back from step $t+1$);
//! - $\frac{dL}{da_t} = \frac{dL}{dh_t} \odot (1 - h_t^2)$;
//! - $\frac{dL}{dW_{xh}} \mathrel{+}= \frac{dL}{da_t}^\top x_t$,
//!   $\frac{dL}{dW_{hh}} \mathrel{+}= \frac{dL}{da_t}^\top h_{t-1}$,
//!   $\frac{dL}{db} \mathrel{+}= \sum_{\text{batch}} \frac{dL}{da_t}$,
//!   $\frac{dL}{dx_t} = \frac{dL}{da_t} W_{xh}$;
//! - and what is left after step 1, $\frac{dL}{da_1} W_{hh}$, is $\frac{dL}{dh_0}$.

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

// ANCHOR: bptt
/// Full backpropagation through time.
///
/// `xs` (T, B, D) and `h0` (B, H) are the forward pass's inputs, `hs` (T, B, H) its
/// states $h_1, \dots, h_T$, and `dhs` (T, B, H) holds $\partial L/\partial h_t$ from the
/// layers above only. `w_xh` is (H, D), `w_hh` is (H, H). The bias is not needed: its
/// effect is already in `hs`.
pub fn bptt(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
) -> BpttGrads {
    let (t_len, batch, input_size) = xs.dim();
    let hidden_size = w_hh.nrows();
    let mut dw_xh = Array2::zeros((hidden_size, input_size)); // (H, D)
    let mut dw_hh = Array2::zeros((hidden_size, hidden_size)); // (H, H)
    let mut db = Array1::zeros(hidden_size); // (H,)
    let mut dxs = Array3::zeros((t_len, batch, input_size)); // (T, B, D)

    // dL/dh_t through h_{t+1}: nothing comes back from after the last step.
    let mut dh_carry = Array2::zeros((batch, hidden_size)); // (B, H)
    for t in (0..t_len).rev() {
        let x_t = xs.index_axis(Axis(0), t); // (B, D)
        let h_t = hs.index_axis(Axis(0), t); // (B, H)

        // h_{t-1} (B, H): the state this step read, h0 at the first step.
        let h_prev = if t == 0 {
            h0.view()
        } else {
            hs.index_axis(Axis(0), t - 1)
        };

        // dL/dh_t = direct term + the carry from step t+1.
        let dh_t = &dhs.index_axis(Axis(0), t) + &dh_carry; // (B, H)

        // Through the tanh: dL/da_t = dL/dh_t ⊙ (1 - h_t²).
        let da_t = &dh_t * &h_t.mapv(|h| 1.0 - h * h); // (B, H)

        // The parameters are shared by every step, so their gradients add up over time.
        dw_xh += &da_t.t().dot(&x_t); // (H, B)·(B, D) = (H, D)
        dw_hh += &da_t.t().dot(&h_prev); // (H, B)·(B, H) = (H, H)
        db += &da_t.sum_axis(Axis(0)); // (H,): summed over the batch

        // dL/dx_t = dL/da_t W_xh.
        dxs.index_axis_mut(Axis(0), t).assign(&da_t.dot(&w_xh)); // (B, H)·(H, D) = (B, D)

        // dL/dh_{t-1} through this step: dL/da_t W_hh, carried to the step before.
        dh_carry = da_t.dot(&w_hh); // (B, H)·(H, H) = (B, H)
    }
    BpttGrads {
        dw_xh,
        dw_hh,
        db,
        dxs,
        // After step 1 the carry is dL/dh_0.
        dh0: dh_carry,
    }
}
// ANCHOR_END: bptt
