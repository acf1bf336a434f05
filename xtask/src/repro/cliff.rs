//! `cliff`: the steep wall in the loss of a recurrent network (Pascanu, Mikolov & Bengio
//! 2013, section 3.2 and figure 6), and what gradient-norm clipping does to a step that
//! hits it.
//!
//! The network is the crate's Elman RNN with one unit and no input,
//! $h_t = \tanh(w\,h_{t-1} + b)$ from $h_0 = 0$, with $w = 1.5$ fixed and the loss
//! $L = (h_T - y)^2$ read at the last step. For $w > 1$ the map has two stable fixed
//! points, one negative and one positive, and from $h_0 = 0$ the sign of $b$ decides which
//! one the state falls into: at $b = 0$ the final state jumps from one branch to the other.
//! Over $T$ steps the jump is smoothed into a wall of width about $w^{-T}$, where
//! $\partial L/\partial b$ grows like $w^T$. We scan $L$ along $b$, then run plain SGD and
//! SGD with norm clipping on $b$ from many starting points on the high side.

use anyhow::{anyhow, Result};
use ndarray::{arr1, arr2, Array2, Array3};
use plotters::prelude::*;
use recurrent::optim::clip_grad_norm;
use recurrent::Rnn;

use super::plot::PALETTE;
use super::{Ctx, Table};

/// The recurrent weight: above 1, so the map is bistable; the wall's gradient grows like
/// $w^T$.
const W: f64 = 1.5;
/// Sequence length: long enough for a gradient of about $10^3$ on the wall, short enough
/// that the wall is wide enough to be hit by a step now and then.
const T: usize = 15;
/// The target: on the positive branch, reached at a bias of about 0.12 (where
/// $\tanh(1.5 \cdot 0.9 + b) = 0.9$), clear of the wall and not saturated, so SGD converges
/// there in a few hundred steps.
const TARGET: f64 = 0.9;
/// SGD's step size: a comfortable one on the plateaus, where $|\partial L/\partial b| < 1$.
const LR: f64 = 0.1;
/// The clipping threshold (Pascanu et al. suggest a value of the order of the average
/// gradient norm; on the plateaus here it is below 1), so a step moves $b$ at most `LR`.
const CLIP: f64 = 1.0;
/// A run is "thrown" when one step carries $b$ beyond this (the scan shows $|b| \le 1$).
const THROWN: f64 = 3.0;

/// The loss and its derivative with respect to $b$, from the crate's forward and backward
/// passes.
fn loss_and_grad(b: f64) -> Result<(f64, f64)> {
    let rnn = Rnn {
        w_xh: arr2(&[[0.0]]),
        w_hh: arr2(&[[W]]),
        b: arr1(&[b]),
        nonlinearity: recurrent::Nonlinearity::Tanh,
    };
    let xs = Array3::zeros((T, 1, 1)); // (T, B, D): no input, the dynamics alone
    let cache = rnn.forward(xs.view(), Array2::zeros((1, 1)).view())?;
    let h_last = cache.h_last()[[0, 0]];
    let mut dhs = Array3::zeros((T, 1, 1)); // (T, B, H): the error enters at the last step
    dhs[[T - 1, 0, 0]] = 2.0 * (h_last - TARGET);
    let back = rnn.backward(&cache, dhs.view())?;
    Ok(((h_last - TARGET).powi(2), back.grads.b[0]))
}

/// One SGD run on $b$: the sequence of (b, loss) before each step, and the last point.
fn descend(b0: f64, steps: usize, clip: Option<f64>) -> Result<Vec<(f64, f64)>> {
    let mut b = b0;
    let mut path = Vec::with_capacity(steps + 1);
    for _ in 0..steps {
        let (loss, grad) = loss_and_grad(b)?;
        path.push((b, loss));
        let mut g = arr1(&[grad]).into_dyn();
        if let Some(c) = clip {
            clip_grad_norm(&mut [g.view_mut()], c)?;
        }
        b -= LR * g[0];
    }
    path.push((b, loss_and_grad(b)?.0));
    Ok(path)
}

/// What the runs from many starts did, for one optimiser.
struct Summary {
    final_losses: Vec<f64>,
    thrown: usize,
    largest_step: f64,
}

