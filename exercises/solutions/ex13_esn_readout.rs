//! Reference solution of exercise 13: the ridge-regression readout of an echo state
//! network (Lukoševičius 2012, eq. 9).

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
    let kept = states.slice(s![washout.., ..]); // (T', N), T' = T - washout
    let y = targets.slice(s![washout.., ..]); // (T', O)
    let ones = Array2::ones((kept.nrows(), 1)); // (T', 1)
    let x = concatenate![Axis(1), ones, kept]; // (T', 1 + N)
    let mut a = x.t().dot(&x); // (1 + N, 1 + N)
    a.diag_mut().mapv_inplace(|v| v + ridge);
    let b = x.t().dot(&y); // (1 + N, O)
    recurrent::esn::solve_spd(a.view(), b.view()).expect("XᵀX + λI is positive definite")
}
// ANCHOR_END: esn_readout
