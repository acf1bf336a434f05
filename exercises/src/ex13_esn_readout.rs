//! # Exercise 13: the ridge-regression readout of an echo state network
//!
//! Read first: *Echo state networks* (`book/src/echo-state-networks.md`).
//!
//! An echo state network never trains its reservoir. You are given the states it visited,
//! `states` (T, N) (row t is $x_t$), and what the output should have been at each step,
//! `targets` (T, O). Learn the readout $W_{out}$ (1 + N, O) such that
//! $y_t \approx [1; x_t]^\top W_{out}$:
//!
//! 1. throw away the first `washout` rows of both (the reservoir was still forgetting its
//!    arbitrary zero start);
//! 2. put a column of ones in front of the remaining states, giving X (T − washout, 1 + N),
//!    so that row 0 of $W_{out}$ is a bias;
//! 3. solve the regularised normal equations
//!    $$(X^\top X + \lambda I)\,W_{out} = X^\top Y,$$
//!    with λ = `ridge` added to every diagonal entry (the bias's too).
//!
//! For the solve you may call `recurrent::esn::solve_spd(a, rhs)`, which solves $A Z = B$
//! for a symmetric positive definite A by Cholesky: the exercise is building the right
//! system, not the linear algebra. (Calling `recurrent::esn::ridge_readout` would be the
//! whole answer: don't.)
//!
//! Grade it with `cargo test -p exercises --test ex13_esn_readout`.
#![allow(unused_variables, unused_imports)]

use ndarray::{concatenate, s, Array2, ArrayView2, Axis};

// ANCHOR: esn_readout
/// $W_{out}$ (1 + N, O), row 0 the bias, fitted by ridge regression to the states and
/// targets after the washout. `washout` < T and `ridge` ≥ 0.
pub fn esn_readout(
    states: ArrayView2<f64>,
    targets: ArrayView2<f64>,
    washout: usize,
    ridge: f64,
) -> Array2<f64> {
    // TODO: the rows from `washout` on: states.slice(s![washout.., ..]), and the same for
    //       targets.
    // TODO: X = [1 | states]: `Array2::ones((rows, 1))` and `concatenate![Axis(1), ...]`.
    // TODO: A = XᵀX with λ added to its diagonal (`a.diag_mut()`), B = XᵀY.
    // TODO: solve A W_out = B (recurrent::esn::solve_spd(a.view(), b.view())).
    todo!("exercise 13: the ridge readout")
}
// ANCHOR_END: esn_readout
