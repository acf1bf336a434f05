//! Generated "translation" tasks for the encoder–decoder, and its training loop.
//!
//! - [`Reverse`]: write a string of digits backwards. The alignment is the anti-diagonal,
//!   and without attention the whole string must squeeze through the encoder's final
//!   state, so accuracy falls as strings grow: the bottleneck, measured.
//! - [`Dates`]: a date written the way people write it (`3 March 2021`, `March 3, 2021`,
//!   `03/03/2021`, `3 Mar 21`, ...) to ISO 8601 (`2021-03-03`). The attention weights show
//!   which source characters each output digit reads.
//!
//! Every batch is generated from a seed; sources are one-hot (S, B, V_src), padded at the
//! end with a padding symbol when lengths differ; the decoder reads a start symbol and the
//! target shifted right (teacher forcing).

use crate::error::require;
use crate::init::{self, SeededRng};
use crate::optim::{clip_grad_norm, Adam, AdamConfig};
use crate::seq2seq::Seq2Seq;
use crate::{Params, Real, Recurrent, Result};
use ndarray::{Array2, Array3, ArrayViewD, ArrayViewMutD};
use rand::Rng;

/// One batch of source and target sequences.
#[derive(Clone, Debug, PartialEq)]
pub struct Pairs<F> {
    /// One-hot sources: (S, B, V_src).
    pub src: Array3<F>,
    /// One-hot decoder inputs, the start symbol then the target shifted right: (T, B, V_tgt).
    pub dec_in: Array3<F>,
    /// The target symbols: (T, B).
    pub targets: Array2<usize>,
}

impl<F> Pairs<F> {
    /// The targets in (t, b) row order, as the loss takes them.
    pub fn target_rows(&self) -> Vec<usize> {
        self.targets.iter().copied().collect()
    }
}

/// A generated sequence-to-sequence task.
pub trait Translation {
    /// Source symbols, padding included.
    fn src_vocab(&self) -> usize;
    /// Target symbols, the start symbol included (it is the last one).
    fn tgt_vocab(&self) -> usize;
    /// `batch` fresh pairs.
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Pairs<F>>;
    /// A source sequence as text.
    fn show_src(&self, symbols: &[usize]) -> String;
    /// A target sequence as text.
    fn show_tgt(&self, symbols: &[usize]) -> String;
    /// The start symbol the decoder reads first.
    fn start(&self) -> usize {
        self.tgt_vocab() - 1
    }
}

/// One-hot encodes `seqs` (B sequences of equal length L) as (L, B, V).
fn one_hot<F: Real>(seqs: &[Vec<usize>], vocab: usize) -> Array3<F> {
    let len = seqs.first().map_or(0, Vec::len);
    let mut x = Array3::zeros((len, seqs.len(), vocab)); // (L, B, V)
    for (b, seq) in seqs.iter().enumerate() {
        for (t, &v) in seq.iter().enumerate() {
            x[[t, b, v]] = F::one();
        }
    }
    x
}

/// Builds a batch from (source, target) symbol lists: sources padded at the end with
/// `pad` to the longest, targets all of one length.
fn pairs<F: Real>(
    items: Vec<(Vec<usize>, Vec<usize>)>,
    src_vocab: usize,
    tgt_vocab: usize,
    pad: usize,
) -> Pairs<F> {
    let longest = items.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let srcs: Vec<Vec<usize>> = items
        .iter()
        .map(|(s, _)| {
            let mut s = s.clone();
            s.resize(longest, pad);
            s
        })
        .collect();
    let start = tgt_vocab - 1;
    let dec_ins: Vec<Vec<usize>> = items
        .iter()
        .map(|(_, t)| {
            std::iter::once(start)
                .chain(t[..t.len() - 1].iter().copied())
                .collect()
        })
        .collect();
    let t_len = items[0].1.len();
    let targets = Array2::from_shape_fn((t_len, items.len()), |(t, b)| items[b].1[t]); // (T, B)
    Pairs {
        src: one_hot(&srcs, src_vocab),
        dec_in: one_hot(&dec_ins, tgt_vocab),
        targets,
    }
}

/// Reverse a string of `digits`-ary digits whose length is drawn from `min_len..=max_len`
/// (one length per batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Reverse {
    /// Shortest string.
    pub min_len: usize,
    /// Longest string.
    pub max_len: usize,
    /// How many distinct digits.
    pub digits: usize,
}

