//! # Exercise 4: truncated backpropagation through time
//!
//! Read first: *Backpropagation through time* (`book/src/bptt.md`) and the remedies
//! chapter *Truncated backpropagation through time*. Do exercise 3 first.
//!
//! Full BPTT carries every error all the way back to $h_0$. Truncated BPTT(k) (Williams &
//! Peng 1990) carries the error $\partial L/\partial h_s$ injected at step $s$ back through
//! the steps $s, s-1, \dots, s-k+1$ only (k steps, step $s$ itself included), and then
//! drops it. At each step $t$ it passes through, the error adds to the gradients exactly as
//! in exercise 3:
//!
//! $$\delta \leftarrow \partial L/\partial h_s, \quad\text{then for } t = s, s-1, \dots, s-k+1:\quad
//! \delta_a = \delta \odot (1 - h_t^2),\ \ \text{accumulate } \delta_a,\ \ \delta \leftarrow \delta_a W_{hh}.$$
//!
//! Only an error whose chain gets through step 1 (the first, index 0) reaches
//! $\partial L/\partial h_0$. With `k >= T` nothing is dropped and the result is full BPTT.
//! `k` is at least 1.
//!
//! The arguments and the returned [`BpttGrads`] are as in exercise 3, plus `k`.
//!
//! Grade it with `cargo test -p exercises --test ex04_truncated_bptt`.
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

// ANCHOR: bptt_truncated
/// Truncated BPTT(k): each injected error travels back through at most `k` steps.
pub fn bptt_truncated(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
    k: usize,
) -> BpttGrads {
    // TODO: zeros for the five gradients, as in exercise 3 (dh0 too: it is now a sum).
    // TODO: one backward walk per injected error, for s in (0..T).rev():
    //       - delta (B, H) starts as a copy of dhs[s];
    //       - the walk visits t = s, s-1, ... down to the earliest step it may reach
    //         (careful with usize: `(s + 1).saturating_sub(k)` never underflows);
    //       - at each t, the same three lines as exercise 3, with delta in place of
    //         dL/dh_t, and += into dxs[t] as well (several walks visit the same step);
    //       - the walk does not restart at chunk boundaries: each error gets its own k
    //         steps, counted from where it was injected.
    // TODO: add a walk's final delta to dh0 only if the walk went through t = 0.
    todo!("exercise 4: carry each error back at most k steps")
}
// ANCHOR_END: bptt_truncated
