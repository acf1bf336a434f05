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

/// Implements [`Params`] for structs whose tensors are named fields, each named in the
/// [`Params`] view after its field (`w_xh`, `w_hh`, `b`, ...): one list of fields, so the
/// immutable and mutable views cannot disagree in order.
macro_rules! impl_params {
    ($ty:ident => $($field:ident),+) => {
        impl<F: $crate::Real> $crate::Params<F> for $ty<F> {
            fn params(&self) -> Vec<(&'static str, ndarray::ArrayViewD<'_, F>)> {
                vec![$((stringify!($field), self.$field.view().into_dyn())),+]
            }
            fn params_mut(&mut self) -> Vec<(&'static str, ndarray::ArrayViewMutD<'_, F>)> {
                vec![$((stringify!($field), self.$field.view_mut().into_dyn())),+]
            }
        }
    };
    ($ty:ident, $($rest:ident),+ => $($field:ident),+) => {
        impl_params!($ty => $($field),+);
        impl_params!($($rest),+ => $($field),+);
    };
}
pub(crate) use impl_params;

/// A `&'static str` for a name made at run time (`l1.w_ih_reverse`): wrappers such as
/// [`crate::stacked::Stacked`] name their layers' tensors by index and direction, while
/// [`Params`] hands out static names so that listing them allocates nothing. Each distinct
/// name is stored once, for the life of the program; there are only as many as there are
/// distinct layer names.
pub fn intern(name: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}