fn summarise(runs: &[Vec<(f64, f64)>]) -> Summary {
    let mut final_losses: Vec<f64> = runs.iter().map(|r| r[r.len() - 1].1).collect();
    final_losses.sort_by(f64::total_cmp);
    let steps = |r: &Vec<(f64, f64)>| -> Vec<f64> {
        r.windows(2).map(|p| (p[1].0 - p[0].0).abs()).collect()
    };
    Summary {
        thrown: runs
            .iter()
            .filter(|r| r.iter().any(|(b, _)| b.abs() > THROWN))
            .count(),
        largest_step: runs.iter().flat_map(steps).fold(0.0, f64::max),
        final_losses,
    }
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Power-of-ten labels for an axis that holds log10 values.
fn power(v: &f64) -> String {
    format!("1e{v:.0}")
}

/// The three panels: the loss along $b$ with the two runs' iterates on it, the gradient
/// along $b$, and the loss of the two runs against the step.
fn draw(
    path: &std::path::Path,
    scan: &[(f64, f64, f64)],
    plain: &[(f64, f64)],
    clipped: &[(f64, f64)],
) -> Result<()> {
    let root = SVGBackend::new(path, (1260, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, 3));
    let (red, green, blue) = (PALETTE[1], PALETTE[2], PALETTE[0]);
    let (b_lo, b_hi) = (scan[0].0, scan[scan.len() - 1].0);
    let in_range = |p: &&(f64, f64)| p.0 >= b_lo && p.0 <= b_hi;

    let top = scan.iter().map(|s| s.1).fold(0.0, f64::max) * 1.08;
    let mut a = ChartBuilder::on(&panels[0])
        .caption(
            format!("(a) the loss along b (w = {W}, T = {T})"),
            ("sans-serif", 17),
        )
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(b_lo..b_hi, 0.0..top)
        .map_err(err)?;
    a.configure_mesh()
        .x_desc("bias b")
        .y_desc("L = (h_T − y)²")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    a.draw_series(LineSeries::new(
        scan.iter().map(|s| (s.0, s.1)),
        blue.stroke_width(2),
    ))
    .map_err(err)?
    .label("loss")
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2)));
    a.draw_series(
        plain
            .iter()
            .filter(in_range)
            .map(|&(b, l)| Circle::new((b, l), 4, red.filled())),
    )
    .map_err(err)?
    .label("plain SGD iterates")
    .legend(move |(x, y)| Circle::new((x + 9, y), 4, red.filled()));
    a.draw_series(
        clipped
            .iter()
            .filter(in_range)
            .map(|&(b, l)| Circle::new((b, l), 3, green.stroke_width(1))),
    )
    .map_err(err)?
    .label("clipped SGD iterates")
    .legend(move |(x, y)| Circle::new((x + 9, y), 3, green.stroke_width(1)));
    a.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;

    let grads: Vec<(f64, f64)> = scan.iter().map(|s| (s.0, s.2.abs().log10())).collect();
    let (g_lo, g_hi) = grads.iter().fold((f64::MAX, f64::MIN), |(lo, hi), g| {
        (lo.min(g.1), hi.max(g.1))
    });
    let mut g = ChartBuilder::on(&panels[1])
        .caption("(b) the gradient along b", ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(b_lo..b_hi, (g_lo - 0.3)..(g_hi + 0.3))
        .map_err(err)?;
    g.configure_mesh()
        .x_desc("bias b")
        .y_desc("|∂L/∂b|")
        .y_label_formatter(&power)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    g.draw_series(LineSeries::new(grads, blue.stroke_width(2)))
        .map_err(err)?;

    let log_loss = |r: &[(f64, f64)]| -> Vec<(f64, f64)> {
        r.iter()
            .enumerate()
            .map(|(k, p)| (k as f64, p.1.max(1e-30).log10()))
            .collect()
    };
    let (p_curve, c_curve) = (log_loss(plain), log_loss(clipped));
    let (l_lo, l_hi) = p_curve
        .iter()
        .chain(&c_curve)
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let n = plain.len().max(clipped.len()) as f64;
    let mut c = ChartBuilder::on(&panels[2])
        .caption("(c) one run from the same start", ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..n, (l_lo - 0.5)..(l_hi + 0.5))
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("SGD step")
        .y_desc("loss")
        .y_label_formatter(&power)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(p_curve, red.stroke_width(2)))
        .map_err(err)?
        .label("plain SGD")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    c.draw_series(LineSeries::new(c_curve, green.stroke_width(2)))
        .map_err(err)?
        .label(format!("SGD, norm clipped at {CLIP}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], green.stroke_width(2)));
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// `x` in scientific notation for the book's math: $-1.65 \times 10^{3}$.
fn sci(x: f64) -> String {
    let exponent = x.abs().log10().floor();
    format!(
        "{:.2} \\times 10^{{{exponent:.0}}}",
        x / 10f64.powf(exponent)
    )
}

/// The experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let points = ctx.pick(2001, 401);
    let starts = ctx.pick(200, 20);
    let steps = ctx.pick(1000, 300);

    // The scan: b from -1 to 1, with loss and gradient at each point.
    let scan: Vec<(f64, f64, f64)> = (0..points)
        .map(|i| {
            let b = -1.0 + 2.0 * i as f64 / (points - 1) as f64;
            loss_and_grad(b).map(|(l, g)| (b, l, g))
        })
        .collect::<Result<_>>()?;

    // Many starts on the high side of the wall, evenly spread over [-1, -0.05).
    let bar = ctx.progress(starts, "SGD runs from many starts");
    let mut plain_runs = Vec::with_capacity(starts);
    let mut clipped_runs = Vec::with_capacity(starts);
    for i in 0..starts {
        let b0 = -1.0 + 0.95 * i as f64 / starts as f64;
        plain_runs.push(descend(b0, steps, None)?);
        clipped_runs.push(descend(b0, steps, Some(CLIP))?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    // The run the figure follows: the first start from which plain SGD is thrown.
    let shown = plain_runs
        .iter()
        .position(|r| r.iter().any(|(b, _)| b.abs() > THROWN))
        .ok_or_else(|| anyhow!("no plain SGD run hit the wall; the figure would show nothing"))?;
    let (plain, clipped) = (&plain_runs[shown], &clipped_runs[shown]);
    ctx.write_svg("cliff", |path| draw(path, &scan, plain, clipped))?;

    let mut table = Table::new(&[
        "optimiser",
        "runs",
        "thrown beyond b = ±3",
        "largest single step in b",
        "median final loss",
        "runs ending with loss < 1e-6",
    ]);
    for (name, runs) in [
        ("plain SGD".to_string(), &plain_runs),
        (
            format!("SGD, gradient norm clipped at {CLIP}"),
            &clipped_runs,
        ),
    ] {
        let s = summarise(runs);
        table.row(vec![
            name,
            runs.len().to_string(),
            s.thrown.to_string(),
            format!("{:.3}", s.largest_step),
            format!("{:.1e}", s.final_losses[s.final_losses.len() / 2]),
            s.final_losses
                .iter()
                .filter(|&&l| l < 1e-6)
                .count()
                .to_string(),
        ]);
    }
    ctx.write_table("cliff", &table)?;

    // The shown run in words: where it started, the step that hit the wall, where it ended.
    let (k, jump) = plain
        .windows(2)
        .enumerate()
        .map(|(k, p)| (k, p[1].0 - p[0].0))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .expect("at least one step");
    let (b_hit, loss_hit) = plain[k];
    let grad_hit = loss_and_grad(b_hit)?.1;
    let (b_end, loss_end) = plain[plain.len() - 1];
    let (bc_end, lossc_end) = clipped[clipped.len() - 1];
    let text = format!(
        "In the run of panel (c), both optimisers start at $b = {:.3}$ with learning rate \
         {LR}. At step {k} plain SGD reaches $b = {b_hit:.4}$ (loss {loss_hit:.2}), on the \
         wall, where $\\partial L/\\partial b = {}$; the step moves $b$ by ${}$ and plain \
         SGD ends, after {steps} steps, at $b = {b_end:.1}$ with loss ${}$. With the \
         gradient norm clipped at {CLIP}, the same start ends at $b = {bc_end:.4}$ with loss \
         ${}$.\n",
        plain[0].0,
        sci(grad_hit),
        sci(jump),
        sci(loss_end),
        sci(lossc_end),
    );
    ctx.write_text("cliff-run", &text)?;
    Ok(())
}
