//! Grades exercise 14, additive attention: the forward step against
//! `recurrent::attention::Attention::Additive` (one query per example), and each gradient
//! against central differences of $L = \sum dc \odot c$ and against the crate's backward.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex14_additive_attention.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex14_additive_attention.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex14_additive_attention.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, diagnose, suspect, Suspect};
use ndarray::{s, Array1, Array2, Array3, ArrayD, Axis};
use rand::Rng;
use recurrent::attention::{Additive, Attention};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::rng;

/// One random problem.
#[derive(Clone, Debug)]
struct Problem {
    seed: u64,
    q: Array2<f64>,    // (B, Hq)
    keys: Array3<f64>, // (S, B, Hk)
    w_q: Array2<f64>,  // (Hq, A)
    w_k: Array2<f64>,  // (Hk, A)
    v: Array1<f64>,    // (A,)
    dc: Array2<f64>,   // (B, Hk)
}

impl Problem {
    fn new(seed: u64) -> Problem {
        let g = &mut rng(14_000 + seed);
        let (b, s_len) = (g.random_range(1..=3), g.random_range(1..=5));
        let (hq, hk, a) = (
            g.random_range(1..=4),
            g.random_range(1..=4),
            g.random_range(1..=4),
        );
        let mut r2 = |r, c| Array2::from_shape_simple_fn((r, c), || g.random_range(-1.2..1.2));
        let (q, w_q, w_k, dc) = (r2(b, hq), r2(hq, a), r2(hk, a), r2(b, hk));
        let g = &mut rng(15_000 + seed);
        let keys = Array3::from_shape_simple_fn((s_len, b, hk), || g.random_range(-1.5..1.5));
        let v = Array1::from_shape_simple_fn(a, || g.random_range(-1.5..1.5));
        Problem {
            seed,
            q,
            keys,
            w_q,
            w_k,
            v,
            dc,
        }
    }

    fn all() -> Vec<Problem> {
        (0..8).map(Problem::new).collect()
    }

    fn context(&self) -> String {
        let (s_len, b, hk) = self.keys.dim();
        format!(
            "with (B, S, Hq, Hk, A) = ({b}, {s_len}, {}, {hk}, {}), seed {}",
            self.q.ncols(),
            self.v.len(),
            self.seed
        )
    }

    fn attention(&self) -> Attention<f64> {
        Attention::Additive(Additive {
            w_q: self.w_q.clone(),
            w_k: self.w_k.clone(),
            v: self.v.clone(),
        })
    }

    /// The crate's forward step: weights (B, S) and context (B, Hk).
    fn reference_forward(&self) -> (Array2<f64>, Array2<f64>) {
        let queries = self.q.clone().insert_axis(Axis(0)); // (1, B, Hq)
        let cache = self
            .attention()
            .forward(queries.view(), self.keys.view())
            .expect("the reference forward");
        (
            cache.weights.index_axis(Axis(0), 0).to_owned(),
            cache.context.index_axis(Axis(0), 0).to_owned(),
        )
    }

    fn learner_step(&self) -> learner::AttentionStep {
        learner::additive_attention(
            self.q.view(),
            self.keys.view(),
            self.w_q.view(),
            self.w_k.view(),
            self.v.view(),
        )
    }
}

const NAMES: [&str; 5] = ["dq", "dkeys", "dw_q", "dw_k", "dv"];

const DEFAULT_HINTS: [&str; 5] = [
    "dq = (Σ_j dp_j) W_q^T with dp_j = de_j v ⊙ (1 - u_j^2)",
    "each key gets two terms: dk_j = α_j dc (as a value in the average) + dp_j W_k^T (through \
     its score)",
    "dW_q = q^T Σ_j dp_j, summed over the batch",
    "dW_k = Σ_j k_j^T dp_j, summed over the batch",
    "dv = Σ_j de_j u_j, summed over the batch",
];

type Grads = [ArrayD<f64>; 5];

