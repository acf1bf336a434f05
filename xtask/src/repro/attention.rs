//! `cargo xtask repro attention`: the encoder–decoder with and without attention.
//!
//! 1. Reversing digit strings of growing length (Bahdanau et al. 2015, figure 2, made the
//!    same point on translation: without attention, quality falls as sentences grow):
//!    greedy-decoding accuracy against the length, for no attention, additive attention
//!    and scaled dot-product attention.
//! 2. Dates in seven human formats to ISO 8601, with additive attention: accuracy, and the
//!    attention weights of a few examples as heat maps.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use recurrent::attention::{Additive, Attention};
use recurrent::init::rng;
use recurrent::seq2seq::Seq2Seq;
use recurrent::translate::{
    accuracy, train_seq2seq, Dates, Reverse, Seq2SeqTrainConfig, Translation,
};
use recurrent::{Gru, GruConfig, GruForm, Linear};

use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// Which attention a model uses.
#[derive(Clone, Copy)]
enum Kind {
    None,
    Additive,
    ScaledDot,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::None => "no attention",
            Kind::Additive => "additive (Bahdanau)",
            Kind::ScaledDot => "scaled dot product",
        }
    }
}

/// A GRU encoder–decoder for `task` with state size `h`.
fn model<T: Translation>(
    task: &T,
    h: usize,
    kind: Kind,
    seed: u64,
) -> Result<Seq2Seq<f32, Gru<f32>>> {
    let gru = |d: usize, s: u64| {
        Gru::new(&GruConfig {
            input_size: d,
            hidden_size: h,
            form: GruForm::ResetAfter,
            seed: s,
        })
    };
    let r = &mut rng(seed.wrapping_add(77));
    let attention = match kind {
        Kind::None => None,
        Kind::Additive => Some(Attention::Additive(Additive::new(h, h, h, r)?)),
        Kind::ScaledDot => Some(Attention::ScaledDot),
    };
    let width = if attention.is_some() { 2 * h } else { h };
    let head = Linear::new(width, task.tgt_vocab(), r)?;
    Ok(Seq2Seq::new(
        gru(task.src_vocab(), seed)?,
        gru(task.tgt_vocab(), seed + 1)?,
        attention,
        head,
    )?)
}

pub fn run(ctx: &Ctx) -> Result<()> {
    lengths(ctx)?;
    dates(ctx)
}

fn lengths(ctx: &Ctx) -> Result<()> {
    let lens: Vec<usize> = ctx.pick(vec![5, 10, 20, 30], vec![4, 8]);
    let seeds: Vec<u64> = ctx.pick(vec![0, 1], vec![0]);
    let kinds = [Kind::None, Kind::Additive, Kind::ScaledDot];
    let config = Seq2SeqTrainConfig {
        steps: ctx.pick(1500, 100),
        ..Seq2SeqTrainConfig::default()
    };
    let h = ctx.pick(64, 16);
    let runs = lens.len() * seeds.len() * kinds.len();
    let bar = ctx.progress(runs * config.steps, "reversal, by length");
    let mut table = Table::new(&[
        "model",
        "length",
        "symbols right",
        "strings right",
        "s per run",
    ]);
    let mut series: Vec<Series> = Vec::new();
    for kind in kinds {
        let mut points = Vec::new();
        for &len in &lens {
            let task = Reverse {
                min_len: len,
                max_len: len,
                digits: 10,
            };
            let (mut symbols, mut whole, mut secs) = (Vec::new(), Vec::new(), Vec::new());
            for &seed in &seeds {
                let mut m = model(&task, h, kind, seed)?;
                let start = std::time::Instant::now();
                let c = Seq2SeqTrainConfig {
                    seed: seed + 100,
                    ..config.clone()
                };
                train_seq2seq(&mut m, &task, &c, |step, loss| {
                    if step % 25 == 0 {
                        bar.set_prefix(format!("loss {loss:.3}"));
                    }
                    bar.inc(1);
                })?;
                secs.push(start.elapsed().as_secs_f64());
                let held_out = task.batch::<f32>(256, &mut rng(9000 + seed))?;
                let (s, w) = accuracy(&m, &task, &held_out)?;
                symbols.push(s);
                whole.push(w);
            }
            let mean = symbols.iter().sum::<f64>() / symbols.len() as f64;
            points.push((len as f64, mean));
            table.row(vec![
                kind.label().to_string(),
                len.to_string(),
                mean_std(&symbols, 3),
                mean_std(&whole, 3),
                format!("{:.1}", secs.iter().sum::<f64>() / secs.len() as f64),
            ]);
        }
        series.push(Series {
            label: kind.label().to_string(),
            points,
        });
    }
    bar.finish_and_clear();
    ctx.write_table("attention-length", &table)?;
    let at = |k: usize, i: usize| 100.0 * series[k].points[i].1;
    let (first, last) = (0, lens.len() - 1);
    ctx.write_text(
        "attention-length-verdict",
        &format!(
            "At length {}, greedy decoding gets {:.0}% of the digits right without attention, \
             {:.0}% with additive attention and {:.0}% with the scaled dot product. At length \
             {} the three score {:.0}%, {:.0}% and {:.0}%.\n",
            lens[first],
            at(0, first),
            at(1, first),
            at(2, first),
            lens[last],
            at(0, last),
            at(1, last),
            at(2, last)
        ),
    )?;
    ctx.write_text(
        "attention-length-setup",
        &format!(
            "GRU encoder and decoder with H = {h}, digits 0–9, {} Adam steps of {} strings \
             (lr {}), {} seed(s) per cell, accuracy of greedy decoding on 256 held-out strings.\n",
            config.steps,
            config.batch_size,
            config.lr,
            seeds.len()
        ),
    )?;
    ctx.write_svg("attention-length", |path| {
        line_chart(
            path,
            &Chart {
                title: "Reversing digit strings: accuracy against length",
                x_label: "string length",
                y_label: "fraction of output digits right",
                log_x: false,
                log_y: false,
                series,
                reference: Some((0.1, "chance (1 in 10)")),
            },
        )
    })
}

