//! Grades exercise 6, `lstm_cell_backward`, two ways: each gradient against central
//! differences of $L = \sum dh \odot h_t + \sum dc \odot c_t$ (so that
//! $\partial L/\partial h_t$ = `dh` and $\partial L/\partial c_t$ = `dc` from outside)
//! with `recurrent::gradcheck`, and all of them against `recurrent::Lstm::backward` run
//! on a sequence of one step.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex06_lstm_cell_backward.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex06_lstm_cell_backward.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex06_lstm_cell_backward.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, diagnose, shape, suspect, GatedStep, Suspect};
use ndarray::{concatenate, Array2, ArrayD, Axis};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::LstmState;

/// The six gradients, in this order everywhere below.
const NAMES: [&str; 6] = ["dx", "dh_prev", "dc_prev", "dw_ih", "dw_hh", "db"];
const DX: usize = 0;
const DH_PREV: usize = 1;
const DC_PREV: usize = 2;
const DW_IH: usize = 3;
const DW_HH: usize = 4;
const DB: usize = 5;

const DEFAULT_HINTS: [&str; 6] = [
    "dx = dz W_ih, a (B, 4H)·(4H, D) product, with dz = [dz_i, dz_f, dz_g, dz_o]",
    "dh_prev: did you multiply the gate gradients by W_hh (not its transpose)? dh_prev = \
     dz W_hh, a (B, 4H)·(4H, H) product",
    "dc_prev = dc_t ⊙ f_t, with dc_t = dc + dh ⊙ o_t ⊙ (1 - tanh^2(c_t))",
    "dw_ih = dz^T x_t, a (4H, B)·(B, D) product, with dz = [dz_i, dz_f, dz_g, dz_o]",
    "dw_hh = dz^T h_prev, a (4H, B)·(B, H) product",
    "db = dz summed over the batch rows (the same for b_ih and b_hh)",
];

const SHAPE_HINTS: [&str; 6] = [
    "dx has the shape of x_t, (B, D): dz (B, 4H) times W_ih (4H, D)",
    "dh_prev has the shape of h_prev, (B, H): dh_prev: did you multiply the gate gradients \
     by W_hh (not its transpose)? dz (B, 4H) times W_hh (4H, H)",
    "dc_prev has the shape of c_prev, (B, H)",
    "dw_ih has the shape of W_ih, (4H, D): dz^T (4H, B) times x_t (B, D)",
    "dw_hh has the shape of W_hh, (4H, H): dz^T (4H, B) times h_prev (B, H)",
    "db has the shape of a bias, (4H,): sum dz over the batch rows (`sum_axis(Axis(0))`)",
];

type Grads = [ArrayD<f64>; 6];

/// The forward step of the reference, as the cache the learner receives.
fn cache(s: &GatedStep) -> learner::LstmCellCache {
    let prev = LstmState {
        h: s.h_prev.clone(),
        c: s.c_prev.clone(),
    };
    let (state, gates) = s
        .lstm(false, false)
        .step(s.x.view(), &prev, None)
        .expect("the reference step");
    learner::LstmCellCache {
        x_t: s.x.clone(),
        h_prev: s.h_prev.clone(),
        c_prev: s.c_prev.clone(),
        i: gates.i,
        f: gates.f,
        g: gates.g,
        o: gates.o,
        c: state.c,
    }
}

fn learner_grads(s: &GatedStep) -> Grads {
    let g = learner::lstm_cell_backward(
        &cache(s),
        s.w_ih.view(),
        s.w_hh.view(),
        s.dh.view(),
        s.dc.view(),
    );
    [
        g.dx.into_dyn(),
        g.dh_prev.into_dyn(),
        g.dc_prev.into_dyn(),
        g.dw_ih.into_dyn(),
        g.dw_hh.into_dyn(),
        g.db.into_dyn(),
    ]
}

/// `recurrent::Lstm::backward` on the sequence of one step, with `dhs` = dh and
/// `dc_last` = dc.
fn reference_grads(s: &GatedStep) -> Grads {
    let lstm = s.lstm(false, false);
    let xs = s.x.clone().insert_axis(Axis(0)); // (1, B, D)
    let fwd = lstm
        .forward(xs.view(), s.h_prev.view(), s.c_prev.view())
        .expect("reference forward");
    let dhs = s.dh.clone().insert_axis(Axis(0)); // (1, B, H)
    let back = lstm
        .backward(&fwd, dhs.view(), Some(s.dc.view()))
        .expect("reference backward");
    [
        back.dxs.index_axis(Axis(0), 0).to_owned().into_dyn(),
        back.ds0.h.into_dyn(),
        back.ds0.c.into_dyn(),
        back.grads.w_ih.into_dyn(),
        back.grads.w_hh.into_dyn(),
        back.grads.b_ih.into_dyn(),
    ]
}

fn expected_shapes(s: &GatedStep) -> [Vec<usize>; 6] {
    let common::Shape { b, d, h, .. } = s.shape;
    [
        vec![b, d],
        vec![b, h],
        vec![b, h],
        vec![4 * h, d],
        vec![4 * h, h],
        vec![4 * h],
    ]
}

