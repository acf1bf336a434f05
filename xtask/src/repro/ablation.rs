//! `cargo xtask repro ablation`: which gates matter, measured. Every Greff et al. variant,
//! the vanilla LSTM with forget-gate bias 1, and the GRU, trained with the same budget on
//! three tasks (the adding problem, the embedded Reber grammar, a character language model
//! of Shakespeare), several seeds each.
//!
//! Writes `ablation.md` / `ablation.csv` (the table), `ablation.svg` (each cell's held-out
//! loss divided by the vanilla LSTM's, per task) and `ablation-claims.md` (the comparisons
//! the chapter sets beside the papers' claims).

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use ndarray::s;
use plotters::prelude::*;
use recurrent::init::rng;
use recurrent::reber::EmbeddedReber;
use recurrent::tasks::{Batch, Targets};
use recurrent::text::{CharVocab, CharWindows, Unknown};
use recurrent::train::{train_on, Data, SequenceModel, Task, TrainConfig};
use recurrent::{GreffVariant, Gru, GruConfig, GruForm, Lstm, LstmConfig, Recurrent};

use super::plot::PALETTE;
use super::{mean_std, Ctx, Table};

/// The rows of the table: a cell design.
#[derive(Clone, Copy, PartialEq)]
enum Cell {
    /// One of Greff et al.'s nine, forget-gate bias 0 (PyTorch's initialisation).
    Greff(GreffVariant),
    /// The vanilla LSTM (V) with forget-gate bias 1 (Jozefowicz et al. 2015).
    VBias1,
    /// The GRU, reset gate after the recurrent product (PyTorch's form).
    Gru,
}

impl Cell {
    fn all() -> Vec<Cell> {
        let mut cells: Vec<Cell> = GreffVariant::ALL.into_iter().map(Cell::Greff).collect();
        cells.extend([Cell::VBias1, Cell::Gru]);
        cells
    }

    fn name(self) -> String {
        match self {
            Cell::Greff(v) => format!("{v:?}"),
            Cell::VBias1 => "V, forget bias 1".into(),
            Cell::Gru => "GRU".into(),
        }
    }

    fn lstm(self, d: usize, h: usize, seed: u64) -> Option<LstmConfig> {
        match self {
            Cell::Greff(v) => Some(LstmConfig {
                seed,
                ..LstmConfig::greff(v, d, h)
            }),
            Cell::VBias1 => Some(LstmConfig {
                forget_bias: 1.0,
                seed,
                ..LstmConfig::greff(GreffVariant::V, d, h)
            }),
            Cell::Gru => None,
        }
    }
}

/// The three tasks, each with the data it trains and is judged on.
enum Bench {
    /// Many-to-one regression; judged by MSE on a fresh held-out batch.
    Adding(Task),
    /// Next-symbol prediction; judged by cross-entropy and by the accuracy on the symbol
    /// that repeats the second one, the long-range dependency.
    Reber(EmbeddedReber),
    /// Next-character prediction; judged on held-out text at the end of the slice.
    Text {
        train: CharWindows,
        valid: CharWindows,
    },
}

/// What one run measured on held-out data.
struct Score {
    /// MSE (adding), nats per symbol (Reber) or bits per character (text).
    loss: f64,
    /// Reber only: accuracy on the critical symbol.
    critical: Option<f64>,
    /// Training wall time in seconds.
    secs: f64,
}

/// A task, its budget and its column label.
struct Spec {
    bench: Bench,
    label: String,
    /// The unit of the loss column.
    unit: &'static str,
    /// The number that the loss has to beat, in the same unit.
    baseline: f64,
    hidden: usize,
    steps: usize,
    batch: usize,
    lr: f64,
}

impl Spec {
    /// D, the width of the task's inputs.
    fn input_size(&self) -> usize {
        match &self.bench {
            Bench::Adding(task) => Data::input_size(task),
            Bench::Reber(reber) => Data::input_size(reber),
            Bench::Text { train, .. } => Data::input_size(train),
        }
    }
}

