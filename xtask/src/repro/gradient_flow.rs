//! `gradient-flow`: how the size of $\partial L/\partial h_t$ changes with the distance
//! $T - t$ from the only loss, at the last step, for a vanilla tanh RNN whose $W_{hh}$ is
//! rescaled to a chosen spectral radius $\rho$, and for the RNN, LSTM and GRU at
//! initialisation and after a short training run on the adding problem.
//!
//! Theory it is set against (Pascanu, Mikolov & Bengio 2013, section 3): the error reaching
//! $h_t$ is the one at $h_T$ times the product of $T - t$ Jacobians
//! $\mathrm{diag}(\tanh'(a_k))\,W_{hh}$; $\rho < 1$ suffices for it to vanish, $\rho > 1$ is
//! necessary for it to explode, and saturation ($\tanh' \ll 1$) can make it vanish anyway.
//! Everything runs in f64, as the gradient checks do: the ratios span tens of orders of
//! magnitude, and the smallest are compared with the largest.

use anyhow::Result;
use ndarray::{Array2, Axis};
use recurrent::spectral::{scale_to_spectral_radius, spectral_radius};
use recurrent::tasks::Batch;
use recurrent::train::{train_model, SequenceModel, Task, TrainConfig};
use recurrent::{Gru, GruConfig, Init, Lstm, LstmConfig, Recurrent, Rnn, RnnConfig};

use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// The spectral radii of the sweep: two below 1, the edge, two a little above, and two far
/// above, where saturation can no longer hold the product down.
const RHOS: [f64; 7] = [0.5, 0.9, 1.0, 1.1, 1.5, 3.0, 6.0];

/// Sizes of one run.
struct Sizes {
    /// The length of the measured sequences.
    t_len: usize,
    /// State size of every model.
    hidden: usize,
    /// Sequences per measurement (the curve is averaged over them).
    batch: usize,
    /// Independent seeds (initialisation and data) of the spectral-radius sweep.
    seeds: u64,
    /// Seeds of the trained models (each trains three models, the costly part).
    train_seeds: u64,
    /// Length of the adding problem the models are trained on.
    t_train: usize,
    /// Adam steps of that training.
    steps: usize,
}

/// The curve of one model on one batch: for every distance $k = T - t$ from 0 to $T - 1$,
/// the mean over the examples of $\ln(\|dL/dh_t\| / \|dL/dh_T\|)$. Averaging logarithms
/// (a geometric mean) keeps one example with a large norm from hiding the others.
fn log_ratios<C: Recurrent<f64>>(
    model: &SequenceModel<f64, C>,
    batch: &Batch<f64>,
) -> Result<Vec<f64>> {
    let evaluated = model.evaluate(batch, None)?;
    let dhs = &evaluated.rnn.dhs; // (T, B, H)
    let (t_len, b_len, _) = dhs.dim();
    let norms = dhs.map_axis(Axis(2), |v| v.dot(&v).sqrt()); // (T, B)
    let mut curve = vec![0.0; t_len];
    for b in 0..b_len {
        let last = norms[[t_len - 1, b]];
        anyhow::ensure!(last > 0.0, "no error reached h_T for example {b}");
        for (k, c) in curve.iter_mut().enumerate() {
            *c += (norms[[t_len - 1 - k, b]] / last).ln() / b_len as f64;
        }
    }
    Ok(curve)
}

/// The per-step factor fitted to a curve: $e^{s}$ for the least-squares slope $s$ of
/// $\ln$ ratio against distance. Below 1 the gradient shrinks on the way back.
fn fitted_factor(curve: &[f64]) -> f64 {
    let n = curve.len() as f64;
    let mean_k = (n - 1.0) / 2.0;
    let mean_y = curve.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (k, y) in curve.iter().enumerate() {
        num += (k as f64 - mean_k) * (y - mean_y);
        den += (k as f64 - mean_k).powi(2);
    }
    (num / den).exp()
}

/// What a vanilla RNN's forward pass says about the diagonal factors $\tanh'(a_t) = 1 - h_t^2$:
/// their mean and their root mean square, over every step, example and unit.
fn tanh_slopes(rnn: &Rnn<f64>, batch: &Batch<f64>) -> Result<(f64, f64)> {
    let b = batch.xs.len_of(Axis(1));
    let cache = rnn.forward(
        batch.xs.view(),
        Array2::zeros((b, rnn.hidden_size())).view(),
    )?;
    let slopes = cache.hs().mapv(|h| 1.0 - h * h); // (T, B, H)
    let n = slopes.len() as f64;
    Ok((slopes.sum() / n, (slopes.mapv(|s| s * s).sum() / n).sqrt()))
}

