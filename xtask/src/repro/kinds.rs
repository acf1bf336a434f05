//! `cargo xtask repro kinds`: the four kinds of sequence task, each trained on its
//! generated data (`recurrent::kinds`), and the latency a bidirectional layer pays.
//!
//! 1. Many-to-one (sentiment of a review), one-to-many (a number's English name) and
//!    many-to-many aligned (tagging names), each with the Elman RNN, the LSTM and the GRU
//!    over several seeds: held-out accuracy beside the best input-blind or context-blind
//!    answer, and learning curves.
//! 2. Many-to-many unaligned: the plain GRU encoder–decoder reversing digit strings.
//! 3. A few generated inputs with the trained GRU's outputs, for each kind.
//! 4. Latency to the first output of a unidirectional against a bidirectional GRU layer as
//!    the sequence grows (the notes: a bidirectional RNN needs the whole sequence).

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use indicatif::ProgressBar;
use ndarray::{s, Array3};
use recurrent::fast::FastGru;
use recurrent::init::rng;
use recurrent::kinds::{
    encoder_decoder, predict, sequence_losses, symbols, Names, NamesAhead, Sentiment, Spell,
    AMBIGUOUS, POSITIVE, SPELL_HELD_OUT,
};
use recurrent::tasks::Targets;
use recurrent::train::{train_on, Data, SequenceModel, TrainConfig};
use recurrent::translate::{accuracy, train_seq2seq, Reverse, Seq2SeqTrainConfig, Translation};
use recurrent::{Bidirectional, Gru, GruConfig, GruForm, Merge, Recurrent};

use super::cells::{Cell, WithCell};
use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// The three aligned-or-not tasks that train through `train_on`.
#[derive(Clone, Copy, PartialEq)]
enum Job {
    Sentiment,
    Spell,
    Names,
}

impl Job {
    fn kind(self) -> &'static str {
        match self {
            Job::Sentiment => "many-to-one",
            Job::Spell => "one-to-many",
            Job::Names => "many-to-many, aligned",
        }
    }
    fn task(self) -> &'static str {
        match self {
            Job::Sentiment => "sentiment of a review",
            Job::Spell => "spell a number",
            Job::Names => "tag the names",
        }
    }
    fn file(self) -> &'static str {
        match self {
            Job::Sentiment => "sentiment",
            Job::Spell => "spell",
            Job::Names => "names",
        }
    }
}

/// What one training run measured.
struct Outcome {
    /// The main held-out accuracy.
    accuracy: f64,
    /// Accuracy on the hard part (negated or contrasted reviews, ambiguous words, unseen
    /// numbers).
    hard: f64,
    /// Training loss per step, divided by the input-blind loss.
    curve: Vec<f64>,
    /// Seconds to train.
    secs: f64,
    /// Mean per-sequence loss (sum over steps) on the held-out batch.
    sequence_loss: f64,
    /// A few inputs and outputs, as Markdown table rows.
    examples: Vec<[String; 3]>,
}

/// The training settings of each job.
fn config(ctx: &Ctx, job: Job, seed: u64) -> TrainConfig {
    TrainConfig {
        hidden_size: match job {
            Job::Spell => 64,
            _ => 32,
        },
        steps: ctx.pick(
            match job {
                Job::Sentiment => 1000,
                Job::Spell => 2000,
                Job::Names => 400,
            },
            60,
        ),
        lr: 1e-2,
        seed,
        eval_size: 256,
        ..TrainConfig::default()
    }
}

