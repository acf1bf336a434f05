//! Attention: every decoder step picks what to read from the encoder's outputs.
//!
//! For a query $q_t$ (the decoder's state at step $t$) and the encoder's outputs
//! $k_1 \dots k_S$ (keys, which here are also the values), a score $e_{tj}$ says how well
//! $k_j$ matches $q_t$; a softmax over $j$ turns the scores into weights $\alpha_{tj}$; the
//! context is the weighted mean $c_t = \sum_j \alpha_{tj} k_j$. Two scores:
//!
//! - **additive** (Bahdanau, Cho & Bengio 2015, eq. 6 and appendix A.1.2):
//!   $e_{tj} = v^\top \tanh(W_q^\top q_t + W_k^\top k_j)$, a one-hidden-layer network with
//!   its own parameters;
//! - **dot product** (Luong, Pham & Manning 2015, "dot"): $e_{tj} = q_t^\top k_j$, no
//!   parameters, and its **scaled** form $e_{tj} = q_t^\top k_j / \sqrt{d}$ (Vaswani et
//!   al. 2017), which keeps the softmax out of saturation when $d$ is large.
//!
//! Everything is computed for all T queries at once (teacher forcing gives every decoder
//! state before attention runs), time-major like the recurrent layers: queries (T, B, Hq),
//! keys (S, B, Hk).

use crate::activations::softmax;
use crate::error::{check_finite, check_shape, require};
use crate::init::{self, SeededRng};
use crate::params::impl_params;
use crate::{Real, Result};
use ndarray::{s, Array1, Array2, Array3, Array4, ArrayView3, Axis, Zip};

/// How a query is scored against a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Attention<F> {
    /// Bahdanau's additive score, with its parameters.
    Additive(Additive<F>),
    /// Luong's dot product $q^\top k$ (needs Hq = Hk).
    Dot,
    /// The dot product divided by $\sqrt{H_k}$.
    ScaledDot,
}

/// The parameters of the additive score $v^\top \tanh(W_q^\top q + W_k^\top k)$.
#[derive(Clone, Debug, PartialEq)]
pub struct Additive<F> {
    /// $W_q$: (Hq, A), projects queries into the score's hidden layer of width A.
    pub w_q: Array2<F>,
    /// $W_k$: (Hk, A), projects keys.
    pub w_k: Array2<F>,
    /// $v$: (A,), reads a score off the hidden layer.
    pub v: Array1<F>,
}

/// The gradients of [`Additive`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdditiveGrads<F> {
    /// $\partial L/\partial W_q$: (Hq, A).
    pub w_q: Array2<F>,
    /// $\partial L/\partial W_k$: (Hk, A).
    pub w_k: Array2<F>,
    /// $\partial L/\partial v$: (A,).
    pub v: Array1<F>,
}

impl_params!(Additive, AdditiveGrads => w_q, w_k, v);

impl<F: Real> Additive<F> {
    /// Parameters from $U(\pm 1/\sqrt{\text{fan-in}})$, PyTorch's default for linear maps.
    pub fn new(
        query_size: usize,
        key_size: usize,
        width: usize,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        require(query_size > 0, "query_size", "must be at least 1, got 0")?;
        require(key_size > 0, "key_size", "must be at least 1, got 0")?;
        require(width > 0, "width", "must be at least 1, got 0")?;
        Ok(Additive {
            w_q: init::uniform(query_size, width, 1.0 / (query_size as f64).sqrt(), rng),
            w_k: init::uniform(key_size, width, 1.0 / (key_size as f64).sqrt(), rng),
            v: init::uniform(1, width, 1.0 / (width as f64).sqrt(), rng).remove_axis(Axis(0)),
        })
    }
}

/// What the forward pass keeps: the weights are also the heat map a reader looks at.
#[derive(Clone, Debug)]
pub struct AttentionCache<F> {
    queries: Array3<F>, // (T, B, Hq)
    keys: Array3<F>,    // (S, B, Hk)
    /// $\alpha_{tj}$ for every batch entry: (T, B, S).
    pub weights: Array3<F>,
    /// The contexts $c_t$: (T, B, Hk).
    pub context: Array3<F>,
    /// Additive only: $\tanh(W_q^\top q_t + W_k^\top k_j)$, (T, B, S, A).
    hidden: Option<Array4<F>>,
}

/// The gradients of an attention step.
#[derive(Clone, Debug)]
pub struct AttentionBackward<F> {
    /// The additive score's parameter gradients (`None` for the dot products).
    pub grads: Option<AdditiveGrads<F>>,
    /// $\partial L/\partial q_t$: (T, B, Hq).
    pub dqueries: Array3<F>,
    /// $\partial L/\partial k_j$, through both the scores and the context: (S, B, Hk).
    pub dkeys: Array3<F>,
}