/// One row of the table, collected over seeds.
#[derive(Default)]
struct Row {
    /// The model's name in the table and legend.
    label: String,
    /// Mean over seeds of the curve.
    curve: Vec<f64>,
    /// Per seed: $\log_{10}$ of the ratio at the first step.
    first_step: Vec<f64>,
    /// Per seed: the fitted factor.
    factor: Vec<f64>,
    /// Per seed, RNNs only: $\rho(W_{hh})$, $\|W_{hh}\|_2$, mean and RMS of $\tanh'$.
    rnn_stats: Vec<[f64; 4]>,
    /// Per seed, trained models only: held-out MSE after training.
    mse: Vec<f64>,
}

impl Row {
    fn new(label: &str) -> Self {
        Row {
            label: label.to_string(),
            ..Row::default()
        }
    }

    fn add(&mut self, curve: Vec<f64>) {
        if self.curve.is_empty() {
            self.curve = vec![0.0; curve.len()];
        }
        self.first_step
            .push(curve[curve.len() - 1] / std::f64::consts::LN_10);
        self.factor.push(fitted_factor(&curve));
        for (sum, c) in self.curve.iter_mut().zip(&curve) {
            *sum += c;
        }
    }

    fn add_rnn(&mut self, rnn: &Rnn<f64>, batch: &Batch<f64>) -> Result<()> {
        let rho = spectral_radius(rnn.w_hh.view())?;
        let norm2 = spectral_radius(rnn.w_hh.t().dot(&rnn.w_hh).view())?.sqrt();
        let (mean, rms) = tanh_slopes(rnn, batch)?;
        self.rnn_stats.push([rho, norm2, mean, rms]);
        Ok(())
    }

    /// The mean curve as plot points: distance against ratio.
    fn series(&self) -> Series {
        let n = self.first_step.len() as f64;
        Series {
            label: self.label.clone(),
            points: self
                .curve
                .iter()
                .enumerate()
                .map(|(k, c)| (k as f64, (c / n).exp()))
                .collect(),
        }
    }

    fn cells(&self) -> Vec<String> {
        let stat = |i: usize, digits: usize| {
            if self.rnn_stats.is_empty() {
                "—".to_string()
            } else {
                let v: Vec<f64> = self.rnn_stats.iter().map(|s| s[i]).collect();
                mean_std(&v, digits)
            }
        };
        // The mean-field guess: each step multiplies a squared norm by about ρ²⟨tanh'²⟩.
        let guess = if self.rnn_stats.is_empty() {
            "—".to_string()
        } else {
            let v: Vec<f64> = self.rnn_stats.iter().map(|s| s[0] * s[3]).collect();
            mean_std(&v, 3)
        };
        let mse = if self.mse.is_empty() {
            "—".to_string()
        } else {
            mean_std(&self.mse, 4)
        };
        vec![
            self.label.clone(),
            stat(0, 3),
            stat(1, 3),
            stat(2, 3),
            mean_std(&self.first_step, 1),
            mean_std(&self.factor, 3),
            guess,
            mse,
        ]
    }
}

/// Every model of the experiment, built for one seed.
fn rnn(sizes: &Sizes, seed: u64) -> Result<Rnn<f64>> {
    Ok(Rnn::new(&RnnConfig {
        input_size: 2,
        hidden_size: sizes.hidden,
        init: Init::Uniform,
        seed,
        ..RnnConfig::default()
    })?)
}

/// Measures a fresh model, trains it, and measures it again.
fn before_and_after<C: Recurrent<f64>>(
    model: SequenceModel<f64, C>,
    rows: (&mut Row, &mut Row),
    batch: &Batch<f64>,
    config: &TrainConfig,
    bar: &indicatif::ProgressBar,
) -> Result<SequenceModel<f64, C>> {
    rows.0.add(log_ratios(&model, batch)?);
    let (model, log) = train_model(model, config, |step, loss| {
        bar.inc(1);
        if step % 20 == 0 {
            bar.set_prefix(format!("loss {loss:.4}"));
        }
    })?;
    rows.1.add(log_ratios(&model, batch)?);
    rows.1.mse.push(log.eval_after);
    Ok(model)
}

