//! Every figure and measured table of the book, made from the crate with fixed seeds.
//!
//! `cargo xtask figures` writes SVGs to `book/src/figures/` and Markdown tables to
//! `book/src/generated/`; chapters include them, so no number in the book is typed by
//! hand. Figures depend only on seeds and are the same on every run; the timing table is a
//! measurement and changes from machine to machine.

mod diagrams;
mod gru;
mod lstm;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, Array3, Axis};
use plotters::prelude::*;
use recurrent::init::{rng, uniform};
use recurrent::train::{train, SequenceModel, Task, TrainConfig, TrainLog};
use recurrent::{Init, Rnn, RnnConfig};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes SVG figures to `book/src/figures/` and Markdown tables to `book/src/generated/`.
/// `quick` measures the timing table with fewer repetitions (for CI, where only the
/// pipeline is under test).
pub fn run(root: &Path, quick: bool) -> Result<()> {
    let figures = root.join("book/src/figures");
    let generated = root.join("book/src/generated");
    std::fs::create_dir_all(&figures)?;
    std::fs::create_dir_all(&generated)?;
    diagrams::draw_all(&figures)?;
    training_runs(&figures, &generated)?;
    gradient_norms(&figures, &generated)?;
    bptt_cost(&generated, quick)?;
    lstm::run(&figures, &generated, quick)?;
    gru::run(&figures, &generated, quick)?;
    println!(
        "figures: wrote {} and {}",
        figures.display(),
        generated.display()
    );
    Ok(())
}

/// Writes `text` to `path` through a temporary file and a rename, so an interrupted run
/// never leaves a half-written table for the book to include.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} loss {prefix}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Trains with a progress bar showing the current loss; returns the log and the wall time.
fn train_with_progress(
    config: &TrainConfig,
    what: &str,
) -> Result<(SequenceModel<f32>, TrainLog, Duration)> {
    let bar = progress(config.steps, what);
    let start = Instant::now();
    let (model, log) = train::<f32>(config, |step, loss| {
        if step % 20 == 0 {
            bar.set_prefix(format!("{loss:.4}"));
        }
        bar.inc(1);
    })?;
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    Ok((model, log, elapsed))
}

/// The adding problem (many-to-one) used for the training and gradient figures.
fn adding_config(seq_len: usize, steps: usize) -> TrainConfig {
    TrainConfig {
        task: Task::Adding { seq_len },
        steps,
        ..TrainConfig::default()
    }
}

/// The delayed echo (many-to-many).
fn echo_config() -> TrainConfig {
    TrainConfig {
        task: Task::Echo {
            seq_len: 12,
            delay: 2,
            vocab: 4,
        },
        steps: 500,
        ..TrainConfig::default()
    }
}

/// `figures/bptt-loss.svg` and `generated/training.md`.
fn training_runs(figures: &Path, generated: &Path) -> Result<()> {
    let adding = adding_config(10, 2000);
    let echo = echo_config();
    let (_, add_log, add_time) = train_with_progress(&adding, "adding problem, T = 10")?;
    let (_, echo_log, echo_time) = train_with_progress(&echo, "delayed echo, T = 12")?;

    let path = figures.join("bptt-loss.svg");
    {
        let root = SVGBackend::new(&path, (960, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, 2));
        loss_panel(
            &panels[0],
            &add_log,
            "Adding problem, T = 10 (many-to-one)",
            "MSE",
            "always answer 1: MSE 1/6",
        )?;
        loss_panel(
            &panels[1],
            &echo_log,
            "Delayed echo, T = 12, delay 2 (many-to-many)",
            "cross-entropy (nats)",
            "chance: ln 4",
        )?;
        root.present()?;
    }

    let mut md = String::new();
    writeln!(md, "| task | kind | steps | held-out loss before | after | input-blind baseline | accuracy | wall time |")?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for (name, kind, config, log, time) in [
        (
            "adding problem, T = 10",
            "many-to-one, MSE",
            &adding,
            &add_log,
            add_time,
        ),
        (
            "delayed echo, T = 12, delay 2, 4 symbols",
            "many-to-many, cross-entropy",
            &echo,
            &echo_log,
            echo_time,
        ),
    ] {
        let acc = log
            .accuracy
            .map_or("n/a".to_string(), |a| format!("{:.1}%", 100.0 * a));
        writeln!(
            md,
            "| {name} | {kind} | {} | {:.4} | {:.4} | {:.4} | {acc} | {:.1} s |",
            config.steps,
            log.eval_before,
            log.eval_after,
            log.baseline,
            time.as_secs_f64()
        )?;
    }
    writeln!(
        md,
        "\nH = {}, batch {}, Adam (lr {}), gradient-norm clipping at {}, float32, seed {}; held-out batch of {} sequences.",
        adding.hidden_size, adding.batch_size, adding.lr, adding.clip_norm, adding.seed, adding.eval_size
    )?;
    write_atomic(&generated.join("training.md"), &md)
}