fn dates(ctx: &Ctx) -> Result<()> {
    let config = Seq2SeqTrainConfig {
        steps: ctx.pick(2500, 100),
        ..Seq2SeqTrainConfig::default()
    };
    let h = ctx.pick(64, 16);
    let mut table = Table::new(&["model", "symbols right", "dates right", "s to train"]);
    let mut trained = None;
    let bar = ctx.progress(2 * config.steps, "dates to ISO 8601");
    for kind in [Kind::None, Kind::Additive] {
        let mut m = model(&Dates, h, kind, 0)?;
        let start = std::time::Instant::now();
        train_seq2seq(&mut m, &Dates, &config, |step, loss| {
            if step % 25 == 0 {
                bar.set_prefix(format!("loss {loss:.3}"));
            }
            bar.inc(1);
        })?;
        let secs = start.elapsed().as_secs_f64();
        let held_out = Dates.batch::<f32>(512, &mut rng(4242))?;
        let (s, w) = accuracy(&m, &Dates, &held_out)?;
        table.row(vec![
            kind.label().to_string(),
            format!("{s:.3}"),
            format!("{w:.3}"),
            format!("{secs:.0}"),
        ]);
        if matches!(kind, Kind::Additive) {
            trained = Some(m);
        }
    }
    bar.finish_and_clear();
    ctx.write_table("attention-dates", &table)?;
    let m = trained.ok_or_else(|| anyhow!("the attention model was trained"))?;
    // Three dates in three formats, decoded one at a time so that nothing is padded.
    let examples = [
        Dates::formats(3, 3, 2021)[1].clone(),
        Dates::formats(25, 12, 1987)[0].clone(),
        Dates::formats(9, 7, 2046)[4].clone(),
    ];
    let mut maps = Vec::new();
    for text in &examples {
        let src = Dates::one(text)?;
        let (out, weights) = m.greedy(src.view(), Dates.start(), 10)?;
        let weights = weights.ok_or_else(|| anyhow!("an attention model returns weights"))?;
        let decoded: Vec<usize> = out.column(0).to_vec();
        maps.push((
            text.clone(),
            Dates.show_tgt(&decoded),
            weights.index_axis(ndarray::Axis(1), 0).to_owned(), // (T, S)
        ));
    }
    ctx.write_svg("attention-heatmap", |path| heatmaps(path, &maps))
}

/// One heat map per example: rows are output characters, columns source characters,
/// darker is more weight.
fn heatmaps(path: &std::path::Path, maps: &[(String, String, ndarray::Array2<f32>)]) -> Result<()> {
    let err = |e: &dyn std::fmt::Debug| anyhow!("plotting: {e:?}");
    let cell = 22;
    let width: i32 = maps
        .iter()
        .map(|(s, _, _)| s.chars().count() as i32 * cell + 80)
        .sum();
    let root = SVGBackend::new(path, (width.max(400) as u32, 330)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let font = ("sans-serif", 14).into_font();
    let mut left = 40;
    for (src, out, w) in maps {
        let top = 40;
        root.draw(&Text::new(
            format!("{src}  →  {out}"),
            (left, 12),
            font.clone(),
        ))
        .map_err(|e| err(&e))?;
        for (t, o) in out.chars().enumerate() {
            let y = top + t as i32 * cell;
            root.draw(&Text::new(o.to_string(), (left - 16, y + 4), font.clone()))
                .map_err(|e| err(&e))?;
            for (j, _) in src.chars().enumerate() {
                let x = left + j as i32 * cell;
                let a = f64::from(w[[t, j]]).clamp(0.0, 1.0);
                let shade = (255.0 * (1.0 - a)) as u8;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell - 1, y + cell - 1)],
                    RGBColor(shade, shade, 255).filled(),
                ))
                .map_err(|e| err(&e))?;
            }
        }
        let bottom = top + out.chars().count() as i32 * cell + 6;
        for (j, c) in src.chars().enumerate() {
            let x = left + j as i32 * cell + 6;
            root.draw(&Text::new(c.to_string(), (x, bottom), font.clone()))
                .map_err(|e| err(&e))?;
        }
        left += src.chars().count() as i32 * cell + 80;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