/// The learner's backward step, from the reference forward step's values (so that a
/// forward mistake does not fail the backward tests twice).
fn learner_grads(p: &Problem) -> Grads {
    let (alpha, context) = p.reference_forward();
    let u = hidden(p);
    let step = learner::AttentionStep { u, alpha, context };
    let g = learner::additive_attention_backward(
        &step,
        p.q.view(),
        p.keys.view(),
        p.w_q.view(),
        p.w_k.view(),
        p.v.view(),
        p.dc.view(),
    );
    [
        g.dq.into_dyn(),
        g.dkeys.into_dyn(),
        g.dw_q.into_dyn(),
        g.dw_k.into_dyn(),
        g.dv.into_dyn(),
    ]
}

/// u_j = tanh(q W_q + k_j W_k): (B, S, A).
fn hidden(p: &Problem) -> Array3<f64> {
    let (s_len, b, _) = p.keys.dim();
    let qp = p.q.dot(&p.w_q); // (B, A)
    Array3::from_shape_fn((b, s_len, p.v.len()), |(b, j, a)| {
        (qp[[b, a]] + p.keys.slice(s![j, b, ..]).dot(&p.w_k.column(a))).tanh()
    })
}

fn reference_grads(p: &Problem) -> Grads {
    let queries = p.q.clone().insert_axis(Axis(0));
    let attn = p.attention();
    let cache = attn
        .forward(queries.view(), p.keys.view())
        .expect("forward");
    let dc = p.dc.clone().insert_axis(Axis(0));
    let back = attn.backward(&cache, dc.view()).expect("backward");
    let grads = back.grads.expect("additive attention has parameters");
    [
        back.dqueries.index_axis(Axis(0), 0).to_owned().into_dyn(),
        back.dkeys.into_dyn(),
        grads.w_q.into_dyn(),
        grads.w_k.into_dyn(),
        grads.v.into_dyn(),
    ]
}

#[derive(Clone, Copy, PartialEq)]
enum Mistake {
    NoCentering,
    KeysScorePathOnly,
    KeysValuePathOnly,
    NoTanhGrad,
}

const MISTAKES: [Mistake; 4] = [
    Mistake::NoCentering,
    Mistake::KeysScorePathOnly,
    Mistake::KeysValuePathOnly,
    Mistake::NoTanhGrad,
];

fn hint(m: Mistake) -> &'static str {
    match m {
        Mistake::NoCentering => {
            "the softmax backward is incomplete: de_j = α_j (dα_j minus Σ_i α_i dα_i), since \
             raising one weight lowers all the others"
        }
        Mistake::KeysScorePathOnly => {
            "dkeys misses the value path: c = Σ_j α_j k_j, so k_j also gets α_j dc"
        }
        Mistake::KeysValuePathOnly => {
            "dkeys misses the score path: k_j also reaches the loss through its score, which \
             adds dp_j W_k^T"
        }
        Mistake::NoTanhGrad => "the tanh derivative is missing: dp_j = de_j v ⊙ (1 - u_j^2)",
    }
}