impl Translation for Reverse {
    fn src_vocab(&self) -> usize {
        self.digits
    }
    fn tgt_vocab(&self) -> usize {
        self.digits + 1
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Pairs<F>> {
        require(
            self.digits >= 2,
            "digits",
            format!("must be at least 2, got {}", self.digits),
        )?;
        require(
            self.min_len >= 1 && self.min_len <= self.max_len,
            "min_len",
            format!(
                "must be in 1..=max_len ({}), got {}",
                self.max_len, self.min_len
            ),
        )?;
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let len = rng.random_range(self.min_len..=self.max_len);
        let items = (0..batch)
            .map(|_| {
                let s: Vec<usize> = (0..len).map(|_| rng.random_range(0..self.digits)).collect();
                let t = s.iter().rev().copied().collect();
                (s, t)
            })
            .collect();
        // No padding: every string in the batch has the same length.
        Ok(pairs(items, self.src_vocab(), self.tgt_vocab(), 0))
    }
    fn show_src(&self, symbols: &[usize]) -> String {
        symbols.iter().map(|&d| digit_char(d)).collect()
    }
    fn show_tgt(&self, symbols: &[usize]) -> String {
        self.show_src(symbols)
    }
}

fn digit_char(d: usize) -> char {
    char::from_digit(d as u32, 36).unwrap_or('?')
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The characters a human-written date may use; the padding symbol comes after them.
const DATE_CHARS: &str = " ,-./0123456789ADFJMNOSabceghilmnoprstuvy";
/// ISO 8601's characters; the start symbol comes after them.
const ISO_CHARS: &str = "-0123456789";

/// Human-written dates from 1950 to 2049 in seven formats, to ISO 8601.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Dates;

impl Dates {
    /// The seven formats of one date: day `d`, month `m` (1-based), year `y`.
    pub fn formats(d: usize, m: usize, y: usize) -> [String; 7] {
        let month = MONTHS[m - 1];
        let yy = y % 100;
        [
            format!("{d} {month} {y}"),
            format!("{month} {d}, {y}"),
            format!("{d:02}/{m:02}/{y}"),
            format!("{y}.{m:02}.{d:02}"),
            format!("{d} {} {yy:02}", &month[..3]),
            format!("{d:02}-{}-{y}", &month[..3]),
            format!("{y}{m:02}{d:02}"),
        ]
    }
}

impl Dates {
    /// One human-written date as a one-hot source sequence (S, 1, V_src), for decoding a
    /// single example. A character outside the dates' alphabet is an error that names it.
    pub fn one<F: Real>(text: &str) -> Result<Array3<F>> {
        if let Some(c) = text.chars().find(|&c| !DATE_CHARS.contains(c)) {
            return Err(crate::Error::Value {
                arg: "text",
                reason: format!("{c:?} is not in the dates' alphabet {DATE_CHARS:?}"),
            });
        }
        require(!text.is_empty(), "text", "an empty date")?;
        Ok(one_hot(&[encode(text, DATE_CHARS)], Dates.src_vocab()))
    }
}

fn encode(text: &str, alphabet: &str) -> Vec<usize> {
    text.chars()
        .map(|c| {
            alphabet
                .find(c)
                .expect("generated text uses its own alphabet")
        })
        .collect()
}

impl Translation for Dates {
    fn src_vocab(&self) -> usize {
        DATE_CHARS.len() + 1
    }
    fn tgt_vocab(&self) -> usize {
        ISO_CHARS.len() + 1
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Pairs<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let items = (0..batch)
            .map(|_| {
                let y = rng.random_range(1950..2050);
                let m = rng.random_range(1..=12);
                let days = match m {
                    2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                let d = rng.random_range(1..=days);
                let human = &Dates::formats(d, m, y)[rng.random_range(0..7)];
                (
                    encode(human, DATE_CHARS),
                    encode(&format!("{y}-{m:02}-{d:02}"), ISO_CHARS),
                )
            })
            .collect();
        Ok(pairs(
            items,
            self.src_vocab(),
            self.tgt_vocab(),
            DATE_CHARS.len(),
        ))
    }
    fn show_src(&self, symbols: &[usize]) -> String {
        symbols
            .iter()
            .map(|&s| DATE_CHARS.chars().nth(s).unwrap_or('·'))
            .collect()
    }
    fn show_tgt(&self, symbols: &[usize]) -> String {
        symbols
            .iter()
            .map(|&s| ISO_CHARS.chars().nth(s).unwrap_or('^'))
            .collect()
    }
}

/// How to train an encoder–decoder.
#[derive(Clone, Debug, PartialEq)]
pub struct Seq2SeqTrainConfig {
    /// Optimiser steps. Default 1500: enough for the book's tasks at H = 64.
    pub steps: usize,
    /// Pairs per step. Default 32, as elsewhere in the book.
    pub batch_size: usize,
    /// Adam's step size. Default 5e-3: these small models tolerate it, and it halves the
    /// steps 1e-3 needs.
    pub lr: f64,
    /// Global gradient-norm clip. Default 1.0, as in the other training loops.
    pub clip_norm: f64,
    /// Seeds the data. Default 0.
    pub seed: u64,
}

impl Default for Seq2SeqTrainConfig {
    fn default() -> Self {
        Seq2SeqTrainConfig {
            steps: 1500,
            batch_size: 32,
            lr: 5e-3,
            clip_norm: 1.0,
            seed: 0,
        }
    }
}

/// Trains `model` on `task` with Adam and clipping; `on_step(step, loss)` after every
/// step. Returns the training losses.
pub fn train_seq2seq<F, C, T>(
    model: &mut Seq2Seq<F, C>,
    task: &T,
    config: &Seq2SeqTrainConfig,
    mut on_step: impl FnMut(usize, f64),
) -> Result<Vec<f64>>
where
    F: Real,
    C: Recurrent<F, State = Array2<F>>,
    T: Translation,
{
    require(config.steps > 0, "steps", "must be at least 1, got 0")?;
    require(
        config.batch_size > 0,
        "batch_size",
        "must be at least 1, got 0",
    )?;
    let mut rng = init::rng(config.seed);
    let mut adam = Adam::new(AdamConfig {
        lr: config.lr,
        ..AdamConfig::default()
    })?;
    let mut losses = Vec::with_capacity(config.steps);
    for step in 0..config.steps {
        let batch = task.batch::<F>(config.batch_size, &mut rng)?;
        let mut evaluated =
            model.evaluate(batch.src.view(), batch.dec_in.view(), &batch.target_rows())?;
        let mut g: Vec<ArrayViewMutD<F>> = evaluated
            .grads
            .params_mut()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        clip_grad_norm(&mut g, config.clip_norm)?;
        let g: Vec<ArrayViewD<F>> = evaluated
            .grads
            .params()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut p: Vec<ArrayViewMutD<F>> = model.params_mut().into_iter().map(|(_, v)| v).collect();
        adam.step(&mut p, &g)?;
        losses.push(evaluated.loss.as_f64());
        on_step(step, evaluated.loss.as_f64());
    }
    Ok(losses)
}

/// Greedy-decoding accuracy on `batch`: (fraction of target symbols right, fraction of
/// sequences entirely right).
pub fn accuracy<F, C, T>(model: &Seq2Seq<F, C>, task: &T, batch: &Pairs<F>) -> Result<(f64, f64)>
where
    F: Real,
    C: Recurrent<F, State = Array2<F>>,
    T: Translation,
{
    let (t_len, b_len) = batch.targets.dim();
    let (decoded, _) = model.greedy(batch.src.view(), task.start(), t_len)?;
    let symbols = decoded
        .iter()
        .zip(&batch.targets)
        .filter(|(a, b)| a == b)
        .count();
    let whole = (0..b_len)
        .filter(|&b| (0..t_len).all(|t| decoded[[t, b]] == batch.targets[[t, b]]))
        .count();
    Ok((
        symbols as f64 / (t_len * b_len) as f64,
        whole as f64 / b_len as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;

    #[test]
    fn reversal_pairs_are_reversed_and_shifted() {
        let task = Reverse {
            min_len: 4,
            max_len: 4,
            digits: 5,
        };
        let p: Pairs<f64> = task.batch(3, &mut rng(0)).unwrap();
        assert_eq!(p.src.dim(), (4, 3, 5));
        assert_eq!(p.dec_in.dim(), (4, 3, 6));
        for b in 0..3 {
            let src: Vec<usize> = (0..4)
                .map(|t| (0..5).find(|&v| p.src[[t, b, v]] == 1.0).unwrap())
                .collect();
            let tgt: Vec<usize> = (0..4).map(|t| p.targets[[t, b]]).collect();
            assert_eq!(tgt, src.iter().rev().copied().collect::<Vec<_>>());
            assert_eq!(
                p.dec_in[[0, b, 5]],
                1.0,
                "the decoder reads the start symbol first"
            );
            for t in 1..4 {
                assert_eq!(p.dec_in[[t, b, tgt[t - 1]]], 1.0);
            }
        }
    }

    #[test]
    fn dates_encode_the_same_day_in_every_format() {
        let formats = Dates::formats(3, 3, 2021);
        assert_eq!(formats[0], "3 March 2021");
        assert_eq!(formats[4], "3 Mar 21");
        for f in &formats {
            assert_eq!(Dates.show_src(&encode(f, DATE_CHARS)), *f);
        }
        let p: Pairs<f32> = Dates.batch(16, &mut rng(1)).unwrap();
        assert_eq!(p.targets.dim(), (10, 16));
        let first: Vec<usize> = (0..10).map(|t| p.targets[[t, 0]]).collect();
        let iso = Dates.show_tgt(&first);
        assert_eq!((&iso[4..5], &iso[7..8]), ("-", "-"), "{iso}");
    }

    #[test]
    fn bad_tasks_are_errors() {
        let task = Reverse {
            min_len: 5,
            max_len: 3,
            digits: 4,
        };
        assert!(task.batch::<f64>(2, &mut rng(0)).is_err());
        let task = Reverse {
            min_len: 2,
            max_len: 3,
            digits: 1,
        };
        assert!(task.batch::<f64>(2, &mut rng(0)).is_err());
    }
}
