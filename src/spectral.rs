//! The spectral radius $\rho(W) = \max_k |\lambda_k|$ of a square matrix, by power
//! iteration, and rescaling a matrix to a chosen spectral radius.
//!
//! Why it matters: back-propagating through $T$ steps multiplies the gradient by $T$
//! Jacobians $\mathrm{diag}(\tanh'(a_t))\,W_{hh}^\top$, so $\|W_{hh}^T\|$ — which grows
//! like $\rho(W_{hh})^T$ — decides whether gradients vanish or explode (Pascanu,
//! Mikolov & Bengio 2013, section 3). Echo state networks set the reservoir's $\rho$
//! directly (Jaeger 2001).
//!
//! A real matrix's largest eigenvalues are often a complex pair, so the power iterate
//! $W^k v$ does not settle on one direction: it rotates in a plane while its length grows
//! like $\rho^k$. This estimator therefore reads $\rho$ from the growth rate of
//! $\|W^k v\|$ (Gelfand's formula, $\rho = \lim_k \|W^k\|^{1/k}$) over the second half of
//! the iterations, which cancels the constant factors of the first half.

use crate::error::{require, Error};
use crate::init::{self, standard_normal};
use crate::{Real, Result};
use ndarray::{Array1, Array2, ArrayView2};

/// Power iterations [`spectral_radius`] runs. The estimate's relative error is about
/// $\log(c)/(k/2)$ where $c$ bounds how much $\|W^k v\|/\rho^k$ wobbles: at $k = 2000$, a
/// few parts in $10^4$ for the random matrices of this book.
pub const ITERATIONS: usize = 2000;

/// $\rho(W)$ for a square matrix, by power iteration from a seeded random start.
pub fn spectral_radius<F: Real>(w: ArrayView2<F>) -> Result<f64> {
    let (n, m) = w.dim();
    if n != m || n == 0 {
        return Err(Error::Shape {
            arg: "w",
            expected: "a non-empty square matrix (n, n)".into(),
            found: vec![n, m],
        });
    }
    let w = w.mapv(|x| x.as_f64()); // (n, n)
    require(
        w.iter().all(|x| x.is_finite()),
        "w",
        "has a non-finite entry",
    )?;
    let mut r = init::rng(0x5bec);
    let mut v = Array1::from_shape_simple_fn(n, || standard_normal(&mut r)); // (n,)
    v /= norm(&v);
    // log ‖W^k v‖, accumulated one normalised step at a time so nothing overflows.
    let mut log_growth = 0.0;
    let mut log_at_half = 0.0;
    for k in 1..=ITERATIONS {
        let next = w.dot(&v); // (n,)
        let len = norm(&next);
        if len == 0.0 {
            // W^k v = 0: v lies in a nilpotent part; every eigenvalue it sees is 0.
            return Ok(0.0);
        }
        log_growth += len.ln();
        v = next / len;
        if k == ITERATIONS / 2 {
            log_at_half = log_growth;
        }
    }
    Ok(((log_growth - log_at_half) / (ITERATIONS - ITERATIONS / 2) as f64).exp())
}

/// Rescales `w` in place so that its spectral radius is `rho`; returns the radius it had.
/// Scaling by $c$ scales every eigenvalue by $c$, so one multiplication suffices.
pub fn scale_to_spectral_radius<F: Real>(w: &mut Array2<F>, rho: f64) -> Result<f64> {
    require(
        rho.is_finite() && rho >= 0.0,
        "rho",
        format!("must be finite and ≥ 0, got {rho}"),
    )?;
    let before = spectral_radius(w.view())?;
    require(
        before > 0.0,
        "w",
        "has spectral radius 0 (nilpotent), so no scaling reaches the asked radius",
    )?;
    let c = F::cast(rho / before);
    w.mapv_inplace(|x| x * c);
    Ok(before)
}

fn norm(v: &Array1<f64>) -> f64 {
    v.dot(v).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{orthogonal, uniform};
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn diagonal_matrices_give_their_largest_magnitude() {
        let w = array![[0.5, 0.0, 0.0], [0.0, -1.3, 0.0], [0.0, 0.0, 0.2]];
        assert_relative_eq!(spectral_radius(w.view()).unwrap(), 1.3, max_relative = 1e-9);
    }

    #[test]
    fn a_complex_pair_is_found_from_the_growth_rate() {
        // 0.9 times a rotation: eigenvalues 0.9·e^{±iθ}; the iterate never settles.
        let (c, s) = (0.3_f64.cos(), 0.3_f64.sin());
        let w = array![[0.9 * c, -0.9 * s], [0.9 * s, 0.9 * c]];
        assert_relative_eq!(spectral_radius(w.view()).unwrap(), 0.9, max_relative = 1e-9);
    }

    #[test]
    fn orthogonal_matrices_have_radius_one_and_scaling_hits_the_target() {
        let q: Array2<f64> = orthogonal(32, 32, 1.0, &mut init::rng(4));
        assert_relative_eq!(spectral_radius(q.view()).unwrap(), 1.0, max_relative = 1e-6);
        let mut w: Array2<f64> = uniform(40, 40, 0.3, &mut init::rng(5));
        scale_to_spectral_radius(&mut w, 1.1).unwrap();
        assert_relative_eq!(spectral_radius(w.view()).unwrap(), 1.1, max_relative = 1e-3);
    }

    #[test]
    fn bad_matrices_are_errors() {
        let rect = Array2::<f64>::zeros((2, 3));
        assert!(matches!(
            spectral_radius(rect.view()),
            Err(Error::Shape { arg: "w", .. })
        ));
        let mut nilpotent = array![[0.0, 1.0], [0.0, 0.0]];
        assert_eq!(spectral_radius(nilpotent.view()).unwrap(), 0.0);
        assert!(scale_to_spectral_radius(&mut nilpotent, 1.0).is_err());
        let mut w = array![[1.0, 0.0], [0.0, 1.0]];
        assert!(scale_to_spectral_radius(&mut w, f64::NAN).is_err());
    }
}
