//! Grades exercise 4, `bptt_truncated`, against `recurrent::Rnn::backward_truncated` for
//! every k, and, for k >= T (where truncation drops nothing), against central differences.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex04_truncated_bptt.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex04_truncated_bptt.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex04_truncated_bptt.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, shape, suspect, Problem, Suspect};
use ndarray::{s, Array1, Array2, Array3, ArrayD, Axis};
use recurrent::gradcheck::{check, Checked, TOLERANCE};

const NAMES: [&str; 5] = ["dw_xh", "dw_hh", "db", "dxs", "dh0"];
const DXS: usize = 3;
const DH0: usize = 4;

const DEFAULT_HINT: &str = "the error dhs[s] is carried back through the k steps s, s-1, \
     ..., s-k+1 (fewer if it reaches step 1 first); at each step t it visits, delta_a = \
     delta ⊙ (1 - h_t^2) adds to the gradients exactly as in exercise 3, then delta = \
     delta_a W_hh";

type Grads = [ArrayD<f64>; 5];

fn learner_grads(p: &Problem, hs: &Array3<f64>, dhs: &Array3<f64>, k: usize) -> Grads {
    let g = learner::bptt_truncated(
        p.xs.view(),
        p.h0.view(),
        p.w_xh.view(),
        p.w_hh.view(),
        hs.view(),
        dhs.view(),
        k,
    );
    [
        g.dw_xh.into_dyn(),
        g.dw_hh.into_dyn(),
        g.db.into_dyn(),
        g.dxs.into_dyn(),
        g.dh0.into_dyn(),
    ]
}

fn reference_grads(p: &Problem, dhs: &Array3<f64>, k: usize) -> Grads {
    let rnn = p.rnn();
    let cache = rnn
        .forward(p.xs.view(), p.h0.view())
        .expect("reference forward");
    let back = rnn
        .backward_truncated(&cache, dhs.view(), k)
        .expect("reference backward");
    [
        back.grads.w_xh.into_dyn(),
        back.grads.w_hh.into_dyn(),
        back.grads.b.into_dyn(),
        back.dxs.into_dyn(),
        back.ds0.into_dyn(),
    ]
}

fn expected_shapes(p: &Problem) -> [Vec<usize>; 5] {
    let common::Shape { t, b, d, h } = p.shape;
    [vec![h, d], vec![h, h], vec![h], vec![t, b, d], vec![b, h]]
}

#[track_caller]
fn assert_shapes(p: &Problem, got: &Grads) {
    for (i, expected) in expected_shapes(p).iter().enumerate() {
        assert_shape(
            NAMES[i],
            got[i].shape(),
            expected,
            "each gradient has the shape of what it differentiates (as in exercise 3)",
        );
    }
}

/// Truncated BPTT with a walk from step s down to `earliest(s)`; `dh0_always` adds every
/// walk's leftover to dh0, `dxs_assigned` assigns dxs[t] instead of adding to it.
fn variant(
    p: &Problem,
    hs: &Array3<f64>,
    dhs: &Array3<f64>,
    earliest: impl Fn(usize) -> usize,
    dh0_always: bool,
    dxs_assigned: bool,
) -> Grads {
    let common::Shape { t: t_len, b, d, h } = p.shape;
    let mut dw_xh = Array2::<f64>::zeros((h, d));
    let mut dw_hh = Array2::<f64>::zeros((h, h));
    let mut db = Array1::<f64>::zeros(h);
    let mut dxs = Array3::<f64>::zeros((t_len, b, d));
    let mut dh0 = Array2::<f64>::zeros((b, h));
    for s in (0..t_len).rev() {
        let mut delta = dhs.index_axis(Axis(0), s).to_owned();
        let first = earliest(s);
        for t in (first..=s).rev() {
            let h_prev = if t == 0 {
                p.h0.view()
            } else {
                hs.index_axis(Axis(0), t - 1)
            };
            let da = &delta * &hs.index_axis(Axis(0), t).mapv(|v| 1.0 - v * v);
            dw_xh += &da.t().dot(&p.xs.index_axis(Axis(0), t));
            dw_hh += &da.t().dot(&h_prev);
            db += &da.sum_axis(Axis(0));
            let dx = da.dot(&p.w_xh);
            let mut slot = dxs.index_axis_mut(Axis(0), t);
            if dxs_assigned {
                slot.assign(&dx);
            } else {
                slot += &dx;
            }
            delta = da.dot(&p.w_hh);
        }
        if first == 0 || dh0_always {
            dh0 += &delta;
        }
    }
    [
        dw_xh.into_dyn(),
        dw_hh.into_dyn(),
        db.into_dyn(),
        dxs.into_dyn(),
        dh0.into_dyn(),
    ]
}

