//! The LSTM chapter's figures: the cell drawn as boxes and arrows, and the gates of a
//! trained LSTM traced over one sequence of the adding problem.
//!
//! Writes `figures/lstm-cell.svg`, `figures/lstm-gates.svg` and `generated/lstm-gates.md`.

use super::{plot_err, progress, write_atomic};
use anyhow::{Context, Result};
use ndarray::{Array2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use recurrent::init::rng;
use recurrent::lstm::{Gate, Lstm, LstmConfig};
use recurrent::tasks::Targets;
use recurrent::train::{train_model, SequenceModel, Task, TrainConfig};
use recurrent::Recurrent;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Writes this chapter's figures and tables.
pub fn run(figures: &Path, generated: &Path, _quick: bool) -> Result<()> {
    let cell = figures.join("lstm-cell.svg");
    draw_cell(&cell).with_context(|| format!("drawing {}", cell.display()))?;
    gate_traces(figures, generated)
}

// ---------------------------------------------------------------------------------------
// The cell diagram.

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Point = (i32, i32);

const GATE: RGBColor = RGBColor(222, 235, 247);
const CANDIDATE: RGBColor = RGBColor(229, 245, 224);
const BELT: RGBColor = RGBColor(214, 96, 77);
const INK: RGBColor = RGBColor(40, 40, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);

/// One step of the LSTM: the cell state running along the top, the four blocks computed
/// from $[h_{t-1}, x_t]$ along the bottom, and the three products and one sum between them.
fn draw_cell(path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (940, 470)).into_drawing_area();
    root.fill(&WHITE)?;
    let (belt_y, bus_y, gate_y, node_y) = (110, 370, 285, 190);
    let (xf, xi, xg, xo, xh) = (270, 400, 480, 620, 700);

    // The frame of one step.
    line(
        &root,
        &[(150, 60), (790, 60), (790, 420), (150, 420), (150, 60)],
        MUTED,
        1,
    )?;
    text(&root, "one LSTM step", (220, 78), 15, MUTED)?;

    // The cell state: the conveyor belt, drawn heavier and in colour.
    text(&root, "cₜ₋₁", (50, belt_y), 24, INK)?;
    arrow_c(&root, (75, belt_y), (xf - 15, belt_y), BELT, 4)?;
    arrow_c(&root, (xf + 15, belt_y), (xg - 15, belt_y), BELT, 4)?;
    arrow_c(&root, (xg + 15, belt_y), (870, belt_y), BELT, 4)?;
    text(&root, "cₜ", (895, belt_y), 24, INK)?;
    text(
        &root,
        "cell state: one multiply and one add per step",
        (470, 82),
        16,
        BELT,
    )?;
    node(&root, (xf, belt_y), "×")?;
    text(&root, "forget", (xf - 40, belt_y + 22), 15, MUTED)?;
    node(&root, (xg, belt_y), "+")?;
    text(&root, "write", (xg + 36, belt_y + 22), 15, MUTED)?;

    // The input bus: h_{t-1} from the left, x_t from below, feeding all four blocks.
    text(&root, "hₜ₋₁", (50, bus_y), 24, INK)?;
    line(&root, &[(75, bus_y), (xo, bus_y)], INK, 2)?;
    text(&root, "xₜ", (200, 455), 24, INK)?;
    line(&root, &[(200, 438), (200, bus_y)], INK, 2)?;
    text(&root, "[hₜ₋₁, xₜ]", (235, bus_y + 22), 15, MUTED)?;
    for (x, fill, label, name) in [
        (xf, GATE, "σ", "f"),
        (xi, GATE, "σ", "i"),
        (xg, CANDIDATE, "tanh", "g"),
        (xo, GATE, "σ", "o"),
    ] {
        arrow(&root, (x, bus_y), (x, gate_y + 20))?;
        block(&root, (x, gate_y), fill, label)?;
        text(&root, name, (x + 42, gate_y + 8), 20, INK)?;
    }

    // f scales the old cell.
    arrow(&root, (xf, gate_y - 20), (xf, belt_y + 15))?;
    // i scales the candidate g, and the product is added to the cell.
    line(&root, &[(xi, gate_y - 20), (xi, node_y)], INK, 2)?;
    arrow(&root, (xi, node_y), (xg - 15, node_y))?;
    arrow(&root, (xg, gate_y - 20), (xg, node_y + 15))?;
    node(&root, (xg, node_y), "×")?;
    arrow(&root, (xg, node_y - 15), (xg, belt_y + 15))?;

    // o scales tanh(c_t), and the product is h_t.
    line(&root, &[(xh, belt_y), (xh, node_y - 62)], INK, 2)?;
    block_small(&root, (xh, node_y - 45), "tanh")?;
    arrow(&root, (xh, node_y - 28), (xh, node_y - 15))?;
    line(&root, &[(xo, gate_y - 20), (xo, node_y)], INK, 2)?;
    arrow(&root, (xo, node_y), (xh - 15, node_y))?;
    node(&root, (xh, node_y), "×")?;
    line(&root, &[(xh, node_y + 15), (xh, bus_y)], INK, 2)?;
    arrow(&root, (xh, bus_y), (870, bus_y))?;
    text(&root, "hₜ", (895, bus_y), 24, INK)?;
    arrow(&root, (760, bus_y), (760, 25))?;
    text(&root, "hₜ (output)", (840, 25), 18, INK)?;
    root.present()?;
    Ok(())
}

