//! Reference solution of exercise 12: the spectral radius by power iteration, read as the
//! growth rate of $\|W^k v\|$ (Gelfand's formula) rather than from the last iterate, so
//! that a complex dominant pair of eigenvalues is handled.

use ndarray::{Array1, ArrayView2};
use recurrent::init::{rng, standard_normal};

/// Power iterations; the growth rate is averaged over the second half.
const STEPS: usize = 4000;

// ANCHOR: power_iteration
/// $\rho(W)$ of the square matrix `w` (n, n).
pub fn spectral_radius(w: ArrayView2<f64>) -> f64 {
    // A random start has a component along every eigenvector, with probability one.
    let mut g = rng(1);
    let mut v = Array1::from_shape_simple_fn(w.nrows(), || standard_normal(&mut g)); // (n,)
    v /= v.dot(&v).sqrt();
    let counted = STEPS - STEPS / 2;
    let mut sum_log = 0.0;
    for k in 0..STEPS {
        let u = w.dot(&v); // (n,)
        let len = u.dot(&u).sqrt();
        if len == 0.0 {
            // W^k v = 0: the start lies in a nilpotent part, whose eigenvalues are all 0.
            return 0.0;
        }
        if k >= STEPS / 2 {
            // ‖W v_k‖ is the factor by which step k stretched ‖W^k v_0‖.
            sum_log += len.ln();
        }
        v = u / len; // unit length again: no overflow, no underflow
    }
    (sum_log / counted as f64).exp()
}
// ANCHOR_END: power_iteration
