//! Named parameter tensors: the common view that optimisers, gradient clipping and the
//! gradient checker take of any layer, so none of them needs to know which layer it is.

use crate::Real;
use ndarray::{ArrayViewD, ArrayViewMutD};

/// A layer's parameters (or gradients: a gradient struct lists the same names in the same
/// order as its layer, so the two can be zipped).
pub trait Params<F: Real> {
    /// Every tensor with its name (the book's symbol: `w_xh`, `w_hh`, `b`).
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)>;
    /// The same tensors, mutable, in the same order.
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)>;
    /// The number of scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|(_, p)| p.len()).sum()
    }
}
