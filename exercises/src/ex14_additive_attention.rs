//! # Exercise 14: additive attention, forward and backward
//!
//! Read first: *Attention* (`book/src/attention.md`).
//!
//! One decoder step attends over the encoder's outputs. For every example $b$ of the
//! batch, with query $q$ (the decoder state) and keys $k_1 \dots k_S$ (the encoder
//! outputs, which are also the values), Bahdanau et al. (2015) score each key with a small
//! network and average the keys with the softmax of the scores:
//!
//! $$u_j = \tanh(q W_q + k_j W_k), \qquad e_j = u_j \cdot v, \qquad
//! \alpha_j = \frac{e^{e_j}}{\sum_i e^{e_i}}, \qquad c = \sum_j \alpha_j k_j .$$
//!
//! Backward, given $dc = \partial L/\partial c$:
//!
//! $$d\alpha_j = dc \cdot k_j, \qquad de_j = \alpha_j \Big(d\alpha_j - \sum_i \alpha_i\,
//! d\alpha_i\Big), \qquad dv = \sum_j de_j\, u_j, \qquad
//! dp_j = de_j\, v \odot (1 - u_j^2),$$
//!
//! where $p_j = q W_q + k_j W_k$ is the pre-activation. Then $dq = (\sum_j dp_j) W_q^\top$,
//! $dW_q = q^\top \sum_j dp_j$, $dW_k = \sum_j k_j^\top dp_j$, and each key receives two
//! terms: $dk_j = \alpha_j\, dc + dp_j W_k^\top$ (once as a value in the average, once
//! through its score). Sum every parameter gradient over the batch.
//!
//! | argument | meaning | shape |
//! |---|---|---|
//! | `q` | the queries, one per example | (B, Hq) |
//! | `keys` | the encoder outputs, time-major as everywhere in the book | (S, B, Hk) |
//! | `w_q`, `w_k` | the score network's projections | (Hq, A), (Hk, A) |
//! | `v` | reads a score off the hidden layer | (A,) |
//! | `dc` | $\partial L/\partial c$ | (B, Hk) |
//!
//! The graders compare with `recurrent::attention::Attention::Additive` and check every
//! gradient against central differences.
//!
//! Grade it with `cargo test -p exercises --test ex14_additive_attention`.
#![allow(unused_variables, unused_imports)]

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

// ANCHOR: attention_types
/// What the forward step computed, kept for the backward step.
#[derive(Clone, Debug)]
pub struct AttentionStep {
    /// $u_j = \tanh(q W_q + k_j W_k)$ for every example and key: (B, S, A).
    pub u: Array3<f64>,
    /// The weights $\alpha_j$: (B, S); each row sums to 1.
    pub alpha: Array2<f64>,
    /// The context $c = \sum_j \alpha_j k_j$: (B, Hk).
    pub context: Array2<f64>,
}

/// The gradients of the loss with respect to everything the step read.
#[derive(Clone, Debug)]
pub struct AttentionGrads {
    /// $\partial L/\partial q$: (B, Hq).
    pub dq: Array2<f64>,
    /// $\partial L/\partial k_j$: (S, B, Hk).
    pub dkeys: Array3<f64>,
    /// $\partial L/\partial W_q$: (Hq, A).
    pub dw_q: Array2<f64>,
    /// $\partial L/\partial W_k$: (Hk, A).
    pub dw_k: Array2<f64>,
    /// $\partial L/\partial v$: (A,).
    pub dv: Array1<f64>,
}
// ANCHOR_END: attention_types

// ANCHOR: additive_attention
/// The forward step of additive attention.
pub fn additive_attention(
    q: ArrayView2<f64>,
    keys: ArrayView3<f64>,
    w_q: ArrayView2<f64>,
    w_k: ArrayView2<f64>,
    v: ArrayView1<f64>,
) -> AttentionStep {
    // TODO: project once: q W_q (B, A), and for each key k_j W_k (B, A)
    //       (`keys.index_axis(Axis(0), j)` is k_j for the whole batch, (B, Hk)).
    // TODO: u[b, j, :] = tanh(qW_q[b] + k_jW_k[b]); e[b, j] = u[b, j, :]·v.
    // TODO: softmax over j (the source positions) for each example b; subtract the row's
    //       maximum before exp so large scores do not overflow.
    // TODO: context[b] = Σ_j alpha[b, j] · keys[j, b, :].
    todo!("exercise 14: the forward step of additive attention")
}
// ANCHOR_END: additive_attention

// ANCHOR: additive_attention_backward
/// The backward step of additive attention, given $\partial L/\partial c$.
pub fn additive_attention_backward(
    step: &AttentionStep,
    q: ArrayView2<f64>,
    keys: ArrayView3<f64>,
    w_q: ArrayView2<f64>,
    w_k: ArrayView2<f64>,
    v: ArrayView1<f64>,
    dc: ArrayView2<f64>,
) -> AttentionGrads {
    // TODO: dalpha[b, j] = dc[b]·k_j[b]; and the keys' first term: dkeys[j, b] += alpha[b, j] dc[b].
    // TODO: softmax backward per example: de_j = alpha_j (dalpha_j − Σ_i alpha_i dalpha_i).
    // TODO: dv += de_j u_j; dp_j = de_j v ⊙ (1 − u_j²) (A,).
    // TODO: dq[b] = (Σ_j dp_j) W_q^T; dW_q += q[b]^T (Σ_j dp_j); dW_k += k_j[b]^T dp_j;
    //       dkeys[j, b] += dp_j W_k^T (the second term). `Array2::zeros((rows, cols))`
    //       and `scaled_add(a, &x)` (y += a·x) are all you need.
    todo!("exercise 14: the backward step of additive attention")
}
// ANCHOR_END: additive_attention_backward
