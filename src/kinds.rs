//! The kinds of sequence task, after Karpathy's (2015) picture: one network, four ways of
//! wiring inputs $x^{\langle t\rangle}$ ($t = 1 \dots T_x$) to outputs
//! $y^{\langle t\rangle}$ ($t = 1 \dots T_y$). Each kind comes with a generated data set
//! that implements [`Data`], so [`crate::train::train_on`] trains it unchanged:
//!
//! - many-to-one ($T_y = 1$): [`Sentiment`], the mood of a generated review, read after its
//!   last word;
//! - one-to-many ($T_x = 1$): [`Spell`], a number fed once, its English name emitted one
//!   character per step;
//! - many-to-many, aligned ($T_y = T_x$, $y^{\langle t\rangle}$ about $x^{\langle t\rangle}$):
//!   [`Names`], tagging every word that is a proper noun (the notes' example);
//! - many-to-many, unaligned: the encoder–decoder of [`crate::seq2seq`] on the generated
//!   tasks of [`crate::translate`]; [`encoder_decoder`] builds the plain one.
//!
//! Every task here asks for a class at some steps, so the output layer is a softmax and
//! the loss is cross-entropy. The training loop averages it over every (step, sequence)
//! pair that has a target; the notes' loss of one sequence is the *sum* over its steps,
//! $L = \sum_t L^{\langle t\rangle}$, which [`sequence_losses`] computes, and the two differ
//! only by the constant factor $T_y$ (tested below).

use crate::activations::log_softmax;
use crate::error::{check_shape, require};
use crate::init::{self, SeededRng};
use crate::linear::Linear;
use crate::seq2seq::Seq2Seq;
use crate::tasks::{Batch, Targets};
use crate::train::{Data, SequenceModel};
use crate::translate::Translation;
use crate::{Gru, GruConfig, GruForm, Real, Recurrent, Result};
use ndarray::{s, Array2, Array3, ArrayView3, Axis};
use rand::Rng;

/// One-hot encodes sequences of word (or symbol) indices, all of length `t_len`, as
/// (T, B, V). A `None` entry is padding: an all-zero input, which adds nothing through
/// $W_{xh}$.
fn one_hot<F: Real>(seqs: &[Vec<Option<usize>>], t_len: usize, vocab: usize) -> Array3<F> {
    let mut xs = Array3::zeros((t_len, seqs.len(), vocab)); // (T, B, V)
    for (b, seq) in seqs.iter().enumerate() {
        for (t, word) in seq.iter().enumerate() {
            if let Some(v) = word {
                xs[[t, b, *v]] = F::one();
            }
        }
    }
    xs
}

fn pick<'a>(words: &[&'a str], rng: &mut SeededRng) -> &'a str {
    words[rng.random_range(0..words.len())]
}

fn index_of(vocab: &[&str], word: &str) -> usize {
    vocab
        .iter()
        .position(|&w| w == word)
        .expect("generated text uses its own vocabulary")
}

// ---------------------------------------------------------------------------------------
// Many-to-one: sentiment.

/// The words of the generated reviews.
pub const SENTIMENT_WORDS: [&str; 25] = [
    "the", "film", "book", "plot", "ending", "acting", "music", "was", "is", "seemed", "not",
    "very", "really", "good", "great", "fun", "clever", "lovely", "bad", "dull", "awful", "boring",
    "weak", "silly", "but",
];
const SUBJECTS: [&str; 6] = ["film", "book", "plot", "ending", "acting", "music"];
const VERBS: [&str; 3] = ["was", "is", "seemed"];
const INTENSIFIERS: [&str; 2] = ["very", "really"];
/// The adjectives that make a clause positive (before any "not").
pub const POSITIVE: [&str; 5] = ["good", "great", "fun", "clever", "lovely"];
/// The adjectives that make a clause negative (before any "not").
pub const NEGATIVE: [&str; 6] = ["bad", "dull", "awful", "boring", "weak", "silly"];

/// The longest review: two clauses of six words joined by "but".
pub const SENTIMENT_LEN: usize = 13;

/// Many-to-one: short generated reviews ("the plot was not very good but the music is
/// lovely"), labelled 1 when the review is positive. Each clause is positive or negative
/// by its adjective, flipped by "not"; in "X but Y" the two clauses disagree and Y
/// decides. So neither one word nor the bag of words settles the label: "not" acts on
/// what follows it, "but" on what came before. Reviews are padded at the *front* to
/// [`SENTIMENT_LEN`] words, so that every review ends at the last step, where the label is
/// read.
#[derive(Clone, Debug, PartialEq)]
pub struct Sentiment {
    /// Probability that a clause is negated with "not". Default 0.4: often enough that
    /// the last adjective alone is wrong on a large share of reviews (on 40% of them).
    pub negation: f64,
    /// Probability that a review has a second, contrasting clause after "but". Default
    /// 0.4: often enough that a model that weighs all adjectives alike, ignoring word
    /// order, is often wrong.
    pub contrast: f64,
}

impl Default for Sentiment {
    fn default() -> Self {
        Sentiment {
            negation: 0.4,
            contrast: 0.4,
        }
    }
}

impl Sentiment {
    /// Checks that both fields are probabilities.
    pub fn validate(&self) -> Result<()> {
        for (field, p) in [("negation", self.negation), ("contrast", self.contrast)] {
            require(
                (0.0..=1.0).contains(&p),
                field,
                format!("must be a probability in [0, 1], got {p}"),
            )?;
        }
        Ok(())
    }