/// A gate block: a rounded-looking box with the activation function's name.
fn block(root: &Area, c: Point, fill: RGBColor, label: &str) -> Result<()> {
    let (w, h) = (30, 20);
    root.draw(&Rectangle::new(
        [(c.0 - w, c.1 - h), (c.0 + w, c.1 + h)],
        fill.filled(),
    ))?;
    let (l, t, r, b) = (c.0 - w, c.1 - h, c.0 + w, c.1 + h);
    line(root, &[(l, t), (r, t), (r, b), (l, b), (l, t)], INK, 2)?;
    text(root, label, c, 18, INK)
}

/// The tanh applied to the new cell: an element-wise function, drawn as an oval-ish box.
fn block_small(root: &Area, c: Point, label: &str) -> Result<()> {
    let (w, h) = (26, 15);
    root.draw(&Rectangle::new(
        [(c.0 - w, c.1 - h), (c.0 + w, c.1 + h)],
        WHITE.filled(),
    ))?;
    let (l, t, r, b) = (c.0 - w, c.1 - h, c.0 + w, c.1 + h);
    line(root, &[(l, t), (r, t), (r, b), (l, b), (l, t)], MUTED, 1)?;
    text(root, label, c, 15, INK)
}

/// An element-wise operation: a circle with its symbol.
fn node(root: &Area, c: Point, symbol: &str) -> Result<()> {
    root.draw(&Circle::new(c, 15, WHITE.filled()))?;
    root.draw(&Circle::new(c, 15, INK.stroke_width(2)))?;
    text(root, symbol, (c.0, c.1 + 1), 22, INK)
}

fn line(root: &Area, points: &[Point], colour: RGBColor, width: u32) -> Result<()> {
    root.draw(&PathElement::new(
        points.to_vec(),
        colour.stroke_width(width),
    ))?;
    Ok(())
}

fn arrow(root: &Area, from: Point, to: Point) -> Result<()> {
    arrow_c(root, from, to, INK, 2)
}

