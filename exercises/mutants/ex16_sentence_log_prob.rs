//! Planted mistakes in exercise 16, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: log_of_softmax | log-sum-exp
// MUTANT: no_max | log-sum-exp
// MUTANT: after_feeding | before it was fed
// MUTANT: no_context | feed the context
// MUTANT: product | underflow
// MUTANT: mean | sum, not the mean
// MUTANT: perplexity_sign | minus sign
// MUTANT: bits_in_nats | ln 2

use ndarray::{Array1, ArrayView1};

const MUTANTS: &[&str] = &[
    "log_of_softmax",
    "no_max",
    "after_feeding",
    "no_context",
    "product",
    "mean",
    "perplexity_sign",
    "bits_in_nats",
];

/// The planted mistake to make, or "" for none.
fn mutant() -> String {
    let name = std::env::var("RECURRENT_MUTANT").unwrap_or_default();
    assert!(
        name.is_empty() || MUTANTS.contains(&name.as_str()),
        "unknown RECURRENT_MUTANT={name:?}; this file plants {MUTANTS:?}"
    );
    name
}

pub fn log_softmax(logits: ArrayView1<f64>) -> Array1<f64> {
    let m = mutant();
    if m == "log_of_softmax" {
        let max = logits.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let e = logits.mapv(|z| (z - max).exp());
        let sum = e.sum();
        return e.mapv(|x| (x / sum).ln());
    }
    let max = if m == "no_max" {
        0.0
    } else {
        logits.fold(f64::NEG_INFINITY, |a, &b| a.max(b))
    };
    let lse = max + logits.mapv(|z| (z - max).exp()).sum().ln();
    logits.mapv(|z| z - lse)
}

pub fn sentence_log_prob(
    step: &mut dyn FnMut(usize) -> Array1<f64>,
    context: usize,
    tokens: &[usize],
) -> f64 {
    let m = mutant();
    let is = |name: &str| m == name;
    if is("product") {
        let mut logits = step(context);
        let mut p = 1.0;
        for &y in tokens {
            p *= log_softmax(logits.view())[y].exp();
            logits = step(y);
        }
        return p.ln();
    }
    let mut logits = if is("no_context") {
        step(tokens[0])
    } else {
        step(context)
    };
    let mut total = 0.0;
    for (t, &y) in tokens.iter().enumerate() {
        if is("no_context") && t == 0 {
            continue;
        }
        if is("after_feeding") {
            logits = step(y);
            total += log_softmax(logits.view())[y];
            continue;
        }
        total += log_softmax(logits.view())[y];
        logits = step(y);
    }
    if is("mean") {
        total / tokens.len() as f64
    } else {
        total
    }
}

pub fn perplexity(log_prob: f64, n_tokens: usize) -> f64 {
    if mutant() == "perplexity_sign" {
        (log_prob / n_tokens as f64).exp()
    } else {
        (-log_prob / n_tokens as f64).exp()
    }
}

pub fn bits_per_token(log_prob: f64, n_tokens: usize) -> f64 {
    if mutant() == "bits_in_nats" {
        -log_prob / n_tokens as f64
    } else {
        -log_prob / (n_tokens as f64 * std::f64::consts::LN_2)
    }
}
