//! Losses with their gradients: softmax cross-entropy for classes, mean squared error for
//! values. Both average over the rows they are given, so a loss summed over time steps (the
//! notes' $L = \sum_t L_t$) is the mean here times the number of rows.

use crate::activations::log_softmax;
use crate::error::{check_finite, check_shape, Error};
use crate::{Real, Result};
use ndarray::{Array2, ArrayView2};

/// Softmax cross-entropy of `logits` (N, C) against class indices `targets` (N), averaged
/// over the N rows: $L = -\frac1N \sum_n \log \mathrm{softmax}(z_n)_{y_n}$. Returns the loss
/// and $\partial L/\partial z = (\mathrm{softmax}(z) - \mathrm{onehot}(y))/N$ (N, C).
/// Finite for logits as large as $\pm 10^4$ because it goes through a stable log-softmax.
pub fn softmax_cross_entropy<F: Real>(
    logits: ArrayView2<F>,
    targets: &[usize],
) -> Result<(F, Array2<F>)> {
    check_shape(
        "logits",
        logits.shape(),
        &[("N", Some(targets.len())), ("C", None)],
    )?;
    check_finite("logits", &logits)?;
    let classes = logits.ncols();
    if let Some((n, &y)) = targets.iter().enumerate().find(|(_, &y)| y >= classes) {
        return Err(Error::Value {
            arg: "targets",
            reason: format!("targets[{n}] = {y} but there are only {classes} classes"),
        });
    }
    let n = F::cast(targets.len() as f64);
    let mut grad = log_softmax(logits); // (N, C), log-probabilities for now
    let mut loss = F::zero();
    for (mut row, &y) in grad.rows_mut().into_iter().zip(targets) {
        loss -= row[y];
        row.mapv_inplace(F::exp);
        row[y] -= F::one();
    }
    grad.mapv_inplace(|g| g / n);
    Ok((loss / n, grad))
}

/// Mean squared error of `pred` against `target` (both (N, K)), averaged over all N·K
/// entries. Returns the loss and $\partial L/\partial \mathrm{pred} = 2(\mathrm{pred}-\mathrm{target})/(NK)$.
pub fn mse<F: Real>(pred: ArrayView2<F>, target: ArrayView2<F>) -> Result<(F, Array2<F>)> {
    check_shape(
        "target",
        target.shape(),
        &[("N", Some(pred.nrows())), ("K", Some(pred.ncols()))],
    )?;
    check_finite("pred", &pred)?;
    check_finite("target", &target)?;
    let diff = &pred - &target; // (N, K)
    let count = F::cast(diff.len() as f64);
    let loss = diff.iter().map(|&d| d * d).sum::<F>() / count;
    Ok((loss, diff * (F::cast(2.0) / count)))
}
