//! `cargo xtask repro latching`: Bengio, Simard & Frasconi (1994)'s information latching.
//! A two-class task decided by the first L inputs and followed by T steps of noise; the
//! RNN, LSTM and GRU, several seeds each, held-out accuracy against T.
//!
//! Writes `latching.md` / `latching.csv` (the table), `latching.svg` (the fraction of
//! seeds that succeed against T), `latching-setup.md` and `latching-verdict.md` (sentences
//! with the numbers, for the chapter).

use std::time::Instant;

use anyhow::Result;
use recurrent::latching::Latching;
use recurrent::train::TrainConfig;

use super::cells::{mean, train_cell, Cell, NoJudge};
use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// A run succeeds when its held-out accuracy is above this: far from guessing (0.5), a
/// little below the best possible (0.998 with the default noise).
const SUCCESS: f64 = 0.9;

/// One cell at one T: each seed's held-out accuracy and training time.
struct Runs {
    accuracy: Vec<f64>,
    secs: Vec<f64>,
}

impl Runs {
    fn successes(&self) -> usize {
        self.accuracy.iter().filter(|&&a| a > SUCCESS).count()
    }
}

/// Runs the experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let spans: Vec<usize> = ctx.pick(vec![5, 10, 20, 50, 100], vec![5, 20]);
    let seeds: Vec<u64> = (0..ctx.pick(4, 2)).collect();
    let base = Latching::default();
    let config = TrainConfig {
        hidden_size: 16,
        batch_size: 32,
        steps: ctx.pick(1500, 60),
        lr: 1e-2,
        eval_size: 1024,
        ..TrainConfig::default()
    };
    let bar = ctx.progress(
        spans.len() * Cell::ALL.len() * seeds.len() * config.steps,
        "latching",
    );
    // runs[cell][span]
    let mut runs: Vec<Vec<Runs>> = Vec::new();
    for cell in Cell::ALL {
        let mut per_span = Vec::new();
        for &noise_len in &spans {
            let task = Latching {
                noise_len,
                ..base.clone()
            };
            let mut r = Runs {
                accuracy: vec![],
                secs: vec![],
            };
            for &seed in &seeds {
                bar.set_message(format!("{} T = {noise_len} seed {seed}", cell.name()));
                let config = TrainConfig {
                    seed,
                    ..config.clone()
                };
                let started = Instant::now();
                let (log, ()) = train_cell(cell, &task, &config, &NoJudge, |_, loss| {
                    bar.set_prefix(format!("{loss:.3}"));
                    bar.inc(1);
                })?;
                let accuracy = log.accuracy.unwrap_or(0.0);
                let secs = started.elapsed().as_secs_f64();
                bar.suspend(|| {
                    println!(
                        "{} T = {noise_len} seed {seed}: accuracy {accuracy:.3} in {secs:.1} s",
                        cell.name()
                    )
                });
                r.accuracy.push(accuracy);
                r.secs.push(secs);
            }
            per_span.push(r);
        }
        runs.push(per_span);
    }
    bar.finish_and_clear();

    let mut header = vec!["T (noise steps)".to_string()];
    for cell in Cell::ALL {
        header.push(format!("{}: succeeded", cell.name()));
        header.push(format!("{}: accuracy", cell.name()));
    }
    header.push("s per run".into());
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs);
    for (k, &noise_len) in spans.iter().enumerate() {
        let mut row = vec![noise_len.to_string()];
        let mut secs = Vec::new();
        for per_span in &runs {
            let r = &per_span[k];
            row.push(format!("{}/{}", r.successes(), seeds.len()));
            row.push(mean_std(&r.accuracy, 3));
            secs.extend(&r.secs);
        }
        row.push(format!("{:.1}", mean(&secs)));
        table.row(row);
    }
    ctx.write_table("latching", &table)?;

    let series: Vec<Series> = Cell::ALL
        .iter()
        .zip(&runs)
        .map(|(cell, per_span)| Series {
            label: cell.name().into(),
            points: spans
                .iter()
                .zip(per_span)
                .map(|(&t, r)| (t as f64, r.successes() as f64 / seeds.len() as f64))
                .collect(),
        })
        .collect();
    let title = format!(
        "Latching: fraction of {} seeds with held-out accuracy > {SUCCESS}",
        seeds.len()
    );
    ctx.write_svg("latching", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label: "T, noise steps between the deciding inputs and the answer",
                y_label: "fraction of seeds that succeed",
                log_x: true,
                log_y: false,
                series,
                reference: None,
            },
        )
    })?;

    ctx.write_text(
        "latching-setup",
        &format!(
            "Every sequence starts with L = {} deciding steps (input ±1 plus noise) followed by \
             T steps of noise alone; the noise on every step is Gaussian with σ = {}. The best \
             possible held-out accuracy, from the sign of the mean of the first L inputs, is \
             {:.4}. Each cell has H = {} units and is trained with Adam (step {}), batch {}, \
             {} steps ({} sequences), gradient-norm clipping at {}, full BPTT; the LSTM's \
             forget-gate bias starts at 1. A run *succeeds* when its accuracy on {} held-out \
             sequences is above {SUCCESS}; {} seeds ({:?}) per cell and T, a seed drawing \
             the weights and the data.\n",
            base.key_len,
            base.sigma,
            base.best_accuracy(),
            config.hidden_size,
            config.lr,
            config.batch_size,
            config.steps,
            config.steps * config.batch_size,
            config.clip_norm,
            config.eval_size,
            seeds.len(),
            seeds
        ),
    )?;
    ctx.write_text("latching-verdict", &verdict(&spans, &runs, seeds.len()))
}

/// For each cell, the T at which every seed succeeded and those at which none did: a
/// sentence that stays true whatever the run measured.
fn verdict(spans: &[usize], runs: &[Vec<Runs>], seeds: usize) -> String {
    let list = |ts: Vec<usize>| {
        if ts.is_empty() {
            "no T".to_string()
        } else {
            let ts: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
            format!("T = {}", ts.join(", "))
        }
    };
    let mut lines = Vec::new();
    for (cell, per_span) in Cell::ALL.iter().zip(runs) {
        let with = |n: usize| -> Vec<usize> {
            spans
                .iter()
                .zip(per_span)
                .filter(|(_, r)| r.successes() == n)
                .map(|(t, _)| *t)
                .collect()
        };
        lines.push(format!(
            "- {}: all {seeds} seeds succeeded at {}; none at {}.",
            cell.name(),
            list(with(seeds)),
            list(with(0))
        ));
    }
    lines.join("\n") + "\n"
}
