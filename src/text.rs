//! Text as data: a character vocabulary, encoding and decoding, and random windows of a
//! corpus for next-character prediction (the character language model of Karpathy's
//! char-rnn, and of the ablation in "Which gates matter").
//!
//! The vocabulary is the sorted set of distinct characters of a corpus, so the same corpus
//! always gives the same ids. What happens to a character the corpus never contained is a
//! choice made once, when the vocabulary is built ([`Unknown`]): refuse it with an error
//! that names it, or map it to one extra ⟨UNK⟩ id.
//!
//! [`CharWindows`] implements [`Data`]: each batch is `B` windows of `T + 1` consecutive
//! characters drawn at random positions; the first `T` are the one-hot inputs and the last
//! `T` the targets, so the model predicts the next character at every step. [`CharWindows::split`]
//! holds out the end of a text for validation.

use crate::error::{require, Error};
use crate::init::SeededRng;
use crate::tasks::{Batch, Targets};
use crate::train::Data;
use crate::{Real, Result};
use ndarray::Array3;
use rand::Rng;

/// What [`CharVocab::encode`] does with a character that is not in the vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// Return an [`Error::Value`] naming the character and its position: for a corpus that
    /// is supposed to be closed (the training text itself).
    Reject,
    /// Map it to ⟨UNK⟩, one extra id after the corpus's characters: for new text that may
    /// contain anything.
    Unk,
}

/// A character vocabulary: ids `0..len()` for the distinct characters of a corpus in
/// sorted order, plus ⟨UNK⟩ (the last id) if built with [`Unknown::Unk`].
#[derive(Clone, Debug, PartialEq)]
pub struct CharVocab {
    /// The characters, sorted; a character's id is its index here.
    chars: Vec<char>,
    /// The unknown-character policy.
    unknown: Unknown,
}

/// How ⟨UNK⟩ decodes: Unicode's replacement character, so decoded text shows where
/// something was lost.
pub const UNK_CHAR: char = '\u{FFFD}';

impl CharVocab {
    /// The vocabulary of `corpus`: its distinct characters, sorted. An empty corpus is an
    /// error (a model needs at least one class).
    pub fn new(corpus: &str, unknown: Unknown) -> Result<Self> {
        let mut chars: Vec<char> = corpus.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        require(
            !chars.is_empty(),
            "corpus",
            "is empty: a vocabulary needs at least one character",
        )?;
        Ok(CharVocab { chars, unknown })
    }

    /// The number of ids: the distinct characters, plus one for ⟨UNK⟩ if there is one.
    pub fn len(&self) -> usize {
        self.chars.len() + usize::from(self.unknown == Unknown::Unk)
    }

    /// Always false: a vocabulary has at least one character.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The characters of the corpus, sorted (⟨UNK⟩ is not among them).
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id of ⟨UNK⟩, if the vocabulary has one.
    pub fn unk_id(&self) -> Option<usize> {
        (self.unknown == Unknown::Unk).then_some(self.chars.len())
    }

    /// The id of `c`, if it is in the vocabulary (⟨UNK⟩ is not returned here).
    pub fn id(&self, c: char) -> Option<usize> {
        self.chars.binary_search(&c).ok()
    }

    /// The ids of `text`, one per character; an unknown character is an error or ⟨UNK⟩,
    /// as the vocabulary's policy says.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(pos, c)| match (self.id(c), self.unk_id()) {
                (Some(id), _) => Ok(id),
                (None, Some(unk)) => Ok(unk),
                (None, None) => Err(Error::Value {
                    arg: "text",
                    reason: format!(
                        "character {c:?} at position {pos} is not in the vocabulary of {} characters",
                        self.chars.len()
                    ),
                }),
            })
            .collect()
    }

    /// The text of `ids`; ⟨UNK⟩ decodes to [`UNK_CHAR`]. An id out of range is an error.
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .enumerate()
            .map(|(pos, &id)| match self.chars.get(id) {
                Some(&c) => Ok(c),
                None if Some(id) == self.unk_id() => Ok(UNK_CHAR),
                None => Err(Error::Value {
                    arg: "ids",
                    reason: format!(
                        "id {id} at position {pos} is out of range for a vocabulary of {}",
                        self.len()
                    ),
                }),
            })
            .collect()
    }
}

/// Next-character prediction on random windows of an encoded text.
#[derive(Clone, Debug, PartialEq)]
pub struct CharWindows {
    /// The encoded text the windows are cut from.
    ids: Vec<usize>,
    /// V: the one-hot width and the number of classes.
    vocab_size: usize,
    /// T: input steps per window.
    seq_len: usize,
    /// The input-blind baseline, in nats per character.
    baseline: f64,
}

