//! # Exercise 12: the spectral radius by power iteration
//!
//! Read first: *The vanishing and exploding gradient* (`book/src/vanishing-exploding.md`),
//! section "The eigenvalue bound".
//!
//! The spectral radius of a square matrix is the largest magnitude of its eigenvalues,
//! $\rho(W) = \max_k |\lambda_k|$. Write a function that estimates it by *power
//! iteration*: start from a unit vector $v_0$ and repeat
//!
//! $$u = W v_k, \qquad v_{k+1} = u / \|u\| .$$
//!
//! The textbook recipe then reads off the eigenvalue from the last iterate (the Rayleigh
//! quotient $v^\top W v$, or the one-step ratio $\|W v_k\|$). That only works when one real
//! eigenvalue dominates. A real matrix's largest eigenvalues are often a *complex pair*
//! $\rho e^{\pm i\theta}$: the iterate then never settles, it keeps turning in a plane, and
//! both of those readings oscillate. What does settle is the *growth rate*: the norms
//! $\|W v_k\|$ multiply to $\|W^K v_0\|$, which grows like $\rho^K$. So take the mean of
//! $\ln \|W v_k\|$ over the second half of the iterations (the first half lets the other
//! eigenvalues die out) and return its exponential.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `w` | a square matrix (never empty, every entry finite) | (n, n) |
//!
//! It returns $\rho(W) \ge 0$, within a relative error of about $10^{-3}$.
//!
//! Grade it with `cargo test -p exercises --test ex12_power_iteration`.
#![allow(unused_variables, unused_imports)]

use ndarray::{Array1, ArrayView2};
use recurrent::init::{rng, standard_normal};

// ANCHOR: power_iteration
/// $\rho(W)$, the largest eigenvalue magnitude of the square matrix `w` (n, n), by power
/// iteration read as a growth rate.
pub fn spectral_radius(w: ArrayView2<f64>) -> f64 {
    // TODO: a random start vector v (n,), e.g. `standard_normal(&mut rng(1))` for each
    //       entry, divided by its norm. Why random? A fixed start such as all ones can be
    //       exactly orthogonal to the eigenvector you are looking for, and then the
    //       iteration never finds it.
    // TODO: iterate K times (a few thousand: the error of the estimate falls like 1/K):
    //       u = w.dot(&v); len = the norm of u (`u.dot(&u).sqrt()`).
    //       - if len is 0, W has sent v to zero: every eigenvalue v could see is 0, so
    //         return 0.0 (do not divide by it);
    //       - in the second half of the iterations, add len.ln() to a running sum;
    //       - v = u / len. Normalise at every step: ρ^K overflows f64 for ρ = 3 after
    //         about 650 steps, and underflows for small ρ.
    // TODO: return the exponential of the mean of the logarithms you summed. Not the last
    //       len, and not v·(W v): both oscillate when the top eigenvalues are complex.
    todo!("exercise 12: the spectral radius of w by power iteration")
}
// ANCHOR_END: power_iteration
