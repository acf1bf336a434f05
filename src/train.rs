//! A small training loop: an [`Rnn`] with a [`Linear`] head, trained with Adam and
//! gradient-norm clipping on the synthetic tasks of [`crate::tasks`].
//!
//! Everything random comes from the seed: the same configuration gives the same losses,
//! bit for bit.

use crate::cell::{Backward, Recurrent};
use crate::error::{require, Error};
use crate::init::{self, Init};
use crate::linear::{Linear, LinearGrads};
use crate::loss::{mse, softmax_cross_entropy};
use crate::optim::{clip_grad_norm, Adam, AdamConfig};
use crate::tasks::{adding_problem, delayed_echo, Batch, Targets, ADDING_BASELINE_MSE};
use crate::{Params, Real, Result, Rnn, RnnConfig};
use ndarray::{s, Array3, ArrayViewD, ArrayViewMutD, Axis};

/// Which synthetic task to learn.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// Many-to-one: the adding problem over `seq_len` steps (MSE at the last step).
    Adding {
        /// T.
        seq_len: usize,
    },
    /// Many-to-many: echo the symbol seen `delay` steps earlier (cross-entropy per step).
    Echo {
        /// T.
        seq_len: usize,
        /// How many steps back the target symbol was seen.
        delay: usize,
        /// The number of symbols.
        vocab: usize,
    },
}

impl Task {
    /// Input width D.
    pub fn input_size(&self) -> usize {
        match *self {
            Task::Adding { .. } => 2,
            Task::Echo { vocab, .. } => vocab,
        }
    }
    /// Output width of the head.
    pub fn output_size(&self) -> usize {
        match *self {
            Task::Adding { .. } => 1,
            Task::Echo { vocab, .. } => vocab,
        }
    }
    /// The loss of the best input-blind answer: 1/6 (MSE) or $\ln V$ (cross-entropy).
    pub fn baseline(&self) -> f64 {
        match *self {
            Task::Adding { .. } => ADDING_BASELINE_MSE,
            Task::Echo { vocab, .. } => (vocab as f64).ln(),
        }
    }
    /// A batch of `batch` fresh sequences.
    pub fn batch<F: Real>(&self, batch: usize, rng: &mut init::SeededRng) -> Result<Batch<F>> {
        match *self {
            Task::Adding { seq_len } => adding_problem(seq_len, batch, rng),
            Task::Echo {
                seq_len,
                delay,
                vocab,
            } => delayed_echo(seq_len, batch, delay, vocab, rng),
        }
    }
}

/// Anything that deals out training batches from a seeded generator: the synthetic
/// [`Task`]s here, and the other experiments' data (grammars, text, latching tasks), so one
/// training loop, [`train_on`], serves them all.
pub trait Data {
    /// Input width D.
    fn input_size(&self) -> usize;
    /// Output width of the head: 1 for regression, the number of classes otherwise.
    fn output_size(&self) -> usize;
    /// The loss of the best input-blind answer, the number a model has to beat.
    fn baseline(&self) -> f64;
    /// A batch of `batch` fresh sequences.
    fn batch<F: Real>(&self, batch: usize, rng: &mut init::SeededRng) -> Result<Batch<F>>;
}

impl Data for Task {
    fn input_size(&self) -> usize {
        Task::input_size(self)
    }
    fn output_size(&self) -> usize {
        Task::output_size(self)
    }
    fn baseline(&self) -> f64 {
        Task::baseline(self)
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut init::SeededRng) -> Result<Batch<F>> {
        Task::batch(self, batch, rng)
    }
}

