//! The interface every recurrent layer implements.
//!
//! A layer maps an input sequence `xs` (T, B, D) and an initial state to outputs
//! `hs` (T, B, H), keeping in a cache what its backward pass needs; the backward pass takes
//! $\partial L / \partial h_t$ for every step, as the layers above computed it, and returns
//! the gradients of the parameters, of the inputs and of the initial state. The Elman RNN
//! implements it with state $h$; the LSTM of a later chapter with state $(h, C)$. Wrappers
//! (bidirectional, stacked) and training loops are written against this trait only.

use crate::{Error, Params, Real, Result};
use ndarray::{Array3, ArrayView3};

/// What a backward pass through a whole sequence returns.
#[derive(Clone, Debug)]
pub struct Backward<F, G, S> {
    /// Gradients of the parameters, named as the layer's parameters.
    pub grads: G,
    /// $\partial L/\partial x_t$ for every step: (T, B, D).
    pub dxs: Array3<F>,
    /// The gradient of the initial state (for the RNN, $\partial L/\partial h_0$: (B, H)).
    pub ds0: S,
    /// The total derivative $\partial L/\partial h_t$ at every step, through all later
    /// steps: (T, B, H). This is the quantity whose norm vanishes or explodes.
    pub dhs: Array3<F>,
}

/// A recurrent layer over a batch of sequences.
pub trait Recurrent<F: Real>: Params<F> {
    /// The recurrent state carried from step to step.
    type State;
    /// What the forward pass keeps for the backward pass.
    type Cache;
    /// The parameter gradients.
    type Grads: Params<F>;

    /// D, the size of each input vector.
    fn input_size(&self) -> usize;
    /// H, the size of each output vector.
    fn hidden_size(&self) -> usize;
    /// Chooses the dropout masks of the forward passes that follow: `Some(step)` draws
    /// fresh masks for training step `step` (the same step always gives the same masks, so
    /// a gradient check sees one fixed function), `None` switches dropout off for
    /// evaluation. Layers without dropout ignore it; wrappers pass it to their layers.
    fn set_dropout(&mut self, step: Option<u64>) {
        let _ = step;
    }
    /// The all-zero state for a batch of `batch` sequences.
    fn zero_state(&self, batch: usize) -> Self::State;
    /// Runs the layer over `xs` (T, B, D) from state `s0`.
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Self::State) -> Result<Self::Cache>;
    /// The outputs $h_1..h_T$ kept in a cache: (T, B, H).
    fn outputs<'c>(&self, cache: &'c Self::Cache) -> ArrayView3<'c, F>;
    /// The state after the last step (to carry into the next chunk of a long sequence).
    fn final_state(&self, cache: &Self::Cache) -> Self::State;
    /// Backpropagation through time, given $\partial L/\partial h_t$ from the layers above
    /// for every step: `dhs` (T, B, H).
    fn backward_seq(
        &self,
        cache: &Self::Cache,
        dhs: ArrayView3<F>,
    ) -> Result<Backward<F, Self::Grads, Self::State>>;
    /// Truncated BPTT(k): each step's error travels back at most `k` steps. Cells that only
    /// implement full BPTT keep this default, which says so in an error.
    fn backward_truncated_seq(
        &self,
        cache: &Self::Cache,
        dhs: ArrayView3<F>,
        k: usize,
    ) -> Result<Backward<F, Self::Grads, Self::State>> {
        let _ = (cache, dhs);
        Err(Error::Config {
            field: "truncation",
            reason: format!("this cell implements full BPTT only, so BPTT({k}) is not available"),
        })
    }
}