impl CharWindows {
    /// Windows of `seq_len` steps over `ids` (each id below `vocab_size`). The baseline is
    /// the unigram entropy of `ids` itself (see [`unigram_cross_entropy`]).
    pub fn new(ids: Vec<usize>, vocab_size: usize, seq_len: usize) -> Result<Self> {
        let baseline = unigram_cross_entropy(&ids, &ids, vocab_size)?;
        CharWindows::with_baseline(ids, vocab_size, seq_len, baseline)
    }

    /// Splits `ids` into a training part and the last `held_out` fraction for validation.
    /// Both baselines are measured with the *training* part's unigram distribution, the
    /// best input-blind model that training data can give.
    pub fn split(
        ids: &[usize],
        vocab_size: usize,
        seq_len: usize,
        held_out: f64,
    ) -> Result<(Self, Self)> {
        require(
            held_out > 0.0 && held_out < 1.0,
            "held_out",
            format!("must lie strictly between 0 and 1, got {held_out}"),
        )?;
        let cut = ids.len() - (ids.len() as f64 * held_out).round() as usize;
        let (train, valid) = ids.split_at(cut);
        let make = |part: &[usize]| {
            let baseline = unigram_cross_entropy(train, part, vocab_size)?;
            CharWindows::with_baseline(part.to_vec(), vocab_size, seq_len, baseline)
        };
        Ok((make(train)?, make(valid)?))
    }

    fn with_baseline(
        ids: Vec<usize>,
        vocab_size: usize,
        seq_len: usize,
        baseline: f64,
    ) -> Result<Self> {
        require(seq_len >= 1, "seq_len", "must be at least 1, got 0")?;
        require(
            ids.len() > seq_len,
            "ids",
            format!(
                "a window of {seq_len} steps needs at least {} characters, got {}",
                seq_len + 1,
                ids.len()
            ),
        )?;
        Ok(CharWindows {
            ids,
            vocab_size,
            seq_len,
            baseline,
        })
    }

    /// The number of characters the windows are cut from.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false: a `CharWindows` holds at least one window.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every non-overlapping window of the text, in order, as one batch (up to `max`
    /// windows): a fixed evaluation set that covers the text instead of sampling it.
    pub fn tiled<F: Real>(&self, max: usize) -> Result<Batch<F>> {
        require(max >= 1, "max", "must be at least 1, got 0")?;
        let n = ((self.ids.len() - 1) / self.seq_len).min(max);
        Ok(self.windows((0..n).map(|w| w * self.seq_len).collect()))
    }

    /// The batch of windows starting at `starts`.
    fn windows<F: Real>(&self, starts: Vec<usize>) -> Batch<F> {
        let b = starts.len();
        let mut xs = Array3::zeros((self.seq_len, b, self.vocab_size)); // (T, B, V)
        let mut classes = Vec::with_capacity(self.seq_len * b); // row (t, b): the next id
        for t in 0..self.seq_len {
            for (j, &start) in starts.iter().enumerate() {
                xs[[t, j, self.ids[start + t]]] = F::one();
                classes.push(self.ids[start + t + 1]);
            }
        }
        Batch {
            xs,
            targets: Targets::Classes { from: 0, classes },
        }
    }
}

impl Data for CharWindows {
    fn input_size(&self) -> usize {
        self.vocab_size
    }
    fn output_size(&self) -> usize {
        self.vocab_size
    }
    /// The unigram cross-entropy in nats per character: what a model that ignores its
    /// input and always predicts the character frequencies scores (lower than $\ln V$,
    /// since characters are far from equally frequent).
    fn baseline(&self) -> f64 {
        self.baseline
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let last_start = self.ids.len() - self.seq_len - 1;
        let starts = (0..batch)
            .map(|_| rng.random_range(0..=last_start))
            .collect();
        Ok(self.windows(starts))
    }
}