#[track_caller]
fn assert_shapes(s: &GatedStep, got: &Grads) {
    for (k, expected) in expected_shapes(s).iter().enumerate() {
        assert_shape(NAMES[k], got[k].shape(), expected, SHAPE_HINTS[k]);
    }
}

/// The known mistakes.
#[derive(Clone, Copy, PartialEq)]
enum Mistake {
    NoFInDcPrev,
    NoTanhGrad,
    NoHPath,
    SigmoidGradForG,
    /// dz stacked i, f, o, g.
    GateOrder,
    NewCellInDf,
    DoWithoutTanh,
}

const MISTAKES: [Mistake; 7] = [
    Mistake::NoFInDcPrev,
    Mistake::NoTanhGrad,
    Mistake::NoHPath,
    Mistake::SigmoidGradForG,
    Mistake::GateOrder,
    Mistake::NewCellInDf,
    Mistake::DoWithoutTanh,
];

fn hint(m: Mistake) -> &'static str {
    match m {
        Mistake::NoFInDcPrev => {
            "dc_prev is missing the f_t factor: c_t = f_t ⊙ c_prev + ..., so dc_prev = dc_t ⊙ \
             f_t (the constant error carousel)"
        }
        Mistake::NoTanhGrad => {
            "tanh(c) derivative missing in the path from h to c: h_t = o_t ⊙ tanh(c_t), so c_t \
             gets dh ⊙ o_t ⊙ (1 - tanh^2(c_t))"
        }
        Mistake::NoHPath => {
            "matches dc_t = dc alone: the cell also gets the path through h_t, dc_t = dc + dh \
             ⊙ o_t ⊙ (1 - tanh^2(c_t))"
        }
        Mistake::SigmoidGradForG => {
            "g_t = tanh(z_g) is not a sigmoid: dz_g = dg ⊙ (1 - g_t^2), not dg ⊙ g_t(1 - g_t)"
        }
        Mistake::GateOrder => {
            "the gate blocks are out of order: stack the gate gradients in the order i, f, g, o, \
             the order of the rows of W_ih and W_hh"
        }
        Mistake::NewCellInDf => {
            "df_t = dc_t ⊙ c_prev: the forget gate multiplied the old cell, not c_t"
        }
        Mistake::DoWithoutTanh => {
            "the output gate's gradient should be do = dh ⊙ tanh(c_t), not dh ⊙ c_t"
        }
    }
}

/// The backward pass with one mistake made.
fn variant(s: &GatedStep, m: Mistake) -> Grads {
    let k = cache(s);
    let tanh_c = k.c.mapv(f64::tanh);
    let d_o = if m == Mistake::DoWithoutTanh {
        &s.dh * &k.c
    } else {
        &s.dh * &tanh_c
    };
    let through_h = if m == Mistake::NoTanhGrad {
        &s.dh * &k.o
    } else {
        &s.dh * &k.o * tanh_c.mapv(|t| 1.0 - t * t)
    };
    let dc_t = if m == Mistake::NoHPath {
        s.dc.clone()
    } else {
        &s.dc + &through_h
    };
    let df = if m == Mistake::NewCellInDf {
        &dc_t * &k.c
    } else {
        &dc_t * &k.c_prev
    };
    let dc_prev = if m == Mistake::NoFInDcPrev {
        dc_t.clone()
    } else {
        &dc_t * &k.f
    };
    let dsig = |v: &Array2<f64>| v.mapv(|v| v * (1.0 - v));
    let dz_i = &dc_t * &k.g * dsig(&k.i);
    let dz_f = df * dsig(&k.f);
    let dz_g = if m == Mistake::SigmoidGradForG {
        &dc_t * &k.i * dsig(&k.g)
    } else {
        &dc_t * &k.i * k.g.mapv(|t| 1.0 - t * t)
    };
    let dz_o = d_o * dsig(&k.o);
    let dz = if m == Mistake::GateOrder {
        concatenate![Axis(1), dz_i, dz_f, dz_o, dz_g]
    } else {
        concatenate![Axis(1), dz_i, dz_f, dz_g, dz_o]
    };
    [
        dz.dot(&s.w_ih).into_dyn(),
        dz.dot(&s.w_hh).into_dyn(),
        dc_prev.into_dyn(),
        dz.t().dot(&k.x_t).into_dyn(),
        dz.t().dot(&k.h_prev).into_dyn(),
        dz.sum_axis(Axis(0)).into_dyn(),
    ]
}

fn suspects(s: &GatedStep, k: usize) -> Vec<Suspect> {
    let mut out: Vec<Suspect> = MISTAKES
        .iter()
        .map(|&m| {
            suspect(
                format!("{} matches a backward pass where {}", NAMES[k], hint(m)),
                variant(s, m)[k].clone(),
            )
        })
        .collect();
    if k == DH_PREV {
        // The step skipped altogether.
        out.push(suspect(
            "dh_prev equals dh: h_prev reaches the loss only through the gates, so dh_prev = \
             dz W_hh (did you multiply the gate gradients by W_hh?)",
            s.dh.clone().into_dyn(),
        ));
    }
    if k == DC_PREV {
        out.push(suspect(
            "dc_prev equals dc: dc_prev is missing the f_t factor and the path through h_t; \
             dc_prev = (dc + dh ⊙ o_t ⊙ (1 - tanh^2(c_t))) ⊙ f_t",
            s.dc.clone().into_dyn(),
        ));
    }
    out
}

