//! Reference solution of exercise 16: the log-probability of a sentence as a sum of the
//! model's log conditionals (the chain rule), and its per-token summaries.

use ndarray::{Array1, ArrayView1};

// ANCHOR: log_softmax
/// $\log \mathrm{softmax}(z)_i = z_i - \log \sum_j e^{z_j}$: (V,).
pub fn log_softmax(logits: ArrayView1<f64>) -> Array1<f64> {
    let m = logits.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    // log-sum-exp: the largest term is exp(0) = 1, so the sum is in [1, V].
    let lse = m + logits.mapv(|z| (z - m).exp()).sum().ln();
    logits.mapv(|z| z - lse) // (V,)
}
// ANCHOR_END: log_softmax

// ANCHOR: sentence_log_prob
/// $\ln p(y_1 \dots y_T \mid y_0)$ in nats, by feeding the model one token at a time.
pub fn sentence_log_prob(
    step: &mut dyn FnMut(usize) -> Array1<f64>,
    context: usize,
    tokens: &[usize],
) -> f64 {
    let mut logits = step(context); // (V,): predicts y_1
    let mut total = 0.0;
    for (t, &y) in tokens.iter().enumerate() {
        total += log_softmax(logits.view())[y];
        // The last token's successor is not scored, so it need not be fed.
        if t + 1 < tokens.len() {
            logits = step(y); // predicts y_{t+1}
        }
    }
    total
}
// ANCHOR_END: sentence_log_prob

// ANCHOR: per_token
/// Perplexity per token, $\exp(-\ln p / T)$.
pub fn perplexity(log_prob: f64, n_tokens: usize) -> f64 {
    (-log_prob / n_tokens as f64).exp()
}

/// Bits per token, $-\ln p / (T \ln 2)$.
pub fn bits_per_token(log_prob: f64, n_tokens: usize) -> f64 {
    -log_prob / (n_tokens as f64 * std::f64::consts::LN_2)
}
// ANCHOR_END: per_token