/// Held-out batches for the Reber critical-symbol accuracy: one per string length.
const REBER_EVAL_PER_LENGTH: usize = 64;
/// The validation windows of the language model (each of the training window length).
const TEXT_EVAL_WINDOWS: usize = 1024;

/// Runs the experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let seeds: Vec<u64> = (0..ctx.pick(3, 2)).collect();
    let specs = specs(ctx)?;
    let cells = Cell::all();
    let bar = ctx.progress(cells.len() * specs.len() * seeds.len(), "ablation");
    // scores[cell][task][seed]
    let mut scores: Vec<Vec<Vec<Score>>> = Vec::new();
    for &cell in &cells {
        let mut per_task = Vec::new();
        for spec in &specs {
            let mut runs = Vec::new();
            for &seed in &seeds {
                bar.set_message(format!("{} on {}", cell.name(), spec.label));
                let score = fit(cell, spec, seed)?;
                bar.set_prefix(format!("{:.4}", score.loss));
                bar.suspend(|| {
                    println!(
                        "{} on {}, seed {seed}: {:.4} {} in {:.1} s",
                        cell.name(),
                        spec.label,
                        score.loss,
                        spec.unit,
                        score.secs
                    )
                });
                bar.inc(1);
                runs.push(score);
            }
            per_task.push(runs);
        }
        scores.push(per_task);
    }
    bar.finish_and_clear();
    write_table(ctx, &cells, &specs, &seeds, &scores)?;
    write_claims(ctx, &cells, &specs, &scores)?;
    let means = ratios(&cells, &specs, &scores);
    ctx.write_svg("ablation", |path| draw(path, &cells, &specs, &means))
}

/// The tasks and their budgets: the one place the full and quick runs differ.
fn specs(ctx: &Ctx) -> Result<Vec<Spec>> {
    let adding_len = 10;
    let reber = EmbeddedReber {
        min_len: 9,
        max_len: 20,
    };
    let window = 16;
    let text = if ctx.quick {
        book_text()?
    } else {
        // The first 1.1 M characters: 1 M to train on, the last 10% held out.
        let corpus = crate::data::shakespeare()?;
        corpus.chars().take(1_100_000).collect()
    };
    let vocab = CharVocab::new(&text, Unknown::Reject)?;
    let ids = vocab.encode(&text)?;
    let (train, valid) = CharWindows::split(&ids, vocab.len(), window, 0.1)?;
    let corpus_label = if ctx.quick {
        "the book's text"
    } else {
        "Shakespeare"
    };
    let text_baseline = valid.baseline() / std::f64::consts::LN_2;
    Ok(vec![
        Spec {
            bench: Bench::Adding(Task::Adding {
                seq_len: adding_len,
            }),
            label: format!("adding, T = {adding_len}"),
            unit: "MSE",
            baseline: recurrent::tasks::ADDING_BASELINE_MSE,
            hidden: 32,
            steps: ctx.pick(500, 30),
            batch: 32,
            lr: 1e-2,
        },
        Spec {
            baseline: Data::baseline(&reber),
            bench: Bench::Reber(reber),
            label: "embedded Reber".into(),
            unit: "nats/symbol",
            hidden: 16,
            steps: ctx.pick(500, 30),
            batch: 32,
            lr: 1e-2,
        },
        Spec {
            bench: Bench::Text { train, valid },
            label: format!("{corpus_label}, {} characters", vocab.len()),
            unit: "bits/char",
            baseline: text_baseline,
            hidden: 32,
            steps: ctx.pick(400, 20),
            batch: 32,
            lr: 1e-2,
        },
    ])
}

/// The quick run's corpus: the book's own chapters, which the project wrote itself, so CI
/// downloads nothing.
fn book_text() -> Result<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let mut chapters: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    chapters.sort();
    let mut text = String::new();
    for chapter in chapters {
        text.push_str(&std::fs::read_to_string(&chapter)?);
    }
    Ok(text)
}

