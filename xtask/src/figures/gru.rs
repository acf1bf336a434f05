//! The GRU chapter's measurements: parameter count and time per step of the GRU (both
//! forms) against the LSTM, and training curves of the three on the same task.
//!
//! Writes `generated/gru-vs-lstm.md`, `generated/gru-training.md` and
//! `figures/gru-vs-lstm-training.svg`.

use super::{median_time, moving_average, plot_err, progress, write_atomic};
use anyhow::Result;
use ndarray::Array3;
use plotters::prelude::*;
use recurrent::gru::{Gru, GruConfig, GruForm};
use recurrent::init::{rng, uniform};
use recurrent::lstm::{Lstm, LstmConfig};
use recurrent::train::{train_model, SequenceModel, Task, TrainConfig, TrainLog};
use recurrent::{Params, Recurrent};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes this chapter's figures and tables.
pub fn run(figures: &Path, generated: &Path, quick: bool) -> Result<()> {
    cost_table(generated, quick)?;
    training_curves(figures, generated)
}

/// The cells the chapter compares.
#[derive(Clone, Copy)]
enum Cell {
    /// PyTorch's LSTM, forget-gate bias 0.
    Lstm,
    /// The same with forget-gate bias 1 (Jozefowicz et al. 2015); it costs what `Lstm` costs.
    LstmBias1,
    GruAfter,
    GruBefore,
}

impl Cell {
    /// The cells of the cost table (the forget bias does not change the cost).
    const TIMED: [Cell; 3] = [Cell::Lstm, Cell::GruAfter, Cell::GruBefore];
    /// The cells of the training comparison.
    const TRAINED: [Cell; 4] = [Cell::Lstm, Cell::LstmBias1, Cell::GruAfter, Cell::GruBefore];

    fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::LstmBias1 => "LSTM, forget bias 1",
            Cell::GruAfter => "GRU, reset after",
            Cell::GruBefore => "GRU, reset before",
        }
    }

    fn form(self) -> GruForm {
        match self {
            Cell::GruBefore => GruForm::ResetBefore,
            _ => GruForm::ResetAfter,
        }
    }

    fn forget_bias(self) -> f64 {
        match self {
            Cell::LstmBias1 => 1.0,
            _ => 0.0,
        }
    }

    fn is_lstm(self) -> bool {
        matches!(self, Cell::Lstm | Cell::LstmBias1)
    }

    fn gru(self, d: usize, h: usize, seed: u64) -> Result<Gru<f32>> {
        Ok(Gru::new(&GruConfig {
            input_size: d,
            hidden_size: h,
            form: self.form(),
            seed,
        })?)
    }

    fn lstm(self, d: usize, h: usize, seed: u64) -> Result<Lstm<f32>> {
        Ok(Lstm::new(&LstmConfig {
            input_size: d,
            hidden_size: h,
            forget_bias: self.forget_bias(),
            seed,
            ..LstmConfig::default()
        })?)
    }

    /// The number of parameters of this cell at sizes `d`, `h`.
    fn params(self, d: usize, h: usize) -> Result<usize> {
        Ok(if self.is_lstm() {
            param_count(&self.lstm(d, h, 0)?)
        } else {
            param_count(&self.gru(d, h, 0)?)
        })
    }
}

/// The number of scalars in a layer's parameters.
fn param_count<P: Params<f32>>(layer: &P) -> usize {
    layer.params().iter().map(|(_, p)| p.len()).sum()
}

/// Median forward and forward+backward times of `cell` on `xs` with direct terms `dhs`.
fn time_cell<C: Recurrent<f32>>(
    cell: &C,
    xs: &Array3<f32>,
    dhs: &Array3<f32>,
    reps: usize,
) -> (Duration, Duration) {
    let s0 = cell.zero_state(xs.dim().1);
    let fwd = median_time(reps, || {
        cell.forward_seq(xs.view(), &s0).expect("valid shapes");
    });
    let both = median_time(reps, || {
        let cache = cell.forward_seq(xs.view(), &s0).expect("valid shapes");
        cell.backward_seq(&cache, dhs.view()).expect("valid shapes");
    });
    (fwd, both)
}

fn random3(shape: (usize, usize, usize), seed: u64) -> Result<Array3<f32>> {
    let (t, b, k) = shape;
    let flat = uniform::<f32>(t * b, k, 1.0, &mut rng(seed));
    Ok(Array3::from_shape_vec(
        shape,
        flat.into_raw_vec_and_offset().0,
    )?)
}

