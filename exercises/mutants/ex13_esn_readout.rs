//! Planted mistakes in exercise 13, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: no_washout | forgot the washout
// MUTANT: washout_off_by_one | exactly `washout` rows
// MUTANT: no_ridge | forgot λ
// MUTANT: ridge_everywhere | only to the diagonal
// MUTANT: no_bias | forgot the bias column
// MUTANT: bias_last | in front

use ndarray::{concatenate, s, Array2, ArrayView2, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "no_washout",
    "washout_off_by_one",
    "no_ridge",
    "ridge_everywhere",
    "no_bias",
    "bias_last",
];

/// The planted mistake to make, or "" for none.
fn mutant() -> String {
    let name = std::env::var("RECURRENT_MUTANT").unwrap_or_default();
    assert!(
        name.is_empty() || MUTANTS.contains(&name.as_str()),
        "unknown RECURRENT_MUTANT={name:?}; this file plants {MUTANTS:?}"
    );
    name
}

pub fn esn_readout(
    states: ArrayView2<f64>,
    targets: ArrayView2<f64>,
    washout: usize,
    ridge: f64,
) -> Array2<f64> {
    let m = mutant();
    let is = |name: &str| m == name;
    let n = states.ncols();
    if is("zeros") {
        return Array2::zeros((n + 1, targets.ncols()));
    }
    let skip = if is("no_washout") {
        0
    } else if is("washout_off_by_one") {
        washout + 1
    } else {
        washout
    };
    let kept = states.slice(s![skip.., ..]); // (T', N)
    let y = targets.slice(s![skip.., ..]); // (T', O)
    let ones = Array2::ones((kept.nrows(), 1)); // (T', 1)
    let x = if is("no_bias") {
        // The bias row stays zero: the fit is forced through the origin.
        concatenate![Axis(1), Array2::zeros((kept.nrows(), 1)), kept]
    } else if is("bias_last") {
        concatenate![Axis(1), kept, ones]
    } else {
        concatenate![Axis(1), ones, kept]
    }; // (T', 1 + N)
    let mut a = x.t().dot(&x); // (1 + N, 1 + N)
    if is("ridge_everywhere") {
        a.mapv_inplace(|v| v + ridge);
    } else if !is("no_ridge") {
        a.diag_mut().mapv_inplace(|v| v + ridge);
    }
    if is("no_bias") {
        a[[0, 0]] = 1.0; // keep the zero bias column solvable
    }
    let b = x.t().dot(&y); // (1 + N, O)
    recurrent::esn::solve_spd(a.view(), b.view()).expect("positive definite")
}
