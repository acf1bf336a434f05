//! # Exercise 17: a bidirectional wrapper over any cell, forward and backward
//!
//! Read first: *Bidirectional and deep RNNs* (`book/src/bidirectional-and-deep.md`).
//!
//! A bidirectional layer runs two cells of the same kind over one sequence $x_1 \dots x_T$.
//! The forward cell reads it in order, $\overrightarrow{h}_t = f(x_t,
//! \overrightarrow{h}_{t-1})$; the backward cell, with its own weights, reads it from the
//! end, $\overleftarrow{h}_t = f(x_t, \overleftarrow{h}_{t+1})$. The output at step $t$
//! joins the two, so it has seen the whole sequence:
//!
//! - `Merge::Concat`: $y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t]$, (T, B, 2H),
//!   forward half first (PyTorch's `bidirectional=True`);
//! - `Merge::Sum`: $y_t = \overrightarrow{h}_t + \overleftarrow{h}_t$, (T, B, H).
//!
//! No new cell is needed: the backward cell is an ordinary cell run over the *reversed*
//! sequence, whose outputs are then reversed back into input order. The backward pass
//! mirrors that: route $\partial L/\partial y_t$ to each direction, reverse the backward
//! cell's share in time before its BPTT, and reverse the input gradient it returns.
//!
//! You call the cells only through the [`Recurrent`] trait: `forward_seq(xs, &s0)`,
//! `outputs(&cache)` (T, B, H), and `backward_seq(&cache, dhs)` whose result has `grads`,
//! `dxs` (T, B, D) and `ds0`.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `fwd`, `bwd` | two cells with the same D and H | |
//! | `xs` | the inputs $x_1 \dots x_T$ | (T, B, D) |
//! | `s0_fwd` | the forward cell's state before $x_1$ | |
//! | `s0_bwd` | the backward cell's state "after" $x_T$, where it starts | |
//! | `dys` | $\partial L / \partial y_t$ | (T, B, 2H) or (T, B, H) |
//!
//! Grade it with `cargo test -p exercises --test ex17_bidirectional`.
#![allow(unused_variables, unused_imports, dead_code)]

use ndarray::{concatenate, s, Array3, ArrayView3, Axis};
use recurrent::{Error, Merge, Recurrent, Result};

/// What the forward pass keeps: both cells' caches and the joined outputs.
pub struct BiCache<K> {
    /// The forward cell's cache.
    pub fwd: K,
    /// The backward cell's cache (of its run over the reversed sequence).
    pub bwd: K,
    /// $y_1 \dots y_T$: (T, B, 2H) or (T, B, H).
    pub ys: Array3<f64>,
}

/// What the backward pass returns.
pub struct BiGradients<G, S> {
    /// The forward cell's parameter gradients.
    pub fwd: G,
    /// The backward cell's parameter gradients.
    pub bwd: G,
    /// $\partial L / \partial x_t$, in input order: (T, B, D).
    pub dxs: Array3<f64>,
    /// $\partial L / \partial$ `s0_fwd`.
    pub ds0_fwd: S,
    /// $\partial L / \partial$ `s0_bwd`.
    pub ds0_bwd: S,
}

// ANCHOR: reverse_time
/// `a` with its time axis (axis 0) reversed: (T, B, N).
pub fn reverse_time(a: ArrayView3<f64>) -> Array3<f64> {
    // TODO: a slice with a negative step, `a.slice(s![..;-1, .., ..])`, is a reversed view;
    //       return it as an owned array in standard layout (`.as_standard_layout()
    //       .into_owned()`): the cells expect contiguous inputs.
    todo!("exercise 17: reverse the time axis")
}
// ANCHOR_END: reverse_time

// ANCHOR: bi_forward
/// Both directions over `xs` (T, B, D), outputs joined by `merge`.
pub fn bi_forward<C: Recurrent<f64>>(
    fwd: &C,
    bwd: &C,
    xs: ArrayView3<f64>,
    s0_fwd: &C::State,
    s0_bwd: &C::State,
    merge: Merge,
) -> Result<BiCache<C::Cache>> {
    // TODO: the forward cell over xs as it is: fwd.forward_seq(xs, s0_fwd)?.
    // TODO: the backward cell over reverse_time(xs), from s0_bwd. Its outputs come out in
    //       reversed order: its first output belongs to x_T. Reverse them back.
    // TODO: join: Concat puts the forward half first, `concatenate(Axis(2), &[..])`;
    //       Sum adds the two (T, B, H) arrays.
    todo!("exercise 17: the bidirectional forward pass")
}
// ANCHOR_END: bi_forward

// ANCHOR: bi_backward
/// The gradients of both cells, of `xs` and of both initial states, given `dys`.
pub fn bi_backward<C: Recurrent<f64>>(
    fwd: &C,
    bwd: &C,
    cache: &BiCache<C::Cache>,
    dys: ArrayView3<f64>,
    merge: Merge,
) -> Result<BiGradients<C::Grads, C::State>> {
    // TODO: dys must have the outputs' shape; otherwise return
    //       Err(Error::Shape { arg: "dys", expected: ..., found: dys.shape().to_vec() })
    //       rather than panicking inside a cell.
    // TODO: route the gradient. Concat: the first H features of dys belong to the forward
    //       cell, the rest to the backward cell (`dys.slice(s![.., .., ..h])`). Sum: y_t
    //       depends on each direction with coefficient 1, so BOTH get all of dys.
    // TODO: fwd.backward_seq(&cache.fwd, dh_fwd)?; the backward cell ran over reversed
    //       time, so give it its share reversed: bwd.backward_seq(&cache.bwd,
    //       reverse_time(dh_bwd).view())?.
    // TODO: dxs = the forward cell's dxs + the backward cell's dxs reversed back into input
    //       order (x_t fed both cells). The initial-state gradients are each cell's ds0.
    todo!("exercise 17: the bidirectional backward pass")
}
// ANCHOR_END: bi_backward