    // ANCHOR: sentiment
    /// One clause with the given polarity (true: positive): "the plot was (not) (very)
    /// good". Whether it is negated is drawn first, and the adjective chosen to match.
    fn clause(&self, positive: bool, rng: &mut SeededRng) -> Vec<&'static str> {
        let negated = rng.random_bool(self.negation);
        let mut words = vec!["the", pick(&SUBJECTS, rng), pick(&VERBS, rng)];
        if negated {
            words.push("not");
        }
        if rng.random_bool(0.5) {
            words.push(pick(&INTENSIFIERS, rng));
        }
        // "not" flips the adjective's polarity: a positive clause with "not" needs a
        // negative adjective.
        let adjectives: &[&str] = if positive != negated {
            &POSITIVE
        } else {
            &NEGATIVE
        };
        words.push(pick(adjectives, rng));
        words
    }

    /// One review and its label: the polarity of its last clause.
    pub fn review(&self, rng: &mut SeededRng) -> Result<(Vec<&'static str>, bool)> {
        self.validate()?;
        let positive = rng.random_bool(0.5);
        let mut words = Vec::new();
        if rng.random_bool(self.contrast) {
            // "X but Y": X has the opposite polarity, so the word "but" matters.
            words = self.clause(!positive, rng);
            words.push("but");
        }
        words.extend(self.clause(positive, rng));
        Ok((words, positive))
    }
    // ANCHOR_END: sentiment

    /// Reviews as a batch: inputs (T, B, V) padded at the front with zero vectors,
    /// one target class per review at the last step.
    pub fn encode<F: Real>(&self, reviews: &[(Vec<&'static str>, bool)]) -> Batch<F> {
        let seqs: Vec<Vec<Option<usize>>> = reviews
            .iter()
            .map(|(words, _)| {
                let pad = SENTIMENT_LEN - words.len();
                std::iter::repeat_n(None, pad)
                    .chain(words.iter().map(|w| Some(index_of(&SENTIMENT_WORDS, w))))
                    .collect()
            })
            .collect();
        Batch {
            xs: one_hot(&seqs, SENTIMENT_LEN, SENTIMENT_WORDS.len()),
            targets: Targets::Classes {
                from: SENTIMENT_LEN - 1,
                classes: reviews.iter().map(|&(_, y)| usize::from(y)).collect(),
            },
        }
    }
}

impl Data for Sentiment {
    fn input_size(&self) -> usize {
        SENTIMENT_WORDS.len()
    }
    fn output_size(&self) -> usize {
        2
    }
    /// Both labels are equally likely: $\ln 2$.
    fn baseline(&self) -> f64 {
        std::f64::consts::LN_2
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let reviews = (0..batch)
            .map(|_| self.review(rng))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.encode(&reviews))
    }
}

// ---------------------------------------------------------------------------------------
// One-to-many: spelling a number.

/// The characters of the English numbers 0–99, then "." for the end.
pub const SPELL_CHARS: &str = "abcdefghijklmnopqrstuvwxyz-.";
/// Output steps: the longest name ("seventy-seven", 13 characters) and one end mark.
pub const SPELL_LEN: usize = 14;
/// Numbers never trained on, one per tens word from twenty to ninety: does the network
/// compose "forty-" and "seven" into "forty-seven" when it has only seen them apart?
pub const SPELL_HELD_OUT: [usize; 8] = [23, 36, 47, 52, 68, 74, 85, 91];

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// The English name of `n` in 0..=99: "zero", "fourteen", "forty", "forty-seven".
pub fn number_name(n: usize) -> Result<String> {
    require(n < 100, "n", format!("must be below 100, got {n}"))?;
    Ok(match (n / 10, n % 10) {
        _ if n < 20 => ONES[n].to_string(),
        (tens, 0) => TENS[tens].to_string(),
        (tens, units) => format!("{}-{}", TENS[tens], ONES[units]),
    })
}

/// One-to-many: from one vector, the number $n$ as two one-hot digits (tens, units), the
/// network writes $n$'s English name one character per step, then "." until step
/// [`SPELL_LEN`]. The vector is the first input $x^{\langle 1\rangle}$ and every later
/// input is zero, as Vinyals et al. (2015) fed the image to their caption generator once,
/// at the first step. For the Elman RNN that *is* a learned initial state:
/// $h^{\langle 1\rangle} = \tanh(W_{xh} x^{\langle 1\rangle} + b)$ with
/// $h^{\langle 0\rangle} = 0$, so the layer and the training loop need no change.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Spell {
    /// Deal from [`SPELL_HELD_OUT`] (true) or from the other 92 numbers (false, the
    /// default: training).
    pub held_out: bool,
}

impl Spell {
    /// The numbers this set deals from.
    pub fn numbers(&self) -> Vec<usize> {
        (0..100)
            .filter(|n| SPELL_HELD_OUT.contains(n) == self.held_out)
            .collect()
    }

