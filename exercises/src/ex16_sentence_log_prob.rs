//! # Exercise 16: the probability of a sentence under a language model
//!
//! Read first: *Language models and sampling* (`book/src/language-models.md`), section
//! "The probability of a sentence".
//!
//! A language model reads one token at a time and, after each, gives logits for the next.
//! The chain rule turns those conditionals into the probability of a whole sentence
//! $y_1 \dots y_T$ that follows a context token $y_0$ (⟨EOS⟩ of the previous sentence, say):
//!
//! $$\log p(y_1 \dots y_T \mid y_0) = \sum_{t=1}^{T} \log p(y_t \mid y_0 \dots y_{t-1}),$$
//!
//! where $p(\cdot \mid y_0 \dots y_{t-1})$ is the softmax of the logits the model returns
//! after being fed $y_{t-1}$. Work in logs: a product of a few hundred probabilities
//! underflows f64 to 0. Then two ways to report it per token:
//!
//! - **bits per token** $= -\log_2 p / T = -\ln p / (T \ln 2)$ (bits per character for a
//!   character model);
//! - **perplexity** $= \exp(-\ln p / T)$, the size of a uniform choice that would be as
//!   surprising; a model that always spreads its bets evenly over 4 tokens has perplexity 4.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `logits` | finite, at least one | (V,) |
//! | `step` | `step(token)` feeds `token` to the model, advances its state, and returns the logits for the next token | (V,) |
//! | `context` | $y_0$, the token the sentence follows | |
//! | `tokens` | $y_1 \dots y_T$, at least one | (T,) |
//! | `log_prob`, `n_tokens` | $\ln p$ in nats, and T ≥ 1 | |
//!
//! Grade it with `cargo test -p exercises --test ex16_sentence_log_prob`.
#![allow(unused_variables, unused_imports)]

use ndarray::{Array1, ArrayView1};

// ANCHOR: log_softmax
/// $\log \mathrm{softmax}(z)_i = z_i - \log \sum_j e^{z_j}$: (V,).
pub fn log_softmax(logits: ArrayView1<f64>) -> Array1<f64> {
    // TODO: m = the largest logit. Compute log Σ_j exp(z_j) as m + ln Σ_j exp(z_j - m)
    //       (the log-sum-exp trick): every exponent is ≤ 0, so nothing overflows, and the
    //       largest term is exactly 1, so the log never sees 0.
    // TODO: return z_i minus that log-sum-exp for every i. Do not take ln(softmax): for a
    //       logit 1000 below the largest, softmax underflows to 0 and ln 0 = -inf.
    todo!("exercise 16: a stable log-softmax")
}
// ANCHOR_END: log_softmax

// ANCHOR: sentence_log_prob
/// $\ln p(y_1 \dots y_T \mid y_0)$ in nats, by feeding the model one token at a time.
pub fn sentence_log_prob(
    step: &mut dyn FnMut(usize) -> Array1<f64>,
    context: usize,
    tokens: &[usize],
) -> f64 {
    // TODO: feed the context first: logits = step(context). Those logits predict y_1.
    // TODO: for each token y_t in order: add log_softmax(logits)[y_t] to a running sum,
    //       then feed y_t (logits = step(y_t)) to get the prediction of y_{t+1}. Score a
    //       token with the logits from *before* it was fed, never after.
    // TODO: return the sum (not the mean, and not the log of a product of probabilities).
    todo!("exercise 16: the log-probability of a sentence")
}
// ANCHOR_END: sentence_log_prob

// ANCHOR: per_token
/// Perplexity per token, $\exp(-\ln p / T)$.
pub fn perplexity(log_prob: f64, n_tokens: usize) -> f64 {
    // TODO: log_prob is negative (a log of a probability): mind the minus sign.
    todo!("exercise 16: perplexity")
}

/// Bits per token, $-\ln p / (T \ln 2)$.
pub fn bits_per_token(log_prob: f64, n_tokens: usize) -> f64 {
    // TODO: log_prob is in nats; a bit is ln 2 nats (std::f64::consts::LN_2).
    todo!("exercise 16: bits per token")
}
// ANCHOR_END: per_token