/// Builds `cell` for `spec` and trains it with `seed`.
fn fit(cell: Cell, spec: &Spec, seed: u64) -> Result<Score> {
    let (d, h) = (spec.input_size(), spec.hidden);
    match cell.lstm(d, h, seed) {
        Some(config) => train_and_score(Lstm::<f32>::new(&config)?, spec, seed),
        None => train_and_score(
            Gru::<f32>::new(&GruConfig {
                input_size: d,
                hidden_size: h,
                form: GruForm::ResetAfter,
                seed,
            })?,
            spec,
            seed,
        ),
    }
}

fn train_and_score<C: Recurrent<f32>>(cell: C, spec: &Spec, seed: u64) -> Result<Score> {
    let config = TrainConfig {
        hidden_size: spec.hidden,
        batch_size: spec.batch,
        steps: spec.steps,
        lr: spec.lr,
        seed,
        eval_size: 256,
        ..TrainConfig::default()
    };
    let start = Instant::now();
    let (loss, critical) = match &spec.bench {
        Bench::Adding(task) => {
            let model = SequenceModel::with_cell(cell, task, seed)?;
            let (_, log) = train_on(model, task, &config, |_, _| ())?;
            (log.eval_after, None)
        }
        Bench::Reber(reber) => {
            let model = SequenceModel::with_cell(cell, reber, seed)?;
            let (model, log) = train_on(model, reber, &config, |_, _| ())?;
            (
                log.eval_after,
                Some(critical_accuracy(&model, reber, seed)?),
            )
        }
        Bench::Text { train, valid } => {
            let model = SequenceModel::with_cell(cell, train, seed)?;
            let (model, _) = train_on(model, train, &config, |_, _| ())?;
            let nats = f64::from(model.loss(&valid.tiled::<f32>(TEXT_EVAL_WINDOWS)?)?);
            (nats / std::f64::consts::LN_2, None)
        }
    };
    Ok(Score {
        loss,
        critical,
        secs: start.elapsed().as_secs_f64(),
    })
}

/// The accuracy on the second-to-last symbol, which repeats the second (T or P) across
/// the whole inner string: a model without long-term memory gets half of them right.
/// Because the model is causal, cutting the inputs after the critical step and asking
/// for that step's class alone measures exactly that prediction.
pub(super) fn critical_accuracy<C: Recurrent<f32>>(
    model: &SequenceModel<f32, C>,
    reber: &EmbeddedReber,
    seed: u64,
) -> Result<f64> {
    let mut eval_rng = rng(seed.wrapping_add(3));
    let (mut correct, mut total) = (0.0, 0usize);
    for len in reber.min_len..=reber.max_len {
        let only = EmbeddedReber {
            min_len: len,
            max_len: len,
        };
        let batch: Batch<f32> = only.batch(REBER_EVAL_PER_LENGTH, &mut eval_rng)?;
        let Targets::Classes { classes, .. } = &batch.targets else {
            return Err(anyhow!("Reber batches have class targets"));
        };
        let t = EmbeddedReber::critical_step(len);
        let b = REBER_EVAL_PER_LENGTH;
        let cut = Batch {
            xs: batch.xs.slice(s![..=t, .., ..]).to_owned(), // (t + 1, B, 7)
            targets: Targets::Classes {
                from: t,
                classes: classes[t * b..(t + 1) * b].to_vec(),
            },
        };
        correct += model.accuracy(&cut)? * b as f64;
        total += b;
    }
    Ok(correct / total as f64)
}

fn column<'a>(runs: &'a [Score], get: impl Fn(&Score) -> f64 + 'a) -> Vec<f64> {
    runs.iter().map(get).collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn std(values: &[f64]) -> f64 {
    let m = mean(values);
    let n = values.len() as f64;
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt()
}

