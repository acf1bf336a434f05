//! A fully connected output layer, $y = h W^\top + b$, applied to every row of its input.
//!
//! A recurrent layer produces a state per step; the output layer turns states into
//! predictions (logits for classes, or values for regression). For a many-to-many task
//! the (T, B, H) states are viewed as (T·B, H) rows and go through it in one multiply.

use crate::error::{check_finite, check_shape, require};
use crate::init::{self, SeededRng};
use crate::params::impl_params;
use crate::{Real, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A linear layer from H inputs to O outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<F> {
    /// $W$: (O, H), PyTorch's `nn.Linear.weight` layout.
    pub w: Array2<F>,
    /// $b$: (O,).
    pub b: Array1<F>,
}

/// Gradients of a [`Linear`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGrads<F> {
    /// $\partial L/\partial W$: (O, H).
    pub w: Array2<F>,
    /// $\partial L/\partial b$: (O,).
    pub b: Array1<F>,
}

impl<F: Real> Linear<F> {
    /// A layer with weights and biases from $U(\pm 1/\sqrt{H})$ (PyTorch's default).
    pub fn new(inputs: usize, outputs: usize, rng: &mut SeededRng) -> Result<Self> {
        require(inputs > 0, "inputs", "must be at least 1, got 0")?;
        require(outputs > 0, "outputs", "must be at least 1, got 0")?;
        let bound = 1.0 / (inputs as f64).sqrt();
        let w = init::uniform(outputs, inputs, bound, rng);
        let b = init::uniform(1, outputs, bound, rng).remove_axis(Axis(0));
        Ok(Linear { w, b })
    }

    /// H.
    pub fn inputs(&self) -> usize {
        self.w.ncols()
    }

    /// O.
    pub fn outputs(&self) -> usize {
        self.w.nrows()
    }

    /// `x` (N, H) to `y` (N, O).
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        check_shape("x", x.shape(), &[("N", None), ("H", Some(self.inputs()))])?;
        check_finite("x", &x)?;
        Ok(x.dot(&self.w.t()) + &self.b) // (N, O)
    }

    /// Given the input `x` (N, H) and $\partial L/\partial y$ `dy` (N, O): the gradients
    /// $\partial L/\partial W = dy^\top x$, $\partial L/\partial b = \mathbf 1^\top dy$ and
    /// $\partial L/\partial x = dy\, W$ (N, H).
    pub fn backward(
        &self,
        x: ArrayView2<F>,
        dy: ArrayView2<F>,
    ) -> Result<(LinearGrads<F>, Array2<F>)> {
        check_shape("x", x.shape(), &[("N", None), ("H", Some(self.inputs()))])?;
        check_shape(
            "dy",
            dy.shape(),
            &[("N", Some(x.nrows())), ("O", Some(self.outputs()))],
        )?;
        let w = dy.t().dot(&x); // (O, H)
        let b = dy.sum_axis(Axis(0)); // (O,)
        let dx = dy.dot(&self.w); // (N, H)
        Ok((LinearGrads { w, b }, dx))
    }
}

impl_params!(Linear, LinearGrads => w, b);
