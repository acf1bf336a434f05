//! Grades exercise 15: `distribution` against `recurrent::sampling::distribution` over
//! temperatures, top-k and extreme logits, and `draw` at the edges of its slices and
//! statistically. Each test is built so that one classic mistake fails it, and its message
//! names that mistake.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex15_sampling.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex15_sampling.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex15_sampling.rs"]
mod learner;

use ndarray::{array, Array1};
use rand::Rng;
use recurrent::init::rng;
use recurrent::sampling::{distribution, SamplingConfig};

/// Both sides compute the same softmax in f64; anything above rounding is a mistake.
const TOL: f64 = 1e-12;

fn expected(logits: &Array1<f64>, temperature: f64, top_k: Option<usize>) -> Vec<f64> {
    let config = SamplingConfig {
        temperature,
        top_k,
        ..SamplingConfig::default()
    };
    distribution(logits.view(), &config).expect("valid logits and config")
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Compares the learner's distribution with the crate's and names the likely mistake.
#[track_caller]
fn grade(logits: &Array1<f64>, temperature: f64, top_k: Option<usize>, likely: &str) {
    let got = learner::distribution(logits.view(), temperature, top_k);
    let want = expected(logits, temperature, top_k);
    let what =
        format!("distribution(logits = {logits}, temperature = {temperature}, top_k = {top_k:?})");
    assert_eq!(
        got.len(),
        want.len(),
        "{what} returned {} probabilities, expected one per logit ({})",
        got.len(),
        want.len()
    );
    if got.iter().any(|p| !p.is_finite()) {
        panic!(
            "{what} returned {got:?}, which is not finite.\nLikely mistake: exp of a large \
             logit overflows to inf (and inf / inf is NaN): subtract the largest scaled \
             logit from every one before exp; softmax does not change under a shift"
        );
    }
    if max_diff(&got, &want) < TOL {
        return;
    }
    let sum: f64 = got.iter().sum();
    let hint = if (sum - 1.0).abs() > 1e-9 {
        format!(
            "the probabilities sum to {sum}, not 1: renormalise after dropping tokens (divide \
             by the sum of the exponentials of the kept logits only)"
        )
    } else if temperature != 1.0
        && max_diff(&got, &expected(logits, 1.0 / temperature, top_k)) < TOL
    {
        "this is the distribution at temperature 1/τ: divide the logits by the temperature, \
         do not multiply"
            .to_string()
    } else {
        likely.to_string()
    };
    panic!("{what}\n  returned {got:?}\n  expected {want:?}\nLikely mistake: {hint}");
}

#[test]
fn temperature_one_is_the_softmax() {
    let hint = "at τ = 1 and no top-k this is the plain softmax: p_i = exp(z_i) / Σ exp(z_j)";
    grade(&array![1.0, 2.0, 3.0], 1.0, None, hint);
    grade(&array![0.0], 1.0, None, hint);
    grade(&array![-2.0, 0.5, 0.5, 4.0, -1.0], 1.0, None, hint);
}

#[test]
fn the_temperature_divides_the_logits() {
    let hint = "p_i = exp(z_i / τ) / Σ exp(z_j / τ): divide the logits by the temperature \
                before the softmax (not after, not multiplied)";
    let logits = array![0.3, -1.2, 2.0, 0.9];
    for tau in [0.25, 0.5, 2.0, 5.0] {
        grade(&logits, tau, None, hint);
    }
    let cold = learner::distribution(logits.view(), 0.05, None);
    assert!(
        cold[2] > 0.99,
        "at τ = 0.05 the largest logit (index 2) should take almost all the probability, got \
         {cold:?}.\nLikely mistake: divide the logits by the temperature, do not multiply"
    );
}

#[test]
fn large_logits_and_small_temperatures_do_not_overflow() {
    let hint = "subtract the largest scaled logit before exp";
    grade(&array![1000.0, 999.0, 990.0], 1.0, None, hint);
    grade(&array![3.0, 2.0, -1.0], 0.01, None, hint);
    grade(&array![-800.0, -805.0], 1.0, None, hint);
}

#[test]
fn top_k_keeps_exactly_the_k_largest() {
    let logits = array![0.1, 2.0, -1.0, 1.5, 0.7, 1.9];
    for k in 1..=6 {
        let got = learner::distribution(logits.view(), 1.0, Some(k));
        let kept = got.iter().filter(|&&p| p > 0.0).count();
        if kept != k {
            let largest = got.iter().position(|&p| p > 0.0).map(|i| logits[i]);
            let hint = if kept > k {
                "keep exactly k tokens: the threshold is the k-th largest, sorted[k - 1] \
                 (0-based), not sorted[k]"
            } else {
                "keep the k largest logits and set the others to -inf before the softmax"
            };
            panic!(
                "with top_k = {k} on logits {logits}, {kept} tokens have probability > 0 \
                 (the first kept has logit {largest:?}): {got:?}.\nLikely mistake: {hint}"
            );
        }
        grade(
            &logits,
            1.0,
            Some(k),
            "keep the k largest logits (sort in decreasing order), set the rest to -inf, then \
             the softmax; the kept tokens must sum to 1",
        );
    }
}

#[test]
fn top_k_with_temperature_ties_and_large_k() {
    let hint = "keep the k largest logits (the ones tied with the k-th largest too), then a \
                softmax of logits / τ over them; k ≥ V keeps every token";
    grade(&array![1.0, 3.0, 3.0, 0.0], 0.7, Some(2), hint);
    grade(&array![1.0, 3.0, 3.0, 0.0], 1.0, Some(1), hint);
    grade(&array![0.5, -0.5, 2.5], 2.0, Some(3), hint);
    grade(&array![0.5, -0.5, 2.5], 1.0, Some(10), hint);
    grade(&array![400.0, 390.0, -400.0, 395.0], 0.5, Some(2), hint);
}

#[track_caller]
fn grade_draw(probs: &[f64], u: f64, want: usize) {
    let got = learner::draw(probs, u);
    if got == want {
        return;
    }
    let hint = if got >= probs.len() {
        "the index is past the last token: when rounding leaves the total a hair below 1 and u \
         lands above it, return the last token with probability > 0"
            .to_string()
    } else if probs[got] == 0.0 {
        "you returned a token of probability 0: compare u < cumulative (strictly), so a token \
         with an empty slice is never drawn"
            .to_string()
    } else {
        format!(
            "return the first token whose cumulative probability exceeds u: token {want}'s \
             slice is [{:.3}, {:.3})",
            probs[..want].iter().sum::<f64>(),
            probs[..=want].iter().sum::<f64>()
        )
    };
    panic!("draw({probs:?}, u = {u}) returned {got}, expected {want}.\nLikely mistake: {hint}");
}

#[test]
fn draw_inverts_the_cumulative_distribution() {
    let probs = [0.2, 0.0, 0.5, 0.3];
    grade_draw(&probs, 0.0, 0);
    grade_draw(&probs, 0.19, 0);
    grade_draw(&probs, 0.2, 2);
    grade_draw(&probs, 0.45, 2);
    grade_draw(&probs, 0.7, 3);
    grade_draw(&probs, 0.999, 3);
    grade_draw(&[1.0], 0.5, 0);
}

#[test]
fn draw_never_picks_a_token_of_probability_zero() {
    grade_draw(&[0.0, 0.5, 0.5], 0.0, 1);
    grade_draw(&[0.25, 0.0, 0.0, 0.75], 0.25, 3);
}

#[test]
fn draw_survives_rounding_below_one() {
    // Ten tokens of 0.1 sum to 0.9999999999999999 in f64.
    let probs = [0.1; 10];
    grade_draw(&probs, 1.0 - f64::EPSILON / 2.0, 9);
    grade_draw(&[0.3, 0.7 - 1e-12, 0.0], 1.0 - 1e-13, 1);
}

#[test]
fn draws_follow_the_distribution() {
    let probs = learner::distribution(array![0.0, 1.0, 2.0, -1.0].view(), 0.8, None);
    let mut g = rng(15);
    let n = 200_000;
    let mut counts = [0usize; 4];
    for _ in 0..n {
        let i = learner::draw(&probs, g.random::<f64>());
        assert!(i < 4, "draw returned {i}, past the last of 4 tokens");
        counts[i] += 1;
    }
    for (i, (&c, &p)) in counts.iter().zip(&probs).enumerate() {
        let freq = c as f64 / n as f64;
        // Five standard deviations of a binomial frequency.
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (freq - p).abs() < 5.0 * sd + 1e-9,
            "token {i} was drawn with frequency {freq:.4} over {n} uniform draws, but its \
             probability is {p:.4}.\nLikely mistake: return the first token whose \
             cumulative probability exceeds u"
        );
    }
}