/// The cross-entropy, in nats per character, of the unigram distribution of `reference`
/// on `text`: $-\frac{1}{N}\sum_n \ln p(x_n)$. Counts are add-one smoothed, so a character
/// that `reference` lacks costs a finite amount. With `text = reference` this is
/// (nearly) the unigram entropy. Every id must be below `vocab_size`.
pub fn unigram_cross_entropy(
    reference: &[usize],
    text: &[usize],
    vocab_size: usize,
) -> Result<f64> {
    require(vocab_size >= 1, "vocab_size", "must be at least 1, got 0")?;
    require(!text.is_empty(), "text", "is empty")?;
    let mut counts = vec![1.0f64; vocab_size];
    for (arg, ids) in [("reference", reference), ("text", text)] {
        if let Some((pos, &id)) = ids.iter().enumerate().find(|(_, &id)| id >= vocab_size) {
            return Err(Error::Value {
                arg,
                reason: format!("id {id} at position {pos} is not below vocab_size {vocab_size}"),
            });
        }
    }
    for &id in reference {
        counts[id] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let nll: f64 = text.iter().map(|&id| -(counts[id] / total).ln()).sum();
    Ok(nll / text.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;

    const POEM: &str = "the cat sat on the mat.\nthe rat ate the cat's hat.\n";

    #[test]
    fn vocabulary_is_sorted_and_round_trips() {
        let vocab = CharVocab::new(POEM, Unknown::Reject).unwrap();
        assert_eq!(vocab.chars().first(), Some(&'\n'));
        assert!(vocab.chars().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(vocab.len(), 14); // \n, space, ', ., a, c, e, h, m, n, o, r, s, t
        let ids = vocab.encode(POEM).unwrap();
        assert_eq!(ids.len(), POEM.chars().count());
        assert_eq!(vocab.decode(&ids).unwrap(), POEM);
    }

    #[test]
    fn unknown_characters_follow_the_policy() {
        let strict = CharVocab::new(POEM, Unknown::Reject).unwrap();
        let err = strict.encode("the dog").unwrap_err().to_string();
        assert!(err.contains("'d'") && err.contains("position 4"), "{err}");
        let lenient = CharVocab::new(POEM, Unknown::Unk).unwrap();
        assert_eq!(lenient.len(), strict.len() + 1);
        let unk = lenient.unk_id().unwrap();
        let ids = lenient.encode("the dog").unwrap();
        assert_eq!(ids[4], unk);
        assert_eq!(lenient.decode(&ids).unwrap(), "the \u{FFFD}o\u{FFFD}");
        assert!(strict.decode(&[strict.len()]).is_err());
        assert!(CharVocab::new("", Unknown::Unk).is_err());
    }

    #[test]
    fn windows_predict_the_next_character() {
        let vocab = CharVocab::new(POEM, Unknown::Reject).unwrap();
        let ids = vocab.encode(POEM).unwrap();
        let data = CharWindows::new(ids.clone(), vocab.len(), 6).unwrap();
        let batch: Batch<f64> = data.batch(5, &mut rng(7)).unwrap();
        assert_eq!(batch.xs.dim(), (6, 5, vocab.len()));
        let Targets::Classes { from, classes } = &batch.targets else {
            panic!("a language model predicts every step")
        };
        assert_eq!((*from, classes.len()), (0, 30));
        for b in 0..5 {
            let inputs: Vec<usize> = (0..6)
                .map(|t| {
                    (0..vocab.len())
                        .find(|&v| batch.xs[[t, b, v]] == 1.0)
                        .unwrap()
                })
                .collect();
            // Each window is a piece of the text, and each target the character after.
            let start = ids.windows(6).position(|w| w == inputs.as_slice()).unwrap();
            for t in 0..6 {
                assert_eq!(classes[t * 5 + b], ids[start + t + 1]);
            }
        }
    }

    #[test]
    fn split_holds_out_the_end_and_baselines_use_the_training_counts() {
        let ids: Vec<usize> = (0..100).map(|i| usize::from(i % 4 == 0)).collect();
        let (train, valid) = CharWindows::split(&ids, 2, 5, 0.1).unwrap();
        assert_eq!((train.len(), valid.len()), (90, 10));
        let tiles: Batch<f32> = valid.tiled(100).unwrap();
        // 10 held-out characters: one window of 5 inputs and its 5 targets.
        assert_eq!(tiles.xs.dim(), (5, 1, 2));
        // A 1:3 text has entropy H(1/4) nats; smoothing moves it only slightly.
        let h = -(0.25f64 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
        assert!((train.baseline() - h).abs() < 0.01, "{}", train.baseline());
        assert!(train.baseline() < 2f64.ln());
        assert!(CharWindows::split(&ids, 2, 5, 1.0).is_err());
        assert!(CharWindows::new(vec![0; 5], 2, 5).is_err());
        assert!(unigram_cross_entropy(&[0, 3], &[0], 2).is_err());
    }
}