/// Everything a training run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The task. Default: the adding problem over 10 steps, which a vanilla RNN learns in
    /// seconds (longer sequences are the vanishing-gradient chapter's subject).
    pub task: Task,
    /// H. Default 32: enough for both toy tasks.
    pub hidden_size: usize,
    /// Sequences per step. Default 32: smooth enough gradients, cheap steps.
    pub batch_size: usize,
    /// Optimiser steps. Default 1000: both default tasks are learned well before that.
    pub steps: usize,
    /// Adam's step size. Default 3e-3: faster than Adam's 1e-3 on these small problems,
    /// still stable with clipping.
    pub lr: f64,
    /// Global gradient-norm clip (Pascanu et al. 2013). Default 1.0, a common choice that
    /// only bites on the rare exploding step.
    pub clip_norm: f64,
    /// Truncated BPTT(k) if `Some(k)`; full BPTT if `None` (the default: these sequences
    /// are short).
    pub truncation: Option<usize>,
    /// How to draw $W_{hh}$. Default PyTorch's uniform.
    pub init: Init,
    /// Seeds initialisation (seed) and data (seed + 1). Default 0.
    pub seed: u64,
    /// Sequences in the held-out evaluation batch. Default 512: a loss estimate with about
    /// 5% relative noise.
    pub eval_size: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            task: Task::Adding { seq_len: 10 },
            hidden_size: 32,
            batch_size: 32,
            steps: 1000,
            lr: 3e-3,
            clip_norm: 1.0,
            truncation: None,
            init: Init::Uniform,
            seed: 0,
            eval_size: 512,
        }
    }
}

impl TrainConfig {
    /// Checks every field (the task's own sizes are checked when data is first made).
    pub fn validate(&self) -> Result<()> {
        require(
            self.hidden_size > 0,
            "hidden_size",
            "must be at least 1, got 0",
        )?;
        require(
            self.batch_size > 0,
            "batch_size",
            "must be at least 1, got 0",
        )?;
        require(self.eval_size > 0, "eval_size", "must be at least 1, got 0")?;
        require(
            self.lr.is_finite() && self.lr > 0.0,
            "lr",
            format!("must be finite and > 0, got {}", self.lr),
        )?;
        require(
            self.clip_norm.is_finite() && self.clip_norm > 0.0,
            "clip_norm",
            format!("must be finite and > 0, got {}", self.clip_norm),
        )?;
        require(
            self.truncation != Some(0),
            "truncation",
            "must be at least 1 when set, got 0",
        )?;
        self.init.validate()
    }
}

/// A recurrent layer with an output layer on top. The layer is any [`Recurrent`] cell:
/// the Elman RNN by default, or an LSTM or GRU built with [`SequenceModel::with_cell`].
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceModel<F, C = Rnn<F>> {
    /// The recurrent layer.
    pub rnn: C,
    /// The output layer, applied to $h_T$ (many-to-one) or to every $h_t$ (many-to-many).
    pub head: Linear<F>,
}

impl<F: Real, C: Recurrent<F>> Params<F> for SequenceModel<F, C> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut p = self.rnn.params();
        p.extend(
            self.head
                .params()
                .into_iter()
                .map(|(n, v)| (head_name(n), v)),
        );
        p
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut p = self.rnn.params_mut();
        p.extend(
            self.head
                .params_mut()
                .into_iter()
                .map(|(n, v)| (head_name(n), v)),
        );
        p
    }
}

impl<F: Real, C: Recurrent<F>> Params<F> for Evaluated<F, C> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut p = self.rnn.grads.params();
        p.extend(
            self.head
                .params()
                .into_iter()
                .map(|(n, v)| (head_name(n), v)),
        );
        p
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut p = self.rnn.grads.params_mut();
        p.extend(
            self.head
                .params_mut()
                .into_iter()
                .map(|(n, v)| (head_name(n), v)),
        );
        p
    }
}

fn head_name(n: &str) -> &'static str {
    if n == "w" {
        "head.w"
    } else {
        "head.b"
    }
}

/// The loss of one batch with everything the backward pass produced. Its [`Params`] view
/// lists the gradients in the same order and under the same names as the model's
/// parameters, so optimisers and the gradient checker can zip the two.
pub struct Evaluated<F: Real, C: Recurrent<F> = Rnn<F>> {
    /// The loss on the batch.
    pub loss: F,
    /// The recurrent layer's backward pass: its parameter gradients,
    /// $\partial L/\partial x_t$, the initial state's gradient and the total
    /// $\partial L/\partial h_t$ for every step.
    pub rnn: Backward<F, C::Grads, C::State>,
    /// The output layer's gradients.
    pub head: LinearGrads<F>,
}

impl<F: Real> SequenceModel<F> {
    /// An Elman RNN model for `task` with state size `hidden_size`.
    pub fn new(task: &Task, hidden_size: usize, init: Init, seed: u64) -> Result<Self> {
        let rnn = Rnn::new(&RnnConfig {
            input_size: task.input_size(),
            hidden_size,
            init,
            seed,
            ..RnnConfig::default()
        })?;
        SequenceModel::with_cell(rnn, task, seed)
    }
}