fn suspects(p: &Problem, hs: &Array3<f64>, dhs: &Array3<f64>, k: usize, i: usize) -> Vec<Suspect> {
    let name = NAMES[i];
    let t_len = p.shape.t;
    let exact = |s: usize| (s + 1).saturating_sub(k);
    let mut list: Vec<(String, Grads)> = Vec::new();
    if i == DXS {
        list.push((
            "dxs[t] is visited by several walks (one per error injected at or after step t): \
             add (+=) into dxs[t], don't assign it"
                .into(),
            variant(p, hs, dhs, exact, false, true),
        ));
    }
    list.push((
        format!("{name} matches full BPTT: did you stop after k steps? The error from step s visits s, s-1, ..., s-k+1 only"),
        reference_grads(p, dhs, t_len),
    ));
    list.push((
        format!("{name} matches BPTT(k+1): your window is one step too long (the error from step s visits k steps, s itself included: s, ..., s-k+1)"),
        reference_grads(p, dhs, k + 1),
    ));
    if k >= 2 {
        list.push((
            format!("{name} matches BPTT(k-1): your window is one step too short (the error from step s visits k steps, s itself included: s, ..., s-k+1)"),
            reference_grads(p, dhs, k - 1),
        ));
    }
    list.push((
        format!("{name} matches truncation at fixed chunk boundaries (0, k, 2k, ...): here each error gets its own k steps, counted back from the step where it was injected"),
        variant(p, hs, dhs, |s| (s / k) * k, false, false),
    ));
    if i == DH0 {
        list.push((
            "dh0 received errors whose walk stopped before step 1: only a walk that gets \
             through step 1 (index 0) reaches h0"
                .into(),
            variant(p, hs, dhs, exact, true, false),
        ));
    }
    list.into_iter()
        .map(|(hint, g)| suspect(hint, g[i].clone()))
        .collect()
}

#[track_caller]
fn compare_with_reference(p: &Problem, dhs: &Array3<f64>, k: usize, context: &str) {
    let hs = p.hs();
    let got = learner_grads(p, &hs, dhs, k);
    assert_shapes(p, &got);
    let expected = reference_grads(p, dhs, k);
    for i in 0..5 {
        assert_agrees(
            NAMES[i],
            &format!("with k = {k}, {context}"),
            got[i].view(),
            expected[i].view(),
            &suspects(p, &hs, dhs, k, i),
            DEFAULT_HINT,
        );
    }
}

#[test]
fn gradients_have_the_right_shapes() {
    for p in Problem::all() {
        let got = learner_grads(&p, &p.hs(), &p.g, 2);
        assert_shapes(&p, &got);
    }
}

#[test]
fn k_of_at_least_t_is_full_bptt_and_passes_the_gradient_check() {
    for p in Problem::all() {
        let hs = p.hs();
        for k in [p.shape.t, p.shape.t + 2] {
            let got = learner_grads(&p, &hs, &p.g, k);
            assert_shapes(&p, &got);
            let values = [
                p.w_xh.clone().into_dyn(),
                p.w_hh.clone().into_dyn(),
                p.b.clone().into_dyn(),
                p.xs.clone().into_dyn(),
                p.h0.clone().into_dyn(),
            ];
            let tensors: Vec<Checked> = (0..5)
                .map(|i| Checked::new(NAMES[i], values[i].clone(), got[i].clone()))
                .collect();
            let report = check(&tensors, |v| {
                let q = Problem {
                    w_xh: v[0].clone().into_dimensionality().expect("2-d"),
                    w_hh: v[1].clone().into_dimensionality().expect("2-d"),
                    b: v[2].clone().into_dimensionality().expect("1-d"),
                    xs: v[3].clone().into_dimensionality().expect("3-d"),
                    h0: v[4].clone().into_dimensionality().expect("2-d"),
                    ..p.clone()
                };
                (&q.hs() * &q.g).sum()
            });
            if !report.passes(TOLERANCE) {
                // Name the likely mistake by comparing with the reference.
                compare_with_reference(&p, &p.g, k, &p.context());
                panic!(
                    "with k = {k} >= T nothing is truncated, so the gradients must pass the \
                     gradient check {}:\n{report}\n{DEFAULT_HINT}",
                    p.context()
                );
            }
        }
    }
}

#[test]
fn k_one_keeps_each_error_at_its_own_step() {
    for p in Problem::all() {
        compare_with_reference(&p, &p.g, 1, &p.context());
    }
}

#[test]
fn matches_the_reference_for_every_k() {
    for p in Problem::all() {
        for k in 1..=p.shape.t + 1 {
            compare_with_reference(&p, &p.g, k, &p.context());
        }
    }
}

#[test]
fn dh0_only_gets_errors_whose_walk_reaches_step_1() {
    // Only h_5 is read: with k = 2 its error visits steps 5 and 4 and never reaches h0.
    let p = Problem::new(shape(5, 2, 3, 4), 41);
    let mut dhs = Array3::zeros(p.g.raw_dim());
    dhs.slice_mut(s![4, .., ..])
        .assign(&p.g.slice(s![4, .., ..]));
    compare_with_reference(
        &p,
        &dhs,
        2,
        &format!("with dhs zero except at the last step, {}", p.context()),
    );
    compare_with_reference(&p, &p.g, 3, &p.context());
}

#[test]
fn a_single_step_and_a_single_example() {
    for s in [shape(1, 1, 1, 1), shape(1, 1, 3, 2), shape(4, 1, 2, 3)] {
        let p = Problem::new(s, 51);
        for k in [1, 2, 5] {
            compare_with_reference(&p, &p.g, k, &format!("with B = 1, {}", p.context()));
        }
    }
}