    // ANCHOR: spell
    /// Numbers as a batch: the digits once at $t = 1$, zeros after; the target at every
    /// step is the next character of the name, then the end mark ".".
    pub fn encode<F: Real>(&self, numbers: &[usize]) -> Result<Batch<F>> {
        let b_len = numbers.len();
        let mut xs = Array3::zeros((SPELL_LEN, b_len, 20)); // (T, B, 10 + 10)
        let mut classes = vec![0; SPELL_LEN * b_len]; // (t, b) order
        for (b, &n) in numbers.iter().enumerate() {
            xs[[0, b, n / 10]] = F::one();
            xs[[0, b, 10 + n % 10]] = F::one();
            let name = number_name(n)?;
            let chars: Vec<usize> = name
                .chars()
                .chain(std::iter::repeat('.'))
                .take(SPELL_LEN)
                .map(|c| SPELL_CHARS.find(c).expect("names use a-z and -"))
                .collect();
            for (t, &c) in chars.iter().enumerate() {
                classes[t * b_len + b] = c;
            }
        }
        Ok(Batch {
            xs,
            targets: Targets::Classes { from: 0, classes },
        })
    }
    // ANCHOR_END: spell

    /// The characters of predicted classes, with the end mark and what follows it cut.
    pub fn show(classes: &[usize]) -> String {
        classes
            .iter()
            .map(|&c| SPELL_CHARS.chars().nth(c).unwrap_or('?'))
            .take_while(|&c| c != '.')
            .collect()
    }

    /// The best an input-blind speller can do, exactly: at every step, the character most
    /// names of this set have there (with "." past their end). Returns (fraction of
    /// characters right, cross-entropy in nats of the per-step character frequencies).
    pub fn input_blind(&self) -> (f64, f64) {
        let numbers = self.numbers();
        let (mut right, mut nats) = (0usize, 0.0);
        for t in 0..SPELL_LEN {
            let mut counts = [0usize; SPELL_CHARS.len()];
            for &n in &numbers {
                let name = number_name(n).expect("n < 100");
                let c = name.chars().nth(t).unwrap_or('.');
                counts[SPELL_CHARS.find(c).expect("a-z, - or .")] += 1;
            }
            right += counts.iter().max().copied().unwrap_or(0);
            let total = numbers.len() as f64;
            nats -= counts
                .iter()
                .filter(|&&k| k > 0)
                .map(|&k| k as f64 * (k as f64 / total).ln())
                .sum::<f64>()
                / total;
        }
        (
            right as f64 / (numbers.len() * SPELL_LEN) as f64,
            nats / SPELL_LEN as f64,
        )
    }
}

impl Data for Spell {
    fn input_size(&self) -> usize {
        20
    }
    fn output_size(&self) -> usize {
        SPELL_CHARS.len()
    }
    /// The input-blind speller's cross-entropy per step.
    fn baseline(&self) -> f64 {
        self.input_blind().1
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let numbers = self.numbers();
        let drawn: Vec<usize> = (0..batch)
            .map(|_| numbers[rng.random_range(0..numbers.len())])
            .collect();
        self.encode(&drawn)
    }
}

// ---------------------------------------------------------------------------------------
// Many-to-many, aligned: tagging names.

/// The words of the generated sentences, lower-case so that no capital gives a name away.
pub const NAMES_WORDS: [&str; 41] = [
    ".", "harry", "hermione", "alice", "bob", "carol", "dave", "will", "may", "rose", "mark",
    "bill", "jack", "and", "met", "saw", "called", "helped", "told", "left", "laughed", "slept",
    "arrived", "leave", "sing", "stay", "win", "the", "a", "his", "her", "door", "letter", "dog",
    "song", "she", "he", "they", "we", "can", "must",
];
/// Words that are names in some sentences and not in others: "will" and "may" are also
/// modal verbs, "rose", "mark", "bill" and "jack" also common nouns.
pub const AMBIGUOUS: [&str; 6] = ["will", "may", "rose", "mark", "bill", "jack"];
const PEOPLE: [&str; 12] = [
    "harry", "hermione", "alice", "bob", "carol", "dave", "will", "may", "rose", "mark", "bill",
    "jack",
];
const TRANSITIVE: [&str; 5] = ["met", "saw", "called", "helped", "told"];
const INTRANSITIVE: [&str; 4] = ["left", "laughed", "slept", "arrived"];
const BASE: [&str; 4] = ["leave", "sing", "stay", "win"];
const DETERMINERS: [&str; 4] = ["the", "a", "his", "her"];
const NOUNS: [&str; 8] = [
    "rose", "mark", "bill", "jack", "door", "letter", "dog", "song",
];
const PRONOUNS: [&str; 4] = ["she", "he", "they", "we"];
const MODALS: [&str; 4] = ["will", "may", "can", "must"];

/// Many-to-many, aligned: a stream of generated sentences, cut to `seq_len` words; the
/// target at step $t$ is $y^{\langle t\rangle} = 1$ if the word $x^{\langle t\rangle}$ is
/// a proper noun (the notes' example). A third of the names are also ordinary words
/// ([`AMBIGUOUS`]), so looking a word up is not enough: "will" after "she" is a verb,
/// "will" at the start of a sentence a name; "rose" after "the" a flower, after "met" a
/// person. The words before decide every case, so a unidirectional network can tag it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// $T_x = T_y$, words per sequence. Default 24: three to five sentences, so most
    /// words have a sentence of context to their left.
    pub seq_len: usize,
}

impl Default for Names {
    fn default() -> Self {
        Names { seq_len: 24 }
    }
}

