//! Planted mistakes in exercise 15, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: multiply | divide the logits by the temperature
// MUTANT: no_max | subtract the largest
// MUTANT: no_renormalise | renormalise
// MUTANT: smallest_k | the k largest
// MUTANT: k_plus_one | exactly k
// MUTANT: less_equal | probability 0
// MUTANT: next_token | first token whose
// MUTANT: no_fallback | rounding

use ndarray::ArrayView1;

const MUTANTS: &[&str] = &[
    "multiply",
    "no_max",
    "no_renormalise",
    "smallest_k",
    "k_plus_one",
    "less_equal",
    "next_token",
    "no_fallback",
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

pub fn distribution(logits: ArrayView1<f64>, temperature: f64, top_k: Option<usize>) -> Vec<f64> {
    let m = mutant();
    let is = |name: &str| m == name;
    let mut z: Vec<f64> = logits
        .iter()
        .map(|x| {
            if is("multiply") {
                x * temperature
            } else {
                x / temperature
            }
        })
        .collect();
    if let Some(k) = top_k {
        let mut sorted = z.clone();
        if is("smallest_k") {
            sorted.sort_by(|a, b| a.total_cmp(b));
        } else {
            sorted.sort_by(|a, b| b.total_cmp(a));
        }
        let kept = if is("k_plus_one") { k + 1 } else { k };
        let threshold = sorted[kept.min(z.len()) - 1];
        let smallest = is("smallest_k");
        z.iter_mut()
            .filter(|x| {
                if smallest {
                    **x > threshold
                } else {
                    **x < threshold
                }
            })
            .for_each(|x| *x = f64::NEG_INFINITY);
    }
    let max = if is("no_max") {
        0.0
    } else {
        z.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    if is("no_renormalise") {
        // Softmax over all logits first, then zero the dropped ones, without renormalising.
        let all: Vec<f64> = logits.iter().map(|x| x / temperature).collect();
        let max_all = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum_all: f64 = all.iter().map(|x| (x - max_all).exp()).sum();
        return z
            .iter()
            .zip(&all)
            .map(|(kept, x)| {
                if kept.is_finite() {
                    (x - max_all).exp() / sum_all
                } else {
                    0.0
                }
            })
            .collect();
    }
    let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

pub fn draw(probs: &[f64], u: f64) -> usize {
    let m = mutant();
    let mut cumulative = 0.0;
    for (i, p) in probs.iter().enumerate() {
        cumulative += p;
        let hit = if m == "less_equal" {
            u <= cumulative
        } else {
            u < cumulative
        };
        if hit {
            return if m == "next_token" {
                (i + 1).min(probs.len() - 1)
            } else {
                i
            };
        }
    }
    if m == "no_fallback" {
        return probs.len();
    }
    probs.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