/// The experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let sizes = Sizes {
        t_len: ctx.pick(100, 40),
        hidden: ctx.pick(32, 16),
        batch: ctx.pick(32, 8),
        seeds: ctx.pick(5, 2),
        train_seeds: ctx.pick(3, 1),
        t_train: ctx.pick(50, 20),
        steps: ctx.pick(1000, 60),
    };
    let task = Task::Adding {
        seq_len: sizes.t_len,
    };
    let mut sweep: Vec<Row> = RHOS
        .iter()
        .map(|rho| Row::new(&format!("RNN, ρ = {rho}")))
        .collect();
    let names = ["RNN", "LSTM", "GRU"];
    let mut init_rows: [Row; 3] = names.map(|n| Row::new(&format!("{n}, initialised")));
    let mut trained_rows: [Row; 3] = names.map(|n| Row::new(&format!("{n}, trained")));

    let bar = ctx.progress(
        sizes.train_seeds as usize * 3 * sizes.steps,
        "training RNN, LSTM, GRU",
    );
    for seed in 0..sizes.seeds {
        let batch = task.batch::<f64>(sizes.batch, &mut recurrent::init::rng(1000 + seed))?;
        for (rho, row) in RHOS.iter().zip(&mut sweep) {
            let mut cell = rnn(&sizes, seed)?;
            scale_to_spectral_radius(&mut cell.w_hh, *rho)?;
            row.add_rnn(&cell, &batch)?;
            row.add(log_ratios(
                &SequenceModel::with_cell(cell, &task, seed)?,
                &batch,
            )?);
        }
        if seed >= sizes.train_seeds {
            continue;
        }
        let config = TrainConfig {
            task: Task::Adding {
                seq_len: sizes.t_train,
            },
            hidden_size: sizes.hidden,
            steps: sizes.steps,
            seed,
            ..TrainConfig::default()
        };
        let [init_rnn, init_lstm, init_gru] = &mut init_rows;
        let [trained_rnn, trained_lstm, trained_gru] = &mut trained_rows;

        let cell = rnn(&sizes, seed)?;
        init_rnn.add_rnn(&cell, &batch)?;
        let model = SequenceModel::with_cell(cell, &task, seed)?;
        let model = before_and_after(model, (init_rnn, trained_rnn), &batch, &config, &bar)?;
        trained_rnn.add_rnn(&model.rnn, &batch)?;

        let lstm = Lstm::new(&LstmConfig {
            input_size: 2,
            hidden_size: sizes.hidden,
            seed,
            ..LstmConfig::default()
        })?;
        let model = SequenceModel::with_cell(lstm, &task, seed)?;
        before_and_after(model, (init_lstm, trained_lstm), &batch, &config, &bar)?;

        let gru = Gru::new(&GruConfig {
            input_size: 2,
            hidden_size: sizes.hidden,
            seed,
            ..GruConfig::default()
        })?;
        let model = SequenceModel::with_cell(gru, &task, seed)?;
        before_and_after(model, (init_gru, trained_gru), &batch, &config, &bar)?;
    }
    bar.finish_and_clear();

    let x_label = "distance T − t from the loss";
    let y_label = "‖∂L/∂h_t‖ / ‖∂L/∂h_T‖";
    let title = format!(
        "Vanilla tanh RNN, T = {}, W_hh rescaled to spectral radius ρ",
        sizes.t_len
    );
    ctx.write_svg("gradient-flow-rho", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label,
                y_label,
                log_x: false,
                log_y: true,
                series: sweep.iter().map(Row::series).collect(),
                reference: None,
            },
        )
    })?;
    let title = format!(
        "RNN, LSTM, GRU: initialised and trained (adding, T = {}), measured at T = {}",
        sizes.t_train, sizes.t_len
    );
    ctx.write_svg("gradient-flow-models", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label,
                y_label,
                log_x: false,
                log_y: true,
                series: init_rows
                    .iter()
                    .zip(&trained_rows)
                    .flat_map(|(a, b)| [a.series(), b.series()])
                    .collect(),
                reference: None,
            },
        )
    })?;

    let mut table = Table::new(&[
        "model",
        "ρ(W_hh)",
        "‖W_hh‖₂",
        "mean tanh′",
        "log₁₀ ‖∂L/∂h₁‖/‖∂L/∂h_T‖",
        "fitted factor per step",
        "mean-field factor ρ·√⟨tanh′²⟩",
        "held-out MSE after training",
    ]);
    for row in sweep.iter().chain(
        init_rows
            .iter()
            .zip(&trained_rows)
            .flat_map(|(a, b)| [a, b]),
    ) {
        table.row(row.cells());
    }
    ctx.write_table("gradient-flow", &table)?;

    let settings = format!(
        "T = {}, H = {}, {} sequences of the adding problem per measurement, {} seeds for \
         the spectral-radius sweep and {} for the trained models (mean ± standard deviation \
         over seeds); training: {} Adam steps on the adding problem with T = {}, batch 32, \
         learning rate 3e-3, gradient-norm clip 1 (the crate's `TrainConfig` defaults).\n",
        sizes.t_len,
        sizes.hidden,
        sizes.batch,
        sizes.seeds,
        sizes.train_seeds,
        sizes.steps,
        sizes.t_train
    );
    ctx.write_text("gradient-flow-settings", &settings)?;
    Ok(())
}
