//! The gradient checker: compares a hand-written backward pass against central
//! differences, tensor by tensor.
//!
//! For every scalar $\theta_j$ of every tensor (parameters, inputs, initial state) it
//! evaluates
//! $$\frac{\partial L}{\partial \theta_j} \approx \frac{L(\theta + \varepsilon e_j) - L(\theta - \varepsilon e_j)}{2\varepsilon},$$
//! whose truncation error is $O(\varepsilon^2)$, in `f64`. With $\varepsilon = 10^{-5}$
//! and a loss of order one, truncation and rounding each contribute about $10^{-11}$, so a
//! correct backward pass agrees to about $10^{-9}$ relative, and a wrong one misses by far
//! more than the bar of $10^{-6}$.
//!
//! The relative error of one entry is $|a - n| / \max(|a|, |n|, 10^{-4})$: entries whose
//! true gradient is tiny (a vanishing gradient, a cancellation) are judged by absolute
//! error at the $10^{-10}$ level instead, where central differences cannot give relative
//! accuracy at all.

use ndarray::{ArrayD, Dimension, IxDyn};
use std::fmt;

/// The finite-difference step.
pub const EPSILON: f64 = 1e-5;
/// Below this magnitude an entry's error is measured in absolute terms.
pub const FLOOR: f64 = 1e-4;
/// The bar every backward pass in the crate is held to.
pub const TOLERANCE: f64 = 1e-6;

/// A tensor to check: its name, its current value and the gradient the backward pass gave.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The tensor's name in the report (the book's symbol).
    pub name: String,
    /// Its value, around which the loss is differenced.
    pub value: ArrayD<f64>,
    /// The gradient the backward pass computed, same shape.
    pub analytic: ArrayD<f64>,
}

impl Checked {
    /// Names a tensor to check with its value and analytic gradient (same shape).
    pub fn new(name: impl Into<String>, value: ArrayD<f64>, analytic: ArrayD<f64>) -> Self {
        let name = name.into();
        assert_eq!(
            value.shape(),
            analytic.shape(),
            "gradient of `{name}` has shape {:?} but the tensor has shape {:?}",
            analytic.shape(),
            value.shape()
        );
        Checked {
            name,
            value,
            analytic,
        }
    }
}

/// The worst entry of one tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorReport {
    /// The tensor's name.
    pub name: String,
    /// The largest relative error over its entries (infinite for a NaN).
    pub max_rel_error: f64,
    /// Where the worst entry is.
    pub worst_index: Vec<usize>,
    /// The analytic gradient at that entry.
    pub analytic: f64,
    /// The central-difference gradient at that entry.
    pub numeric: f64,
}

/// The outcome of a gradient check: one line per tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One entry per checked tensor, in the order given.
    pub tensors: Vec<TensorReport>,
}

impl Report {
    /// The largest relative error over all tensors.
    pub fn max_rel_error(&self) -> f64 {
        self.tensors
            .iter()
            .map(|t| t.max_rel_error)
            .fold(0.0, f64::max)
    }

    /// The line for tensor `name`.
    pub fn get(&self, name: &str) -> Option<&TensorReport> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Whether every tensor is within `tol`.
    pub fn passes(&self, tol: f64) -> bool {
        self.tensors.iter().all(|t| t.max_rel_error < tol)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>14} {:>16} {:>16}  worst at",
            "tensor", "max rel err", "analytic", "numeric"
        )?;
        for t in &self.tensors {
            writeln!(
                f,
                "{:<10} {:>14.3e} {:>16.9e} {:>16.9e}  {:?}",
                t.name, t.max_rel_error, t.analytic, t.numeric, t.worst_index
            )?;
        }
        Ok(())
    }
}

/// The relative error of one entry (see the module documentation).
pub fn rel_error(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(FLOOR)
}