impl<F: Real, C: Recurrent<F>> SequenceModel<F, C> {
    /// `cell` with an output layer sized for `task` (a [`Task`] or any other [`Data`]);
    /// `seed` draws the output layer. The cell's input size must be the task's.
    pub fn with_cell(cell: C, task: &impl Data, seed: u64) -> Result<Self> {
        require(
            cell.input_size() == task.input_size(),
            "cell",
            format!(
                "input size is {} but the task gives inputs of size {}",
                cell.input_size(),
                task.input_size()
            ),
        )?;
        // The head has a generator of its own, so its draws do not depend on the cell's.
        let head = Linear::new(
            cell.hidden_size(),
            task.output_size(),
            &mut init::rng(seed.wrapping_add(0x5eed)),
        )?;
        Ok(SequenceModel { rnn: cell, head })
    }

    /// Runs the recurrent layer over `batch` from the zero state.
    fn run(&self, batch: &Batch<F>) -> Result<C::Cache> {
        let s0 = self.rnn.zero_state(batch.xs.len_of(Axis(1)));
        self.rnn.forward_seq(batch.xs.view(), &s0)
    }

    /// The loss on `batch` (no gradients).
    pub fn loss(&self, batch: &Batch<F>) -> Result<F> {
        let cache = self.run(batch)?;
        let hs = self.rnn.outputs(&cache); // (T, B, H)
        match &batch.targets {
            Targets::Final(ys) => {
                let h_last = hs.index_axis(Axis(0), hs.len_of(Axis(0)) - 1); // (B, H)
                Ok(mse(self.head.forward(h_last)?.view(), ys.view())?.0)
            }
            Targets::Classes { from, classes } => {
                let rows = rows_from(hs, *from)?;
                Ok(softmax_cross_entropy(self.head.forward(rows.view())?.view(), classes)?.0)
            }
        }
    }

    /// Fraction of correctly predicted classes (many-to-many batches only).
    pub fn accuracy(&self, batch: &Batch<F>) -> Result<f64> {
        let Targets::Classes { from, classes } = &batch.targets else {
            return Err(Error::Value {
                arg: "batch",
                reason: "accuracy needs class targets".into(),
            });
        };
        let cache = self.run(batch)?;
        let logits = self
            .head
            .forward(rows_from(self.rnn.outputs(&cache), *from)?.view())?; // (N, V)
        let correct = logits
            .rows()
            .into_iter()
            .zip(classes)
            .filter(|(row, &y)| row.iter().enumerate().all(|(v, &z)| v == y || z < row[y]))
            .count();
        Ok(correct as f64 / classes.len() as f64)
    }

    /// Loss and gradients on `batch`: forward through the recurrent layer and the head,
    /// loss, backward through the head, then BPTT (truncated to `truncation` steps if
    /// given, for cells that implement it).
    pub fn evaluate(&self, batch: &Batch<F>, truncation: Option<usize>) -> Result<Evaluated<F, C>> {
        let cache = self.run(batch)?;
        let hs = self.rnn.outputs(&cache); // (T, B, H)
        let (t_len, b, h) = hs.dim();
        let mut dhs = Array3::zeros((t_len, b, h)); // (T, B, H)  dL/dh_t from the head
        let (loss, head) = match &batch.targets {
            Targets::Final(ys) => {
                let h_last = hs.index_axis(Axis(0), t_len - 1); // (B, H)
                let (loss, dy) = mse(self.head.forward(h_last)?.view(), ys.view())?;
                let (head, dh_last) = self.head.backward(h_last, dy.view())?;
                dhs.index_axis_mut(Axis(0), t_len - 1).assign(&dh_last);
                (loss, head)
            }
            Targets::Classes { from, classes } => {
                let rows = rows_from(hs, *from)?; // ((T-from)·B, H)
                let (loss, dlogits) =
                    softmax_cross_entropy(self.head.forward(rows.view())?.view(), classes)?;
                let (head, drows) = self.head.backward(rows.view(), dlogits.view())?;
                let drows = drows
                    .into_shape_with_order((t_len - from, b, h))
                    .expect("standard layout");
                dhs.slice_mut(s![*from.., .., ..]).assign(&drows);
                (loss, head)
            }
        };
        let rnn = match truncation {
            None => self.rnn.backward_seq(&cache, dhs.view())?,
            Some(k) => self.rnn.backward_truncated_seq(&cache, dhs.view(), k)?,
        };
        Ok(Evaluated { loss, rnn, head })
    }
}

