//! # Exercise 3: backpropagation through time
//!
//! Read first: *Backpropagation through time* (`book/src/bptt.md`).
//!
//! The forward pass computed, for $t = 1, \dots, T$,
//!
//! $$a_t = x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b, \qquad h_t = \tanh(a_t).$$
//!
//! The layers above give you `dhs`, with `dhs[t]` = $\partial L/\partial h_t$ through
//! those layers only. But $h_t$ also feeds $h_{t+1}$, so the total derivative is
//!
//! $$\frac{dL}{dh_t} = \frac{\partial L}{\partial h_t} + \frac{dL}{da_{t+1}} W_{hh},
//! \qquad \frac{dL}{da_t} = \frac{dL}{dh_t} \odot (1 - h_t^2),$$
//!
//! which is why the pass walks from $t = T$ down to 1. From $dL/da_t$ at every step:
//!
//! $$\frac{\partial L}{\partial W_{xh}} = \sum_t \frac{dL}{da_t}^{\!\top} x_t, \quad
//! \frac{\partial L}{\partial W_{hh}} = \sum_t \frac{dL}{da_t}^{\!\top} h_{t-1}, \quad
//! \frac{\partial L}{\partial b} = \sum_t \sum_{\text{batch}} \frac{dL}{da_t}, \quad
//! \frac{\partial L}{\partial x_t} = \frac{dL}{da_t} W_{xh}, \quad
//! \frac{\partial L}{\partial h_0} = \frac{dL}{da_1} W_{hh}.$$
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `xs` | the inputs of the forward pass | (T, B, D) |
//! | `h0` | its initial states | (B, H) |
//! | `w_xh`, `w_hh` | the weights | (H, D), (H, H) |
//! | `hs` | the states $h_1, \dots, h_T$ it computed (`hs[0]` is $h_1$) | (T, B, H) |
//! | `dhs` | $\partial L/\partial h_t$ from the layers above | (T, B, H) |
//!
//! (The bias is not an argument: the backward pass never needs its value.)
//!
//! Return a [`BpttGrads`] with all five gradients. The graders check each one against the
//! reference implementation and against central differences (the gradient checker).
//!
//! Grade it with `cargo test -p exercises --test ex03_bptt`.
#![allow(unused_variables, unused_imports)]

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
/// Full backpropagation through time: the gradients of L given `dhs`.
pub fn bptt(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
) -> BpttGrads {
    // TODO: start the three parameter gradients and dxs at zero, with the shapes of the
    //       table above, and a carry `dh_carry` (B, H) = zeros: nothing flows back from
    //       after the last step.
    // TODO: for t in (0..T).rev():
    //       - h_{t-1} is `hs.index_axis(Axis(0), t - 1)`, except at t = 0 where it is h0;
    //       - dL/dh_t (B, H) is the direct term dhs[t] plus the carry;
    //       - dL/da_t (B, H) multiplies that elementwise by the tanh derivative, which you
    //         can compute from h_t alone;
    //       - each parameter gradient gets this step's contribution added (+=), not
    //         assigned: (H, B)·(B, D) for dW_xh, (H, B)·(B, H) for dW_hh, a sum over the
    //         batch rows (`sum_axis(Axis(0))`) for db;
    //       - dxs[t] (B, D) is a (B, H)·(H, D) product;
    //       - the new carry, dL/dh_{t-1} through this step, is a (B, H)·(H, H) product.
    // TODO: after the loop the carry is dL/dh_0.
    todo!("exercise 3: backpropagate dhs from t = T down to 1")
}
// ANCHOR_END: bptt
