//! Grades exercise 12, `spectral_radius`, on matrices whose spectral radius is known
//! (diagonal, scaled rotations, orthogonal, non-normal, nilpotent) and against
//! `recurrent::spectral::spectral_radius` on random ones. Each test is built so that one
//! classic mistake fails it, and its message names that mistake.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex12_power_iteration.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex12_power_iteration.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex12_power_iteration.rs"]
mod learner;

use ndarray::{arr2, Array2};
use recurrent::init::{orthogonal, rng, uniform};
use recurrent::spectral::scale_to_spectral_radius;

/// Power iteration read as a growth rate over a few thousand steps is accurate to a few
/// parts in 10^4 on these matrices; a mistake is off by far more.
const TOL: f64 = 2e-3;

/// What a negative answer almost always means.
const NEGATIVE: &str = "a spectral radius is a magnitude, never negative: did you return the \
     Rayleigh quotient v·(W v)? It is the signed eigenvalue when one real eigenvalue \
     dominates, and it oscillates when the top eigenvalues are a complex pair; use the \
     growth rate of ‖W v_k‖ instead";

/// What a non-finite answer on an ordinary matrix means.
const OVERFLOW: &str = "the answer is not a finite number: did you normalise v at every step \
     (v = u / ‖u‖)? Without it ‖W^k v‖ grows like ρ^k and overflows f64 (or underflows \
     to 0) within a few hundred steps";

/// `a` times a rotation by `theta`: eigenvalues a·e^{±iθ}, spectral radius |a|.
fn scaled_rotation(a: f64, theta: f64) -> Array2<f64> {
    let (c, s) = (theta.cos(), theta.sin());
    arr2(&[[a * c, -a * s], [a * s, a * c]])
}

#[track_caller]
fn grade(what: &str, w: &Array2<f64>, expected: f64, likely: &str, on_non_finite: &str) {
    let got = learner::spectral_radius(w.view());
    let error = (got - expected).abs() / expected.abs().max(1e-12);
    let ok = if expected == 0.0 {
        got.abs() < 1e-9
    } else {
        error < TOL
    };
    if ok {
        return;
    }
    let hint = if !got.is_finite() {
        on_non_finite
    } else if got < 0.0 {
        NEGATIVE
    } else {
        likely
    };
    let shown = if w.len() <= 16 {
        format!("\nW =\n{w:.4}")
    } else {
        String::new()
    };
    panic!(
        "spectral_radius of {what} returned {got}, expected {expected} (relative error \
         {error:.1e}, tolerance {TOL:.0e}).{shown}\nLikely mistake: {hint}"
    );
}

#[test]
fn a_diagonal_matrix_gives_its_largest_magnitude() {
    let hint = "for a diagonal matrix ρ is the largest |entry|; check that you iterate many \
                times and return exp(mean of ln ‖W v_k‖)";
    for (diag, rho) in [
        (vec![0.5, -1.3, 0.2], 1.3),
        (vec![3.0, 1.0], 3.0),
        (vec![-0.7], 0.7),
        (vec![0.1, 0.2, 0.3, 0.4, -0.9], 0.9),
    ] {
        let w = Array2::from_diag(&ndarray::Array1::from(diag.clone()));
        grade(&format!("diag{diag:?}"), &w, rho, hint, OVERFLOW);
    }
}

#[test]
fn a_scaled_rotation_has_its_scale_as_radius() {
    let hint = "a·R(θ) has the complex pair a·e^{±iθ}, so ρ = |a|; for it the Rayleigh \
                quotient v·(W v) is a·cos θ whatever v is: did you return the Rayleigh \
                quotient? Use the growth rate of ‖W v_k‖";
    for (a, theta) in [(0.9, 0.3), (1.2, 2.0), (0.5, 1.5)] {
        let w = scaled_rotation(a, theta);
        grade(&format!("{a}·R({theta})"), &w, a, hint, OVERFLOW);
    }
}

#[test]
fn orthogonal_matrices_have_radius_one() {
    let hint = "every eigenvalue of an orthogonal matrix has magnitude 1 and most come in \
                complex pairs: the Rayleigh quotient v·(W v) wanders below 1; use the growth \
                rate of ‖W v_k‖ (which is exactly 1 at every step here)";
    for seed in 0..3 {
        let q: Array2<f64> = orthogonal(16, 16, 1.0, &mut rng(seed));
        grade(
            &format!("a random 16×16 orthogonal matrix (seed {seed})"),
            &q,
            1.0,
            hint,
            OVERFLOW,
        );
    }
}

