//! Pascanu, Mikolov & Bengio (2013, section 3.3)'s regulariser against the vanishing
//! gradient, for the Elman [`Rnn`]: a penalty that asks every step's Jacobian to keep the
//! norm of the error that passes through it,
//! $$\Omega = \sum_{t=1}^{T} \left( \frac{\big\|\delta_t \, \partial h_t/\partial h_{t-1}\big\|}{\|\delta_t\|} - 1 \right)^2,
//! \qquad \delta_t = \frac{\partial E}{\partial h_t},$$
//! (the paper's eq. 9 with $k + 1 = t$). With this crate's row convention
//! $h_t = \tanh(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$, the back-propagated error is
//! $v_t = \delta_t\,\partial h_t/\partial h_{t-1} = (\delta_t \odot (1 - h_t^2))\,W_{hh}$.
//!
//! **The approximation.** As in the paper, $\delta_t$ is treated as a constant when
//! differentiating Ω: it is computed by BPTT of the task loss $E$ and then frozen. What
//! remains depends on the parameters explicitly through $W_{hh}$ and implicitly through
//! the states $h_t$ (the factor $1 - h_t^2$), which depend on $W_{xh}$, $W_{hh}$, $b$,
//! the inputs and $h_0$ through the forward pass; both routes are differentiated exactly.
//!
//! Over a batch, Ω is the mean over sequences of the per-sequence sum; a term whose
//! $\delta_t$ is exactly zero has no ratio and is left out.

use crate::error::{check_shape, dims3, require};
use crate::init;
use crate::optim::{clip_grad_norm, Adam, AdamConfig};
use crate::train::{Data, SequenceModel, TrainConfig};
use crate::{Nonlinearity, Params, Real, Result, Rnn, RnnBackward, RnnCache};
use ndarray::{Array2, Array3, ArrayView3, ArrayViewD, ArrayViewMutD, Axis};

// ANCHOR: penalty
/// Ω and its gradient for the run in `cache`, given the frozen errors
/// $\delta_t = \partial E/\partial h_t$ in `deltas` (T, B, H) (the `dhs` of a BPTT pass).
///
/// Ω reads $\delta_t$ only through its direction, so each row is first normalised,
/// $\hat\delta_t = \delta_t / \|\delta_t\|$ (norms in `f64`: a vanishing $\delta_t$ of
/// $10^{-30}$ would underflow in `f32`). Then, with $u_t = \hat\delta_t \odot (1 - h_t^2)$,
/// $w_t = u_t W_{hh}$ and $r_t = \|w_t\|$, each term is $(r_t - 1)^2$ and, backward,
/// $\partial\Omega/\partial w_t = 2 (r_t - 1)\, w_t / r_t$;
/// explicitly $\partial\Omega/\partial W_{hh} \mathrel{+}= u_t^\top\, \partial\Omega/\partial w_t$;
/// and through the state
/// $\partial\Omega/\partial h_t = (\partial\Omega/\partial w_t\, W_{hh}^\top) \odot \hat\delta_t \odot (-2 h_t)$,
/// which [`Rnn::backward`] carries to every parameter, the inputs and $h_0$.
/// Returns Ω and that backward pass, its $W_{hh}$ gradient including the explicit term.
pub fn gradient_flow_penalty<F: Real>(
    rnn: &Rnn<F>,
    cache: &RnnCache<F>,
    deltas: ArrayView3<F>,
) -> Result<(F, RnnBackward<F>)> {
    // The Jacobian below is tanh's, diag(1 - h_t²) W_hh; a ReLU RNN has a different one.
    require(
        rnn.nonlinearity == Nonlinearity::Tanh,
        "rnn",
        "Ω is written for tanh units (its Jacobian uses 1 - h²), got a ReLU RNN",
    )?;
    let hs = cache.hs(); // (T, B, H)
    check_shape("deltas", deltas.shape(), &dims3(hs.dim()))?;
    let (t_len, batch, h) = hs.dim();
    let per_sequence = 1.0 / batch as f64;
    let mut omega = 0.0;
    let mut dhs = Array3::zeros((t_len, batch, h)); // (T, B, H)  dΩ/dh_t through (1 - h_t²)
    let mut dw_hh = Array2::zeros((h, h)); // (H, H)  the explicit term
    let mut unit = Array2::zeros((batch, h)); // (B, H)  δ̂_t, zero where δ_t = 0
    for t in 0..t_len {
        let h_t = hs.index_axis(Axis(0), t); // (B, H)
        for (b, delta) in deltas.index_axis(Axis(0), t).rows().into_iter().enumerate() {
            let m = delta
                .iter()
                .map(|d| d.as_f64() * d.as_f64())
                .sum::<f64>()
                .sqrt();
            // No error reaches h_t in this sequence: no ratio to keep at 1.
            let inv = if m > 0.0 { 1.0 / m } else { 0.0 };
            for (e, &d) in unit.row_mut(b).iter_mut().zip(delta) {
                *e = F::cast(d.as_f64() * inv);
            }
        }
        let u = &unit * &h_t.mapv(|v| F::one() - v * v); // (B, H)
        let w = u.dot(&rnn.w_hh); // (B, H)
        let mut dw = Array2::zeros((batch, h)); // (B, H)  dΩ/dw_t
        for b in 0..batch {
            if unit.row(b).iter().all(|e| *e == F::zero()) {
                continue;
            }
            let r = w.row(b).dot(&w.row(b)).sqrt().as_f64();
            omega += per_sequence * (r - 1.0) * (r - 1.0);
            if r > 0.0 {
                let scale = F::cast(per_sequence * 2.0 * (r - 1.0) / r);
                dw.row_mut(b).assign(&(&w.row(b) * scale));
            }
        }
        dw_hh += &u.t().dot(&dw); // w = u W_hh, so dW_hh[i, j] = Σ_b u[b, i] dw[b, j]
        let du = dw.dot(&rnn.w_hh.t()); // (B, H)
        let dh = &du * &unit * &h_t.mapv(|v| F::cast(-2.0) * v); // d(1 - h²)/dh = -2h
        dhs.index_axis_mut(Axis(0), t).assign(&dh);
    }
    let mut back = rnn.backward(cache, dhs.view())?;
    back.grads.w_hh += &dw_hh;
    Ok((F::cast(omega), back))
}
// ANCHOR_END: penalty