/// Trains `cell` on `job` and measures it.
fn run_one<C: Recurrent<f32>>(
    ctx: &Ctx,
    job: Job,
    cell: C,
    seed: u64,
    bar: &ProgressBar,
) -> Result<Outcome> {
    let config = config(ctx, job, seed);
    let on_step = |step: usize, loss: f64| {
        if step.is_multiple_of(25) {
            bar.set_prefix(format!("loss {loss:.3}"));
        }
        bar.inc(1);
    };
    let start = Instant::now();
    match job {
        Job::Sentiment => {
            let task = Sentiment::default();
            let model = SequenceModel::with_cell(cell, &task, seed)?;
            let (model, log) = train_on(model, &task, &config, on_step)?;
            let secs = start.elapsed().as_secs_f64();
            let (reviews, is_hard) = held_out_reviews(seed)?;
            let batch = task.encode::<f32>(&reviews);
            let predicted = predict(&model, batch.xs.view())?;
            let last = predicted.nrows() - 1;
            let right: Vec<bool> = reviews
                .iter()
                .enumerate()
                .map(|(b, (_, y))| predicted[[last, b]] == usize::from(*y))
                .collect();
            let hard: Vec<bool> = right
                .iter()
                .zip(&is_hard)
                .filter(|(_, &h)| h)
                .map(|(&ok, _)| ok)
                .collect();
            let label = |y: bool| if y { "positive" } else { "negative" };
            let examples = reviews
                .iter()
                .enumerate()
                .take(5)
                .map(|(b, (words, y))| {
                    [
                        words.join(" "),
                        label(predicted[[last, b]] == 1).to_string(),
                        label(*y).to_string(),
                    ]
                })
                .collect();
            Ok(Outcome {
                accuracy: share(&right),
                hard: share(&hard),
                curve: normalised(&log.losses, log.baseline),
                secs,
                sequence_loss: mean(&sequence_losses(&model, &batch)?),
                examples,
            })
        }
        Job::Spell => {
            let task = Spell::default();
            let model = SequenceModel::with_cell(cell, &task, seed)?;
            let (model, log) = train_on(model, &task, &config, on_step)?;
            let secs = start.elapsed().as_secs_f64();
            let chars_right = |numbers: &[usize]| -> Result<(f64, Vec<String>)> {
                let batch = task.encode::<f32>(numbers)?;
                let predicted = predict(&model, batch.xs.view())?;
                let Targets::Classes { classes, .. } = &batch.targets else {
                    unreachable!("spelling has class targets")
                };
                let right = predicted
                    .iter()
                    .zip(classes)
                    .filter(|(p, y)| p == y)
                    .count();
                let written = predicted
                    .columns()
                    .into_iter()
                    .map(|col| Spell::show(&col.to_vec()))
                    .collect();
                Ok((right as f64 / classes.len() as f64, written))
            };
            let trained = task.numbers();
            let (accuracy, _) = chars_right(&trained)?;
            let (hard, written) = chars_right(&SPELL_HELD_OUT)?;
            let (_, seen) = chars_right(&[12, 40, 77])?;
            let examples = [12, 40, 77]
                .iter()
                .zip(&seen)
                .map(|(n, w)| (n, w, "trained"))
                .chain(
                    SPELL_HELD_OUT
                        .iter()
                        .zip(&written)
                        .map(|(n, w)| (n, w, "never seen")),
                )
                .map(|(n, w, how)| {
                    let name = recurrent::kinds::number_name(*n).unwrap_or_default();
                    [
                        format!("{n} ({how})"),
                        format!("`{w}`"),
                        format!("`{name}`"),
                    ]
                })
                .collect();
            let batch = task.encode::<f32>(&trained)?;
            Ok(Outcome {
                accuracy,
                hard,
                curve: normalised(&log.losses, log.baseline),
                secs,
                sequence_loss: mean(&sequence_losses(&model, &batch)?),
                examples,
            })
        }
        Job::Names => {
            let task = Names::default();
            let model = SequenceModel::with_cell(cell, &task, seed)?;
            let (model, log) = train_on(model, &task, &config, on_step)?;
            let secs = start.elapsed().as_secs_f64();
            let mut r = rng(20_000 + seed);
            let seqs = (0..256)
                .map(|_| task.sequence(&mut r))
                .collect::<recurrent::Result<Vec<_>>>()?;
            let batch = task.encode::<f32>(&seqs)?;
            let predicted = predict(&model, batch.xs.view())?; // (T, B)
            let (mut all, mut hard) = (Vec::new(), Vec::new());
            for (b, seq) in seqs.iter().enumerate() {
                for (t, &(word, tag)) in seq.iter().enumerate() {
                    let ok = predicted[[t, b]] == usize::from(tag);
                    all.push(ok);
                    if AMBIGUOUS.contains(&word) {
                        hard.push(ok);
                    }
                }
            }
            let mark = |b: usize, with: &dyn Fn(usize) -> bool| {
                seqs[b]
                    .iter()
                    .enumerate()
                    .map(|(t, (w, _))| {
                        if with(t) {
                            format!("**{w}**")
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let examples = (0..3)
                .map(|b| {
                    [
                        seqs[b]
                            .iter()
                            .map(|(w, _)| *w)
                            .collect::<Vec<_>>()
                            .join(" "),
                        mark(b, &|t| predicted[[t, b]] == 1),
                        mark(b, &|t| seqs[b][t].1),
                    ]
                })
                .collect();
            Ok(Outcome {
                accuracy: share(&all),
                hard: share(&hard),
                curve: normalised(&log.losses, log.baseline),
                secs,
                sequence_loss: mean(&sequence_losses(&model, &batch)?),
                examples,
            })
        }
    }
}

/// 1000 held-out reviews for `seed`, and which are hard (negated or contrasted).
#[allow(clippy::type_complexity)]
fn held_out_reviews(seed: u64) -> Result<(Vec<(Vec<&'static str>, bool)>, Vec<bool>)> {
    let task = Sentiment::default();
    let mut r = rng(10_000 + seed);
    let reviews = (0..1000)
        .map(|_| task.review(&mut r))
        .collect::<recurrent::Result<Vec<_>>>()?;
    let hard = reviews
        .iter()
        .map(|(w, _)| w.contains(&"not") || w.contains(&"but"))
        .collect();
    Ok((reviews, hard))
}

fn share(oks: &[bool]) -> f64 {
    oks.iter().filter(|&&ok| ok).count() as f64 / oks.len().max(1) as f64
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn normalised(losses: &[f64], baseline: f64) -> Vec<f64> {
    losses.iter().map(|l| l / baseline).collect()
}

/// A moving average over `window` steps, sampled every `every` steps: (step, value).
fn smooth(curve: &[f64], window: usize, every: usize) -> Vec<(f64, f64)> {
    (window..=curve.len())
        .step_by(every)
        .map(|end| (end as f64, mean(&curve[end - window..end])))
        .collect()
}

/// Builds the cell for `job` and runs it.
fn run_cell(ctx: &Ctx, job: Job, cell: Cell, seed: u64, bar: &ProgressBar) -> Result<Outcome> {
    let d = match job {
        Job::Sentiment => Sentiment::default().input_size(),
        Job::Spell => Spell::default().input_size(),
        Job::Names => Names::default().input_size(),
    };
    let h = config(ctx, job, seed).hidden_size;
    cell.build(
        d,
        h,
        seed,
        RunOne {
            ctx,
            job,
            seed,
            bar,
        },
    )
}

/// `run_cell`'s use of the built cell.
struct RunOne<'a> {
    ctx: &'a Ctx,
    job: Job,
    seed: u64,
    bar: &'a ProgressBar,
}

impl WithCell for RunOne<'_> {
    type Out = Outcome;
    fn with<C: Recurrent<f32>>(self, cell: C) -> Result<Outcome> {
        run_one(self.ctx, self.job, cell, self.seed, self.bar)
    }
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let seeds: Vec<u64> = ctx.pick(vec![0, 1, 2], vec![0]);
    let jobs = [Job::Sentiment, Job::Spell, Job::Names];
    let cells = Cell::ALL;
    let total: usize = jobs
        .iter()
        .map(|&j| config(ctx, j, 0).steps * cells.len() * seeds.len())
        .sum();
    let bar = ctx.progress(total, "kinds: three tasks × three cells");
    let mut table = Table::new(&[
        "kind",
        "task",
        "cell",
        "accuracy",
        "blind baseline",
        "hard cases",
        "accuracy on them",
        "blind baseline on them",
        "loss per sequence",
        "s per run",
    ]);
    let mut verdict = String::new();
    for job in jobs {
        let (baseline, hard_label, hard_baseline) = baselines(job)?;
        let mut series = Vec::new();
        let (mut accs, mut hards) = (Vec::new(), Vec::new());
        for cell in cells {
            let outcomes = seeds
                .iter()
                .map(|&seed| run_cell(ctx, job, cell, seed, &bar))
                .collect::<Result<Vec<_>>>()?;
            let pick = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).collect::<Vec<_>>();
            table.row(vec![
                job.kind().to_string(),
                job.task().to_string(),
                cell.name().to_string(),
                mean_std(&pick(&|o| o.accuracy), 3),
                format!("{baseline:.3}"),
                hard_label.to_string(),
                mean_std(&pick(&|o| o.hard), 3),
                format!("{hard_baseline:.3}"),
                format!("{:.1e}", mean(&pick(&|o| o.sequence_loss))),
                format!("{:.1}", mean(&pick(&|o| o.secs))),
            ]);
            let steps = outcomes[0].curve.len();
            let averaged: Vec<f64> = (0..steps).map(|i| mean(&pick(&|o| o.curve[i]))).collect();
            let window = (steps / 30).max(1);
            series.push(Series {
                label: cell.name().to_string(),
                points: smooth(&averaged, window, window),
            });
            accs.push(format!(
                "{:.3} ({})",
                mean(&pick(&|o| o.accuracy)),
                cell.name()
            ));
            hards.push(format!("{:.3}", mean(&pick(&|o| o.hard))));
            if cell == Cell::Gru {
                ctx.write_text(
                    &format!("kinds-examples-{}", job.file()),
                    &examples_table(job, cell, &outcomes[0].examples),
                )?;
            }
            if cell == Cell::Rnn && job == Job::Spell {
                // The plain RNN is where the speller's unseen numbers go wrong: show how.
                ctx.write_text(
                    "kinds-examples-spell-rnn",
                    &examples_table(job, cell, &outcomes[0].examples),
                )?;
            }
        }
        let _ = writeln!(
            verdict,
            "- {}, {}: held-out accuracy {} against {baseline:.3} for the best blind \
             answer; on {hard_label}, {} against {hard_baseline:.3}.",
            job.kind(),
            job.task(),
            accs.join(", "),
            hards.join(", ")
        );
        ctx.write_svg(&format!("kinds-curves-{}", job.file()), |path| {
            line_chart(
                path,
                &Chart {
                    title: &format!("{}: {}", job.kind(), job.task()),
                    x_label: "training step",
                    y_label: "training loss / input-blind loss",
                    log_x: false,
                    log_y: true,
                    series,
                    reference: Some((1.0, "input-blind loss")),
                },
            )
        })?;
    }
    bar.finish_and_clear();
    let reversal = unaligned(ctx, &seeds, &mut table, &mut verdict)?;
    ctx.write_table("kinds", &table)?;
    ctx.write_text("kinds-verdict", &verdict)?;
    ctx.write_text(
        "kinds-setup",
        &format!(
            "Adam (lr {}), batches of {}, gradient norm clipped at {}; H = {} for the \
             review and the tagger, {} for the speller; {}, {} and {} steps for the \
             review, the speller and the tagger; LSTM with forget-gate bias 1; seeds {:?}. \
             The encoder–decoder: {reversal}\n",
            config(ctx, Job::Sentiment, 0).lr,
            config(ctx, Job::Sentiment, 0).batch_size,
            config(ctx, Job::Sentiment, 0).clip_norm,
            config(ctx, Job::Sentiment, 0).hidden_size,
            config(ctx, Job::Spell, 0).hidden_size,
            config(ctx, Job::Sentiment, 0).steps,
            config(ctx, Job::Spell, 0).steps,
            config(ctx, Job::Names, 0).steps,
            seeds,
        ),
    )?;
    look_ahead(ctx, &seeds)?;
    latency(ctx)
}

/// Tagging when the next word decides (`NamesAhead`): a unidirectional GRU against a
/// bidirectional one of the same width per direction.
fn look_ahead(ctx: &Ctx, seeds: &[u64]) -> Result<()> {
    let task = NamesAhead::default();
    let h = 32;
    let steps = ctx.pick(400, 60);
    let bar = ctx.progress(2 * steps * seeds.len(), "kinds: tagging, next word decides");
    let mut r = rng(50_000);
    let seqs = (0..256)
        .map(|_| task.sequence(&mut r))
        .collect::<recurrent::Result<Vec<_>>>()?;
    let (lookup_all, lookup_ambiguous) = Names::lookup_tagger(&seqs);
    let batch = task.encode::<f32>(&seqs)?;
    let gru = |seed| {
        FastGru::<f32>::new(&GruConfig {
            input_size: task.input_size(),
            hidden_size: h,
            form: GruForm::ResetAfter,
            seed,
        })
    };
    let mut table = Table::new(&[
        "layer",
        "words right",
        "ambiguous words right",
        "lookup tagger: words",
        "lookup tagger: ambiguous",
        "s per run",
    ]);
    for bidirectional in [false, true] {
        let (mut all, mut ambiguous, mut secs) = (Vec::new(), Vec::new(), Vec::new());
        for &seed in seeds {
            let config = TrainConfig {
                hidden_size: h,
                steps,
                lr: 1e-2,
                seed,
                eval_size: 256,
                ..TrainConfig::default()
            };
            let on_step = |step: usize, loss: f64| {
                if step.is_multiple_of(25) {
                    bar.set_prefix(format!("loss {loss:.3}"));
                }
                bar.inc(1);
            };
            let start = Instant::now();
            let predicted = if bidirectional {
                let bi = Bidirectional::new(gru(seed)?, gru(seed + 1)?, Merge::Concat)?;
                let model = SequenceModel::with_cell(bi, &task, seed)?;
                let (model, _) = train_on(model, &task, &config, on_step)?;
                predict(&model, batch.xs.view())?
            } else {
                let model = SequenceModel::with_cell(gru(seed)?, &task, seed)?;
                let (model, _) = train_on(model, &task, &config, on_step)?;
                predict(&model, batch.xs.view())?
            };
            secs.push(start.elapsed().as_secs_f64());
            let (mut a, mut m) = (Vec::new(), Vec::new());
            for (b, seq) in seqs.iter().enumerate() {
                for (t, &(word, tag)) in seq.iter().enumerate() {
                    let ok = predicted[[t, b]] == usize::from(tag);
                    a.push(ok);
                    if AMBIGUOUS.contains(&word) {
                        m.push(ok);
                    }
                }
            }
            all.push(share(&a));
            ambiguous.push(share(&m));
        }
        table.row(vec![
            if bidirectional {
                format!("bidirectional GRU (2 × H = {h})")
            } else {
                format!("unidirectional GRU (H = {h})")
            },
            mean_std(&all, 3),
            mean_std(&ambiguous, 3),
            format!("{lookup_all:.3}"),
            format!("{lookup_ambiguous:.3}"),
            format!("{:.1}", mean(&secs)),
        ]);
    }
    bar.finish_and_clear();
    ctx.write_table("kinds-lookahead", &table)
}

/// The accuracy baseline of `job`, the name of its hard cases and their baseline.
fn baselines(job: Job) -> Result<(f64, &'static str, f64)> {
    Ok(match job {
        Job::Sentiment => {
            // The last-adjective rule: positive iff the review's last word is a positive
            // adjective. It reads one word, the one that matters most, and no context.
            let (reviews, hard) = held_out_reviews(0)?;
            let rule: Vec<bool> = reviews
                .iter()
                .zip(&hard)
                .filter(|(_, &h)| h)
                .map(|((w, y), _)| POSITIVE.contains(w.last().expect("a review has words")) == *y)
                .collect();
            (0.5, "negated or contrasted reviews", share(&rule))
        }
        Job::Spell => (
            Spell::default().input_blind().0,
            "characters of the 8 unseen numbers",
            Spell { held_out: true }.input_blind().0,
        ),
        Job::Names => {
            let mut r = rng(20_000);
            let seqs = (0..256)
                .map(|_| Names::default().sequence(&mut r))
                .collect::<recurrent::Result<Vec<_>>>()?;
            let (all, ambiguous) = Names::lookup_tagger(&seqs);
            (all, "ambiguous words", ambiguous)
        }
    })
}

/// A few inputs with a trained model's outputs and the right answers, as a Markdown table.
fn examples_table(job: Job, cell: Cell, rows: &[[String; 3]]) -> String {
    let cell = cell.name();
    let header = match job {
        Job::Sentiment => format!("| review | {cell} says | label |"),
        Job::Spell => format!("| number | {cell} writes | name |"),
        Job::Names => format!("| words | {cell}'s names in bold | true names in bold |"),
    };
    let mut out = format!("{header}\n| --- | --- | --- |\n");
    for [a, b, c] in rows {
        let _ = writeln!(out, "| {a} | {b} | {c} |");
    }
    out
}

/// Many-to-many unaligned: the plain GRU encoder–decoder reversing digit strings of 4 to
/// 8 digits. Adds its row to `table` and its line to `verdict`; returns its setup.
fn unaligned(ctx: &Ctx, seeds: &[u64], table: &mut Table, verdict: &mut String) -> Result<String> {
    let task = Reverse {
        min_len: 4,
        max_len: 8,
        digits: 10,
    };
    let h = ctx.pick(64, 16);
    let config = Seq2SeqTrainConfig {
        steps: ctx.pick(1500, 60),
        ..Seq2SeqTrainConfig::default()
    };
    let bar = ctx.progress(config.steps * seeds.len(), "kinds: encoder-decoder");
    let (mut symbols_right, mut strings_right, mut secs) = (Vec::new(), Vec::new(), Vec::new());
    let mut curves = Vec::new();
    let mut first = None;
    for &seed in seeds {
        let mut model = encoder_decoder::<f32>(&task, h, seed)?;
        let start = Instant::now();
        let losses = train_seq2seq(
            &mut model,
            &task,
            &Seq2SeqTrainConfig {
                seed: seed + 100,
                ..config.clone()
            },
            |step, loss| {
                if step.is_multiple_of(25) {
                    bar.set_prefix(format!("loss {loss:.3}"));
                }
                bar.inc(1);
            },
        )?;
        secs.push(start.elapsed().as_secs_f64());
        curves.push(normalised(&losses, 10f64.ln()));
        // Held-out strings of every length, 128 of each.
        let (mut s, mut w) = (0.0, 0.0);
        for len in task.min_len..=task.max_len {
            let fixed = Reverse {
                min_len: len,
                max_len: len,
                ..task.clone()
            };
            let held_out = fixed.batch::<f32>(128, &mut rng(30_000 + seed * 10 + len as u64))?;
            let (a, b) = accuracy(&model, &fixed, &held_out)?;
            s += a;
            w += b;
        }
        let lengths = (task.max_len - task.min_len + 1) as f64;
        symbols_right.push(s / lengths);
        strings_right.push(w / lengths);
        first.get_or_insert(model);
    }
    bar.finish_and_clear();
    table.row(vec![
        "many-to-many, unaligned".into(),
        "reverse 4–8 digits".into(),
        "GRU enc–dec".into(),
        mean_std(&symbols_right, 3),
        "0.100".into(),
        "whole strings".into(),
        mean_std(&strings_right, 3),
        "0.000".into(),
        "–".into(),
        format!("{:.1}", mean(&secs)),
    ]);
    let _ = writeln!(
        verdict,
        "- many-to-many, unaligned, reversing 4–8 digits: the GRU encoder–decoder gets {:.3} \
         of the digits right (guessing: 0.100) and {:.3} of the strings.",
        mean(&symbols_right),
        mean(&strings_right)
    );
    let model = first.expect("at least one seed");
    let mut examples = String::from(
        "| digits in | GRU encoder–decoder writes | reversed |\n| --- | --- | --- |\n",
    );
    for len in [4, 6, 8] {
        let fixed = Reverse {
            min_len: len,
            max_len: len,
            ..task.clone()
        };
        let pair = fixed.batch::<f32>(1, &mut rng(40_000 + len as u64))?;
        let src: Vec<usize> = symbols(pair.src.view())?[0]
            .iter()
            .map(|s| s.unwrap_or(0))
            .collect();
        let (out, _) = model.greedy(pair.src.view(), fixed.start(), len)?;
        let tgt: Vec<usize> = pair.targets.column(0).to_vec();
        let _ = writeln!(
            examples,
            "| `{}` | `{}` | `{}` |",
            fixed.show_src(&src),
            fixed.show_tgt(&out.column(0).to_vec()),
            fixed.show_tgt(&tgt)
        );
    }
    ctx.write_text("kinds-examples-reverse", &examples)?;
    let steps = curves[0].len();
    let averaged: Vec<f64> = (0..steps)
        .map(|i| mean(&curves.iter().map(|c| c[i]).collect::<Vec<_>>()))
        .collect();
    let window = (steps / 30).max(1);
    ctx.write_svg("kinds-curves-reverse", |path| {
        line_chart(
            path,
            &Chart {
                title: "many-to-many, unaligned: reverse 4–8 digits",
                x_label: "training step",
                y_label: "training loss / ln 10",
                log_x: false,
                log_y: true,
                series: vec![Series {
                    label: "GRU encoder–decoder".into(),
                    points: smooth(&averaged, window, window),
                }],
                reference: Some((1.0, "guessing (ln 10)")),
            },
        )
    })?;
    Ok(format!(
        "H = {h}, {} Adam steps of {} strings (lr {}), lengths 4–8 drawn per batch, greedy \
         decoding of 128 held-out strings of each length.",
        config.steps, config.batch_size, config.lr
    ))
}

/// Time to the first output, unidirectional against bidirectional, as T grows.
fn latency(ctx: &Ctx) -> Result<()> {
    const D: usize = 40; // a speech frame's filter-bank features
    const H: usize = 64;
    const FRAME_MS: f64 = 10.0; // 100 frames per second, as speech front ends produce
    let lens: Vec<usize> = ctx.pick(vec![10, 30, 100, 300, 1000], vec![10, 30]);
    let reps = ctx.pick(21, 3);
    let gru = |seed| {
        Gru::<f32>::new(&GruConfig {
            input_size: D,
            hidden_size: H,
            form: GruForm::ResetAfter,
            seed,
        })
    };
    let uni = gru(0)?;
    let bi = Bidirectional::new(gru(0)?, gru(1)?, Merge::Concat)?;
    let mut table = Table::new(&[
        "T",
        "inputs read before y⟨1⟩: uni",
        "bi",
        "compute µs: uni",
        "bi",
        "latency ms at 100 frames/s: uni",
        "bi",
    ]);
    let (mut uni_points, mut bi_points) = (Vec::new(), Vec::new());
    for &t_len in &lens {
        let xs = Array3::from_shape_fn((t_len, 1, D), |(t, _, d)| ((t * 7 + d) as f32 * 0.1).sin()); // (T, 1, D)
                                                                                                     // Unidirectional: y⟨1⟩ needs x⟨1⟩ only, one step.
        let uni_us = median_us(reps, || {
            let first = xs.slice(s![..1, .., ..]);
            uni.forward_seq(first, &uni.zero_state(1)).map(|_| ())
        })?;
        // Bidirectional: y⟨1⟩ joins the backward cell's last state, which reads x⟨T⟩ first.
        let bi_us = median_us(reps, || {
            bi.forward_seq(xs.view(), &bi.zero_state(1)).map(|_| ())
        })?;
        let uni_ms = FRAME_MS + uni_us / 1000.0;
        let bi_ms = t_len as f64 * FRAME_MS + bi_us / 1000.0;
        uni_points.push((t_len as f64, uni_ms));
        bi_points.push((t_len as f64, bi_ms));
        table.row(vec![
            t_len.to_string(),
            "1".into(),
            t_len.to_string(),
            format!("{uni_us:.0}"),
            format!("{bi_us:.0}"),
            format!("{uni_ms:.2}"),
            format!("{bi_ms:.1}"),
        ]);
    }
    ctx.write_table("kinds-latency", &table)?;
    let (t_last, uni_last, bi_last) = (
        lens[lens.len() - 1],
        uni_points[lens.len() - 1].1,
        bi_points[lens.len() - 1].1,
    );
    ctx.write_text(
        "kinds-latency-verdict",
        &format!(
            "For a sequence of {t_last} inputs ({:.1} s of input at 100 per second) the \
             unidirectional layer gives its first output {uni_last:.1} ms after the first input \
             arrives, the bidirectional layer {:.1} s after it: {:.0} times later.\n",
            t_last as f64 * FRAME_MS / 1000.0,
            bi_last / 1000.0,
            bi_last / uni_last
        ),
    )?;
    ctx.write_text(
        "kinds-latency-setup",
        &format!(
            "GRU layers with D = {D}, H = {H}, one sequence (B = 1), f32; compute time is the \
             median of {reps} runs; inputs arrive one every {FRAME_MS} ms.\n"
        ),
    )?;
    ctx.write_svg("kinds-latency", |path| {
        line_chart(
            path,
            &Chart {
                title: "Time to the first output, inputs arriving every 10 ms",
                x_label: "sequence length T",
                y_label: "latency (ms)",
                log_x: true,
                log_y: true,
                series: vec![
                    Series {
                        label: "unidirectional GRU".into(),
                        points: uni_points,
                    },
                    Series {
                        label: "bidirectional GRU".into(),
                        points: bi_points,
                    },
                ],
                reference: None,
            },
        )
    })
}

/// The median wall time of `reps` calls of `f`, in microseconds.
fn median_us(reps: usize, mut f: impl FnMut() -> recurrent::Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