impl Names {
    /// Checks the length.
    pub fn validate(&self) -> Result<()> {
        require(self.seq_len >= 1, "seq_len", "must be at least 1, got 0")
    }

    // ANCHOR: names
    /// One sentence as (word, is a name) pairs, from one of seven templates.
    fn sentence(rng: &mut SeededRng) -> Vec<(&'static str, bool)> {
        let name = |rng: &mut SeededRng| (pick(&PEOPLE, rng), true);
        let word = |words: &[&'static str], rng: &mut SeededRng| (pick(words, rng), false);
        let mut s = match rng.random_range(0..7) {
            // rose met will .
            0 => vec![name(rng), word(&TRANSITIVE, rng), name(rng)],
            // harry and may laughed .
            1 => vec![
                name(rng),
                ("and", false),
                name(rng),
                word(&INTRANSITIVE, rng),
            ],
            // the bill arrived .
            2 => vec![
                word(&DETERMINERS, rng),
                word(&NOUNS, rng),
                word(&INTRANSITIVE, rng),
            ],
            // she will sing .
            3 => vec![word(&PRONOUNS, rng), word(&MODALS, rng), word(&BASE, rng)],
            // will may leave .
            4 => vec![name(rng), word(&MODALS, rng), word(&BASE, rng)],
            // they saw a rose .
            5 => vec![
                word(&PRONOUNS, rng),
                word(&TRANSITIVE, rng),
                word(&DETERMINERS, rng),
                word(&NOUNS, rng),
            ],
            // jack told her mark .
            _ => vec![
                name(rng),
                word(&TRANSITIVE, rng),
                word(&DETERMINERS, rng),
                word(&NOUNS, rng),
            ],
        };
        s.push((".", false));
        s
    }

    /// One sequence: sentences one after another until `seq_len` words, the last one cut.
    pub fn sequence(&self, rng: &mut SeededRng) -> Result<Vec<(&'static str, bool)>> {
        self.validate()?;
        let mut words = Vec::with_capacity(self.seq_len + 5);
        while words.len() < self.seq_len {
            words.extend(Names::sentence(rng));
        }
        words.truncate(self.seq_len);
        Ok(words)
    }
    // ANCHOR_END: names

    /// Sequences as a batch: one-hot words (T, B, V), target 1 at every name.
    pub fn encode<F: Real>(&self, seqs: &[Vec<(&'static str, bool)>]) -> Result<Batch<F>> {
        require(
            seqs.iter().all(|s| s.len() == self.seq_len),
            "seqs",
            format!("every sequence must have seq_len = {} words", self.seq_len),
        )?;
        let words: Vec<Vec<Option<usize>>> = seqs
            .iter()
            .map(|s| {
                s.iter()
                    .map(|(w, _)| Some(index_of(&NAMES_WORDS, w)))
                    .collect()
            })
            .collect();
        let b_len = seqs.len();
        let classes = (0..self.seq_len * b_len)
            .map(|i| usize::from(seqs[i % b_len][i / b_len].1))
            .collect();
        Ok(Batch {
            xs: one_hot(&words, self.seq_len, NAMES_WORDS.len()),
            targets: Targets::Classes { from: 0, classes },
        })
    }

    /// The best context-blind tagger on `seqs`: every word gets the tag it has most often
    /// in `seqs` itself (an upper bound on any tagger that looks at one word at a time).
    /// Returns (accuracy on all words, accuracy on the [`AMBIGUOUS`] ones).
    pub fn lookup_tagger(seqs: &[Vec<(&'static str, bool)>]) -> (f64, f64) {
        let mut counts = std::collections::HashMap::<&str, [usize; 2]>::new();
        for &(w, tag) in seqs.iter().flatten() {
            counts.entry(w).or_default()[usize::from(tag)] += 1;
        }
        let (mut right, mut total, mut amb_right, mut amb_total) = (0, 0, 0, 0);
        for c in counts.values() {
            right += c[0].max(c[1]);
            total += c[0] + c[1];
        }
        for w in AMBIGUOUS {
            if let Some(c) = counts.get(w) {
                amb_right += c[0].max(c[1]);
                amb_total += c[0] + c[1];
            }
        }
        (
            right as f64 / total.max(1) as f64,
            amb_right as f64 / amb_total.max(1) as f64,
        )
    }
}

impl Data for Names {
    fn input_size(&self) -> usize {
        NAMES_WORDS.len()
    }
    fn output_size(&self) -> usize {
        2
    }
    /// The binary entropy of the share of names, measured on 256 sequences from seed 0
    /// (about 30% of the words are names).
    fn baseline(&self) -> f64 {
        let mut rng = init::rng(0);
        let (mut names, mut words) = (0usize, 0usize);
        for _ in 0..256 {
            if let Ok(seq) = self.sequence(&mut rng) {
                names += seq.iter().filter(|(_, tag)| *tag).count();
                words += seq.len();
            }
        }
        let p = names as f64 / words.max(1) as f64;
        if p <= 0.0 || p >= 1.0 {
            0.0
        } else {
            -(p * p.ln() + (1.0 - p) * (1.0 - p).ln())
        }
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let seqs = (0..batch)
            .map(|_| self.sequence(rng))
            .collect::<Result<Vec<_>>>()?;
        self.encode(&seqs)
    }
}

/// The words of [`NamesAhead`]'s sentences.
pub const NAMES_AHEAD_WORDS: [&str; 26] = [
    ".", "harry", "hermione", "alice", "bob", "will", "may", "rose", "mark", "bill", "jack",
    "left", "laughed", "slept", "arrived", "garden", "box", "shop", "stand", "they", "we", "she",
    "leave", "sing", "stay", "win",
];
const HEADS: [&str; 4] = ["garden", "box", "shop", "stand"];

/// Ng's harder case of the same task ("Teddy Roosevelt was a great President" against
/// "Teddy bears are on sale"): every sentence starts with its ambiguous word, so only the
/// word *after* it decides. "rose laughed ." has a name; "rose garden arrived ." a noun;
/// "will they sing ." a verb. A left-to-right network must tag "rose" before it has read
/// the next word; a bidirectional one has read the whole sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamesAhead {
    /// $T_x = T_y$, words per sequence. Default 24, as for [`Names`].
    pub seq_len: usize,
}

impl Default for NamesAhead {
    fn default() -> Self {
        NamesAhead { seq_len: 24 }
    }
}

impl NamesAhead {
    /// One sentence as (word, is a name) pairs: a name and a verb, a noun compound and a
    /// verb, or a question with a modal verb first.
    fn sentence(rng: &mut SeededRng) -> Vec<(&'static str, bool)> {
        let first_of = |words: &[&'static str], rng: &mut SeededRng| pick(words, rng);
        let mut s = match rng.random_range(0..3) {
            // rose laughed .  /  harry slept .
            0 => vec![
                (first_of(&NAMES_AHEAD_WORDS[1..11], rng), true),
                (pick(&INTRANSITIVE, rng), false),
            ],
            // rose garden arrived .
            1 => vec![
                (first_of(&["rose", "mark", "bill", "jack"], rng), false),
                (pick(&HEADS, rng), false),
                (pick(&INTRANSITIVE, rng), false),
            ],
            // will they sing .
            _ => vec![
                (first_of(&["will", "may"], rng), false),
                (pick(&["they", "we", "she"], rng), false),
                (pick(&BASE, rng), false),
            ],
        };
        s.push((".", false));
        s
    }

    /// One sequence: sentences until `seq_len` words, the last one cut.
    pub fn sequence(&self, rng: &mut SeededRng) -> Result<Vec<(&'static str, bool)>> {
        require(self.seq_len >= 1, "seq_len", "must be at least 1, got 0")?;
        let mut words = Vec::with_capacity(self.seq_len + 4);
        while words.len() < self.seq_len {
            words.extend(NamesAhead::sentence(rng));
        }
        words.truncate(self.seq_len);
        Ok(words)
    }

    /// Sequences as a batch: one-hot words (T, B, V), target 1 at every name.
    pub fn encode<F: Real>(&self, seqs: &[Vec<(&'static str, bool)>]) -> Result<Batch<F>> {
        encode_tagged(seqs, self.seq_len, &NAMES_AHEAD_WORDS)
    }
}

impl Data for NamesAhead {
    fn input_size(&self) -> usize {
        NAMES_AHEAD_WORDS.len()
    }
    fn output_size(&self) -> usize {
        2
    }
    /// The binary entropy of the share of names, measured on 256 sequences from seed 0.
    fn baseline(&self) -> f64 {
        let mut rng = init::rng(0);
        let seqs: Vec<_> = (0..256)
            .filter_map(|_| self.sequence(&mut rng).ok())
            .collect();
        name_entropy(&seqs)
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let seqs = (0..batch)
            .map(|_| self.sequence(rng))
            .collect::<Result<Vec<_>>>()?;
        self.encode(&seqs)
    }
}

/// Tagged sequences of `seq_len` words from `vocab` as one-hot (T, B, V) and one target
/// per step.
fn encode_tagged<F: Real>(
    seqs: &[Vec<(&'static str, bool)>],
    seq_len: usize,
    vocab: &[&str],
) -> Result<Batch<F>> {
    require(
        seqs.iter().all(|s| s.len() == seq_len),
        "seqs",
        format!("every sequence must have seq_len = {seq_len} words"),
    )?;
    let words: Vec<Vec<Option<usize>>> = seqs
        .iter()
        .map(|s| s.iter().map(|(w, _)| Some(index_of(vocab, w))).collect())
        .collect();
    let b_len = seqs.len();
    let classes = (0..seq_len * b_len)
        .map(|i| usize::from(seqs[i % b_len][i / b_len].1))
        .collect();
    Ok(Batch {
        xs: one_hot(&words, seq_len, vocab.len()),
        targets: Targets::Classes { from: 0, classes },
    })
}

/// The binary entropy of the share of names in `seqs`.
fn name_entropy(seqs: &[Vec<(&'static str, bool)>]) -> f64 {
    let words = seqs.iter().map(Vec::len).sum::<usize>();
    let names = seqs.iter().flatten().filter(|(_, tag)| *tag).count();
    let p = names as f64 / words.max(1) as f64;
    if p <= 0.0 || p >= 1.0 {
        0.0
    } else {
        -(p * p.ln() + (1.0 - p) * (1.0 - p).ln())
    }
}

// ---------------------------------------------------------------------------------------
// Reading a trained model, and the loss of one sequence.

/// The class the model gives every step: (T, B), the arg-max of the output layer's logits
/// on $h^{\langle t\rangle}$ (run from the zero state, no dropout).
pub fn predict<F: Real, C: Recurrent<F>>(
    model: &SequenceModel<F, C>,
    xs: ArrayView3<F>,
) -> Result<Array2<usize>> {
    let (t_len, b_len, _) = xs.dim();
    let cache = model.rnn.forward_seq(xs, &model.rnn.zero_state(b_len))?;
    let hs = model.rnn.outputs(&cache); // (T, B, H)
    let rows = hs
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((t_len * b_len, hs.dim().2))
        .expect("standard layout"); // (T·B, H)
    let logits = model.head.forward(rows.view())?; // (T·B, C)
    let argmax = logits
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, F::neg_infinity()), |best, (c, &z)| {
                    if z > best.1 {
                        (c, z)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect();
    Ok(Array2::from_shape_vec((t_len, b_len), argmax).expect("T·B classes"))
}

// ANCHOR: sequence_losses
/// The notes' loss of each sequence in `batch`, the sum over its steps of the per-step
/// cross-entropies: $L_b = \sum_{t} L^{\langle t\rangle}(\hat y^{\langle t\rangle},
/// y^{\langle t\rangle})$ with $L^{\langle t\rangle} = -\log \hat
/// y^{\langle t\rangle}_{y^{\langle t\rangle}}$. With two classes this is the notes'
/// $-y \log \hat y - (1-y)\log(1-\hat y)$, with $\hat y = \sigma(z_1 - z_0)$.
///
/// The training loop's loss is the mean of these over the batch divided by the number
/// of steps with a target: the same gradient direction, scaled by $1/(B\,T_y)$, so the
/// step size does not depend on the batch size or the sequence length.
pub fn sequence_losses<F: Real, C: Recurrent<F>>(
    model: &SequenceModel<F, C>,
    batch: &Batch<F>,
) -> Result<Vec<f64>> {
    let Targets::Classes { from, classes } = &batch.targets else {
        return Err(crate::Error::Value {
            arg: "batch",
            reason: "sequence losses need class targets".into(),
        });
    };
    let (t_len, b_len, _) = batch.xs.dim();
    require(
        *from < t_len && classes.len() == (t_len - from) * b_len,
        "batch",
        format!(
            "needs (T - from)·B = {} targets, has {}",
            t_len.saturating_sub(*from) * b_len,
            classes.len()
        ),
    )?;
    let cache = model
        .rnn
        .forward_seq(batch.xs.view(), &model.rnn.zero_state(b_len))?;
    let hs = model
        .rnn
        .outputs(&cache)
        .slice(s![*from.., .., ..])
        .as_standard_layout()
        .into_owned(); // (T_y, B, H), in the order the reshape needs
    let h = hs.dim().2;
    let rows = hs
        .into_shape_with_order(((t_len - from) * b_len, h))
        .expect("standard layout"); // (T_y·B, H)
    let log_p = log_softmax(model.head.forward(rows.view())?.view()); // (T_y·B, C)
    let mut per_sequence = vec![0.0; b_len];
    for (i, &y) in classes.iter().enumerate() {
        per_sequence[i % b_len] -= log_p[[i, y]].as_f64(); // row i is (t, b = i mod B)
    }
    Ok(per_sequence)
}
// ANCHOR_END: sequence_losses

// ---------------------------------------------------------------------------------------
// Many-to-many, unaligned: the encoder–decoder, reused.

// ANCHOR: encoder_decoder
/// The plain encoder–decoder of [`crate::seq2seq`] for a [`Translation`] task: a GRU
/// encoder reads $x^{\langle 1\rangle} \dots x^{\langle T_x\rangle}$, its final state
/// starts a GRU decoder, and an output layer reads the decoder's states to give
/// $y^{\langle 1\rangle} \dots y^{\langle T_y\rangle}$. No attention: everything the
/// decoder knows about the input passes through one vector of `hidden_size` numbers.
pub fn encoder_decoder<F: Real>(
    task: &impl Translation,
    hidden_size: usize,
    seed: u64,
) -> Result<Seq2Seq<F, Gru<F>>> {
    let gru = |input_size, seed| {
        Gru::new(&GruConfig {
            input_size,
            hidden_size,
            form: GruForm::ResetAfter,
            seed,
        })
    };
    let encoder = gru(task.src_vocab(), seed)?;
    let decoder = gru(task.tgt_vocab(), seed.wrapping_add(1))?;
    let head = Linear::new(
        hidden_size,
        task.tgt_vocab(),
        &mut init::rng(seed.wrapping_add(2)),
    )?;
    Seq2Seq::new(encoder, decoder, None, head)
}
// ANCHOR_END: encoder_decoder

/// The symbols a one-hot (T, B, V) array holds, per sequence: `None` for an all-zero
/// (padding) step. Used to print inputs beside a model's outputs.
pub fn symbols<F: Real>(xs: ArrayView3<F>) -> Result<Vec<Vec<Option<usize>>>> {
    check_shape("xs", xs.shape(), &[("T", None), ("B", None), ("V", None)])?;
    Ok(xs
        .axis_iter(Axis(1))
        .map(|seq| {
            seq.rows()
                .into_iter()
                .map(|row| row.iter().position(|&v| v == F::one()))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;
    use crate::train::{train_on, TrainConfig};
    use crate::{Rnn, RnnConfig};

    #[test]
    fn reviews_are_labelled_by_their_last_clause() {
        let task = Sentiment::default();
        let mut r = rng(3);
        let (mut with_but, mut with_not) = (0, 0);
        for _ in 0..500 {
            let (words, positive) = task.review(&mut r).unwrap();
            assert!(words.len() <= SENTIMENT_LEN, "{words:?}");
            let last = match words.iter().position(|&w| w == "but") {
                Some(i) => {
                    with_but += 1;
                    &words[i + 1..]
                }
                None => &words[..],
            };
            let adjective = *last.last().unwrap();
            let negated = last.contains(&"not");
            with_not += usize::from(negated);
            assert_eq!(
                POSITIVE.contains(&adjective) != negated,
                positive,
                "{words:?}"
            );
        }
        assert!(
            (150..250).contains(&with_but),
            "{with_but} reviews with but"
        );
        assert!(with_not > 100, "{with_not} final clauses with not");
    }

    #[test]
    fn reviews_are_padded_at_the_front() {
        let task = Sentiment::default();
        let reviews = vec![(vec!["the", "film", "was", "good"], true)];
        let batch: Batch<f64> = task.encode(&reviews);
        assert_eq!(batch.xs.dim(), (SENTIMENT_LEN, 1, SENTIMENT_WORDS.len()));
        let seen = symbols(batch.xs.view()).unwrap();
        assert!(seen[0][..SENTIMENT_LEN - 4].iter().all(Option::is_none));
        assert_eq!(
            seen[0][SENTIMENT_LEN - 1],
            Some(index_of(&SENTIMENT_WORDS, "good"))
        );
        assert_eq!(
            batch.targets,
            Targets::Classes {
                from: SENTIMENT_LEN - 1,
                classes: vec![1]
            }
        );
    }

    #[test]
    fn numbers_are_named_in_english() {
        let names: Vec<String> = [0, 7, 13, 20, 47, 99]
            .iter()
            .map(|&n| number_name(n).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "zero",
                "seven",
                "thirteen",
                "twenty",
                "forty-seven",
                "ninety-nine"
            ]
        );
        let longest = (0..100)
            .map(|n| number_name(n).unwrap().len())
            .max()
            .unwrap();
        assert_eq!(longest + 1, SPELL_LEN, "one step for the end mark");
        assert!(number_name(100).is_err());
    }

    #[test]
    fn spelling_feeds_the_number_once_and_targets_its_name() {
        let batch: Batch<f32> = Spell::default().encode(&[47, 5]).unwrap();
        assert_eq!(batch.xs.dim(), (SPELL_LEN, 2, 20));
        assert_eq!(batch.xs[[0, 0, 4]], 1.0);
        assert_eq!(batch.xs[[0, 0, 17]], 1.0);
        assert_eq!(
            batch.xs.slice(s![1.., .., ..]).sum(),
            0.0,
            "later inputs are zero"
        );
        let Targets::Classes { from: 0, classes } = &batch.targets else {
            panic!("a target at every step")
        };
        let first: Vec<usize> = (0..SPELL_LEN).map(|t| classes[t * 2]).collect();
        let second: Vec<usize> = (0..SPELL_LEN).map(|t| classes[t * 2 + 1]).collect();
        assert_eq!(Spell::show(&first), "forty-seven");
        assert_eq!(Spell::show(&second), "five");
        let train = Spell::default().numbers();
        assert_eq!(train.len(), 92);
        assert!(SPELL_HELD_OUT.iter().all(|n| !train.contains(n)));
        let (acc, nats) = Spell::default().input_blind();
        assert!(acc > 0.2 && acc < 0.8 && nats > 0.5, "{acc} {nats}");
    }

    #[test]
    fn names_are_tagged_and_ambiguous_words_go_both_ways() {
        let task = Names::default();
        let mut r = rng(5);
        let seqs: Vec<_> = (0..200).map(|_| task.sequence(&mut r).unwrap()).collect();
        let mut both = std::collections::HashMap::<&str, [bool; 2]>::new();
        for &(w, tag) in seqs.iter().flatten() {
            both.entry(w).or_default()[usize::from(tag)] = true;
            if !PEOPLE.contains(&w) {
                assert!(!tag, "{w} is never a name");
            }
        }
        for w in AMBIGUOUS {
            assert_eq!(both[w], [true, true], "{w} is a name and a word");
        }
        for w in ["harry", "alice"] {
            assert_eq!(both[w], [false, true], "{w} is always a name");
        }
        let batch: Batch<f64> = task.encode(&seqs[..3]).unwrap();
        let Targets::Classes { from: 0, classes } = &batch.targets else {
            panic!("tagging has a target at every step")
        };
        for t in 0..task.seq_len {
            for (b, seq) in seqs[..3].iter().enumerate() {
                assert_eq!(classes[t * 3 + b], usize::from(seq[t].1));
                assert_eq!(batch.xs[[t, b, index_of(&NAMES_WORDS, seq[t].0)]], 1.0);
            }
        }
        let (overall, ambiguous) = Names::lookup_tagger(&seqs);
        assert!(
            ambiguous < 0.9 && overall > ambiguous,
            "{overall} {ambiguous}"
        );
    }

    #[test]
    fn looking_ahead_the_next_word_decides() {
        let mut r = rng(6);
        let seqs: Vec<_> = (0..100)
            .map(|_| NamesAhead::default().sequence(&mut r).unwrap())
            .collect();
        for seq in &seqs {
            for t in 0..seq.len() - 1 {
                let (word, tag) = seq[t];
                if AMBIGUOUS.contains(&word) {
                    assert!(
                        t == 0 || seq[t - 1].0 == ".",
                        "ambiguous words start sentences"
                    );
                    let next = seq[t + 1].0;
                    assert_eq!(tag, INTRANSITIVE.contains(&next), "{word} {next}");
                }
            }
        }
        let (_, ambiguous) = Names::lookup_tagger(&seqs);
        assert!(ambiguous < 0.8, "{ambiguous}");
        assert!(NamesAhead { seq_len: 0 }.batch::<f64>(2, &mut r).is_err());
    }

    #[test]
    fn a_bidirectional_tagger_trains_through_the_same_loop() {
        let task = NamesAhead { seq_len: 6 };
        let cell = |seed| {
            Rnn::<f64>::new(&RnnConfig {
                input_size: task.input_size(),
                hidden_size: 4,
                seed,
                ..RnnConfig::default()
            })
        };
        let bi =
            crate::Bidirectional::new(cell(0).unwrap(), cell(1).unwrap(), crate::Merge::Concat)
                .unwrap();
        let model = SequenceModel::with_cell(bi, &task, 0).unwrap();
        let config = TrainConfig {
            steps: 3,
            eval_size: 8,
            ..TrainConfig::default()
        };
        let (model, log) = train_on(model, &task, &config, |_, _| {}).unwrap();
        assert_eq!(log.losses.len(), 3);
        let batch = task.batch::<f64>(2, &mut rng(7)).unwrap();
        let per_sequence = sequence_losses(&model, &batch).unwrap();
        let mean = per_sequence.iter().sum::<f64>() / 2.0;
        assert!((mean / 6.0 - model.loss(&batch).unwrap()).abs() < 1e-12);
        assert_eq!(predict(&model, batch.xs.view()).unwrap().dim(), (6, 2));
    }

    #[test]
    fn invalid_tasks_are_errors() {
        let bad = Sentiment {
            negation: 1.5,
            ..Sentiment::default()
        };
        assert!(bad.batch::<f64>(4, &mut rng(0)).is_err());
        assert!(Names { seq_len: 0 }.batch::<f64>(4, &mut rng(0)).is_err());
        assert!(Names::default().batch::<f64>(0, &mut rng(0)).is_err());
        assert!(Spell::default().batch::<f64>(0, &mut rng(0)).is_err());
    }

    #[test]
    fn sequence_loss_is_the_training_loss_times_the_steps_with_targets() {
        for (task_len, batch) in [
            (
                Names { seq_len: 9 }.seq_len,
                Names { seq_len: 9 }.batch::<f64>(5, &mut rng(1)).unwrap(),
            ),
            (
                1,
                Sentiment::default().batch::<f64>(6, &mut rng(2)).unwrap(),
            ),
            (
                SPELL_LEN,
                Spell::default().batch::<f64>(4, &mut rng(3)).unwrap(),
            ),
        ] {
            let d = batch.xs.dim().2;
            let classes = match &batch.targets {
                Targets::Classes { classes, .. } => classes.iter().max().unwrap() + 1,
                Targets::Final(_) => unreachable!(),
            };
            let rnn = Rnn::new(&RnnConfig {
                input_size: d,
                hidden_size: 6,
                seed: 4,
                ..RnnConfig::default()
            })
            .unwrap();
            let model = SequenceModel {
                rnn,
                head: Linear::new(6, classes.max(2), &mut rng(5)).unwrap(),
            };
            let per_sequence = sequence_losses(&model, &batch).unwrap();
            let mean = per_sequence.iter().sum::<f64>() / per_sequence.len() as f64;
            let loop_loss = model.loss(&batch).unwrap();
            assert!(
                (mean / task_len as f64 - loop_loss).abs() < 1e-12,
                "{mean} / {task_len} vs {loop_loss}"
            );
        }
    }

    #[test]
    fn two_class_softmax_is_the_notes_binary_loss() {
        let (z0, z1) = (0.3f64, -1.1f64);
        let logits = ndarray::arr2(&[[z0, z1]]);
        let log_p = log_softmax(logits.view());
        let y_hat = 1.0 / (1.0 + (-(z1 - z0)).exp());
        for y in [0usize, 1] {
            let notes = -(y as f64) * y_hat.ln() - (1.0 - y as f64) * (1.0 - y_hat).ln();
            assert!((-log_p[[0, y]] - notes).abs() < 1e-14);
        }
    }

    #[test]
    fn a_small_rnn_learns_to_tag_names() {
        let task = Names { seq_len: 12 };
        let rnn = Rnn::<f32>::new(&RnnConfig {
            input_size: task.input_size(),
            hidden_size: 16,
            seed: 0,
            ..RnnConfig::default()
        })
        .unwrap();
        let model = SequenceModel::with_cell(rnn, &task, 0).unwrap();
        let config = TrainConfig {
            steps: 300,
            lr: 1e-2,
            eval_size: 128,
            ..TrainConfig::default()
        };
        let (_, log) = train_on(model, &task, &config, |_, _| {}).unwrap();
        assert!(log.accuracy.unwrap() > 0.97, "{log:?}");
    }
}