/// What one step of [`train_regularised`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RegularisedStep {
    /// The step's index.
    pub step: usize,
    /// The task loss $E$ on the training batch.
    pub loss: f64,
    /// The penalty Ω on the same batch.
    pub omega: f64,
    /// $\|\partial E/\partial h_1\| / \|\partial E/\partial h_T\|$ over the batch: how much of
    /// the error reaching the last state survives the trip back to the first.
    pub flow_ratio: f64,
}

/// What a regularised run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RegularisedLog {
    /// Every step's measurements.
    pub steps: Vec<RegularisedStep>,
    /// The loss of the best input-blind answer.
    pub baseline: f64,
    /// The task loss on a held-out batch before training.
    pub eval_before: f64,
    /// The task loss on the same batch after training.
    pub eval_after: f64,
}

/// The ratio of the norms of $\partial E/\partial h_1$ and $\partial E/\partial h_T$ in a
/// (T, B, H) array of total derivatives.
pub fn flow_ratio<F: Real>(dhs: ArrayView3<F>) -> f64 {
    let norm = |t: usize| {
        let d = dhs.index_axis(Axis(0), t);
        d.iter()
            .map(|x| x.as_f64() * x.as_f64())
            .sum::<f64>()
            .sqrt()
    };
    norm(0) / norm(dhs.len_of(Axis(0)) - 1)
}

