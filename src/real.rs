//! The floating-point types the crate computes in.
//!
//! Every model is generic over [`Real`], implemented for `f64` and `f32`. Gradient checks
//! run in `f64`: central differences lose about half the significant digits, and `f32`
//! leaves too few to tell a correct backward pass from a slightly wrong one. Training runs
//! happily in `f32`, which halves memory traffic.

use ndarray::{LinalgScalar, ScalarOperand};
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point scalar usable in every model of the crate (`f32` or `f64`).
pub trait Real:
    num_traits::Float
    + LinalgScalar
    + ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Converts a constant such as `0.5` or a learning rate into this type.
    fn cast(x: f64) -> Self;
    /// Widens to `f64` (for reporting losses and norms).
    fn as_f64(self) -> f64;
}

impl Real for f64 {
    fn cast(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}

impl Real for f32 {
    fn cast(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}