impl<F: Real> Attention<F> {
    fn check(&self, queries: ArrayView3<F>, keys: ArrayView3<F>) -> Result<()> {
        check_shape(
            "queries",
            queries.shape(),
            &[("T", None), ("B", None), ("Hq", None)],
        )?;
        let (_, b, hq) = queries.dim();
        check_shape(
            "keys",
            keys.shape(),
            &[("S", None), ("B", Some(b)), ("Hk", None)],
        )?;
        let hk = keys.dim().2;
        match self {
            Attention::Additive(a) => {
                check_shape(
                    "queries",
                    queries.shape(),
                    &[("T", None), ("B", Some(b)), ("Hq", Some(a.w_q.nrows()))],
                )?;
                check_shape(
                    "keys",
                    keys.shape(),
                    &[("S", None), ("B", Some(b)), ("Hk", Some(a.w_k.nrows()))],
                )?;
            }
            Attention::Dot | Attention::ScaledDot => {
                check_shape(
                    "keys",
                    keys.shape(),
                    &[("S", None), ("B", Some(b)), ("Hk = Hq", Some(hq))],
                )?;
            }
        }
        require(
            !queries.is_empty() && !keys.is_empty() && hk > 0,
            "keys",
            "attention over an empty sequence",
        )?;
        check_finite("queries", &queries)?;
        check_finite("keys", &keys)
    }

    fn dot_scale(&self, hk: usize) -> F {
        match self {
            Attention::ScaledDot => F::cast(1.0 / (hk as f64).sqrt()),
            _ => F::one(),
        }
    }