/// A straight arrow whose head touches `to`.
fn arrow_c(root: &Area, from: Point, to: Point, colour: RGBColor, width: u32) -> Result<()> {
    let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
    let len = dx.hypot(dy);
    let (ux, uy) = (dx / len, dy / len);
    let (head, wing) = (10.0 + f64::from(width), 5.0 + f64::from(width) / 2.0);
    let base = (f64::from(to.0) - head * ux, f64::from(to.1) - head * uy);
    let px = |v: f64| v.round() as i32;
    line(root, &[from, (px(base.0), px(base.1))], colour, width)?;
    root.draw(&Polygon::new(
        vec![
            to,
            (px(base.0 - wing * uy), px(base.1 + wing * ux)),
            (px(base.0 + wing * uy), px(base.1 - wing * ux)),
        ],
        colour.filled(),
    ))?;
    Ok(())
}

/// Text centred on `at`.
fn text(root: &Area, s: &str, at: Point, size: u32, colour: RGBColor) -> Result<()> {
    let style = TextStyle::from(("sans-serif", size).into_font())
        .color(&colour)
        .pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(s, at, style))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Gate activations of a trained LSTM.

/// The training run behind the gate figure: the adding problem, an LSTM with the forget
/// bias at 1.
fn gate_config() -> TrainConfig {
    TrainConfig {
        task: Task::Adding { seq_len: SEQ_LEN },
        hidden_size: 16,
        steps: 1500,
        lr: 1e-2,
        seed: 0,
        ..TrainConfig::default()
    }
}

const SEQ_LEN: usize = 30;
/// How many cells the figure traces.
const SHOWN: usize = 3;

