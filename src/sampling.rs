//! Using a trained language model: the probability of a sequence, and sampling from the
//! model one token at a time.
//!
//! A language model over a vocabulary of V tokens gives, at every step, a distribution over
//! the next token, $p(x_{t+1} \mid x_1 \dots x_t)$. The probability of a whole sequence is
//! the product of these conditionals (the chain rule), so its log is a sum:
//!
//! $$\log p(x_1 \dots x_T \mid x_0) = \sum_{t=0}^{T-1} \log p(x_{t+1} \mid x_0 \dots x_t),$$
//!
//! where $x_0$ is the context the sequence starts from (an end-of-sentence token, say).
//! Sampling runs the same chain forwards: draw $x_{t+1}$ from the model's distribution, feed
//! it back in as the next input, and repeat until an end token or a length cap. The
//! temperature $\tau$ divides the logits before the softmax: $\tau < 1$ sharpens the
//! distribution towards the most likely token (greedy in the limit), $\tau > 1$ flattens it
//! towards uniform. Top-k keeps only the $k$ most likely tokens.
//!
//! Inputs are one-hot token vectors, so the model's input size is the vocabulary size.

use crate::activations::log_softmax;
use crate::error::{require, Error};
use crate::init::SeededRng;
use crate::train::SequenceModel;
use crate::{Real, Recurrent, Result};
use ndarray::{Array2, Array3, ArrayView1, Axis};
use rand::Rng;

/// How to draw each token.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingConfig {
    /// Divides the logits. Default 1.0: the model's own distribution.
    pub temperature: f64,
    /// Keep only the k most likely tokens. Default `None`: all of them.
    pub top_k: Option<usize>,
    /// Stop after this many tokens. Default 100: the notes' "sample say 50-100 words"
    /// when the model never emits the end token.
    pub max_len: usize,
    /// Stop when this token is drawn (it is included in the output). Default `None`.
    pub stop: Option<usize>,
    /// Tokens that may never be drawn (for example ⟨UNK⟩, which the notes allow to be
    /// dropped from samples). Default: none.
    pub banned: Vec<usize>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            temperature: 1.0,
            top_k: None,
            max_len: 100,
            stop: None,
            banned: Vec::new(),
        }
    }
}

// ANCHOR: distribution
/// The distribution a sampler draws from: softmax(logits / temperature), restricted to the
/// top k tokens and without the banned ones, renormalised.
pub fn distribution<F: Real>(logits: ArrayView1<F>, config: &SamplingConfig) -> Result<Vec<f64>> {
    let v = logits.len();
    require(v > 0, "logits", "an empty vocabulary")?;
    require(
        config.temperature.is_finite() && config.temperature > 0.0,
        "temperature",
        format!("must be finite and > 0, got {}", config.temperature),
    )?;
    require(
        config.top_k != Some(0),
        "top_k",
        "must be at least 1 when set, got 0",
    )?;
    let mut z: Vec<f64> = logits
        .iter()
        .map(|x| x.as_f64() / config.temperature)
        .collect();
    for &b in &config.banned {
        require(b < v, "banned", format!("token {b} is not below V = {v}"))?;
        z[b] = f64::NEG_INFINITY;
    }
    if let Some(k) = config.top_k {
        // The k-th largest logit is the threshold; ties at the threshold are all kept.
        let mut sorted = z.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let threshold = sorted[k.min(v) - 1];
        z.iter_mut()
            .filter(|x| **x < threshold)
            .for_each(|x| *x = f64::NEG_INFINITY);
    }
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(Error::Value {
            arg: "logits",
            reason: "no token is left to draw (all banned, or the logits are not finite)".into(),
        });
    }
    let exp: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    Ok(exp.into_iter().map(|p| p / sum).collect())
}
// ANCHOR_END: distribution

