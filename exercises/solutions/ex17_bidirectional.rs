//! Reference solution of exercise 17: a bidirectional layer as two ordinary cells, the
//! second run over the reversed sequence (Schuster & Paliwal 1997).

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

// ANCHOR: reverse_time
/// `a` with its time axis (axis 0) reversed: (T, B, N).
pub fn reverse_time(a: ArrayView3<f64>) -> Array3<f64> {
    a.slice(s![..;-1, .., ..]).as_standard_layout().into_owned()
}
// ANCHOR_END: reverse_time

// ANCHOR: bi_forward
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
    let cache_b = bwd.forward_seq(reverse_time(xs).view(), s0_bwd)?;
    let h_fwd = fwd.outputs(&cache_f); // (T, B, H)
    let h_bwd = reverse_time(bwd.outputs(&cache_b)); // (T, B, H), in input order again
    let ys = match merge {
        Merge::Concat => concatenate(Axis(2), &[h_fwd, h_bwd.view()]).expect("same T and B"), // (T, B, 2H)
        Merge::Sum => &h_fwd + &h_bwd, // (T, B, H)
    };
    Ok(BiCache {
        fwd: cache_f,
        bwd: cache_b,
        ys,
    })
}
// ANCHOR_END: bi_forward

// ANCHOR: bi_backward
/// The gradients of both cells, of `xs` and of both initial states, given `dys`.
pub fn bi_backward<C: Recurrent<f64>>(
    fwd: &C,
    bwd: &C,
    cache: &BiCache<C::Cache>,
    dys: ArrayView3<f64>,
    merge: Merge,
) -> Result<BiGradients<C::Grads, C::State>> {
    if dys.dim() != cache.ys.dim() {
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
    let f = fwd.backward_seq(&cache.fwd, dh_fwd)?;
    let b = bwd.backward_seq(&cache.bwd, reverse_time(dh_bwd).view())?;
    let dxs = &f.dxs + &reverse_time(b.dxs.view()); // (T, B, D)
    Ok(BiGradients {
        fwd: f.grads,
        bwd: b.grads,
        dxs,
        ds0_fwd: f.ds0,
        ds0_bwd: b.ds0,
    })
}
// ANCHOR_END: bi_backward
