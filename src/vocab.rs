//! Words as tokens: a tokeniser and a word vocabulary with ⟨UNK⟩ and ⟨EOS⟩, for the
//! word-level language model of [`crate::lm`].
//!
//! The notes' recipe: split the text into words, add an end-of-sentence token ⟨EOS⟩ where
//! a sentence ends, keep the most frequent words and map every other word to ⟨UNK⟩. So the
//! vocabulary is closed (every text encodes) and the model still learns *that* a rare word
//! comes next, even if not which. [`tokenize`] lowercases, keeps runs of letters (with
//! apostrophes inside, as in "o'er" and "'tis"), turns `.`, `!` and `?` into ⟨EOS⟩ and drops
//! other punctuation.

use crate::error::{require, Error};
use crate::Result;
use std::collections::HashMap;

/// The id of ⟨UNK⟩ in every [`WordVocab`].
pub const UNK: usize = 0;
/// The id of ⟨EOS⟩ in every [`WordVocab`].
pub const EOS: usize = 1;
/// How ⟨UNK⟩ and ⟨EOS⟩ are written when decoding.
pub const SPECIALS: [&str; 2] = ["<unk>", "<eos>"];

/// One token of [`tokenize`]: a word, or the end of a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A lowercased word.
    Word(String),
    /// `.`, `!` or `?`.
    Eos,
}

/// Splits `text` into lowercased words and sentence ends. Two sentence ends in a row
/// ("?!" or "...") make one ⟨EOS⟩: the model should learn where sentences stop, not how
/// punctuation repeats.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // An apostrophe belongs to a word when a letter follows it ("'tis", "o'er").
        let in_word =
            c.is_alphabetic() || (c == '\'' && chars.peek().is_some_and(|n| n.is_alphabetic()));
        if in_word {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(&mut word)));
        }
        if matches!(c, '.' | '!' | '?') && tokens.last().is_some_and(|t| *t != Token::Eos) {
            tokens.push(Token::Eos);
        }
    }
    if !word.is_empty() {
        tokens.push(Token::Word(word));
    }
    tokens
}

/// A word vocabulary: ⟨UNK⟩ = 0, ⟨EOS⟩ = 1, then the kept words from the most frequent
/// down (ties in alphabetical order, so a corpus always gives the same ids).
#[derive(Clone, Debug, PartialEq)]
pub struct WordVocab {
    /// Every token's text, by id; the first two are [`SPECIALS`].
    words: Vec<String>,
    /// Each kept word's id.
    ids: HashMap<String, usize>,
}

