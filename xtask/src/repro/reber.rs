//! `cargo xtask repro reber`: the embedded Reber grammar (Hochreiter & Schmidhuber 1997,
//! experiment 1) for the RNN, LSTM and GRU over several seeds. A run succeeds, as in the
//! paper, when it predicts the long-term symbol (the second-to-last, which repeats the
//! second) correctly on every held-out string.
//!
//! Writes `reber.md` / `reber.csv` (the table), `reber.svg` (critical-symbol accuracy
//! against training steps, seed 0), `reber-setup.md` and `reber-verdict.md`.

use std::time::Instant;

use anyhow::Result;
use recurrent::reber::EmbeddedReber;
use recurrent::train::{SequenceModel, TrainConfig};
use recurrent::Recurrent;

use super::ablation::critical_accuracy;
use super::cells::{mean, train_cell, Cell, Judge};
use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// The critical-symbol accuracy on held-out strings (64 of every length), with the seed
/// that draws them.
struct Critical {
    reber: EmbeddedReber,
    seed: u64,
}

impl Judge for Critical {
    type Out = f64;
    fn judge<C: Recurrent<f32>>(&self, model: &SequenceModel<f32, C>) -> Result<f64> {
        critical_accuracy(model, &self.reber, self.seed)
    }
}

/// One cell at one budget over the seeds.
#[derive(Default)]
struct Runs {
    /// Held-out cross-entropy, nats per symbol.
    nats: Vec<f64>,
    critical: Vec<f64>,
    secs: Vec<f64>,
}

impl Runs {
    /// Runs with every held-out critical symbol right: the paper's success.
    fn successes(&self) -> usize {
        self.critical.iter().filter(|&&a| a >= 1.0).count()
    }
}

/// Runs the experiment: each cell trained for each of a few budgets (the same seeds, so a
/// longer budget continues the same data stream), which shows how many steps success takes.
pub fn run(ctx: &Ctx) -> Result<()> {
    let reber = EmbeddedReber {
        min_len: 9,
        max_len: 24,
    };
    let budgets: Vec<usize> = ctx.pick(vec![250, 500, 1000, 2000], vec![40, 80]);
    let seeds: Vec<u64> = (0..ctx.pick(5, 2)).collect();
    let config = TrainConfig {
        hidden_size: 16,
        batch_size: 32,
        lr: 1e-2,
        eval_size: 256,
        ..TrainConfig::default()
    };
    let total: usize = budgets.iter().sum::<usize>() * Cell::ALL.len() * seeds.len();
    let bar = ctx.progress(total, "reber");
    // runs[cell][budget]
    let mut runs: Vec<Vec<Runs>> = Vec::new();
    for cell in Cell::ALL {
        let mut per_budget = Vec::new();
        for &steps in &budgets {
            let mut r = Runs::default();
            for &seed in &seeds {
                bar.set_message(format!("{} {steps} steps seed {seed}", cell.name()));
                let config = TrainConfig {
                    steps,
                    seed,
                    ..config.clone()
                };
                let judge = Critical {
                    reber: reber.clone(),
                    seed,
                };
                let started = Instant::now();
                let (log, critical) = train_cell(cell, &reber, &config, &judge, |_, loss| {
                    bar.set_prefix(format!("{loss:.3}"));
                    bar.inc(1);
                })?;
                let secs = started.elapsed().as_secs_f64();
                bar.suspend(|| {
                    println!(
                        "{} {steps} steps seed {seed}: {:.3} nats, critical {critical:.3}, \
                         {secs:.1} s",
                        cell.name(),
                        log.eval_after
                    )
                });
                r.nats.push(log.eval_after);
                r.critical.push(critical);
                r.secs.push(secs);
            }
            per_budget.push(r);
        }
        runs.push(per_budget);
    }
    bar.finish_and_clear();

    let mut table = Table::new(&[
        "cell",
        "Adam steps",
        "training strings",
        "succeeded",
        "critical-symbol accuracy",
        "held-out nats/symbol",
        "s per run",
    ]);
    for (cell, per_budget) in Cell::ALL.iter().zip(&runs) {
        for (&steps, r) in budgets.iter().zip(per_budget) {
            table.row(vec![
                cell.name().into(),
                steps.to_string(),
                (steps * config.batch_size).to_string(),
                format!("{}/{}", r.successes(), seeds.len()),
                mean_std(&r.critical, 3),
                mean_std(&r.nats, 3),
                format!("{:.1}", mean(&r.secs)),
            ]);
        }
    }
    ctx.write_table("reber", &table)?;

    let series: Vec<Series> = Cell::ALL
        .iter()
        .zip(&runs)
        .map(|(cell, per_budget)| Series {
            label: cell.name().into(),
            points: budgets
                .iter()
                .zip(per_budget)
                .map(|(&s, r)| (s as f64, r.successes() as f64 / seeds.len() as f64))
                .collect(),
        })
        .collect();
    let title = format!(
        "Embedded Reber: fraction of {} seeds with every critical symbol right",
        seeds.len()
    );
    ctx.write_svg("reber", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label: "Adam steps (batch 32)",
                y_label: "fraction of seeds that succeed",
                log_x: true,
                log_y: false,
                series,
                reference: None,
            },
        )
    })?;

    let held_out = (reber.max_len - reber.min_len + 1) * 64;
    ctx.write_text(
        "reber-setup",
        &format!(
            "Embedded Reber strings of {} to {} symbols, one-hot inputs, next-symbol \
             prediction with softmax cross-entropy at every step. Each cell has H = {} units; \
             Adam (step {}), batch {}, gradient-norm clipping at {}, full BPTT, float32; the \
             LSTM's forget-gate bias starts at 1. Each budget is a separate run from the same \
             seed. A run *succeeds* when the second-to-last symbol is predicted right \
             (largest output) on all {held_out} held-out strings (64 of every length). {} \
             seeds ({:?}); a seed draws the weights and the data.\n",
            reber.min_len,
            reber.max_len,
            config.hidden_size,
            config.lr,
            config.batch_size,
            config.clip_norm,
            seeds.len(),
            seeds
        ),
    )?;
    let lines: Vec<String> = Cell::ALL
        .iter()
        .zip(&runs)
        .map(|(cell, per_budget)| {
            let first = budgets
                .iter()
                .zip(per_budget)
                .find(|(_, r)| r.successes() == seeds.len());
            let last = per_budget.last().expect("at least one budget");
            let all = match first {
                Some((steps, r)) => format!(
                    "the smallest budget at which every seed succeeded was {steps} steps ({} strings, {:.1} s per run)",
                    steps * config.batch_size,
                    mean(&r.secs)
                ),
                None => "no budget made every seed succeed".into(),
            };
            format!(
                "- {}: {all}; after {} steps {} of {} seeds succeeded, critical-symbol \
                 accuracy {}.",
                cell.name(),
                budgets.last().expect("at least one budget"),
                last.successes(),
                seeds.len(),
                mean_std(&last.critical, 3)
            )
        })
        .collect();
    ctx.write_text("reber-verdict", &(lines.join("\n") + "\n"))
}