fn write_table(
    ctx: &Ctx,
    cells: &[Cell],
    specs: &[Spec],
    seeds: &[u64],
    scores: &[Vec<Vec<Score>>],
) -> Result<()> {
    let mut header: Vec<String> = vec!["cell".into()];
    for spec in specs {
        header.push(format!("{}: {}", spec.label, spec.unit));
        if matches!(spec.bench, Bench::Reber(_)) {
            header.push(format!("{}: critical-symbol accuracy", spec.label));
        }
    }
    header.push("training time per run (s)".into());
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs);
    let mut baseline_row = vec!["input-blind baseline".to_string()];
    for spec in specs {
        baseline_row.push(format!("{:.3}", spec.baseline));
        if matches!(spec.bench, Bench::Reber(_)) {
            baseline_row.push("0.5".into());
        }
    }
    baseline_row.push(String::new());
    for (cell, per_task) in cells.iter().zip(scores) {
        let mut row = vec![cell.name()];
        let mut secs = Vec::new();
        for (spec, runs) in specs.iter().zip(per_task) {
            let digits = if matches!(spec.bench, Bench::Adding(_)) {
                4
            } else {
                3
            };
            row.push(mean_std(&column(runs, |s| s.loss), digits));
            if matches!(spec.bench, Bench::Reber(_)) {
                let acc: Vec<f64> = runs.iter().filter_map(|s| s.critical).collect();
                row.push(mean_std(&acc, 2));
            }
            secs.extend(column(runs, |s| s.secs));
        }
        row.push(format!("{:.1}", mean(&secs)));
        table.row(row);
    }
    table.row(baseline_row);
    ctx.write_table("ablation", &table)?;

    let budget: Vec<String> = specs
        .iter()
        .map(|s| {
            format!(
                "{}: H = {}, {} Adam steps of batch {}, learning rate {}",
                s.label, s.hidden, s.steps, s.batch, s.lr
            )
        })
        .collect();
    ctx.write_text(
        "ablation-setup",
        &format!(
            "Mean ± standard deviation over {} seeds ({:?}); a seed draws the weights and the \
             data. {}. Every run clips the gradient norm at 1 and uses full BPTT over its \
             sequences (windows of 16 characters for the text). Losses are on held-out data: \
             a fresh batch of 256 sequences (adding, Reber), {} windows of the held-out text \
             (the language model). The time column is the mean over the runs of all three \
             tasks, training only, float32, one thread.\n",
            seeds.len(),
            seeds,
            budget.join("; "),
            TEXT_EVAL_WINDOWS
        ),
    )
}

/// Each cell's mean loss divided by V's, per task, with the spread the same way:
/// ratios[cell][task] = (mean, std).
fn ratios(cells: &[Cell], specs: &[Spec], scores: &[Vec<Vec<Score>>]) -> Vec<Vec<(f64, f64)>> {
    let v = cells
        .iter()
        .position(|&c| c == Cell::Greff(GreffVariant::V))
        .expect("V is a row");
    let reference: Vec<f64> = (0..specs.len())
        .map(|k| mean(&column(&scores[v][k], |s| s.loss)))
        .collect();
    scores
        .iter()
        .map(|per_task| {
            per_task
                .iter()
                .zip(&reference)
                .map(|(runs, r)| {
                    let losses = column(runs, |s| s.loss);
                    (mean(&losses) / r, std(&losses) / r)
                })
                .collect()
        })
        .collect()
}

