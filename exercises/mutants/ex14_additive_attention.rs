//! Planted mistakes in exercise 14, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: no_tanh | u_j = tanh(q W_q + k_j W_k)
// MUTANT: softmax_over_batch | over the source positions j
// MUTANT: no_centering | minus Σ_i α_i dα_i
// MUTANT: keys_score_path_only | α_j dc
// MUTANT: keys_value_path_only | through its score
// MUTANT: no_tanh_grad | (1 - u_j^2)

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "no_tanh",
    "softmax_over_batch",
    "no_centering",
    "keys_score_path_only",
    "keys_value_path_only",
    "no_tanh_grad",
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

/// The forward step of additive attention.
pub fn additive_attention(
    q: ArrayView2<f64>,
    keys: ArrayView3<f64>,
    w_q: ArrayView2<f64>,
    w_k: ArrayView2<f64>,
    v: ArrayView1<f64>,
) -> AttentionStep {
    let bug = mutant();
    let (s_len, b_len, hk) = keys.dim();
    let width = v.len();
    let qp = q.dot(&w_q); // (B, A)
    let mut u = Array3::zeros((b_len, s_len, width)); // (B, S, A)
    let mut e = Array2::zeros((b_len, s_len)); // (B, S)
    for j in 0..s_len {
        let kp = keys.index_axis(Axis(0), j).dot(&w_k); // (B, A)
        for b in 0..b_len {
            let pre = &qp.row(b) + &kp.row(b); // (A,)
            let row = if bug == "no_tanh" {
                pre
            } else {
                pre.mapv(f64::tanh)
            };
            e[[b, j]] = row.dot(&v);
            u.slice_mut(s![b, j, ..]).assign(&row);
        }
    }
    let mut alpha = e; // (B, S)
    if bug == "softmax_over_batch" {
        alpha.swap_axes(0, 1);
    }
    for mut row in alpha.rows_mut() {
        // Subtracting the maximum changes nothing mathematically and keeps exp finite.
        let max = row.fold(f64::NEG_INFINITY, |a, &x| a.max(x));
        row.mapv_inplace(|x| (x - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|x| x / sum);
    }
    if bug == "softmax_over_batch" {
        alpha.swap_axes(0, 1);
    }
    let mut context = Array2::zeros((b_len, hk)); // (B, Hk)
    for b in 0..b_len {
        for j in 0..s_len {
            context
                .row_mut(b)
                .scaled_add(alpha[[b, j]], &keys.slice(s![j, b, ..]));
        }
    }
    AttentionStep { u, alpha, context }
}

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
    let bug = mutant();
    let (s_len, b_len, hk) = keys.dim();
    let width = v.len();
    let mut dq = Array2::zeros(q.raw_dim()); // (B, Hq)
    let mut dkeys = Array3::zeros((s_len, b_len, hk)); // (S, B, Hk)
    let mut dw_q = Array2::zeros(w_q.raw_dim()); // (Hq, A)
    let mut dw_k = Array2::zeros(w_k.raw_dim()); // (Hk, A)
    let mut dv = Array1::zeros(width); // (A,)
    for b in 0..b_len {
        let alpha = step.alpha.row(b); // (S,)
        let dcb = dc.row(b); // (Hk,)
                             // c = Σ_j α_j k_j: each key is a value (first term) and each weight gets dc·k_j.
        let dalpha = Array1::from_shape_fn(s_len, |j| dcb.dot(&keys.slice(s![j, b, ..]))); // (S,)
        if bug != "keys_score_path_only" {
            for j in 0..s_len {
                dkeys.slice_mut(s![j, b, ..]).scaled_add(alpha[j], &dcb);
            }
        }
        // Softmax backward: de_j = α_j (dα_j − Σ_i α_i dα_i).
        let mean = if bug == "no_centering" {
            0.0
        } else {
            alpha.dot(&dalpha)
        };
        let de = Array1::from_shape_fn(s_len, |j| alpha[j] * (dalpha[j] - mean)); // (S,)
        let mut dp_sum = Array1::zeros(width); // (A,)
        for j in 0..s_len {
            let u = step.u.slice(s![b, j, ..]); // (A,)
            dv.scaled_add(de[j], &u);
            let dp = if bug == "no_tanh_grad" {
                v.mapv(|x| de[j] * x)
            } else {
                Array1::from_shape_fn(width, |a| de[j] * v[a] * (1.0 - u[a] * u[a]))
            }; // (A,)
            dp_sum += &dp;
            let k_j = keys.slice(s![j, b, ..]); // (Hk,)
            for (r, &kr) in k_j.iter().enumerate() {
                dw_k.row_mut(r).scaled_add(kr, &dp);
            }
            if bug != "keys_value_path_only" {
                dkeys.slice_mut(s![j, b, ..]).scaled_add(1.0, &w_k.dot(&dp));
            }
        }
        dq.row_mut(b).assign(&w_q.dot(&dp_sum));
        for (r, &qr) in q.row(b).iter().enumerate() {
            dw_q.row_mut(r).scaled_add(qr, &dp_sum);
        }
    }
    if bug == "zeros" {
        return AttentionGrads {
            dq: Array2::zeros(dq.raw_dim()),
            dkeys: Array3::zeros(dkeys.raw_dim()),
            dw_q: Array2::zeros(dw_q.raw_dim()),
            dw_k: Array2::zeros(dw_k.raw_dim()),
            dv: Array1::zeros(dv.raw_dim()),
        };
    }
    AttentionGrads {
        dq,
        dkeys,
        dw_q,
        dw_k,
        dv,
    }
}