/// The backward step with one mistake made, written independently of the learner's.
fn variant(p: &Problem, m: Mistake) -> Grads {
    let (alpha, _) = p.reference_forward();
    let u = hidden(p);
    let (s_len, b_len, _) = p.keys.dim();
    let width = p.v.len();
    let mut dq = Array2::zeros(p.q.raw_dim());
    let mut dkeys = Array3::zeros(p.keys.raw_dim());
    let mut dw_q = Array2::zeros(p.w_q.raw_dim());
    let mut dw_k = Array2::zeros(p.w_k.raw_dim());
    let mut dv = Array1::zeros(width);
    for b in 0..b_len {
        let k_b = p.keys.slice(s![.., b, ..]); // (S, Hk)
        let dalpha = k_b.dot(&p.dc.row(b)); // (S,)
        let a = alpha.row(b);
        let mean = if m == Mistake::NoCentering {
            0.0
        } else {
            a.dot(&dalpha)
        };
        let de = &a * &dalpha.mapv(|x| x - mean); // (S,)
        let u_b = u.slice(s![b, .., ..]); // (S, A)
        dv += &u_b.t().dot(&de);
        let dp = Array2::from_shape_fn((s_len, width), |(j, k)| {
            let t = if m == Mistake::NoTanhGrad {
                1.0
            } else {
                1.0 - u_b[[j, k]] * u_b[[j, k]]
            };
            de[j] * p.v[k] * t
        }); // (S, A)
        let dp_sum = dp.sum_axis(Axis(0)); // (A,)
        dq.row_mut(b).assign(&p.w_q.dot(&dp_sum));
        dw_q +=
            &p.q.row(b)
                .insert_axis(Axis(1))
                .dot(&dp_sum.insert_axis(Axis(0)));
        dw_k += &k_b.t().dot(&dp);
        let mut dk = Array2::zeros(k_b.raw_dim()); // (S, Hk)
        if m != Mistake::KeysScorePathOnly {
            dk += &a
                .insert_axis(Axis(1))
                .dot(&p.dc.row(b).insert_axis(Axis(0)));
        }
        if m != Mistake::KeysValuePathOnly {
            dk += &dp.dot(&p.w_k.t());
        }
        dkeys.slice_mut(s![.., b, ..]).assign(&dk);
    }
    [
        dq.into_dyn(),
        dkeys.into_dyn(),
        dw_q.into_dyn(),
        dw_k.into_dyn(),
        dv.into_dyn(),
    ]
}

/// The mistaken variants of gradient `k`, except those that are zero up to rounding: without the
/// tanh derivative dq is exactly zero (Σ_j de_j = 0), and an all-zero answer is better
/// told as such.
fn suspects(p: &Problem, k: usize) -> Vec<Suspect> {
    MISTAKES
        .iter()
        .filter(|&&m| variant(p, m)[k].iter().any(|x| x.abs() > 1e-12))
        .map(|&m| {
            suspect(
                format!("{} matches a backward pass where {}", NAMES[k], hint(m)),
                variant(p, m)[k].clone(),
            )
        })
        .collect()
}

fn value_of(p: &Problem, k: usize) -> ArrayD<f64> {
    match k {
        0 => p.q.clone().into_dyn(),
        1 => p.keys.clone().into_dyn(),
        2 => p.w_q.clone().into_dyn(),
        3 => p.w_k.clone().into_dyn(),
        _ => p.v.clone().into_dyn(),
    }
}

/// $L = \sum dc \odot c$ from the reference forward, with tensor `k` set to `value`.
fn loss_with(p: &Problem, k: usize, value: &ArrayD<f64>) -> f64 {
    let mut q = p.clone();
    let v = value.clone();
    match k {
        0 => q.q = v.into_dimensionality().expect("2-d"),
        1 => q.keys = v.into_dimensionality().expect("3-d"),
        2 => q.w_q = v.into_dimensionality().expect("2-d"),
        3 => q.w_k = v.into_dimensionality().expect("2-d"),
        _ => q.v = v.into_dimensionality().expect("1-d"),
    }
    (&q.reference_forward().1 * &q.dc).sum()
}

#[track_caller]
fn gradient_check(k: usize) {
    for p in Problem::all() {
        let got = learner_grads(&p);
        assert_shape(
            NAMES[k],
            got[k].shape(),
            value_of(&p, k).shape(),
            DEFAULT_HINTS[k],
        );
        let tensor = Checked::new(NAMES[k], value_of(&p, k), got[k].clone());
        let report = check(&[tensor], |v| loss_with(&p, k, &v[0]));
        let r = report.get(NAMES[k]).expect("the checked tensor");
        if r.max_rel_error > TOLERANCE {
            let expected = &reference_grads(&p)[k];
            let hint = diagnose(
                NAMES[k],
                got[k].view(),
                expected.view(),
                &suspects(&p, k),
                DEFAULT_HINTS[k],
            );
            panic!(
                "{} is off (max rel err {:.1e} against central differences): {hint}\n  worst \
                 entry: index {:?}, yours {:.6}, numeric {:.6}, {}",
                NAMES[k],
                r.max_rel_error,
                r.worst_index,
                r.analytic,
                r.numeric,
                p.context()
            );
        }
    }
}