/// Draws a token from `probs` (which sum to 1) by inverting the cumulative distribution.
pub fn draw(probs: &[f64], rng: &mut SeededRng) -> usize {
    let u: f64 = rng.random();
    let mut cumulative = 0.0;
    for (token, p) in probs.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return token;
        }
    }
    // Rounding can leave the total a hair below 1: the last possible token then.
    probs.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

fn one_hot<F: Real>(token: usize, vocab: usize) -> Result<Array3<F>> {
    require(
        token < vocab,
        "tokens",
        format!("token {token} is not below the vocabulary size {vocab}"),
    )?;
    let mut x = Array3::zeros((1, 1, vocab)); // (1, 1, V)
    x[[0, 0, token]] = F::one();
    Ok(x)
}

// ANCHOR: log_prob
/// $\log p(x_1 \dots x_T \mid x_0)$ under `model`, in nats: `context` is $x_0$, `tokens` are
/// $x_1 \dots x_T$. Divide by $T \ln 2$ for bits per token.
pub fn sequence_log_prob<F: Real, C: Recurrent<F>>(
    model: &SequenceModel<F, C>,
    context: usize,
    tokens: &[usize],
) -> Result<f64> {
    let vocab = model.rnn.input_size();
    require(!tokens.is_empty(), "tokens", "an empty sequence")?;
    // Inputs x_0 .. x_{T-1}, each predicting the next token.
    let inputs: Vec<usize> = std::iter::once(context)
        .chain(tokens[..tokens.len() - 1].iter().copied())
        .collect();
    let mut xs = Array3::zeros((inputs.len(), 1, vocab)); // (T, 1, V)
    for (t, &x) in inputs.iter().enumerate() {
        xs.slice_mut(ndarray::s![t..t + 1, .., ..])
            .assign(&one_hot::<F>(x, vocab)?);
    }
    let cache = model.rnn.forward_seq(xs.view(), &model.rnn.zero_state(1))?;
    let hs = model.rnn.outputs(&cache).index_axis(Axis(1), 0).to_owned(); // (T, H)
    let log_p = log_softmax(model.head.forward(hs.view())?.view()); // (T, V)
    tokens
        .iter()
        .enumerate()
        .map(|(t, &y)| {
            require(
                y < vocab,
                "tokens",
                format!("token {y} is not below the vocabulary size {vocab}"),
            )?;
            Ok(log_p[[t, y]].as_f64())
        })
        .sum()
}
// ANCHOR_END: log_prob

