//! Planted mistakes in exercise 11, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: per_tensor | one norm per tensor
// MUTANT: clip_below | only when the norm is larger
// MUTANT: no_sqrt | square root
// MUTANT: norm_squared | max_norm / norm²
// MUTANT: by_value | clipping by value
// MUTANT: after_norm | norm before clipping
// MUTANT: always_divide | divided by a zero norm

use ndarray::ArrayD;

const MUTANTS: &[&str] = &[
    "per_tensor",
    "clip_below",
    "no_sqrt",
    "norm_squared",
    "by_value",
    "after_norm",
    "always_divide",
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

fn norm_of<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.map(|&x| x * x).sum::<f64>().sqrt()
}

pub fn clip_grad_norm(grads: &mut [ArrayD<f64>], max_norm: f64) -> f64 {
    let m = mutant();
    let is = |name: &str| m == name;
    let squares: f64 = grads.iter().flat_map(|g| g.iter()).map(|&x| x * x).sum();
    let norm = if is("no_sqrt") {
        squares
    } else {
        squares.sqrt()
    };
    if is("per_tensor") {
        for g in grads.iter_mut() {
            let own = norm_of(g.iter());
            if own > max_norm {
                g.mapv_inplace(|x| x * max_norm / own);
            }
        }
        return norm;
    }
    if is("by_value") {
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x.clamp(-max_norm, max_norm));
        }
        return norm;
    }
    if is("always_divide") {
        // Divides by the norm unconditionally, then multiplies by min(norm, max_norm).
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x / norm * norm.min(max_norm));
        }
        return norm;
    }
    let clip = if is("clip_below") {
        norm != max_norm
    } else {
        norm > max_norm
    };
    if clip {
        let scale = if is("norm_squared") {
            max_norm / (norm * norm)
        } else {
            max_norm / norm
        };
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x * scale);
        }
    }
    if is("after_norm") {
        return norm_of(grads.iter().flat_map(|g| g.iter()));
    }
    norm
}
