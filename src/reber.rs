//! The embedded Reber grammar (Reber 1967; embedded form: Fahlman 1991, and the benchmark
//! of Hochreiter & Schmidhuber 1997, section 5, experiment 1).
//!
//! A Reber string walks a small finite automaton from `B` to `E`, choosing between two
//! symbols with equal probability at every state. The *embedded* grammar wraps a Reber
//! string between two copies of one symbol: `B T <reber> T E` or `B P <reber> P E`. Most
//! next symbols can be predicted from the last few, but the second-to-last one repeats
//! the second symbol of the string, across the whole inner Reber string: a long-term
//! dependency that a network must carry in its state.

use crate::error::require;
use crate::init::SeededRng;
use crate::tasks::{Batch, Targets};
use crate::train::Data;
use crate::{Real, Result};
use ndarray::Array3;
use rand::Rng;

/// The alphabet, in one-hot order.
pub const SYMBOLS: [char; 7] = ['B', 'T', 'P', 'S', 'X', 'V', 'E'];
const B: usize = 0;
const T: usize = 1;
const P: usize = 2;
const S: usize = 3;
const X: usize = 4;
const V: usize = 5;
const E: usize = 6;

// ANCHOR: grammar
/// The Reber automaton: from each state, two (symbol, next state) choices, taken with
/// probability 1/2 each. State 6 is the end.
const TRANSITIONS: [[(usize, usize); 2]; 6] = [
    [(T, 1), (P, 2)],
    [(S, 1), (X, 3)],
    [(T, 2), (V, 4)],
    [(X, 2), (S, 5)],
    [(P, 3), (V, 5)],
    [(E, 6), (E, 6)],
];

/// One Reber string, `B ... E`, as symbol indices.
pub fn reber_string(rng: &mut SeededRng) -> Vec<usize> {
    let mut out = vec![B];
    let mut state = 0;
    while state != 6 {
        let (symbol, next) = TRANSITIONS[state][rng.random_range(0..2)];
        out.push(symbol);
        state = next;
    }
    out
}

/// One embedded Reber string: `B`, then `T` or `P`, a Reber string, the same `T` or `P`
/// again, and `E`.
pub fn embedded_reber_string(rng: &mut SeededRng) -> Vec<usize> {
    let wrap = if rng.random_bool(0.5) { T } else { P };
    let mut out = vec![B, wrap];
    out.extend(reber_string(rng));
    out.extend([wrap, E]);
    out
}
// ANCHOR_END: grammar

/// Whether `string` is a (plain) Reber string: the automaton accepts it.
pub fn is_reber(string: &[usize]) -> bool {
    let Some((&first, rest)) = string.split_first() else {
        return false;
    };
    let mut state = 0;
    for &symbol in rest {
        if state == 6 {
            return false;
        }
        match TRANSITIONS[state].iter().find(|(s, _)| *s == symbol) {
            Some(&(_, next)) => state = next,
            None => return false,
        }
    }
    first == B && state == 6
}

/// Whether `string` is an embedded Reber string.
pub fn is_embedded_reber(string: &[usize]) -> bool {
    let n = string.len();
    n >= 6
        && string[0] == B
        && (string[1] == T || string[1] == P)
        && string[n - 2] == string[1]
        && string[n - 1] == E
        && is_reber(&string[2..n - 2])
}

/// Renders symbol indices as letters, e.g. `BTBTXSETE`.
pub fn to_letters(string: &[usize]) -> String {
    string.iter().map(|&s| SYMBOLS[s]).collect()
}

/// Next-symbol prediction on embedded Reber strings whose length lies in
/// `min_len..=max_len`. Every batch draws one length uniformly from that range and then
/// strings of exactly that length (by rejection), so a batch needs no padding. Inputs are
/// the one-hot symbols $s_0 \dots s_{L-2}$; the targets are $s_1 \dots s_{L-1}$ at every
/// step. The step that shows whether the long-term dependency was learned is the
/// prediction of $s_{L-2}$ from step $L-3$: see [`EmbeddedReber::critical_step`].
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddedReber {
    /// Shortest string, at least 9 (`BTBTXSETE`-style strings are the shortest possible).
    pub min_len: usize,
    /// Longest string; longer strings put the two copies of the wrapping symbol further
    /// apart.
    pub max_len: usize,
}