// ANCHOR: sample
/// Samples up to `config.max_len` tokens after `prompt` (at least one token), feeding each
/// drawn token back in as the next input and carrying the state between steps.
pub fn sample<F: Real, C: Recurrent<F>>(
    model: &SequenceModel<F, C>,
    prompt: &[usize],
    config: &SamplingConfig,
    rng: &mut SeededRng,
) -> Result<Vec<usize>> {
    let vocab = model.rnn.input_size();
    require(
        !prompt.is_empty(),
        "prompt",
        "needs at least one token to start from",
    )?;
    let mut state = model.rnn.zero_state(1);
    // Read the prompt: its last step's output predicts the first sampled token.
    let mut logits = Array2::zeros((1, vocab)); // (1, V)
    for &token in prompt {
        let cache = model
            .rnn
            .forward_seq(one_hot::<F>(token, vocab)?.view(), &state)?;
        state = model.rnn.final_state(&cache);
        logits = model
            .head
            .forward(model.rnn.outputs(&cache).index_axis(Axis(0), 0))?;
    }
    let mut out = Vec::with_capacity(config.max_len);
    while out.len() < config.max_len {
        let next = draw(&distribution(logits.row(0), config)?, rng);
        out.push(next);
        if config.stop == Some(next) {
            break;
        }
        let cache = model
            .rnn
            .forward_seq(one_hot::<F>(next, vocab)?.view(), &state)?;
        state = model.rnn.final_state(&cache);
        logits = model
            .head
            .forward(model.rnn.outputs(&cache).index_axis(Axis(0), 0))?;
    }
    Ok(out)
}
// ANCHOR_END: sample

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;
    use crate::train::Task;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn temperature_sharpens_and_flattens() {
        let logits = array![1.0, 2.0, 3.0];
        let p1 = distribution(logits.view(), &SamplingConfig::default()).unwrap();
        let cold = SamplingConfig {
            temperature: 0.1,
            ..SamplingConfig::default()
        };
        let hot = SamplingConfig {
            temperature: 100.0,
            ..SamplingConfig::default()
        };
        let pc = distribution(logits.view(), &cold).unwrap();
        let ph = distribution(logits.view(), &hot).unwrap();
        assert_relative_eq!(p1.iter().sum::<f64>(), 1.0, epsilon = 1e-12);
        assert!(pc[2] > 0.9999 && pc[2] > p1[2]);
        assert!(ph.iter().all(|&p| (p - 1.0 / 3.0).abs() < 0.01));
        let e = (1.0f64).exp() + (2.0f64).exp() + (3.0f64).exp();
        assert_relative_eq!(p1[0], (1.0f64).exp() / e, epsilon = 1e-12);
    }

    #[test]
    fn top_k_and_bans_remove_tokens() {
        let logits = array![0.5, 3.0, 1.0, 2.0];
        let c = SamplingConfig {
            top_k: Some(2),
            banned: vec![1],
            ..SamplingConfig::default()
        };
        let p = distribution(logits.view(), &c).unwrap();
        // Token 1 is banned, so the top 2 of the rest are tokens 3 and 2.
        assert_eq!((p[0], p[1]), (0.0, 0.0));
        let e = (1.0f64).exp() + (2.0f64).exp();
        assert_relative_eq!(p[2], (1.0f64).exp() / e, epsilon = 1e-12);
        assert_relative_eq!(p[3], (2.0f64).exp() / e, epsilon = 1e-12);
        let mut all = c.clone();
        all.banned = vec![0, 1, 2, 3];
        assert!(distribution(logits.view(), &all).is_err());
        let zero = SamplingConfig {
            temperature: 0.0,
            ..SamplingConfig::default()
        };
        assert!(distribution(logits.view(), &zero).is_err());
    }

    #[test]
    fn draws_follow_the_distribution() {
        let probs = [0.2, 0.5, 0.3];
        let mut counts = [0usize; 3];
        let mut r = rng(5);
        for _ in 0..20_000 {
            counts[draw(&probs, &mut r)] += 1;
        }
        for (c, p) in counts.iter().zip(probs) {
            assert!((*c as f64 / 20_000.0 - p).abs() < 0.015, "{counts:?}");
        }
    }

    #[test]
    fn log_prob_is_the_sum_of_step_log_probs_and_sampling_stops() {
        let task = Task::Echo {
            seq_len: 4,
            delay: 1,
            vocab: 5,
        };
        let model = SequenceModel::<f64>::new(&task, 8, crate::Init::Uniform, 3).unwrap();
        let whole = sequence_log_prob(&model, 0, &[1, 2, 3]).unwrap();
        // Every further token multiplies in a conditional below one.
        let first = sequence_log_prob(&model, 0, &[1]).unwrap();
        assert!(whole < first && first < 0.0);
        // Probabilities over all continuations of length 1 sum to one.
        let total: f64 = (0..5)
            .map(|y| sequence_log_prob(&model, 2, &[y]).unwrap().exp())
            .sum();
        assert_relative_eq!(total, 1.0, epsilon = 1e-12);
        let config = SamplingConfig {
            max_len: 30,
            stop: Some(4),
            ..SamplingConfig::default()
        };
        let out = sample(&model, &[0, 1], &config, &mut rng(1)).unwrap();
        assert!(!out.is_empty() && out.len() <= 30);
        assert!(out[..out.len() - 1].iter().all(|&t| t != 4));
        assert!(sample(&model, &[9], &config, &mut rng(1)).is_err());
    }
}