/// `generated/gru-vs-lstm.md`: parameters, forward and forward+backward time per step.
fn cost_table(generated: &Path, quick: bool) -> Result<()> {
    let (batch, t_len) = (32, 50);
    let sizes = [64, 128, 256];
    let reps = if quick { 3 } else { 11 };
    let bar = progress(sizes.len() * Cell::TIMED.len(), "timing GRU against LSTM");
    let mut md = String::new();
    writeln!(
        md,
        "| H = D | cell | parameters | ÷ LSTM | forward (µs/step) | ÷ LSTM | forward + backward (µs/step) | ÷ LSTM |"
    )?;
    writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|")?;
    // The range of the GRU/LSTM time ratios, over both forms and all sizes.
    let (mut fwd_lo, mut fwd_hi, mut both_lo, mut both_hi) =
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &h in &sizes {
        let d = h;
        let xs = random3((t_len, batch, d), h as u64)?;
        let dhs = random3((t_len, batch, h), h as u64 + 1)?;
        let mut lstm_row = (0usize, 0f64, 0f64);
        for cell in Cell::TIMED {
            let params = cell.params(d, h)?;
            let (fwd, both) = if cell.is_lstm() {
                time_cell(&cell.lstm(d, h, 0)?, &xs, &dhs, reps)
            } else {
                time_cell(&cell.gru(d, h, 0)?, &xs, &dhs, reps)
            };
            let us = |t: Duration| t.as_secs_f64() * 1e6 / t_len as f64;
            let (fwd, both) = (us(fwd), us(both));
            if matches!(cell, Cell::Lstm) {
                lstm_row = (params, fwd, both);
                writeln!(
                    md,
                    "| {h} | {} | {params} | 1 | {fwd:.1} | 1 | {both:.1} | 1 |",
                    cell.name()
                )?;
            } else {
                let (p_ratio, f_ratio, b_ratio) = (
                    params as f64 / lstm_row.0 as f64,
                    fwd / lstm_row.1,
                    both / lstm_row.2,
                );
                fwd_lo = fwd_lo.min(f_ratio);
                fwd_hi = fwd_hi.max(f_ratio);
                both_lo = both_lo.min(b_ratio);
                both_hi = both_hi.max(b_ratio);
                writeln!(
                    md,
                    "| {h} | {} | {params} | {p_ratio:.2} | {fwd:.1} | {f_ratio:.2} | {both:.1} | {b_ratio:.2} |",
                    cell.name()
                )?;
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    writeln!(
        md,
        "\nB = {batch}, T = {t_len}, D = H, float32, zero initial state; time per step is the \
         time of the whole sequence divided by T, the median of {reps} runs after a warm-up, one \
         thread, `cargo xtask figures` (the crate built at opt-level 3), measured on a {}-core \
         machine. \"Forward + backward\" is one forward pass followed by full BPTT.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )?;
    writeln!(
        md,
        "\nIn this measurement a GRU step took between {fwd_lo:.2} and {fwd_hi:.2} times the \
         LSTM's time forward, and between {both_lo:.2} and {both_hi:.2} times forward and backward \
         together (both forms, all sizes above). {}",
        verdict(fwd_hi.max(both_hi), fwd_lo.min(both_lo))
    )?;
    write_atomic(&generated.join("gru-vs-lstm.md"), &md)
}

/// A sentence about the ratios that is true whichever way they came out.
fn verdict(hi: f64, lo: f64) -> &'static str {
    if hi < 1.0 {
        "Per step, the GRU was the cheaper cell throughout."
    } else if lo > 1.0 {
        "Per step, the GRU was the more expensive cell throughout."
    } else {
        "Per step, neither cell was cheaper throughout."
    }
}

/// The training runs: one task, three cells, the same seeds.
fn training_config(seed: u64) -> TrainConfig {
    TrainConfig {
        task: Task::Adding { seq_len: 20 },
        hidden_size: 32,
        steps: 500,
        seed,
        ..TrainConfig::default()
    }
}

const SEEDS: [u64; 3] = [0, 1, 2];

/// One training run of `cell` with a progress bar; the log and the wall time.
fn train_cell(cell: Cell, config: &TrainConfig) -> Result<(TrainLog, Duration)> {
    let (d, h) = (config.task.input_size(), config.hidden_size);
    let bar = progress(
        config.steps,
        &format!("{}, seed {}", cell.name(), config.seed),
    );
    let on_step = |step: usize, loss: f64| {
        if step.is_multiple_of(20) {
            bar.set_prefix(format!("{loss:.4}"));
        }
        bar.inc(1);
    };
    let start = Instant::now();
    let log = if cell.is_lstm() {
        let model =
            SequenceModel::with_cell(cell.lstm(d, h, config.seed)?, &config.task, config.seed)?;
        train_model(model, config, on_step)?.1
    } else {
        let model =
            SequenceModel::with_cell(cell.gru(d, h, config.seed)?, &config.task, config.seed)?;
        train_model(model, config, on_step)?.1
    };
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    Ok((log, elapsed))
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// `figures/gru-vs-lstm-training.svg` and `generated/gru-training.md`.
fn training_curves(figures: &Path, generated: &Path) -> Result<()> {
    let mut runs: Vec<(Cell, Vec<TrainLog>, Duration)> = Vec::new();
    for cell in Cell::TRAINED {
        let mut logs = Vec::new();
        let mut time = Duration::ZERO;
        for seed in SEEDS {
            let (log, t) = train_cell(cell, &training_config(seed))?;
            logs.push(log);
            time += t;
        }
        runs.push((cell, logs, time));
    }
    let config = training_config(SEEDS[0]);
    let baseline = runs[0].1[0].baseline;

    // The mean over seeds of the 25-step moving average of the training loss.
    let curves: Vec<Vec<f64>> = runs
        .iter()
        .map(|(_, logs, _)| {
            let smooth: Vec<Vec<f64>> =
                logs.iter().map(|l| moving_average(&l.losses, 25)).collect();
            (0..config.steps)
                .map(|i| smooth.iter().map(|s| s[i]).sum::<f64>() / smooth.len() as f64)
                .collect()
        })
        .collect();
    let path = figures.join("gru-vs-lstm-training.svg");
    {
        let root = SVGBackend::new(&path, (760, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        // The first few steps overshoot the baseline; the learning happens below it.
        let top = baseline * 2.5;
        let steps = config.steps as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Adding problem, T = 20: LSTM and GRU, same task, same seeds",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..steps, 0f64..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("training step")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("MSE (25-step mean, averaged over seeds)")
            .draw()
            .map_err(plot_err)?;
        let colours = [RED, MAGENTA, BLUE, GREEN];
        for ((cell, _, _), (curve, colour)) in runs.iter().zip(curves.iter().zip(colours)) {
            chart
                .draw_series(LineSeries::new(
                    curve.iter().enumerate().map(|(i, &l)| (i as f64, l)),
                    colour.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(cell.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, baseline), (steps, baseline)],
                BLACK.mix(0.6),
            ))
            .map_err(plot_err)?
            .label("always answer 1: MSE 1/6")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .draw()
            .map_err(plot_err)?;
        root.present()?;
    }

    let mut md = String::new();
    writeln!(
        md,
        "| cell | parameters (cell) | held-out MSE after training, mean ± sd over seeds | first step at which the seed-averaged curve is below half the baseline | wall time per training step (ms) |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    let (d, h) = (config.task.input_size(), config.hidden_size);
    for ((cell, logs, time), curve) in runs.iter().zip(&curves) {
        let params = cell.params(d, h)?;
        let after: Vec<f64> = logs.iter().map(|l| l.eval_after).collect();
        let (m, sd) = mean_sd(&after);
        let half = curve
            .iter()
            .position(|&l| l < baseline / 2.0)
            .map_or(format!("not within {} steps", config.steps), |s| {
                s.to_string()
            });
        let ms_per_step = time.as_secs_f64() * 1e3 / (config.steps * logs.len()) as f64;
        writeln!(
            md,
            "| {} | {params} | {m:.4} ± {sd:.4} | {half} | {ms_per_step:.2} |",
            cell.name()
        )?;
    }
    writeln!(
        md,
        "\nThe adding problem over T = {} steps, H = {h}, batch {}, {} Adam steps (lr {}), \
         gradient-norm clipping at {}, float32; PyTorch's initialisation for every cell, except \
         that \"LSTM, forget bias 1\" adds 1 to the forget gate's bias; seeds {:?} (a seed draws \
         the cell, the output layer and the data, so the two LSTMs start from the same weights \
         apart from that bias); held-out batch of {} sequences. The threshold step is read off \
         the seed-averaged curve in the figure. Wall times include the optimiser and depend on \
         the machine and its load.",
        match config.task {
            Task::Adding { seq_len } => seq_len,
            Task::Echo { seq_len, .. } => seq_len,
        },
        config.batch_size,
        config.steps,
        config.lr,
        config.clip_norm,
        SEEDS,
        config.eval_size
    )?;
    write_atomic(&generated.join("gru-training.md"), &md)
}
