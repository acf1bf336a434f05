//! `cargo xtask repro regulariser`: the vanilla RNN on the adding problem with and without
//! Pascanu, Mikolov & Bengio (2013)'s gradient-flow penalty, all with norm clipping.

use anyhow::Result;
use recurrent::regulariser::train_regularised;
use recurrent::tasks::ADDING_BASELINE_MSE;
use recurrent::train::{SequenceModel, Task, TrainConfig};
use recurrent::Init;

use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// Averages of `values` over consecutive windows of `width`, at each window's middle.
fn windowed(values: &[f64], width: usize) -> Vec<(f64, f64)> {
    values
        .chunks(width)
        .enumerate()
        .map(|(k, c)| {
            (
                (k * width + c.len() / 2) as f64,
                c.iter().sum::<f64>() / c.len() as f64,
            )
        })
        .collect()
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let seq_len = ctx.pick(50, 20);
    let alphas: Vec<f64> = ctx.pick(vec![0.0, 0.1, 1.0], vec![0.0, 1.0]);
    let seeds: u64 = ctx.pick(3, 1);
    let task = Task::Adding { seq_len };
    let config = TrainConfig {
        task: task.clone(),
        hidden_size: 32,
        steps: ctx.pick(1000, 150),
        eval_size: 512,
        ..TrainConfig::default()
    };
    let window = ctx.pick(100, 25);
    let bar = ctx.progress(alphas.len() * seeds as usize * config.steps, "RNN + αΩ");
    let mut table = Table::new(&[
        "α",
        "held-out MSE",
        "below 0.167 (seeds)",
        "Ω, last window",
        "‖∂E/∂h₁‖/‖∂E/∂h_T‖, first window",
        "‖∂E/∂h₁‖/‖∂E/∂h_T‖, last window",
        "s per run",
    ]);
    let (mut ratio_series, mut loss_series) = (Vec::new(), Vec::new());
    let mut summary = String::new();
    for &alpha in &alphas {
        let (mut mses, mut omegas, mut first, mut last, mut secs) =
            (vec![], vec![], vec![], vec![], vec![]);
        for seed in 0..seeds {
            let started = std::time::Instant::now();
            let model = SequenceModel::<f32>::new(&task, config.hidden_size, Init::Uniform, seed)?;
            let config = TrainConfig {
                seed,
                ..config.clone()
            };
            let (_, log) = train_regularised(model, &task, &config, alpha, |s| {
                bar.set_prefix(format!("α {alpha} loss {:.4}", s.loss));
                bar.inc(1);
            })?;
            secs.push(started.elapsed().as_secs_f64());
            mses.push(log.eval_after);
            let ratios: Vec<f64> = log.steps.iter().map(|s| s.flow_ratio).collect();
            let om: Vec<f64> = log.steps.iter().map(|s| s.omega).collect();
            let (r_w, o_w) = (windowed(&ratios, window), windowed(&om, window));
            first.push(r_w[0].1);
            last.push(r_w[r_w.len() - 1].1);
            omegas.push(o_w[o_w.len() - 1].1);
            if seed == 0 {
                ratio_series.push(Series {
                    label: format!("α = {alpha}"),
                    points: r_w,
                });
                let losses: Vec<f64> = log.steps.iter().map(|s| s.loss).collect();
                loss_series.push(Series {
                    label: format!("α = {alpha}"),
                    points: windowed(&losses, window),
                });
            }
        }
        let solved = mses.iter().filter(|&&m| m < ADDING_BASELINE_MSE).count();
        table.row(vec![
            format!("{alpha}"),
            mean_std(&mses, 4),
            format!("{solved}/{seeds}"),
            mean_std(&omegas, 2),
            format!("{:.2e}", first.iter().sum::<f64>() / first.len() as f64),
            format!("{:.2e}", last.iter().sum::<f64>() / last.len() as f64),
            format!("{:.0}", secs.iter().sum::<f64>() / secs.len() as f64),
        ]);
        summary.push_str(&format!(
            "- α = {alpha}: held-out MSE {} ({solved} of {seeds} seeds below the 0.167 \
             baseline); the gradient ratio ‖∂E/∂h₁‖/‖∂E/∂h_T‖ averaged {:.2e} at the end of \
             training.\n",
            mean_std(&mses, 4),
            last.iter().sum::<f64>() / last.len() as f64,
        ));
    }
    bar.finish_and_clear();
    ctx.write_table("regulariser", &table)?;
    summary.push_str(&format!(
        "\nAdding problem, T = {seq_len}; vanilla tanh RNN, H = {}, PyTorch's uniform \
         initialisation; Adam (step {}), batch {}, {} steps, global-norm clipping at {}; \
         {seeds} seed(s), held-out batch of {}.\n\n{}\n",
        config.hidden_size,
        config.lr,
        config.batch_size,
        config.steps,
        config.clip_norm,
        config.eval_size,
        ctx.provenance()
    ));
    ctx.write_text("regulariser_summary", &summary)?;
    let title = format!("Adding problem T = {seq_len}: how much error reaches h₁ (seed 0)");
    ctx.write_svg("regulariser_flow", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label: "training step",
                y_label: "‖∂E/∂h₁‖ / ‖∂E/∂h_T‖",
                log_x: false,
                log_y: true,
                series: ratio_series,
                reference: None,
            },
        )
    })?;
    let title = format!("Adding problem T = {seq_len}: training loss (seed 0)");
    ctx.write_svg("regulariser_loss", |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label: "training step",
                y_label: "training MSE",
                log_x: false,
                log_y: false,
                series: loss_series,
                reference: Some((ADDING_BASELINE_MSE, "baseline 1/6")),
            },
        )
    })?;
    Ok(())
}