/// Sentences for the chapter: how each claimed-critical part compares with V, per task,
/// with a verdict that is true whichever way the numbers came out.
fn write_claims(
    ctx: &Ctx,
    cells: &[Cell],
    specs: &[Spec],
    scores: &[Vec<Vec<Score>>],
) -> Result<()> {
    let row = |cell: Cell| {
        cells
            .iter()
            .position(|&c| c == cell)
            .expect("every cell is a row")
    };
    let v = row(Cell::Greff(GreffVariant::V));
    let columns: Vec<String> = specs
        .iter()
        .map(|s| format!("{} ({})", s.label, s.unit))
        .collect();
    let mut md = format!(
        "| compared with V | {} |\n|---|{}\n",
        columns.join(" | "),
        "---|".repeat(specs.len())
    );
    let compared = [
        Cell::Greff(GreffVariant::NFG),
        Cell::Greff(GreffVariant::NOAF),
        Cell::Greff(GreffVariant::NIG),
        Cell::Greff(GreffVariant::NOG),
        Cell::Greff(GreffVariant::CIFG),
        Cell::Greff(GreffVariant::NP),
        Cell::VBias1,
        Cell::Gru,
    ];
    for cell in compared {
        let cells_md: Vec<String> = scores[row(cell)]
            .iter()
            .zip(&scores[v])
            .map(|(ours, base)| {
                let ours = column(ours, |s| s.loss);
                let base = column(base, |s| s.loss);
                format!(
                    "{:.2}× ({})",
                    mean(&ours) / mean(&base),
                    verdict(&ours, &base)
                )
            })
            .collect();
        md.push_str(&format!("| {} | {} |\n", cell.name(), cells_md.join(" | ")));
    }
    md.push_str(&format!(
        "\nEach entry is the cell's mean held-out loss divided by V's on the same task, then \
         whether the two differ by more than the sum of their standard deviations over seeds \
         (a rough screen, not a significance test). {}\n",
        ctx.provenance()
    ));
    ctx.write_text("ablation-claims", &md)
}

/// "worse", "better" or "within the spread": lower loss is better.
fn verdict(ours: &[f64], base: &[f64]) -> &'static str {
    let gap = mean(ours) - mean(base);
    if gap.abs() <= std(ours) + std(base) {
        "within the spread"
    } else if gap > 0.0 {
        "worse"
    } else {
        "better"
    }
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// One panel per task: a dot per cell at its mean loss ÷ V's, with a bar of ± one standard
/// deviation (also ÷ V's), on a log axis, so "twice as bad" and "half as bad" are the same
/// distance from the line at 1.
fn draw(path: &Path, cells: &[Cell], specs: &[Spec], ratios: &[Vec<(f64, f64)>]) -> Result<()> {
    let root = SVGBackend::new(path, (960, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (title, body) = root.split_vertically(36);
    title
        .titled(
            "Held-out loss ÷ the vanilla LSTM's (V), mean ± sd over seeds; left of 1 is better",
            ("sans-serif", 18),
        )
        .map_err(plot_err)?;
    let panels = body.split_evenly((1, specs.len()));
    let n = cells.len();
    for (k, (panel, spec)) in panels.iter().zip(specs).enumerate() {
        let points: Vec<(f64, f64, f64)> = ratios
            .iter()
            .map(|r| {
                let (m, sd) = r[k];
                (m.log10(), (m - sd).max(m * 0.05).log10(), (m + sd).log10())
            })
            .collect();
        let lo = points.iter().map(|p| p.1).fold(0.0f64, f64::min) - 0.05;
        let hi = points.iter().map(|p| p.2).fold(0.0f64, f64::max) + 0.05;
        let mut chart = ChartBuilder::on(panel)
            .caption(&spec.label, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(if k == 0 { 120 } else { 10 })
            .build_cartesian_2d(lo..hi, -0.5..(n as f64 - 0.5))
            .map_err(plot_err)?;
        let name = |y: &f64| {
            let i = y.round();
            if k == 0 && (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                cells[n - 1 - i as usize].name()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .y_labels(n)
            .y_label_formatter(&name)
            .x_labels(5)
            .x_label_formatter(&|x| format!("{:.2}", 10f64.powf(*x)))
            .x_desc(format!("{} ÷ V's", spec.unit))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.mix(0.5),
            ))
            .map_err(plot_err)?;
        for (i, &(m, left, right)) in points.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series([PathElement::new(
                    vec![(left, y), (right, y)],
                    colour.stroke_width(2),
                )])
                .map_err(plot_err)?;
            chart
                .draw_series([Circle::new((m, y), 4, colour.filled())])
                .map_err(plot_err)?;
        }
    }
    root.present().map_err(plot_err)?;
    Ok(())
}