/// Central-difference gradients of `loss` with respect to every entry of every tensor.
///
/// `loss` receives all tensors (in the order given) with one entry nudged; it must be a
/// pure function of them.
pub fn numerical_gradients(
    values: &[ArrayD<f64>],
    mut loss: impl FnMut(&[ArrayD<f64>]) -> f64,
) -> Vec<ArrayD<f64>> {
    let mut work: Vec<ArrayD<f64>> = values.to_vec();
    let mut grads = Vec::with_capacity(values.len());
    for k in 0..work.len() {
        let mut g = ArrayD::zeros(work[k].raw_dim());
        let indices: Vec<IxDyn> = work[k].indexed_iter().map(|(i, _)| i).collect();
        for idx in indices {
            let orig = work[k][&idx];
            work[k][&idx] = orig + EPSILON;
            let up = loss(&work);
            work[k][&idx] = orig - EPSILON;
            let down = loss(&work);
            work[k][&idx] = orig;
            g[&idx] = (up - down) / (2.0 * EPSILON);
        }
        grads.push(g);
    }
    grads
}

/// Compares analytic gradients with central differences of `loss`.
pub fn check(tensors: &[Checked], loss: impl FnMut(&[ArrayD<f64>]) -> f64) -> Report {
    let values: Vec<ArrayD<f64>> = tensors.iter().map(|t| t.value.clone()).collect();
    let numeric = numerical_gradients(&values, loss);
    let tensors = tensors
        .iter()
        .zip(&numeric)
        .map(|(t, n)| {
            let mut worst = TensorReport {
                name: t.name.clone(),
                max_rel_error: 0.0,
                worst_index: vec![0; t.value.ndim()],
                analytic: 0.0,
                numeric: 0.0,
            };
            for ((idx, &a), &nv) in t.analytic.indexed_iter().zip(n.iter()) {
                // A NaN must count as a failure, and NaN comparisons are always false.
                let e = rel_error(a, nv);
                let e = if e.is_nan() { f64::INFINITY } else { e };
                if e > worst.max_rel_error {
                    worst.max_rel_error = e;
                    worst.worst_index = idx.slice().to_vec();
                    worst.analytic = a;
                    worst.numeric = nv;
                }
            }
            worst
        })
        .collect();
    Report { tensors }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, ArrayD};

    fn cubic(v: &[ArrayD<f64>]) -> f64 {
        v[0].iter().map(|x| x * x * x).sum::<f64>() + 2.0 * v[1].sum()
    }

    #[test]
    fn exact_gradient_passes() {
        let x = arr1(&[0.5, -1.0, 2.0]).into_dyn();
        let y = arr1(&[1.0]).into_dyn();
        let gx = x.mapv(|v| 3.0 * v * v);
        let gy = arr1(&[2.0]).into_dyn();
        let r = check(&[Checked::new("x", x, gx), Checked::new("y", y, gy)], cubic);
        assert!(r.passes(TOLERANCE), "{r}");
    }

    #[test]
    fn wrong_gradient_is_caught_and_located() {
        let x = arr1(&[0.5, -1.0, 2.0]).into_dyn();
        let y = arr1(&[1.0]).into_dyn();
        let mut gx = x.mapv(|v| 3.0 * v * v);
        gx[[1]] += 1e-3;
        let gy = arr1(&[2.0]).into_dyn();
        let r = check(&[Checked::new("x", x, gx), Checked::new("y", y, gy)], cubic);
        let rx = r.get("x").unwrap();
        assert!(rx.max_rel_error > 1e-4);
        assert_eq!(rx.worst_index, vec![1]);
        assert!(r.get("y").unwrap().max_rel_error < TOLERANCE);
    }

    #[test]
    fn nan_gradient_fails() {
        let x = arr1(&[0.5]).into_dyn();
        let r = check(&[Checked::new("x", x, arr1(&[f64::NAN]).into_dyn())], |v| {
            v[0][[0]]
        });
        assert!(!r.passes(TOLERANCE));
    }

    #[test]
    fn tiny_gradients_are_judged_absolutely() {
        assert!(rel_error(1e-12, 3e-12) < 1e-7);
        assert!(rel_error(1.0, 1.0 + 1e-5) > TOLERANCE);
    }
}
