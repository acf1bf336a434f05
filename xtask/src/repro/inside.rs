//! `cargo xtask repro inside`: looking inside a trained character LSTM (Karpathy, Johnson &
//! Fei-Fei 2015). Trains a two-layer version of char-lm's Shakespeare model with char-lm's
//! recipe and training loop, runs it over held-out text with [`recurrent::inside::record`],
//! and writes:
//!
//! - `inside-cells.md` / `.csv`: for each text feature (inside `[stage directions]`,
//!   position in the line, an all-caps speaker line), the cell whose tanh(c) correlates
//!   best, beside the median |r| of all cells and a one-threshold accuracy;
//! - `inside-<feature>.md` and `inside-random.md`: the held-out passage coloured by that
//!   cell's tanh(c), one `<span>` per character, and the same for a cell drawn at random;
//! - `inside-saturation.svg` and `inside-saturation.md` / `.csv`: the paper's gate
//!   saturation scatter and per-layer, per-gate summary numbers;
//! - `inside-setup.md` and `inside-verdict.md`: the sentences the chapter includes.
//!
//! `--quick` trains a small model briefly on char-lm's own paragraph (no download).

use anyhow::Result;
use rand::Rng;
use recurrent::init::rng;
use recurrent::inside::{
    best_unit, caps_line, column, inside, legend, record, saturation, to_html, Gate, LayerTrace,
    UnitMatch, LEFT, RIGHT,
};
use recurrent::lm::LanguageModel;
use recurrent::Params;

use super::char_lm::{self, Corpus, Run};
use super::plot::{scatter, Panel, Scatter, Series};
use super::{Ctx, Table};

/// A property of the text that a cell might track, computed from the characters alone.
struct Feature {
    /// The stem of its snippet file (`inside-<key>.md`).
    key: &'static str,
    /// Its description in the tables.
    name: &'static str,
    /// One value per character.
    values: Vec<f64>,
}

/// The features of `text` that the Shakespeare corpus has (see the chapter for why double
/// quotes and parentheses are left out: the held-out text has almost none).
fn features(text: &str) -> Vec<Feature> {
    vec![
        Feature {
            key: "brackets",
            name: "inside [ ] (stage directions)",
            values: inside(text, '[', ']'),
        },
        Feature {
            key: "column",
            name: "position in the line",
            values: column(text),
        },
        Feature {
            key: "caps",
            name: "in an all-caps line (speaker names)",
            values: caps_line(text),
        },
    ]
}

/// The passage the snippets colour: from the start of a line a few lines before the first
/// stage direction after `from` characters (so the state has settled), about `len`
/// characters, ending at a line break.
fn passage(text: &[char], from: usize, len: usize) -> (usize, usize) {
    let from = from.min(text.len().saturating_sub(len));
    let anchor = (from..text.len()).find(|&t| text[t] == '[').unwrap_or(from);
    let mut start = anchor;
    let mut lines = 0;
    while start > 0 && lines < 4 {
        start -= 1;
        if text[start] == '\n' {
            lines += 1;
        }
    }
    if start > 0 {
        start += 1; // after the newline
    }
    let mut end = (start + len).min(text.len());
    while end < text.len() && text[end - 1] != '\n' {
        end += 1;
    }
    (start, end)
}

/// The saturation scatter's points and the summary rows of one layer.
fn saturation_of(layer: usize, trace: &LayerTrace<f32>, table: &mut Table) -> Result<Vec<Series>> {
    let mut series = Vec::new();
    for gate in Gate::ALL {
        let sat = saturation(trace.gate(gate), LEFT, RIGHT)?;
        let h = sat.left.len();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let over_half = |v: &[f64]| v.iter().filter(|&&x| x > 0.5).count();
        let never = sat
            .left
            .iter()
            .zip(&sat.right)
            .filter(|(l, r)| **l < 0.01 && **r < 0.01)
            .count();
        table.row(vec![
            (layer + 1).to_string(),
            gate.name().into(),
            format!("{:.3}", mean(&sat.left)),
            format!("{:.3}", mean(&sat.right)),
            format!("{} of {h}", over_half(&sat.left)),
            format!("{} of {h}", over_half(&sat.right)),
            format!("{never} of {h}"),
        ]);
        series.push(Series {
            label: gate.name().into(),
            points: sat.left.into_iter().zip(sat.right).collect(),
        });
    }
    Ok(series)
}