/// `figures/lstm-gates.svg` and `generated/lstm-gates.md`.
fn gate_traces(figures: &Path, generated: &Path) -> Result<()> {
    let config = gate_config();
    let lstm = Lstm::<f32>::new(&LstmConfig {
        input_size: config.task.input_size(),
        hidden_size: config.hidden_size,
        forget_bias: 1.0,
        seed: config.seed,
        ..LstmConfig::default()
    })?;
    let model = SequenceModel::with_cell(lstm, &config.task, config.seed)?;
    let bar = progress(config.steps, "LSTM, adding problem, T = 30");
    let start = Instant::now();
    let (model, log) = train_model(model, &config, |step, loss| {
        if step % 20 == 0 {
            bar.set_prefix(format!("{loss:.4}"));
        }
        bar.inc(1);
    })?;
    let elapsed = start.elapsed();
    bar.finish_and_clear();

    // One fresh test sequence, not seen in training.
    let test = config.task.batch::<f32>(1, &mut rng(2024))?;
    let s0 = model.rnn.zero_state(1);
    let cache = model.rnn.forward_seq(test.xs.view(), &s0)?;
    let xs = test.xs.index_axis(Axis(1), 0); // (T, 2)
    let marked: Vec<usize> = (0..SEQ_LEN).filter(|&t| xs[[t, 1]] > 0.5).collect();
    let target = match &test.targets {
        Targets::Final(ys) => f64::from(ys[[0, 0]]),
        Targets::Classes { .. } => unreachable!("the adding problem has a final target"),
    };
    let prediction = f64::from(
        model
            .head
            .forward(cache.h_last().view())?
            .get((0, 0))
            .copied()
            .unwrap_or(f32::NAN),
    );

    let take = |gate: Gate| -> Array2<f64> {
        cache
            .gate(gate)
            .expect("the default LSTM computes every gate")
            .index_axis(Axis(1), 0)
            .mapv(f64::from)
    };
    let (gi, gf, go) = (take(Gate::Input), take(Gate::Forget), take(Gate::Output));
    let cs = cache.cs().index_axis(Axis(1), 0).mapv(f64::from); // (T, H)

    // The cells that write at the marked steps and hardly anywhere else: the ratio of the
    // mean |c_t - c_{t-1}| at the marked steps to the mean at the others.
    let h = config.hidden_size;
    let step_change = |t: usize, j: usize| {
        let prev = if t == 0 { 0.0 } else { cs[[t - 1, j]] };
        (cs[[t, j]] - prev).abs()
    };
    let selectivity = |j: usize| -> f64 {
        let at = marked.iter().map(|&t| step_change(t, j)).sum::<f64>() / marked.len() as f64;
        let others: Vec<usize> = (0..SEQ_LEN).filter(|t| !marked.contains(t)).collect();
        let off = others.iter().map(|&t| step_change(t, j)).sum::<f64>() / others.len() as f64;
        at / off.max(1e-9)
    };
    let mut order: Vec<usize> = (0..h).collect();
    order.sort_by(|&a, &b| selectivity(b).total_cmp(&selectivity(a)));
    let shown: Vec<usize> = order[..SHOWN].to_vec();

    let path = figures.join("lstm-gates.svg");
    {
        let root = SVGBackend::new(&path, (960, 820)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, rest) = root.split_vertically(150);
        input_panel(&top, &xs.mapv(f64::from), &marked, target, prediction)?;
        let panels = rest.split_evenly((4, 1));
        let colours = [BLUE, RED, GREEN];
        let series = |m: &Array2<f64>| -> Vec<(String, Vec<f64>)> {
            shown
                .iter()
                .map(|&j| (format!("cell {j}"), m.column(j).to_vec()))
                .chain(std::iter::once((
                    format!("mean of all {h} cells"),
                    m.mean_axis(Axis(1)).expect("H > 0").to_vec(),
                )))
                .collect()
        };
        trace_panel(
            &panels[0],
            "input gate iₜ",
            &series(&gi),
            &colours,
            &marked,
            Some((0.0, 1.0)),
        )?;
        trace_panel(
            &panels[1],
            "forget gate fₜ",
            &series(&gf),
            &colours,
            &marked,
            Some((0.0, 1.0)),
        )?;
        trace_panel(
            &panels[2],
            "output gate oₜ",
            &series(&go),
            &colours,
            &marked,
            Some((0.0, 1.0)),
        )?;
        trace_panel(
            &panels[3],
            "cell state cₜ",
            &series(&cs),
            &colours,
            &marked,
            None,
        )?;
        root.present()?;
    }

    // The numbers the chapter reads off the figure, measured on the traced cells.
    let mean_at = |m: &Array2<f64>, steps: &[usize]| -> f64 {
        let mut sum = 0.0;
        for &t in steps {
            for &j in &shown {
                sum += m[[t, j]];
            }
        }
        sum / (steps.len() * shown.len()) as f64
    };
    let unmarked: Vec<usize> = (0..SEQ_LEN).filter(|t| !marked.contains(t)).collect();
    // The chapter describes what this run shows; if a change upstream makes it show
    // something else, stop here rather than publish prose that no longer fits the figure.
    anyhow::ensure!(
        log.eval_after < 0.1 * log.baseline,
        "the LSTM of the gate figure no longer learns the adding problem (held-out MSE {:.4}, \
         baseline {:.4}); book/src/lstm.md describes a trained network",
        log.eval_after,
        log.baseline
    );
    anyhow::ensure!(
        mean_at(&gi, &marked) > 2.0 * mean_at(&gi, &unmarked),
        "the traced cells' input gates are no longer far more open at the marked steps; \
         revisit the section \"The gates at work\" of book/src/lstm.md"
    );
    let mut md = String::new();
    writeln!(
        md,
        "| | at the {} marked steps | at the other {} steps |",
        marked.len(),
        unmarked.len()
    )?;
    writeln!(md, "|---|---:|---:|")?;
    for (name, m) in [
        ("input gate iₜ", &gi),
        ("forget gate fₜ", &gf),
        ("output gate oₜ", &go),
    ] {
        writeln!(
            md,
            "| {name}, mean over the {SHOWN} traced cells | {:.2} | {:.2} |",
            mean_at(m, &marked),
            mean_at(m, &unmarked)
        )?;
    }
    let all_f = gf.mean().expect("non-empty");
    let min_f = gf.iter().copied().fold(f64::INFINITY, f64::min);
    writeln!(
        md,
        "\nThe traced cells are {}, the {SHOWN} whose cell state changes most at the marked steps \
         (steps {}, counting from 1) relative to how much it changes at the other steps. Over all {h} cells and all {SEQ_LEN} steps the forget gate \
         averages {all_f:.2} and never falls below {min_f:.2}. On this sequence the target is \
         {target:.3} and the trained network answers {prediction:.3}.",
        shown.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(", "),
        marked.iter().map(|t| (t + 1).to_string()).collect::<Vec<_>>().join(" and "),
    )?;
    writeln!(
        md,
        "\nTraining: the adding problem with T = {SEQ_LEN}, an LSTM with H = {h} and forget-gate \
         bias 1, a linear output layer, {} Adam steps (lr {}) on batches of {}, gradient-norm \
         clipping at {}, float32, seed {}. Held-out MSE (batch of {}): {:.4} before training, \
         {:.4} after; always answering 1 scores {:.4}. Training took {:.1} s.",
        config.steps,
        config.lr,
        config.batch_size,
        config.clip_norm,
        config.seed,
        config.eval_size,
        log.eval_before,
        log.eval_after,
        log.baseline,
        elapsed.as_secs_f64()
    )?;
    write_atomic(&generated.join("lstm-gates.md"), &md)
}