/// One panel: the per-step training loss, smoothed over 25 steps, and the baseline.
fn loss_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    log: &TrainLog,
    title: &str,
    y_desc: &str,
    baseline_label: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let smooth = moving_average(&log.losses, 25);
    let steps = log.losses.len() as f64;
    let top = smooth.iter().copied().fold(log.baseline, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..steps, 0f64..top)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("training step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(y_desc)
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(
            smooth.iter().enumerate().map(|(i, &l)| (i as f64, l)),
            BLUE.stroke_width(2),
        ))
        .map_err(plot_err)?
        .label("training loss (25-step mean)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            [(0.0, log.baseline), (steps, log.baseline)],
            RED,
        ))
        .map_err(plot_err)?
        .label(baseline_label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()
        .map_err(plot_err)?;
    Ok(())
}

fn plot_err<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e}")
}

/// The mean of each window of `w` values ending at each index (shorter at the start).
fn moving_average(xs: &[f64], w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(xs.len());
    let mut sum = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        sum += x;
        if i >= w {
            sum -= xs[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// The mean over the batch of $\|dL/dh_t\|$ for every t, from a backward pass.
fn grad_norm_per_step(dhs: &Array3<f32>) -> Vec<f64> {
    dhs.axis_iter(Axis(0))
        .map(|dh_t| {
            let norms = dh_t
                .rows()
                .into_iter()
                .map(|r| r.iter().map(|&v| f64::from(v * v)).sum::<f64>().sqrt());
            norms.sum::<f64>() / dh_t.nrows() as f64
        })
        .collect()
}

/// `figures/bptt-grad-norm.svg` and `generated/grad-norm.md`: how $\|dL/dh_t\|$ falls with
/// distance from the loss, before and after training, on the adding problem at T = 50.
fn gradient_norms(figures: &Path, generated: &Path) -> Result<()> {
    let seq_len = 50;
    let config = adding_config(seq_len, 2000);
    let fresh =
        SequenceModel::<f32>::new(&config.task, config.hidden_size, config.init, config.seed)?;
    let (trained, log, _) = train_with_progress(&config, "adding problem, T = 50")?;
    let batch = config.task.batch::<f32>(256, &mut rng(99))?;
    let at_init = grad_norm_per_step(&fresh.evaluate(&batch, None)?.rnn.dhs);
    let after = grad_norm_per_step(&trained.evaluate(&batch, None)?.rnn.dhs);

    let path = figures.join("bptt-grad-norm.svg");
    {
        let root = SVGBackend::new(&path, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let lo = at_init
            .iter()
            .chain(&after)
            .copied()
            .fold(f64::INFINITY, f64::min)
            / 2.0;
        let hi = at_init.iter().chain(&after).copied().fold(0.0, f64::max) * 2.0;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("‖dL/dhₜ‖ on the adding problem, T = {seq_len}, loss at the last step"),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(1f64..seq_len as f64, (lo..hi).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("time step t")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("mean over batch of ‖dL/dhₜ‖ (log scale)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(plot_err)?;
        for (series, color, label) in [
            (&at_init, BLUE, "at initialisation"),
            (&after, GREEN, "after 2000 training steps"),
        ] {
            chart
                .draw_series(LineSeries::new(
                    series.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .draw()
            .map_err(plot_err)?;
        root.present()?;
    }

    let ratio = |v: &[f64]| v[0] / v[v.len() - 1];
    let mut md = String::new();
    writeln!(
        md,
        "| model | ‖dL/dh₁‖ | ‖dL/dh₅₀‖ | ratio ‖dL/dh₁‖ / ‖dL/dh₅₀‖ | held-out MSE |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    writeln!(
        md,
        "| at initialisation | {:.2e} | {:.2e} | {:.2e} | {:.4} |",
        at_init[0],
        at_init[seq_len - 1],
        ratio(&at_init),
        log.eval_before
    )?;
    writeln!(
        md,
        "| after 2000 steps | {:.2e} | {:.2e} | {:.2e} | {:.4} |",
        after[0],
        after[seq_len - 1],
        ratio(&after),
        log.eval_after
    )?;
    writeln!(
        md,
        "\nMeans over a batch of 256 sequences; H = {}, seed {}.",
        config.hidden_size, config.seed
    )?;
    write_atomic(&generated.join("grad-norm.md"), &md)
}

/// The median of `reps` timings of `f`, after one warm-up call.
fn median_time(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

/// `generated/bptt-cost.md`: time and memory of the forward pass, full BPTT and BPTT(10)
/// as T grows.
fn bptt_cost(generated: &Path, quick: bool) -> Result<()> {
    let (batch, d, h, k) = (32, 2, 64, 10);
    let reps = if quick { 3 } else { 11 };
    let rnn = Rnn::<f32>::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        init: Init::Uniform,
        seed: 0,
        ..RnnConfig::default()
    })?;
    let lens = [25, 50, 100, 200, 400, 800];
    let bar = progress(lens.len(), "timing BPTT against T");
    let mut md = String::new();
    writeln!(
        md,
        "| T | forward (ms) | full BPTT (ms) | BPTT({k}) (ms) | cache memory (KiB) |"
    )?;
    writeln!(md, "|---:|---:|---:|---:|---:|")?;
    for &t in &lens {
        let mut r = rng(t as u64);
        let xs = Array3::from_shape_vec(
            (t, batch, d),
            uniform::<f32>(t * batch, d, 1.0, &mut r)
                .into_raw_vec_and_offset()
                .0,
        )?;
        let dhs = Array3::from_shape_vec(
            (t, batch, h),
            uniform::<f32>(t * batch, h, 1.0, &mut r)
                .into_raw_vec_and_offset()
                .0,
        )?;
        let h0 = Array2::<f32>::zeros((batch, h));
        let cache = rnn.forward(xs.view(), h0.view())?;
        let fwd = median_time(reps, || {
            rnn.forward(xs.view(), h0.view()).expect("valid shapes");
        });
        let full = median_time(reps, || {
            rnn.backward(&cache, dhs.view()).expect("valid shapes");
        });
        let trunc = median_time(reps, || {
            rnn.backward_truncated(&cache, dhs.view(), k)
                .expect("valid shapes");
        });
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            md,
            "| {t} | {:.2} | {:.2} | {:.2} | {:.0} |",
            ms(fwd),
            ms(full),
            ms(trunc),
            cache.bytes() as f64 / 1024.0
        )?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    writeln!(
        md,
        "\nB = {batch}, D = {d}, H = {h}, float32; median of {reps} runs after a warm-up, one thread, \
         `cargo xtask figures` (the crate built at opt-level 3); measured on a {}-core machine. \
         Memory is what the forward pass keeps for the backward pass.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )?;
    write_atomic(&generated.join("bptt-cost.md"), &md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_is_exact_on_small_input() {
        assert_eq!(
            moving_average(&[1.0, 3.0, 5.0, 7.0], 2),
            vec![1.0, 2.0, 4.0, 6.0]
        );
    }
}