impl EmbeddedReber {
    /// The shortest embedded Reber string has 9 symbols (`B T B T X S E T E`).
    pub const MIN_LEN: usize = 9;
    /// The longest length a batch may ask for. The chance that a string has length $L$
    /// falls roughly geometrically with $L$, so rejection sampling longer ones would take
    /// thousands of draws per string.
    pub const MAX_LEN: usize = 30;

    /// For a batch of strings of length `len`, the input step whose target is the
    /// wrapping symbol repeated at the end: $L - 3$.
    pub fn critical_step(len: usize) -> usize {
        len - 3
    }

    fn validate(&self) -> Result<()> {
        require(
            self.min_len >= Self::MIN_LEN,
            "min_len",
            format!(
                "embedded Reber strings have at least {} symbols, got {}",
                Self::MIN_LEN,
                self.min_len
            ),
        )?;
        require(
            self.max_len >= self.min_len && self.max_len <= Self::MAX_LEN,
            "max_len",
            format!(
                "must lie in min_len..={} (longer strings are too rare to sample), got {} with min_len {}",
                Self::MAX_LEN,
                self.max_len,
                self.min_len
            ),
        )
    }
}

impl Data for EmbeddedReber {
    fn input_size(&self) -> usize {
        SYMBOLS.len()
    }
    fn output_size(&self) -> usize {
        SYMBOLS.len()
    }
    /// Guessing uniformly among the 7 symbols: $\ln 7$.
    fn baseline(&self) -> f64 {
        (SYMBOLS.len() as f64).ln()
    }
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        self.validate()?;
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let len = rng.random_range(self.min_len..=self.max_len);
        let strings: Vec<Vec<usize>> = (0..batch)
            .map(|_| loop {
                let s = embedded_reber_string(rng);
                if s.len() == len {
                    break s;
                }
            })
            .collect();
        let steps = len - 1;
        let mut xs = Array3::zeros((steps, batch, SYMBOLS.len())); // (L-1, B, 7)
        let mut classes = Vec::with_capacity(steps * batch); // row (t, b): s_{t+1}
        for t in 0..steps {
            for (b, s) in strings.iter().enumerate() {
                xs[[t, b, s[t]]] = F::one();
                classes.push(s[t + 1]);
            }
        }
        Ok(Batch {
            xs,
            targets: Targets::Classes { from: 0, classes },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;

    #[test]
    fn generated_strings_are_in_the_grammar() {
        let mut r = rng(0);
        for _ in 0..500 {
            let s = embedded_reber_string(&mut r);
            assert!(is_embedded_reber(&s), "{}", to_letters(&s));
        }
        assert!(!is_embedded_reber(&[B, T, B, T, X, S, E, P, E]));
        assert!(!is_reber(&[B, T, X, E]));
    }

    #[test]
    fn batches_have_one_length_and_shifted_targets() {
        let task = EmbeddedReber {
            min_len: 9,
            max_len: 20,
        };
        let batch: Batch<f64> = task.batch(16, &mut rng(3)).unwrap();
        let (steps, b, d) = batch.xs.dim();
        assert_eq!((b, d), (16, 7));
        let Targets::Classes { from, classes } = &batch.targets else {
            panic!("next-symbol prediction is many-to-many")
        };
        assert_eq!((*from, classes.len()), (0, steps * 16));
        for b in 0..16 {
            let mut s: Vec<usize> = (0..steps)
                .map(|t| (0..7).find(|&v| batch.xs[[t, b, v]] == 1.0).unwrap())
                .collect();
            s.push(classes[(steps - 1) * 16 + b]);
            assert!(is_embedded_reber(&s), "{}", to_letters(&s));
            let critical = EmbeddedReber::critical_step(s.len());
            assert_eq!(classes[critical * 16 + b], s[1]);
        }
    }

    #[test]
    fn bad_lengths_are_config_errors() {
        let short = EmbeddedReber {
            min_len: 5,
            max_len: 20,
        };
        assert!(short.batch::<f32>(2, &mut rng(0)).is_err());
        let inverted = EmbeddedReber {
            min_len: 20,
            max_len: 10,
        };
        assert!(inverted.batch::<f32>(2, &mut rng(0)).is_err());
    }
}