/// The input sequence: the values as bars, the marked ones highlighted.
fn input_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    xs: &Array2<f64>,
    marked: &[usize],
    target: f64,
    prediction: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let t_len = xs.nrows();
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "One test sequence of the adding problem, the two marked values in red: target {target:.2}, the trained LSTM answers {prediction:.2}"
            ),
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5f64..t_len as f64 + 0.5, 0f64..1f64)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("input value")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(3)
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series((0..t_len).map(|t| {
            let x = (t + 1) as f64;
            let style = if marked.contains(&t) {
                RED.filled()
            } else {
                RGBColor(190, 190, 190).filled()
            };
            Rectangle::new([(x - 0.35, 0.0), (x + 0.35, xs[[t, 0]])], style)
        }))
        .map_err(plot_err)?;
    Ok(())
}

/// One panel of traces against the time step, with the marked steps shaded.
fn trace_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[(String, Vec<f64>)],
    colours: &[RGBColor],
    marked: &[usize],
    range: Option<(f64, f64)>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let t_len = series[0].1.len();
    let (lo, hi) = range.unwrap_or_else(|| {
        let lo = series
            .iter()
            .flat_map(|s| &s.1)
            .copied()
            .fold(0.0, f64::min);
        let hi = series
            .iter()
            .flat_map(|s| &s.1)
            .copied()
            .fold(0.0, f64::max);
        let pad = 0.1 * (hi - lo).max(1e-3);
        (lo - pad, hi + pad)
    });
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(56)
        .margin_right(160)
        .build_cartesian_2d(0.5f64..t_len as f64 + 0.5, lo..hi)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(5)
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(marked.iter().map(|&t| {
            let x = (t + 1) as f64;
            Rectangle::new([(x - 0.5, lo), (x + 0.5, hi)], RED.mix(0.15).filled())
        }))
        .map_err(plot_err)?;
    let width = area.dim_in_pixel().0 as i32;
    for (k, (label, ys)) in series.iter().enumerate() {
        let style = match colours.get(k) {
            Some(c) => c.stroke_width(2),
            None => BLACK.mix(0.7).stroke_width(1),
        };
        chart
            .draw_series(LineSeries::new(
                ys.iter().enumerate().map(|(t, &v)| ((t + 1) as f64, v)),
                style,
            ))
            .map_err(plot_err)?;
        // The legend sits in the right margin, outside the plot, so it never hides a trace.
        let y = 40 + 20 * k as i32;
        area.draw(&PathElement::new(
            vec![(width - 150, y), (width - 125, y)],
            style,
        ))
        .map_err(plot_err)?;
        let font =
            TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.clone(), (width - 118, y), font))
            .map_err(plot_err)?;
    }
    Ok(())
}