// ANCHOR: train_regularised
/// Trains an Elman RNN model on `data` minimising $E + \alpha\,\Omega$, with `config`'s
/// Adam step size, global-norm clipping (applied to the combined gradient, as Pascanu et
/// al. clip alongside the penalty), step count, full BPTT and data seed (`seed + 1` for
/// training batches, `seed + 2` for the held-out batch, as [`crate::train::train_on`]).
/// `alpha = 0` is the unregularised baseline, step for step. `on_step` sees every step.
pub fn train_regularised<F: Real>(
    mut model: SequenceModel<F>,
    data: &impl Data,
    config: &TrainConfig,
    alpha: f64,
    mut on_step: impl FnMut(&RegularisedStep),
) -> Result<(SequenceModel<F>, RegularisedLog)> {
    config.validate()?;
    require(
        alpha.is_finite() && alpha >= 0.0,
        "alpha",
        format!("must be finite and ≥ 0, got {alpha}"),
    )?;
    let mut data_rng = init::rng(config.seed.wrapping_add(1));
    let held_out = data.batch::<F>(
        config.eval_size,
        &mut init::rng(config.seed.wrapping_add(2)),
    )?;
    let eval_before = model.loss(&held_out)?.as_f64();
    let mut adam = Adam::new(AdamConfig {
        lr: config.lr,
        ..AdamConfig::default()
    })?;
    let mut steps = Vec::with_capacity(config.steps);
    for step in 0..config.steps {
        let batch = data.batch::<F>(config.batch_size, &mut data_rng)?;
        let mut grads = model.evaluate(&batch, None)?;
        // evaluate keeps no cache, so run the (cheap, deterministic) forward pass again.
        let h0 = Array2::zeros((batch.xs.len_of(Axis(1)), model.rnn.hidden_size())); // (B, H)
        let cache = model.rnn.forward(batch.xs.view(), h0.view())?;
        let (omega, penalty) = gradient_flow_penalty(&model.rnn, &cache, grads.rnn.dhs.view())?;
        let record = RegularisedStep {
            step,
            loss: grads.loss.as_f64(),
            omega: omega.as_f64(),
            flow_ratio: flow_ratio(grads.rnn.dhs.view()),
        };
        // The model's parameter order starts with the RNN's w_xh, w_hh, b, as Ω's does.
        if alpha > 0.0 {
            let a = F::cast(alpha);
            for ((_, mut g), (_, p)) in grads.params_mut().into_iter().zip(penalty.grads.params()) {
                g.scaled_add(a, &p);
            }
        }
        let mut g: Vec<ArrayViewMutD<F>> = grads.params_mut().into_iter().map(|(_, v)| v).collect();
        clip_grad_norm(&mut g, config.clip_norm)?;
        let g: Vec<ArrayViewD<F>> = grads.params().into_iter().map(|(_, v)| v).collect();
        let mut p: Vec<ArrayViewMutD<F>> = model.params_mut().into_iter().map(|(_, v)| v).collect();
        adam.step(&mut p, &g)?;
        on_step(&record);
        steps.push(record);
    }
    let eval_after = model.loss(&held_out)?.as_f64();
    Ok((
        model,
        RegularisedLog {
            steps,
            baseline: data.baseline(),
            eval_before,
            eval_after,
        },
    ))
}
// ANCHOR_END: train_regularised

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Task;
    use crate::{Init, RnnConfig};

    #[test]
    fn an_orthogonal_linear_regime_has_no_penalty() {
        // Tiny states (tanh' ≈ 1) and an orthogonal W_hh keep every norm: Ω ≈ 0.
        let mut rnn = Rnn::<f64>::new(&RnnConfig {
            input_size: 1,
            hidden_size: 4,
            init: Init::Orthogonal { gain: 1.0 },
            seed: 3,
            ..RnnConfig::default()
        })
        .unwrap();
        rnn.w_xh.fill(1e-6);
        rnn.b.fill(0.0);
        let xs = Array3::from_elem((5, 2, 1), 1.0);
        let cache = rnn
            .forward(xs.view(), Array2::zeros((2, 4)).view())
            .unwrap();
        let deltas = Array3::from_shape_fn((5, 2, 4), |(t, b, j)| (t + b + j) as f64 - 2.5);
        let (omega, _) = gradient_flow_penalty(&rnn, &cache, deltas.view()).unwrap();
        assert!(omega < 1e-9, "{omega}");
        let err = gradient_flow_penalty(&rnn, &cache, Array3::zeros((4, 2, 4)).view());
        assert!(err.unwrap_err().to_string().contains("`deltas`"));
    }

    #[test]
    fn alpha_zero_is_the_plain_run_and_the_log_is_complete() {
        let task = Task::Adding { seq_len: 8 };
        let config = TrainConfig {
            task: task.clone(),
            hidden_size: 6,
            steps: 20,
            eval_size: 64,
            ..TrainConfig::default()
        };
        let model = SequenceModel::<f64>::new(&task, 6, Init::Uniform, 0).unwrap();
        let (_, plain) = crate::train::train_on(model.clone(), &task, &config, |_, _| {}).unwrap();
        let (_, log) = train_regularised(model.clone(), &task, &config, 0.0, |_| {}).unwrap();
        assert_eq!(log.eval_after, plain.eval_after);
        assert_eq!(log.steps.len(), 20);
        let (_, reg) = train_regularised(model, &task, &config, 1.0, |_| {}).unwrap();
        assert_ne!(reg.eval_after, plain.eval_after);
        assert!(reg
            .steps
            .iter()
            .all(|s| s.omega.is_finite() && s.flow_ratio > 0.0));
    }
}