impl WordVocab {
    /// The vocabulary of `corpus`: at most `max_words` words (besides the two specials),
    /// each seen at least `min_count` times. `max_words = 0` or `min_count = 0` are errors:
    /// a vocabulary of specials alone, or one that keeps words never seen, is a mistake.
    pub fn new(corpus: &str, max_words: usize, min_count: usize) -> Result<Self> {
        require(max_words >= 1, "max_words", "must be at least 1, got 0")?;
        require(min_count >= 1, "min_count", "must be at least 1, got 0")?;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for token in tokenize(corpus) {
            if let Token::Word(w) = token {
                *counts.entry(w).or_default() += 1;
            }
        }
        let mut ranked: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= min_count)
            .collect();
        require(
            !ranked.is_empty(),
            "corpus",
            format!("has no word seen at least {min_count} times"),
        )?;
        ranked.sort_by(|(wa, na), (wb, nb)| nb.cmp(na).then_with(|| wa.cmp(wb)));
        ranked.truncate(max_words);
        let words: Vec<String> = SPECIALS
            .iter()
            .map(|s| s.to_string())
            .chain(ranked.into_iter().map(|(w, _)| w))
            .collect();
        Ok(WordVocab::from_words(words))
    }

    /// A vocabulary from its list of tokens by id (as [`WordVocab::words`] returns it, for
    /// a checkpoint). The first two must be [`SPECIALS`], and no word may repeat.
    pub fn from_list(words: Vec<String>) -> Result<Self> {
        require(
            words.len() > 2 && words[..2] == SPECIALS,
            "words",
            format!("must start with {SPECIALS:?} and hold at least one word"),
        )?;
        let vocab = WordVocab::from_words(words);
        require(
            vocab.ids.len() == vocab.words.len() - 2,
            "words",
            "holds a word twice",
        )?;
        Ok(vocab)
    }

    fn from_words(words: Vec<String>) -> Self {
        let ids = words
            .iter()
            .enumerate()
            .skip(2)
            .map(|(i, w)| (w.clone(), i))
            .collect();
        WordVocab { words, ids }
    }

    /// The number of ids, specials included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false: a vocabulary holds the specials and at least one word.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every token's text, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of `word` (lowercased), ⟨UNK⟩ if it was not kept.
    pub fn id(&self, word: &str) -> usize {
        self.ids.get(&word.to_lowercase()).copied().unwrap_or(UNK)
    }

    /// The ids of `text`'s tokens (see [`tokenize`]); never fails, since unknown words
    /// become ⟨UNK⟩.
    pub fn encode(&self, text: &str) -> Vec<usize> {
        tokenize(text)
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => self.ids.get(&w).copied().unwrap_or(UNK),
                Token::Eos => EOS,
            })
            .collect()
    }

    /// The text of `ids`, words separated by spaces, ⟨EOS⟩ as `<eos>`. An id out of range
    /// is an error naming it.
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        let words = ids
            .iter()
            .enumerate()
            .map(|(pos, &id)| {
                self.words.get(id).map(String::as_str).ok_or(Error::Value {
                    arg: "ids",
                    reason: format!(
                        "id {id} at position {pos} is out of range for a vocabulary of {}",
                        self.len()
                    ),
                })
            })
            .collect::<Result<Vec<&str>>>()?;
        Ok(words.join(" "))
    }

    /// The fraction of `ids` that are ⟨UNK⟩: how much of a text the vocabulary misses.
    pub fn unk_rate(ids: &[usize]) -> f64 {
        ids.iter().filter(|&&i| i == UNK).count() as f64 / ids.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "To be, or not to be? That is the question. 'Tis nobler... O'er the sea!";

    #[test]
    fn tokenize_lowercases_and_marks_sentence_ends() {
        let t = tokenize(TEXT);
        let show: Vec<String> = t
            .iter()
            .map(|t| match t {
                Token::Word(w) => w.clone(),
                Token::Eos => "|".into(),
            })
            .collect();
        assert_eq!(
            show.join(" "),
            "to be or not to be | that is the question | 'tis nobler | o'er the sea |"
        );
    }

    #[test]
    fn vocabulary_keeps_frequent_words_and_maps_the_rest_to_unk() {
        let v = WordVocab::new(TEXT, 3, 1).unwrap();
        // be, the, to (2 each) beat the words seen once; ties alphabetical.
        assert_eq!(v.words(), ["<unk>", "<eos>", "be", "the", "to"]);
        let ids = v.encode("To be the king.");
        assert_eq!(ids, vec![4, 2, 3, UNK, EOS]);
        assert_eq!(v.decode(&ids).unwrap(), "to be the <unk> <eos>");
        assert_eq!(WordVocab::unk_rate(&ids), 0.2);
        assert_eq!(v.id("THE"), 3);
        assert!(v.decode(&[5]).unwrap_err().to_string().contains("id 5"));
        let again = WordVocab::from_list(v.words().to_vec()).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn bad_vocabularies_are_errors() {
        assert!(WordVocab::new(TEXT, 0, 1).is_err());
        assert!(WordVocab::new(TEXT, 10, 0).is_err());
        assert!(WordVocab::new(TEXT, 10, 99).is_err());
        assert!(WordVocab::from_list(vec!["a".into(), "b".into(), "c".into()]).is_err());
        let twice = ["<unk>", "<eos>", "a", "a"].map(String::from).to_vec();
        assert!(WordVocab::from_list(twice).is_err());
    }
}
