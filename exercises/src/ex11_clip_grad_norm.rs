//! # Exercise 11: clipping the gradient by its global norm
//!
//! Read first: *Gradient clipping* (`book/src/gradient-clipping.md`).
//!
//! A network's gradient arrives as several tensors, one per parameter ($W_{xh}$, $W_{hh}$,
//! $b$, the output layer's weights...). Pascanu, Mikolov & Bengio (2013) treat them as
//! *one* vector $g$ and rescale it when it is too long:
//!
//! $$\|g\| = \sqrt{\textstyle\sum_{\text{tensors}} \sum_{\text{entries}} g_i^2}, \qquad
//! g \leftarrow \frac{\text{max\_norm}}{\|g\|}\, g \quad \text{if } \|g\| > \text{max\_norm}.$$
//!
//! Every entry of every tensor is multiplied by the same factor, so the step keeps its
//! direction and only its length is bounded. A gradient that is already short enough is
//! left exactly as it is. Return the norm *before* clipping: it is the number worth
//! logging, because its spikes are the exploding gradient.
//!
//! **No epsilon.** The division by $\|g\|$ happens only when $\|g\| >$ `max_norm` $> 0$,
//! so it can never divide by zero and needs no guard; the clipped norm is then `max_norm`
//! to rounding. (PyTorch's `clip_grad_norm_` divides by $\|g\| + 10^{-6}$ instead, which
//! leaves the clipped norm a hair below `max_norm`; the grader accepts either, to a
//! relative $10^{-5}$.)
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `grads` | the gradient tensors, changed in place | any shapes, any number (0 too) |
//! | `max_norm` | the largest norm allowed (finite, > 0) | scalar |
//!
//! Grade it with `cargo test -p exercises --test ex11_clip_grad_norm`.
#![allow(unused_variables, unused_imports, unused_mut)]

use ndarray::ArrayD;

// ANCHOR: clip_grad_norm
/// Rescales all of `grads` together so that their global L2 norm is at most `max_norm`;
/// returns the global norm before clipping.
pub fn clip_grad_norm(grads: &mut [ArrayD<f64>], max_norm: f64) -> f64 {
    // TODO: the global norm: the square root of the sum of the squares of *every* entry
    //       of *every* tensor (`g.iter()` visits the entries of one tensor). One norm for
    //       all of them, not one per tensor: clipping each tensor on its own changes the
    //       direction of the whole step.
    // TODO: if (and only if) that norm is larger than max_norm, multiply every entry of
    //       every tensor by max_norm / norm (`g.mapv_inplace(|x| x * scale)`). Not by
    //       max_norm / norm², and not by clamping entries into [-max_norm, max_norm]:
    //       that is clipping by value, a different remedy.
    // TODO: return the norm you computed before scaling.
    todo!("exercise 11: clip the gradients by their global norm")
}
// ANCHOR_END: clip_grad_norm