#[test]
fn the_weights_and_context_match_the_reference() {
    for p in Problem::all() {
        let step = p.learner_step();
        let (alpha, context) = p.reference_forward();
        let (s_len, b, _) = p.keys.dim();
        assert_shape(
            "u",
            step.u.shape(),
            &[b, s_len, p.v.len()],
            "u holds tanh(q W_q + k_j W_k) for every example b and key j: (B, S, A)",
        );
        let no_tanh = {
            // Without tanh the scores are linear: e_j = (q W_q + k_j W_k)·v.
            let qp = p.q.dot(&p.w_q);
            let e = Array2::from_shape_fn((b, s_len), |(bb, j)| {
                (&qp.row(bb) + &p.keys.slice(s![j, bb, ..]).dot(&p.w_k)).dot(&p.v)
            });
            softmax_rows(&e)
        };
        let over_batch = {
            let e = Array2::from_shape_fn((b, s_len), |(bb, j)| {
                hidden(&p).slice(s![bb, j, ..]).dot(&p.v)
            });
            softmax_rows(&e.t().to_owned()).t().to_owned()
        };
        let alpha_suspects = [
            suspect(
                "the scores skip the tanh: u_j = tanh(q W_q + k_j W_k), then e_j = u_j · v",
                no_tanh.into_dyn(),
            ),
            suspect(
                "the softmax runs over the batch; it must run over the source positions j of \
                 each example (each row of alpha sums to 1)",
                over_batch.into_dyn(),
            ),
        ];
        assert_agrees(
            "alpha",
            &p.context(),
            step.alpha.view().into_dyn(),
            alpha.view().into_dyn(),
            &alpha_suspects,
            "alpha = softmax over j of e_j = tanh(q W_q + k_j W_k) · v, for each example",
        );
        assert_agrees(
            "context",
            &p.context(),
            step.context.view().into_dyn(),
            context.view().into_dyn(),
            &[],
            "the context is the weighted mean of the keys: c = Σ_j α_j k_j",
        );
    }
}

fn softmax_rows(e: &Array2<f64>) -> Array2<f64> {
    let mut out = e.clone();
    for mut row in out.rows_mut() {
        let max = row.fold(f64::NEG_INFINITY, |a, &x| a.max(x));
        row.mapv_inplace(|x| (x - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|x| x / sum);
    }
    out
}

#[test]
fn large_scores_do_not_overflow() {
    let mut p = Problem::new(3);
    p.v.mapv_inplace(|x| x * 800.0);
    let step = p.learner_step();
    assert!(
        step.alpha.iter().all(|a| a.is_finite()),
        "alpha has NaN or infinity when scores are large (|e| ~ 1000): subtract each row's \
         maximum score before exp"
    );
}

#[test]
fn dq_passes_the_gradient_check() {
    gradient_check(0);
}

#[test]
fn dkeys_passes_the_gradient_check() {
    gradient_check(1);
}

#[test]
fn dw_q_passes_the_gradient_check() {
    gradient_check(2);
}

#[test]
fn dw_k_passes_the_gradient_check() {
    gradient_check(3);
}

#[test]
fn dv_passes_the_gradient_check() {
    gradient_check(4);
}

#[test]
fn matches_the_reference_backward() {
    for p in Problem::all() {
        let got = learner_grads(&p);
        let expected = reference_grads(&p);
        for k in 0..5 {
            assert_agrees(
                NAMES[k],
                &p.context(),
                got[k].view(),
                expected[k].view(),
                &suspects(&p, k),
                DEFAULT_HINTS[k],
            );
        }
    }
}
