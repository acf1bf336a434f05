//! Grades exercise 3, `bptt`, two ways: each gradient against central differences of the
//! loss $L = \sum_t \sum G_t \odot h_t$ (so `dhs` = G) with `recurrent::gradcheck`, and
//! all of them against `recurrent::Rnn::backward`.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex03_bptt.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex03_bptt.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex03_bptt.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, diagnose, shape, suspect, Problem, Suspect};
use ndarray::{s, Array1, Array2, Array3, ArrayD, Axis};
use recurrent::gradcheck::{check, Checked, TOLERANCE};

/// The five gradients, in this order everywhere below.
const NAMES: [&str; 5] = ["dw_xh", "dw_hh", "db", "dxs", "dh0"];
const DW_XH: usize = 0;
const DW_HH: usize = 1;
const DB: usize = 2;
const DXS: usize = 3;
const DH0: usize = 4;

/// What to suspect when a gradient is wrong but no known mistake matches.
const DEFAULT_HINTS: [&str; 5] = [
    "dw_xh = sum over t of da_t^T x_t, with da_t = dL/dh_t ⊙ (1 - h_t^2) and dL/dh_t = \
     dhs[t] + the carry from step t+1",
    "dw_hh = sum over t of da_t^T h_{t-1} (h0 at the first step): did you accumulate over \
     all time steps?",
    "db = the sum of da_t over the time steps and over the batch rows",
    "dxs[t] = da_t W_xh, a (B, H)·(H, D) product, with da_t = dL/dh_t ⊙ (1 - h_t^2)",
    "dh0 = da_1 W_hh, the carry left after the loop over t",
];

type Grads = [ArrayD<f64>; 5];

fn learner_grads(p: &Problem, hs: &Array3<f64>, dhs: &Array3<f64>) -> Grads {
    let g = learner::bptt(
        p.xs.view(),
        p.h0.view(),
        p.w_xh.view(),
        p.w_hh.view(),
        hs.view(),
        dhs.view(),
    );
    [
        g.dw_xh.into_dyn(),
        g.dw_hh.into_dyn(),
        g.db.into_dyn(),
        g.dxs.into_dyn(),
        g.dh0.into_dyn(),
    ]
}