#[test]
fn a_non_normal_complex_pair_is_read_from_the_growth_rate() {
    // S · 0.8 R(1) · S⁻¹: eigenvalues 0.8·e^{±i}, but S skews the plane, so ‖W v_k‖
    // swings above and below 0.8 as the iterate turns.
    let s = arr2(&[[1.0, 3.0], [0.0, 1.0]]);
    let s_inv = arr2(&[[1.0, -3.0], [0.0, 1.0]]);
    let w = s.dot(&scaled_rotation(0.8, 1.0)).dot(&s_inv);
    let hint = "the top eigenvalues are the complex pair 0.8·e^{±i} of a skewed (non-normal) \
                matrix: the iterate keeps turning and the one-step stretch ‖W v_k‖ swings \
                around ρ, so reading it at the last step alone (or the Rayleigh quotient \
                v·(W v)) gives whatever phase the loop stopped at; return exp of the mean of \
                ln ‖W v_k‖ over the second half of many iterations";
    grade(
        "S·0.8R(1)·S⁻¹ with S = [[1, 3], [0, 1]]",
        &w,
        0.8,
        hint,
        OVERFLOW,
    );
}

#[test]
fn one_step_is_not_enough_for_a_non_normal_matrix() {
    // A Jordan-like block: both eigenvalues are 0.5, but W stretches some vectors by ~10.
    let w = arr2(&[[0.5, 10.0], [0.0, 0.5]]);
    let hint = "‖W v‖ after one step (or a few) measures how much W stretches one vector, up \
                to its largest singular value (here about 10), not ρ = 0.5: iterate a few \
                thousand times and average ln ‖W v_k‖ over the second half";
    grade("[[0.5, 10], [0, 0.5]]", &w, 0.5, hint, OVERFLOW);
}

#[test]
fn the_start_vector_must_not_be_special() {
    // Eigenvalue 0.5 along (1, 1) and -2 along (1, -1): a start of all ones never sees -2.
    let w = arr2(&[[-0.75, 1.25], [1.25, -0.75]]);
    let hint = "this matrix has eigenvalue 0.5 along (1, 1) and -2 along (1, -1); an answer \
                of 0.5 means your start vector was orthogonal to the top eigenvector (all \
                ones?) and the iteration never saw it: use a random start \
                (`standard_normal(&mut rng(seed))` for each entry)";
    grade("[[-0.75, 1.25], [1.25, -0.75]]", &w, 2.0, hint, OVERFLOW);
}

#[test]
fn large_and_small_radii_neither_overflow_nor_underflow() {
    let hint = "the answer is finite but wrong: average ln ‖W v_k‖ over many steps (not \
                ‖W v_k‖ itself, and not the last step alone) and take exp at the end";
    for (rho, seed) in [(3.0, 1), (20.0, 2), (0.2, 3), (0.01, 4)] {
        let mut w: Array2<f64> = uniform(20, 20, 1.0, &mut rng(seed));
        scale_to_spectral_radius(&mut w, rho).expect("a random matrix has ρ > 0");
        grade(
            &format!("a random 20×20 matrix scaled to ρ = {rho}"),
            &w,
            rho,
            hint,
            OVERFLOW,
        );
    }
}

#[test]
fn matrices_that_send_every_vector_to_zero_have_radius_zero() {
    let on_nan = "NaN on a matrix with W^k v = 0: when ‖W v‖ is 0, every eigenvalue v could \
                  still meet is 0, so return 0 instead of going on to divide by a zero norm \
                  (0/0 is NaN)";
    let hint = "every eigenvalue of this matrix is 0 (it is zero or strictly upper \
                triangular): return 0 as soon as ‖W v‖ = 0";
    let strict_upper = Array2::from_shape_fn(
        (4, 4),
        |(i, j)| if j > i { (i + 2 * j) as f64 } else { 0.0 },
    );
    for (what, w) in [
        ("the 3×3 zero matrix", Array2::zeros((3, 3))),
        ("[[0, 1], [0, 0]]", arr2(&[[0.0, 1.0], [0.0, 0.0]])),
        ("a strictly upper triangular 4×4 matrix", strict_upper),
    ] {
        grade(what, &w, 0.0, hint, on_nan);
    }
}

#[test]
fn agrees_with_the_crate_on_random_matrices() {
    let hint = "off on a random matrix: iterate a few thousand times, normalise every step, \
                and return exp of the mean of ln ‖W v_k‖ over the second half";
    for (n, seed) in [(1, 10), (2, 11), (3, 12), (5, 13), (16, 14), (40, 15)] {
        let w: Array2<f64> = uniform(n, n, 1.0, &mut rng(seed));
        let expected =
            recurrent::spectral::spectral_radius(w.view()).expect("a finite square matrix");
        grade(
            &format!("a random {n}×{n} matrix (seed {seed})"),
            &w,
            expected,
            hint,
            OVERFLOW,
        );
    }
}
