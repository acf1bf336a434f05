//! Reference solution of exercise 15: the sampling distribution (temperature, top-k) and
//! drawing a token by inverting the cumulative distribution.

use ndarray::ArrayView1;

// ANCHOR: distribution
/// softmax(logits / temperature), restricted to the top k logits and renormalised: (V,).
pub fn distribution(logits: ArrayView1<f64>, temperature: f64, top_k: Option<usize>) -> Vec<f64> {
    let mut z: Vec<f64> = logits.iter().map(|x| x / temperature).collect(); // (V,)
    if let Some(k) = top_k {
        let mut sorted = z.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        // Dividing by τ > 0 keeps the order, so the top k of z are the top k of the logits.
        let threshold = sorted[k.min(z.len()) - 1];
        z.iter_mut()
            .filter(|x| **x < threshold)
            .for_each(|x| *x = f64::NEG_INFINITY);
    }
    // softmax is unchanged by a shift; shifting by the max keeps every exponent ≤ 0.
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect(); // (V,)
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}
// ANCHOR_END: distribution

// ANCHOR: draw
/// The token whose slice of [0, 1) contains `u`: the first i with u < p_0 + ... + p_i.
pub fn draw(probs: &[f64], u: f64) -> usize {
    let mut cumulative = 0.0;
    for (i, p) in probs.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return i;
        }
    }
    // The sum fell short of 1 by rounding and u landed in the gap.
    probs.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
// ANCHOR_END: draw
