//! Activation functions and their derivatives, and a numerically stable softmax.
//!
//! Derivatives of sigmoid and tanh are written in terms of the function's *output*
//! ($\sigma' = \sigma(1-\sigma)$, $\tanh' = 1 - \tanh^2$), because the forward pass keeps
//! outputs, not pre-activations, for the backward pass.

use crate::Real;
use ndarray::{Array2, ArrayView2, Axis};

/// The logistic sigmoid $\sigma(x) = 1/(1+e^{-x})$, evaluated without overflow for large
/// $|x|$ (for negative $x$ it uses $e^{x}/(1+e^{x})$ so `exp` never sees a large argument).
pub fn sigmoid<F: Real>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

/// $\sigma'(x)$ from $y = \sigma(x)$: $y(1-y)$.
pub fn sigmoid_grad_from_output<F: Real>(y: F) -> F {
    y * (F::one() - y)
}

/// The hyperbolic tangent.
pub fn tanh<F: Real>(x: F) -> F {
    x.tanh()
}

/// $\tanh'(x)$ from $y = \tanh(x)$: $1 - y^2$.
pub fn tanh_grad_from_output<F: Real>(y: F) -> F {
    F::one() - y * y
}

/// The rectifier $\max(0, x)$.
pub fn relu<F: Real>(x: F) -> F {
    x.max(F::zero())
}

/// The rectifier's derivative from its *input* (its output loses the sign of $x$ at 0;
/// we take the derivative at 0 to be 0, as PyTorch does).
pub fn relu_grad<F: Real>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else {
        F::zero()
    }
}

/// Row-wise log-softmax of `logits` (N, C): $z_j - \log\sum_k e^{z_k}$, computed as
/// $z_j - m - \log\sum_k e^{z_k - m}$ with $m = \max_k z_k$ so that no exponent exceeds 0.
pub fn log_softmax<F: Real>(logits: ArrayView2<F>) -> Array2<F> {
    let mut out = logits.to_owned(); // (N, C)
    for mut row in out.axis_iter_mut(Axis(0)) {
        let m = row.fold(F::neg_infinity(), |a, &b| a.max(b));
        let lse = row.fold(F::zero(), |acc, &z| acc + (z - m).exp()).ln() + m;
        row.mapv_inplace(|z| z - lse);
    }
    out
}

/// Row-wise softmax of `logits` (N, C), stable for logits of any magnitude.
pub fn softmax<F: Real>(logits: ArrayView2<F>) -> Array2<F> {
    let mut p = log_softmax(logits); // (N, C)
    p.mapv_inplace(F::exp);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::arr2;

    #[test]
    fn sigmoid_is_finite_and_symmetric_at_extremes() {
        for &x in &[-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4] {
            let s: f64 = sigmoid(x);
            assert!(s.is_finite());
            assert_abs_diff_eq!(s + sigmoid(-x), 1.0, epsilon = 1e-15);
        }
        assert_eq!(sigmoid(0.0_f64), 0.5);
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for &x in &[-2.0_f64, -0.3, 0.4, 1.7] {
            let num = (sigmoid(x + h) - sigmoid(x - h)) / (2.0 * h);
            assert_abs_diff_eq!(sigmoid_grad_from_output(sigmoid(x)), num, epsilon = 1e-9);
            let num = (tanh(x + h) - tanh(x - h)) / (2.0 * h);
            assert_abs_diff_eq!(tanh_grad_from_output(tanh(x)), num, epsilon = 1e-9);
            let num = (relu(x + h) - relu(x - h)) / (2.0 * h);
            assert_abs_diff_eq!(relu_grad(x), num, epsilon = 1e-9);
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_even_for_huge_logits() {
        let z = arr2(&[[1e4_f64, -1e4, 0.0], [1.0, 2.0, 3.0], [-1e4, -1e4, -1e4]]);
        let p = softmax(z.view());
        assert!(p.iter().all(|v| v.is_finite()));
        for row in p.rows() {
            assert_abs_diff_eq!(row.sum(), 1.0, epsilon = 1e-12);
        }
        assert_abs_diff_eq!(p[[0, 0]], 1.0, epsilon = 1e-12);
        let lp = log_softmax(z.view());
        assert!(lp.iter().all(|v| v.is_finite()));
        assert_abs_diff_eq!(lp[[0, 1]], -2e4, epsilon = 1e-9);
        assert_abs_diff_eq!(lp[[2, 0]], -(3.0_f64).ln(), epsilon = 1e-12);
    }
}