    // ANCHOR: forward
    /// Attends from every query to every key: weights (T, B, S) and contexts (T, B, Hk).
    pub fn forward(
        &self,
        queries: ArrayView3<F>,
        keys: ArrayView3<F>,
    ) -> Result<AttentionCache<F>> {
        self.check(queries, keys)?;
        let (t_len, b_len, _) = queries.dim();
        let (s_len, _, hk) = keys.dim();
        let mut scores = Array3::zeros((t_len, b_len, s_len)); // (T, B, S)  e_tj
        let mut hidden = None;
        match self {
            Attention::Additive(a) => {
                let q = project(queries, &a.w_q); // (T, B, A)
                let k = project(keys, &a.w_k); // (S, B, A)
                let width = a.v.len();
                let mut u = Array4::zeros((t_len, b_len, s_len, width)); // (T, B, S, A)
                for ((t, b, j), e) in scores.indexed_iter_mut() {
                    let mut row = u.slice_mut(s![t, b, j, ..]); // (A,)
                    Zip::from(&mut row)
                        .and(q.slice(s![t, b, ..]))
                        .and(k.slice(s![j, b, ..]))
                        .for_each(|u, &q, &k| *u = (q + k).tanh());
                    *e = row.dot(&a.v);
                }
                hidden = Some(u);
            }
            Attention::Dot | Attention::ScaledDot => {
                let scale = self.dot_scale(hk);
                for ((t, b, j), e) in scores.indexed_iter_mut() {
                    *e = queries.slice(s![t, b, ..]).dot(&keys.slice(s![j, b, ..])) * scale;
                }
            }
        }
        let mut weights = Array3::zeros((t_len, b_len, s_len)); // (T, B, S)  α_tj
        let mut context = Array3::zeros((t_len, b_len, hk)); // (T, B, Hk)  c_t
        for t in 0..t_len {
            let alpha = softmax(scores.index_axis(Axis(0), t)); // (B, S)
            for b in 0..b_len {
                // c_t = Σ_j α_tj k_j
                let c = alpha.row(b).dot(&keys.slice(s![.., b, ..])); // (Hk,)
                context.slice_mut(s![t, b, ..]).assign(&c);
            }
            weights.index_axis_mut(Axis(0), t).assign(&alpha);
        }
        Ok(AttentionCache {
            queries: queries.to_owned(),
            keys: keys.to_owned(),
            weights,
            context,
            hidden,
        })
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Given $\partial L/\partial c_t$ `dcontext` (T, B, Hk), the gradients of the
    /// parameters, the queries and the keys.
    pub fn backward(
        &self,
        cache: &AttentionCache<F>,
        dcontext: ArrayView3<F>,
    ) -> Result<AttentionBackward<F>> {
        check_shape("dcontext", dcontext.shape(), &{
            let (t, b, h) = cache.context.dim();
            [("T", Some(t)), ("B", Some(b)), ("Hk", Some(h))]
        })?;
        let (keys, queries, alpha) = (&cache.keys, &cache.queries, &cache.weights);
        let (t_len, b_len, s_len) = alpha.dim();
        let hk = keys.dim().2;
        let mut dkeys = Array3::zeros(keys.dim()); // (S, B, Hk)
        let mut dscores = Array3::zeros(alpha.dim()); // (T, B, S)  ∂L/∂e_tj
        for t in 0..t_len {
            for b in 0..b_len {
                let dc = dcontext.slice(s![t, b, ..]); // (Hk,)
                let a = alpha.slice(s![t, b, ..]); // (S,)

                // c_t = Σ_j α_tj k_j: the context's gradient flows to each key in
                // proportion to its weight, and to each weight as dc · k_j.
                let dalpha = keys.slice(s![.., b, ..]).dot(&dc); // (S,)
                for j in 0..s_len {
                    dkeys.slice_mut(s![j, b, ..]).scaled_add(a[j], &dc);
                }
                // Softmax backward: ∂e_j = α_j (∂α_j − Σ_i α_i ∂α_i).
                let mean = a.dot(&dalpha);
                Zip::from(dscores.slice_mut(s![t, b, ..]))
                    .and(&a)
                    .and(&dalpha)
                    .for_each(|de, &a, &da| *de = a * (da - mean));
            }
        }
        let mut dqueries = Array3::zeros(queries.dim()); // (T, B, Hq)
        let grads = match self {
            Attention::Additive(p) => {
                let u = cache
                    .hidden
                    .as_ref()
                    .expect("the additive forward keeps its hidden layer");
                let width = p.v.len();
                let mut dv = Array1::zeros(width); // (A,)
                let mut dq_proj = Array3::zeros((t_len, b_len, width)); // (T, B, A)
                let mut dk_proj = Array3::zeros((s_len, b_len, width)); // (S, B, A)
                for ((t, b, j), &de) in dscores.indexed_iter() {
                    let row = u.slice(s![t, b, j, ..]); // (A,)

                    // e = v·u, u = tanh(pre): ∂pre = de v ⊙ (1 − u²)
                    dv.scaled_add(de, &row);
                    let dpre = Zip::from(&row)
                        .and(&p.v)
                        .map_collect(|&u, &v| de * v * (F::one() - u * u)); // (A,)
                    dq_proj.slice_mut(s![t, b, ..]).scaled_add(F::one(), &dpre);
                    dk_proj.slice_mut(s![j, b, ..]).scaled_add(F::one(), &dpre);
                }
                let (dw_q, dq) = project_backward(queries.view(), &p.w_q, dq_proj.view());
                let (dw_k, dk) = project_backward(keys.view(), &p.w_k, dk_proj.view());
                dqueries = dq;
                dkeys += &dk;
                Some(AdditiveGrads {
                    w_q: dw_q,
                    w_k: dw_k,
                    v: dv,
                })
            }
            Attention::Dot | Attention::ScaledDot => {
                let scale = self.dot_scale(hk);
                for ((t, b, j), &de) in dscores.indexed_iter() {
                    let de = de * scale;
                    // e = scale · q·k
                    dqueries
                        .slice_mut(s![t, b, ..])
                        .scaled_add(de, &keys.slice(s![j, b, ..]));
                    dkeys
                        .slice_mut(s![j, b, ..])
                        .scaled_add(de, &queries.slice(s![t, b, ..]));
                }
                None
            }
        };
        Ok(AttentionBackward {
            grads,
            dqueries,
            dkeys,
        })
    }
    // ANCHOR_END: backward
}

/// A (N, B, H) sequence as (N·B, H) rows, in (n, b) order, for one matrix multiply.
pub(crate) fn to_rows<F: Real>(x: ArrayView3<F>) -> Array2<F> {
    let (n, b, h) = x.dim();
    Array2::from_shape_vec((n * b, h), x.iter().copied().collect()).expect("N·B·H values")
}

/// (N·B, H) rows back into an (N, B, H) sequence.
pub(crate) fn from_rows<F: Real>(rows: Array2<F>, n: usize, b: usize) -> Array3<F> {
    let h = rows.ncols();
    Array3::from_shape_vec((n, b, h), rows.iter().copied().collect()).expect("N·B·H values")
}

/// `x` (N, B, H) times `w` (H, A): (N, B, A), as one matrix multiply over all rows.
fn project<F: Real>(x: ArrayView3<F>, w: &Array2<F>) -> Array3<F> {
    let (n, b, _) = x.dim();
    from_rows(to_rows(x).dot(w), n, b) // (N, B, A)
}

/// The backward pass of [`project`]: given `dy` (N, B, A), returns ∂L/∂w (H, A) and
/// ∂L/∂x (N, B, H).
fn project_backward<F: Real>(
    x: ArrayView3<F>,
    w: &Array2<F>,
    dy: ArrayView3<F>,
) -> (Array2<F>, Array3<F>) {
    let (n, b, _) = x.dim();
    let dy = to_rows(dy); // (N·B, A)
    let dw = to_rows(x).t().dot(&dy); // (H, A)
    let dx = from_rows(dy.dot(&w.t()), n, b); // (N, B, H)
    (dw, dx)
}
