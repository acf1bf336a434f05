//! Planted mistakes in exercise 17, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: no_reverse_input | reverse the input
// MUTANT: no_reverse_output | reverse the backward cell's outputs back
// MUTANT: swapped_halves | forward half first
// MUTANT: no_shape_check | names dys
// MUTANT: sum_halved | the whole gradient
// MUTANT: no_reverse_dy | reverse its share
// MUTANT: no_reverse_dx | reverse the backward cell's dxs
// MUTANT: dx_forward_only | fed both cells

const MUTANTS: &[&str] = &[
    "no_reverse_input",
    "no_reverse_output",
    "swapped_halves",
    "no_shape_check",
    "sum_halved",
    "no_reverse_dy",
    "no_reverse_dx",
    "dx_forward_only",
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

use ndarray::{concatenate, s, Array3, ArrayView3, Axis};
use recurrent::{Error, Merge, Recurrent, Result};

/// What the forward pass keeps: both cells' caches and the joined outputs.
pub struct BiCache<K> {
    /// The forward cell's cache.
    pub fwd: K,
    /// The backward cell's cache (of its run over the reversed sequence).
    pub bwd: K,
    /// $y_1 \dots y_T$: (T, B, 2H) or (T, B, H).
    pub ys: Array3<f64>,
}

/// What the backward pass returns.
pub struct BiGradients<G, S> {
    /// The forward cell's parameter gradients.
    pub fwd: G,
    /// The backward cell's parameter gradients.
    pub bwd: G,
    /// $\partial L / \partial x_t$, in input order: (T, B, D).
    pub dxs: Array3<f64>,
    /// $\partial L / \partial$ `s0_fwd`.
    pub ds0_fwd: S,
    /// $\partial L / \partial$ `s0_bwd`.
    pub ds0_bwd: S,
}

/// `a` with its time axis (axis 0) reversed: (T, B, N).
pub fn reverse_time(a: ArrayView3<f64>) -> Array3<f64> {
    a.slice(s![..;-1, .., ..]).as_standard_layout().into_owned()
}

/// Both directions over `xs` (T, B, D), outputs joined by `merge`.
pub fn bi_forward<C: Recurrent<f64>>(
    fwd: &C,
    bwd: &C,
    xs: ArrayView3<f64>,
    s0_fwd: &C::State,
    s0_bwd: &C::State,
    merge: Merge,
) -> Result<BiCache<C::Cache>> {
    let cache_f = fwd.forward_seq(xs, s0_fwd)?;
    let m = mutant();
    let cache_b = if m == "no_reverse_input" {
        bwd.forward_seq(xs, s0_bwd)?
    } else {
        bwd.forward_seq(reverse_time(xs).view(), s0_bwd)?
    };
    let h_fwd = fwd.outputs(&cache_f); // (T, B, H)
    let h_bwd = if m == "no_reverse_output" {
        bwd.outputs(&cache_b).to_owned()
    } else {
        reverse_time(bwd.outputs(&cache_b))
    };
    let ys = match merge {
        Merge::Concat if m == "swapped_halves" => {
            concatenate(Axis(2), &[h_bwd.view(), h_fwd]).expect("same T and B")
        }
        Merge::Concat => concatenate(Axis(2), &[h_fwd, h_bwd.view()]).expect("same T and B"),
        Merge::Sum => &h_fwd + &h_bwd, // (T, B, H)
    };
    Ok(BiCache {
        fwd: cache_f,
        bwd: cache_b,
        ys,
    })
}

/// The gradients of both cells, of `xs` and of both initial states, given `dys`.
pub fn bi_backward<C: Recurrent<f64>>(
    fwd: &C,
    bwd: &C,
    cache: &BiCache<C::Cache>,
    dys: ArrayView3<f64>,
    merge: Merge,
) -> Result<BiGradients<C::Grads, C::State>> {
    let m = mutant();
    if dys.dim() != cache.ys.dim() && m != "no_shape_check" {
        return Err(Error::Shape {
            arg: "dys",
            expected: format!("{:?}, the outputs' shape", cache.ys.dim()),
            found: dys.shape().to_vec(),
        });
    }
    let h = fwd.hidden_size();
    let (dh_fwd, dh_bwd) = match merge {
        // Each half of a concatenation depends on one direction only.
        Merge::Concat => (dys.slice(s![.., .., ..h]), dys.slice(s![.., .., h..])), // (T, B, H) each
        // ∂(a + b)/∂a = ∂(a + b)/∂b = 1: both directions receive the whole gradient.
        Merge::Sum => (dys.view(), dys.view()),
    };
    let half = dys.mapv(|x| 0.5 * x);
    let (dh_fwd, dh_bwd) = if m == "sum_halved" && merge == Merge::Sum {
        (half.view(), half.view())
    } else {
        (dh_fwd, dh_bwd)
    };
    let f = fwd.backward_seq(&cache.fwd, dh_fwd)?;
    let b = if m == "no_reverse_dy" {
        bwd.backward_seq(&cache.bwd, dh_bwd)?
    } else {
        bwd.backward_seq(&cache.bwd, reverse_time(dh_bwd).view())?
    };
    let dxs = match m.as_str() {
        "no_reverse_dx" => &f.dxs + &b.dxs,
        "dx_forward_only" => f.dxs.clone(),
        _ => &f.dxs + &reverse_time(b.dxs.view()),
    };
    Ok(BiGradients {
        fwd: f.grads,
        bwd: b.grads,
        dxs,
        ds0_fwd: f.ds0,
        ds0_bwd: b.ds0,
    })
}