/// $L = \sum dh \odot h_t + \sum dc \odot c_t$ of the reference step, with the tensor whose
/// gradient is `NAMES[k]` set to `value` (for `db`, the bias b_ih).
fn loss_with(s: &GatedStep, k: usize, value: &ArrayD<f64>) -> f64 {
    let mut q = s.clone();
    let v = value.clone();
    match k {
        DX => q.x = v.into_dimensionality().expect("2-d"),
        DH_PREV => q.h_prev = v.into_dimensionality().expect("2-d"),
        DC_PREV => q.c_prev = v.into_dimensionality().expect("2-d"),
        DW_IH => q.w_ih = v.into_dimensionality().expect("2-d"),
        DW_HH => q.w_hh = v.into_dimensionality().expect("2-d"),
        _ => q.b_ih = v.into_dimensionality().expect("1-d"),
    }
    let prev = LstmState {
        h: q.h_prev.clone(),
        c: q.c_prev.clone(),
    };
    let (state, _) = q
        .lstm(false, false)
        .step(q.x.view(), &prev, None)
        .expect("the reference step");
    (&state.h * &q.dh).sum() + (&state.c * &q.dc).sum()
}

fn value_of(s: &GatedStep, k: usize) -> ArrayD<f64> {
    match k {
        DX => s.x.clone().into_dyn(),
        DH_PREV => s.h_prev.clone().into_dyn(),
        DC_PREV => s.c_prev.clone().into_dyn(),
        DW_IH => s.w_ih.clone().into_dyn(),
        DW_HH => s.w_hh.clone().into_dyn(),
        _ => s.b_ih.clone().into_dyn(),
    }
}

/// Gradient-checks the learner's tensor `k` on every step.
#[track_caller]
fn gradient_check(k: usize) {
    for s in GatedStep::all(4) {
        let got = learner_grads(&s);
        assert_shape(
            NAMES[k],
            got[k].shape(),
            &expected_shapes(&s)[k],
            SHAPE_HINTS[k],
        );
        let tensor = Checked::new(NAMES[k], value_of(&s, k), got[k].clone());
        let report = check(&[tensor], |v| loss_with(&s, k, &v[0]));
        let r = report.get(NAMES[k]).expect("the checked tensor");
        if r.max_rel_error > TOLERANCE {
            let expected = &reference_grads(&s)[k];
            let hint = diagnose(
                NAMES[k],
                got[k].view(),
                expected.view(),
                &suspects(&s, k),
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
                s.context()
            );
        }
    }
}

#[track_caller]
fn compare_with_reference(s: &GatedStep, context: &str) {
    let got = learner_grads(s);
    assert_shapes(s, &got);
    let expected = reference_grads(s);
    for k in 0..6 {
        assert_agrees(
            NAMES[k],
            context,
            got[k].view(),
            expected[k].view(),
            &suspects(s, k),
            DEFAULT_HINTS[k],
        );
    }
}

#[test]
fn gradients_have_the_right_shapes() {
    for s in GatedStep::all(4) {
        assert_shapes(&s, &learner_grads(&s));
    }
}

#[test]
fn dx_passes_the_gradient_check() {
    gradient_check(DX);
}

#[test]
fn dh_prev_passes_the_gradient_check() {
    gradient_check(DH_PREV);
}

#[test]
fn dc_prev_passes_the_gradient_check() {
    gradient_check(DC_PREV);
}

#[test]
fn dw_ih_passes_the_gradient_check() {
    gradient_check(DW_IH);
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
fn matches_the_reference_backward_on_many_seeds() {
    for s in GatedStep::many(4, 4) {
        compare_with_reference(&s, &s.context());
    }
}

#[test]
fn a_gradient_on_the_cell_alone_flows_through_the_forget_gate() {
    // dh = 0: everything arrives through dc, and dc_prev is dc ⊙ f_t.
    for s in GatedStep::all(4) {
        let mut s = s;
        s.dh.fill(0.0);
        compare_with_reference(&s, &format!("with dh = 0, {}", s.context()));
    }
}

#[test]
fn a_gradient_on_the_output_alone_reaches_the_cell() {
    // dc = 0: the cell's gradient all comes through h_t = o_t ⊙ tanh(c_t).
    for s in GatedStep::all(4) {
        let mut s = s;
        s.dc.fill(0.0);
        compare_with_reference(&s, &format!("with dc = 0, {}", s.context()));
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 3)] {
        let s = GatedStep::new(sh, 4, 91);
        compare_with_reference(&s, &format!("with B = 1, {}", s.context()));
    }
}