/// "layer 2, cell 17" for index `u` of the cells of all layers side by side.
fn cell_name(u: usize, h: usize) -> String {
    format!("layer {}, cell {}", u / h + 1, u % h)
}

/// Runs the experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let corpus = Corpus::load(ctx)?;
    let (train_ids, valid_ids) = (corpus.train(), corpus.valid());
    let mut s = char_lm::setup(ctx, corpus.vocab.len());
    // char-lm's recipe with a second layer, so that the first layer can be compared with
    // a later one as the paper does; fewer steps, since each costs about twice as much.
    s.model.layers = 2;
    s.steps = ctx.pick(1200, 120);
    s.trainer.decay_steps = s.steps;
    s.eval_every = ctx.pick(200, 40);
    let model = LanguageModel::<f32>::new(&s.model)?;
    let params = model.num_params();
    let Run {
        trainer,
        points,
        cpu,
        wall,
        load_before,
        load_after,
    } = char_lm::train(ctx, &s, model, train_ids, valid_ids)?;
    let model = trainer.model;
    let held_out = model.evaluate(valid_ids, s.eval_streams, 256, None)?;

    // The held-out text the cells are read on, from the start of a line.
    let analysed = ctx.pick(40_000, valid_ids.len());
    let text_all = corpus.vocab.decode(valid_ids)?;
    let skip = text_all.find('\n').map_or(0, |n| n + 1);
    let text: String = text_all[skip..].chars().take(analysed).collect();
    let ids = corpus.vocab.encode(&text)?;
    let chars: Vec<char> = text.chars().collect();
    let traces = record(&model, &ids, 256)?;
    let h = s.model.hidden_size;
    // Every layer's tanh(c) side by side: (T, L·H), cell u is layer u / H, unit u % H.
    let views: Vec<_> = traces.iter().map(|t| t.tanh_c.view()).collect();
    let all_cells = ndarray::concatenate(ndarray::Axis(1), &views)?;

    // (b) the best cell of each feature.
    let mut cells = Table::new(&[
        "feature",
        "characters where it holds",
        "best cell",
        "r of that cell",
        "median |r| of all cells",
        "one-threshold accuracy (always-0 baseline)",
    ]);
    let mut found: Vec<(Feature, UnitMatch)> = Vec::new();
    for feature in features(&text) {
        let positives = feature.values.iter().filter(|&&v| v > 0.0).count();
        let described = if feature.key == "column" {
            format!(
                "mean {:.1}, max {:.0}",
                feature.values.iter().sum::<f64>() / feature.values.len() as f64,
                feature.values.iter().cloned().fold(0.0, f64::max)
            )
        } else {
            format!(
                "{positives} of {} ({:.1}%)",
                chars.len(),
                100.0 * positives as f64 / chars.len() as f64
            )
        };
        if feature.values.iter().all(|&v| v == feature.values[0]) {
            cells.row(vec![
                feature.name.into(),
                described,
                "– (absent from this text)".into(),
                "–".into(),
                "–".into(),
                "–".into(),
            ]);
            continue;
        }
        let m = best_unit(all_cells.view(), &feature.values)?;
        cells.row(vec![
            feature.name.into(),
            described,
            cell_name(m.unit, h),
            format!("**{:+.3}**", m.r),
            format!("{:.3}", m.median_abs_r),
            m.threshold.as_ref().map_or("– (not 0/1)".into(), |fit| {
                format!(
                    "{:.1}% ({:.1}%)",
                    100.0 * fit.accuracy,
                    100.0 * fit.baseline
                )
            }),
        ]);
        found.push((feature, m));
    }
    ctx.write_table("inside-cells", &cells)?;

    // (a) the coloured passages: each feature's best cell, and one cell at random.
    let (start, end) = passage(&chars, ctx.pick(2_000, 0), ctx.pick(900, 300));
    let excerpt: String = chars[start..end].iter().collect();
    let column_of = |u: usize| -> Vec<f64> {
        all_cells
            .column(u)
            .slice(ndarray::s![start..end])
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    for (feature, m) in &found {
        let html = to_html(&excerpt, &column_of(m.unit))?;
        let caption = format!(
            "tanh(c) of {} (r = {:+.2} with “{}”):",
            cell_name(m.unit, h),
            m.r,
            feature.name
        );
        ctx.write_text(
            &format!("inside-{}", feature.key),
            &format!("{}\n{html}", legend(&caption)),
        )?;
    }
    let random_seed = 6;
    let random = rng(random_seed).random_range(0..all_cells.ncols());
    let best_r_of_random = found
        .iter()
        .map(|(f, _)| {
            let u: Vec<f64> = all_cells
                .column(random)
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            recurrent::inside::pearson(&u, &f.values).map(f64::abs)
        })
        .collect::<recurrent::Result<Vec<f64>>>()?
        .into_iter()
        .fold(0.0, f64::max);
    ctx.write_text(
        "inside-random",
        &format!(
            "{}\n{}",
            legend(&format!(
                "tanh(c) of {} (drawn at random, seed {random_seed}; its largest |r| with the features above is {best_r_of_random:.2}):",
                cell_name(random, h)
            )),
            to_html(&excerpt, &column_of(random))?
        ),
    )?;

    // (c) gate saturation, per layer.
    let mut sat_table = Table::new(&[
        "layer",
        "gate",
        "mean fraction left-saturated (< 0.1)",
        "mean fraction right-saturated (> 0.9)",
        "units left-saturated > 50% of steps",
        "units right-saturated > 50% of steps",
        "units saturated < 1% of steps either way",
    ]);
    let mut panels = Vec::new();
    for (l, trace) in traces.iter().enumerate() {
        panels.push(Panel {
            title: format!("layer {}", l + 1),
            series: saturation_of(l, trace, &mut sat_table)?,
        });
    }
    ctx.write_table("inside-saturation", &sat_table)?;
    ctx.write_svg("inside-saturation", |path| {
        scatter(
            path,
            &Scatter {
                title: "Gate saturation on held-out Shakespeare: one circle per unit",
                x_label: "fraction of steps left-saturated (gate < 0.1)",
                y_label: "fraction of steps right-saturated (gate > 0.9)",
                x_range: (0.0, 1.0),
                y_range: (0.0, 1.0),
                panels,
            },
        )
    })?;

    // (d) the sentences of the chapter.
    ctx.write_text(
        "inside-setup",
        &format!(
            "The model: embedding {} → LSTM {} × {} → linear head, {params} parameters, \
             float32, trained with char-lm's recipe (streams of {} × {} characters, Adam at \
             {} decaying to {}, gradient norm clipped at {}, seed {}) for {} steps: {cpu:.0} \
             CPU seconds of one core ({wall:.0} s wall; load average before {load_before}, \
             after {load_after}). Its loss on the whole held-out text is **{held_out:.3}** \
             nats/char. The cells are read on {} characters of held-out text, as one stream \
             from the zero state.",
            s.model.embed_size,
            s.model.layers,
            h,
            s.trainer.batch,
            s.trainer.seq_len,
            s.trainer.lr,
            s.trainer.lr * s.trainer.final_lr_fraction,
            s.trainer.clip_norm,
            s.model.seed,
            s.steps,
            chars.len(),
        ),
    )?;
    let forget = |l: usize| -> Result<(usize, usize, f64)> {
        let sat = saturation(traces[l].f.view(), LEFT, RIGHT)?;
        let right = sat.right.iter().filter(|&&x| x > 0.5).count();
        let left = sat.left.iter().filter(|&&x| x > 0.5).count();
        let mean_right = sat.right.iter().sum::<f64>() / sat.right.len() as f64;
        Ok((right, left, mean_right))
    };
    let (r1, l1, m1) = forget(0)?;
    let (r2, l2, m2) = forget(1)?;
    let best = found
        .iter()
        .map(|(f, m)| {
            format!(
                "{} |r| = {:.2} (median {:.2})",
                f.name,
                m.r.abs(),
                m.median_abs_r
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    ctx.write_text(
        "inside-verdict",
        &format!(
            "Best single cells: {best}. Forget gates right-saturated more than half the \
             time: **{r1} of {h}** in layer 1, **{r2} of {h}** in layer 2 (mean fraction of \
             steps right-saturated {m1:.2} and {m2:.2}); left-saturated more than half the \
             time: {l1} and {l2}."
        ),
    )?;
    let final_point = points.last().map_or(f64::NAN, |p| p.valid_loss);
    println!(
        "repro inside: {} steps in {cpu:.1} CPU s ({wall:.1} wall s); held-out {held_out:.3} \
         (last estimate {final_point:.3}); {best}; forget right>50%: {r1}, {r2}",
        s.steps
    );
    Ok(())
}
