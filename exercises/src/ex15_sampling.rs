//! # Exercise 15: sampling a token from logits, with a temperature and top-k
//!
//! Read first: *Language models and sampling* (`book/src/language-models.md`), section
//! "Sampling".
//!
//! A language model ends each step with a vector of logits $z \in \mathbb{R}^V$, one per
//! token of the vocabulary. To generate text we turn the logits into a distribution and
//! draw the next token from it, then feed that token back in. Two knobs shape the
//! distribution:
//!
//! - the **temperature** $\tau > 0$ divides the logits before the softmax,
//!   $p_i = e^{z_i/\tau} / \sum_j e^{z_j/\tau}$. $\tau < 1$ sharpens the distribution
//!   towards the most likely token (greedy decoding as $\tau \to 0$), $\tau > 1$ flattens
//!   it towards uniform;
//! - **top-k** keeps only the $k$ largest logits (every token tied with the $k$-th largest
//!   is kept too) and renormalises over them; the others get probability exactly 0.
//!
//! Then `draw` inverts the cumulative distribution: given a uniform number $u \in [0, 1)$
//! it returns the first token $i$ with $u < p_0 + \dots + p_i$.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `logits` | finite, at least one | (V,) |
//! | `temperature` | finite and > 0 | |
//! | `top_k` | `None` (keep all) or `Some(k)` with k ≥ 1 (k ≥ V keeps all) | |
//! | `probs` | non-negative, summing to 1 up to rounding | (V,) |
//! | `u` | a uniform draw in [0, 1) | |
//!
//! Grade it with `cargo test -p exercises --test ex15_sampling`.
#![allow(unused_variables, unused_imports)]

use ndarray::ArrayView1;

// ANCHOR: distribution
/// softmax(logits / temperature), restricted to the top k logits and renormalised: (V,).
pub fn distribution(logits: ArrayView1<f64>, temperature: f64, top_k: Option<usize>) -> Vec<f64> {
    // TODO: z_i = logits[i] / temperature (divide: a small temperature must make the
    //       largest logit dominate).
    // TODO: top-k: sort a copy of z in decreasing order; the threshold is its element
    //       min(k, V) - 1. Set every z_i below the threshold to f64::NEG_INFINITY
    //       (exp(-inf) is exactly 0).
    // TODO: a stable softmax: subtract max(z) before exp. With logits near 1000, or a
    //       temperature of 0.01, exp(z) overflows to inf and inf / inf is NaN.
    // TODO: divide by the sum of the exponentials, so that the kept tokens sum to 1.
    todo!("exercise 15: the sampling distribution")
}
// ANCHOR_END: distribution

// ANCHOR: draw
/// The token whose slice of [0, 1) contains `u`: the first i with u < p_0 + ... + p_i.
pub fn draw(probs: &[f64], u: f64) -> usize {
    // TODO: walk the tokens keeping a running sum of their probabilities; return the first
    //       i for which u < sum. Strictly less: a token of probability 0 owns an empty
    //       slice and must never be drawn.
    // TODO: rounding can leave the total a hair below 1, so u may be above it: then
    //       return the last token whose probability is above 0 (never an index ≥ V).
    todo!("exercise 15: inverting the cumulative distribution")
}
// ANCHOR_END: draw