fn reference_grads(p: &Problem, dhs: &Array3<f64>) -> Grads {
    let rnn = p.rnn();
    let cache = rnn
        .forward(p.xs.view(), p.h0.view())
        .expect("reference forward");
    let back = rnn
        .backward(&cache, dhs.view())
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

const SHAPE_HINTS: [&str; 5] = [
    "dw_xh has the shape of W_xh, (H, D): da_t^T (H, B) times x_t (B, D)",
    "dw_hh has the shape of W_hh, (H, H): da_t^T (H, B) times h_(t-1) (B, H)",
    "db has the shape of b, (H,): sum da_t over the batch rows (`sum_axis(Axis(0))`)",
    "dxs has the shape of xs, (T, B, D): one (B, D) gradient per step",
    "dh0 has the shape of h0, (B, H)",
];

#[track_caller]
fn assert_shapes(p: &Problem, got: &Grads) {
    for (i, expected) in expected_shapes(p).iter().enumerate() {
        assert_shape(NAMES[i], got[i].shape(), expected, SHAPE_HINTS[i]);
    }
}

/// Planted-mistake flags for a backward pass that recognises the common mistakes.
#[derive(Clone, Copy, Default)]
struct Mistake {
    no_tanh_grad: bool,
    no_carry: bool,
    transposed_carry: bool,
    forward_walk: bool,
    /// Parameter gradients from one step only: `Some(true)` the last, `Some(false)` the
    /// first (what `=` instead of `+=` leaves after a backward walk).
    one_step: Option<bool>,
    h_t_in_dw_hh: bool,
    no_h0_in_dw_hh: bool,
}

fn variant(p: &Problem, hs: &Array3<f64>, dhs: &Array3<f64>, m: Mistake) -> Grads {
    let common::Shape { t: t_len, b, d, h } = p.shape;
    let mut dw_xh = Array2::<f64>::zeros((h, d));
    let mut dw_hh = Array2::<f64>::zeros((h, h));
    let mut db = Array1::<f64>::zeros(h);
    let mut dxs = Array3::<f64>::zeros((t_len, b, d));
    let mut carry = Array2::<f64>::zeros((b, h));
    let order: Vec<usize> = if m.forward_walk {
        (0..t_len).collect()
    } else {
        (0..t_len).rev().collect()
    };
    for t in order {
        let x_t = p.xs.index_axis(Axis(0), t);
        let h_t = hs.index_axis(Axis(0), t);
        let h_prev = if t == 0 {
            p.h0.view()
        } else {
            hs.index_axis(Axis(0), t - 1)
        };
        let mut dh = dhs.index_axis(Axis(0), t).to_owned();
        if !m.no_carry {
            dh += &carry;
        }
        let da = if m.no_tanh_grad {
            dh
        } else {
            &dh * &h_t.mapv(|v| 1.0 - v * v)
        };
        let counts = match m.one_step {
            None => true,
            Some(true) => t == t_len - 1,
            Some(false) => t == 0,
        };
        if counts {
            dw_xh += &da.t().dot(&x_t);
            let read = if m.h_t_in_dw_hh { h_t } else { h_prev };
            if !(m.no_h0_in_dw_hh && t == 0) {
                dw_hh += &da.t().dot(&read);
            }
            db += &da.sum_axis(Axis(0));
        }
        dxs.index_axis_mut(Axis(0), t).assign(&da.dot(&p.w_xh));
        carry = if m.transposed_carry {
            da.dot(&p.w_hh.t())
        } else {
            da.dot(&p.w_hh)
        };
    }
    [
        dw_xh.into_dyn(),
        dw_hh.into_dyn(),
        db.into_dyn(),
        dxs.into_dyn(),
        carry.into_dyn(),
    ]
}

/// The known mistakes, as wrong values of tensor `i`, each with its hint.
fn suspects(p: &Problem, hs: &Array3<f64>, dhs: &Array3<f64>, i: usize) -> Vec<Suspect> {
    let name = NAMES[i];
    let accumulate = format!(
        "{name} holds one time step's contribution: did you accumulate over all time steps? \
         (+= at every step, not =)"
    );
    let mut list: Vec<(String, Mistake)> = vec![
        (
            format!(
                "{name} matches a backward pass without the tanh derivative: did you multiply \
                 dL/dh_t by tanh'(a_t) = 1 - h_t^2?"
            ),
            Mistake {
                no_tanh_grad: true,
                ..Mistake::default()
            },
        ),
        (
            format!(
                "{name} matches a backward pass where only dhs[t] reaches step t: did you \
                 carry dh back through W_hh? (dL/dh_(t-1) = dhs[t-1] + da_t W_hh)"
            ),
            Mistake {
                no_carry: true,
                ..Mistake::default()
            },
        ),
        (
            format!(
                "{name} matches a carry of da_t W_hh^T: the carry is da_t W_hh, not da_t \
                 W_hh^T (the forward pass multiplied by W_hh^T, so the backward pass \
                 multiplies by W_hh)"
            ),
            Mistake {
                transposed_carry: true,
                ..Mistake::default()
            },
        ),
        (
            format!(
                "{name} matches a walk from t = 1 up to T: the carry comes from step t+1, so \
                 walk from t = T down to 1 (`(0..t_len).rev()`)"
            ),
            Mistake {
                forward_walk: true,
                ..Mistake::default()
            },
        ),
        (
            accumulate.clone(),
            Mistake {
                one_step: Some(true),
                ..Mistake::default()
            },
        ),
        (
            accumulate,
            Mistake {
                one_step: Some(false),
                ..Mistake::default()
            },
        ),
    ];
    if i == DW_HH {
        list.push((
            "dw_hh pairs da_t with h_t: it should be da_t^T h_{t-1}, not h_t (the state the \
             step read, h0 at the first step)"
                .into(),
            Mistake {
                h_t_in_dw_hh: true,
                ..Mistake::default()
            },
        ));
        list.push((
            "dw_hh is missing the first step's term da_1^T h0: at the first step h_{t-1} is \
             h0, not zero"
                .into(),
            Mistake {
                no_h0_in_dw_hh: true,
                ..Mistake::default()
            },
        ));
    }
    let mut out: Vec<Suspect> = list
        .into_iter()
        .map(|(hint, m)| suspect(hint, variant(p, hs, dhs, m)[i].clone()))
        .collect();
    if i == DH0 {
        out.insert(
            0,
            suspect(
                "dh0 is all zeros: dh0 = da_1 W_hh is the carry left after the loop; did you \
                 return it?",
                ArrayD::zeros(expected_shapes(p)[DH0].clone()),
            ),
        );
    }
    out
}

/// The loss $L = \sum G \odot hs$ of the reference forward pass, with tensor `i` set to
/// `value`.
fn loss_with(p: &Problem, i: usize, value: &ArrayD<f64>) -> f64 {
    let mut q = p.clone();
    let v = value.clone();
    match i {
        DW_XH => q.w_xh = v.into_dimensionality().expect("2-d"),
        DW_HH => q.w_hh = v.into_dimensionality().expect("2-d"),
        DB => q.b = v.into_dimensionality().expect("1-d"),
        DXS => q.xs = v.into_dimensionality().expect("3-d"),
        _ => q.h0 = v.into_dimensionality().expect("2-d"),
    }
    (&q.hs() * &q.g).sum()
}

/// The value of the tensor whose gradient is `NAMES[i]`.
fn value_of(p: &Problem, i: usize) -> ArrayD<f64> {
    match i {
        DW_XH => p.w_xh.clone().into_dyn(),
        DW_HH => p.w_hh.clone().into_dyn(),
        DB => p.b.clone().into_dyn(),
        DXS => p.xs.clone().into_dyn(),
        _ => p.h0.clone().into_dyn(),
    }
}

/// Gradient-checks the learner's tensor `i` on every problem.
#[track_caller]
fn gradient_check(i: usize) {
    for p in Problem::all() {
        let hs = p.hs();
        let got = learner_grads(&p, &hs, &p.g);
        let expected_shape = &expected_shapes(&p)[i];
        assert_shape(NAMES[i], got[i].shape(), expected_shape, SHAPE_HINTS[i]);
        let tensor = Checked::new(NAMES[i], value_of(&p, i), got[i].clone());
        let report = check(&[tensor], |v| loss_with(&p, i, &v[0]));
        let r = report.get(NAMES[i]).expect("the checked tensor");
        if r.max_rel_error > TOLERANCE {
            let expected = &reference_grads(&p, &p.g)[i];
            let hint = diagnose(
                NAMES[i],
                got[i].view(),
                expected.view(),
                &suspects(&p, &hs, &p.g, i),
                DEFAULT_HINTS[i],
            );
            panic!(
                "{} is off (max rel err {:.1e} against central differences): {hint}\n  worst \
                 entry: index {:?}, yours {:.6}, numeric {:.6}, {}",
                NAMES[i],
                r.max_rel_error,
                r.worst_index,
                r.analytic,
                r.numeric,
                p.context()
            );
        }
    }
}

/// Compares all five tensors with `recurrent::Rnn::backward`.
#[track_caller]
fn compare_with_reference(p: &Problem, dhs: &Array3<f64>, context: &str) {
    let hs = p.hs();
    let got = learner_grads(p, &hs, dhs);
    assert_shapes(p, &got);
    let expected = reference_grads(p, dhs);
    for i in 0..5 {
        assert_agrees(
            NAMES[i],
            context,
            got[i].view(),
            expected[i].view(),
            &suspects(p, &hs, dhs, i),
            DEFAULT_HINTS[i],
        );
    }
}

#[test]
fn gradients_have_the_right_shapes() {
    for p in Problem::all() {
        let got = learner_grads(&p, &p.hs(), &p.g);
        assert_shapes(&p, &got);
    }
}

#[test]
fn dw_xh_passes_the_gradient_check() {
    gradient_check(DW_XH);
}

#[test]
fn dw_hh_passes_the_gradient_check() {
    gradient_check(DW_HH);
}

#[test]
fn db_passes_the_gradient_check() {
    gradient_check(DB);
}

#[test]
fn dxs_passes_the_gradient_check() {
    gradient_check(DXS);
}

#[test]
fn dh0_passes_the_gradient_check() {
    gradient_check(DH0);
}

#[test]
fn matches_the_reference_backward() {
    for seed in 0..4 {
        for p in Problem::all() {
            let p = Problem::new(p.shape, p.seed + 1000 * seed);
            compare_with_reference(&p, &p.g, &p.context());
        }
    }
}

#[test]
fn a_loss_at_the_last_step_reaches_the_first_input() {
    // Only h_T is read by the loss, so every other gradient arrives through the carry.
    let p = Problem::new(shape(6, 2, 3, 4), 21);
    let mut dhs = Array3::zeros(p.g.raw_dim());
    dhs.slice_mut(s![5, .., ..])
        .assign(&p.g.slice(s![5, .., ..]));
    compare_with_reference(
        &p,
        &dhs,
        &format!("with dhs zero except at the last step, {}", p.context()),
    );
}

#[test]
fn a_single_step_and_a_single_example() {
    for s in [shape(1, 1, 1, 1), shape(1, 1, 3, 2), shape(4, 1, 2, 3)] {
        let p = Problem::new(s, 31);
        compare_with_reference(&p, &p.g, &format!("with B = 1, {}", p.context()));
    }
}