/// The states from step `from` on, as rows: ((T-from)·B, H).
fn rows_from<F: Real>(hs: ndarray::ArrayView3<F>, from: usize) -> Result<ndarray::Array2<F>> {
    let (t_len, b, h) = hs.dim();
    require(
        from < t_len,
        "from",
        format!("must be less than T = {t_len}, got {from}"),
    )?;
    // `to_owned` keeps a non-standard memory order (a bidirectional layer's concatenated
    // outputs have one), which the reshape to rows cannot take.
    Ok(hs
        .slice(s![from.., .., ..])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(((t_len - from) * b, h))
        .expect("standard layout"))
}

/// What a training run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainLog {
    /// The training loss at every step.
    pub losses: Vec<f64>,
    /// The loss of the best input-blind answer.
    pub baseline: f64,
    /// The loss on a held-out batch before training.
    pub eval_before: f64,
    /// The loss on the same batch after training.
    pub eval_after: f64,
    /// Accuracy on the held-out batch after training (class tasks only).
    pub accuracy: Option<f64>,
}

/// Trains a fresh model; `on_step(step, loss)` is called after every step (for a progress
/// bar or a live plot).
pub fn train<F: Real>(
    config: &TrainConfig,
    on_step: impl FnMut(usize, f64),
) -> Result<(SequenceModel<F>, TrainLog)> {
    config.validate()?;
    let model = SequenceModel::new(&config.task, config.hidden_size, config.init, config.seed)?;
    train_model(model, config, on_step)
}

/// Trains a given model, of any recurrent cell, on `config`'s task with `config`'s
/// optimiser settings and data seed (`hidden_size` and `init` are the model's business
/// here, so they are not read).
pub fn train_model<F: Real, C: Recurrent<F>>(
    model: SequenceModel<F, C>,
    config: &TrainConfig,
    on_step: impl FnMut(usize, f64),
) -> Result<(SequenceModel<F, C>, TrainLog)> {
    train_on(model, &config.task, config, on_step)
}

/// Trains a given model on batches from `data` (in place of `config.task`), with
/// `config`'s optimiser settings, clipping, truncation, step count and data seed. The
/// log's accuracy is reported whenever the held-out batch has class targets.
pub fn train_on<F: Real, C: Recurrent<F>>(
    mut model: SequenceModel<F, C>,
    data: &impl Data,
    config: &TrainConfig,
    mut on_step: impl FnMut(usize, f64),
) -> Result<(SequenceModel<F, C>, TrainLog)> {
    config.validate()?;
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
    let mut losses = Vec::with_capacity(config.steps);
    for step in 0..config.steps {
        model.rnn.set_dropout(Some(step as u64));
        let batch = data.batch::<F>(config.batch_size, &mut data_rng)?;
        let mut grads = model.evaluate(&batch, config.truncation)?;
        let loss = grads.loss;
        let mut g: Vec<ArrayViewMutD<F>> = grads.params_mut().into_iter().map(|(_, v)| v).collect();
        clip_grad_norm(&mut g, config.clip_norm)?;
        let g: Vec<ArrayViewD<F>> = grads.params().into_iter().map(|(_, v)| v).collect();
        let mut p: Vec<ArrayViewMutD<F>> = model.params_mut().into_iter().map(|(_, v)| v).collect();
        adam.step(&mut p, &g)?;
        losses.push(loss.as_f64());
        on_step(step, loss.as_f64());
    }
    // Evaluation sees the whole network: no dropout.
    model.rnn.set_dropout(None);
    let eval_after = model.loss(&held_out)?.as_f64();
    let accuracy = match held_out.targets {
        Targets::Classes { .. } => Some(model.accuracy(&held_out)?),
        Targets::Final(_) => None,
    };
    Ok((
        model,
        TrainLog {
            losses,
            baseline: data.baseline(),
            eval_before,
            eval_after,
            accuracy,
        },
    ))
}
