//! Grades exercise 10, `gru_cell_backward`, two ways: each gradient against central
//! differences of $L = \sum dh \odot h_t$ with `recurrent::gradcheck`, and all of them
//! against `recurrent::Gru::backward` (ResetAfter) run on a sequence of one step.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex10_gru_cell_backward.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex10_gru_cell_backward.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex10_gru_cell_backward.rs"]
mod learner;

mod common;

use common::{
    assert_agrees, assert_shape, block1, block2, cols, diagnose, shape, suspect, GatedStep, Suspect,
};
use ndarray::{concatenate, Array2, ArrayD, Axis};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::GruForm;

/// The six gradients, in this order everywhere below.
const NAMES: [&str; 6] = ["dx", "dh_prev", "dw_ih", "dw_hh", "db_ih", "db_hh"];
const DX: usize = 0;
const DH_PREV: usize = 1;
const DW_IH: usize = 2;
const DW_HH: usize = 3;
const DB_IH: usize = 4;
const DB_HH: usize = 5;

const DEFAULT_HINTS: [&str; 6] = [
    "dx = g_x W_ih, a (B, 3H)·(3H, D) product, with g_x = [da_r, da_z, da_n]",
    "dh_prev = dh ⊙ z_t + g_h W_hh, with g_h = [da_r, da_z, da_n ⊙ r_t]: the old state \
     reaches h_t directly and through all three hidden halves",
    "dw_ih = g_x^T x_t, a (3H, B)·(B, D) product, with g_x = [da_r, da_z, da_n]",
    "dw_hh = g_h^T h_prev, with g_h = [da_r, da_z, da_n ⊙ r_t]",
    "db_ih = g_x summed over the batch rows, g_x = [da_r, da_z, da_n]",
    "db_hh = g_h summed over the batch rows, g_h = [da_r, da_z, da_n ⊙ r_t]",
];

const SHAPE_HINTS: [&str; 6] = [
    "dx has the shape of x_t, (B, D): g_x (B, 3H) times W_ih (3H, D)",
    "dh_prev has the shape of h_prev, (B, H): g_h (B, 3H) times W_hh (3H, H), not its \
     transpose",
    "dw_ih has the shape of W_ih, (3H, D): g_x^T (3H, B) times x_t (B, D)",
    "dw_hh has the shape of W_hh, (3H, H): g_h^T (3H, B) times h_prev (B, H)",
    "db_ih has the shape of b_ih, (3H,): sum g_x over the batch rows",
    "db_hh has the shape of b_hh, (3H,): sum g_h over the batch rows",
];

type Grads = [ArrayD<f64>; 6];

/// The reference forward step, as the cache the learner receives.
fn cache(s: &GatedStep) -> learner::GruCellCache {
    let h = s.shape.h;
    let gru = s.gru(GruForm::ResetAfter);
    let xs = s.x.clone().insert_axis(Axis(0)); // (1, B, D)
    let fwd = gru
        .forward(xs.view(), s.h_prev.view())
        .expect("reference forward");
    let gates = fwd.gates().index_axis(Axis(0), 0).to_owned(); // (B, 3H)
    let hn = s.h_prev.dot(&block2(&s.w_hh, 2, h).t()) + block1(&s.b_hh, 2, h);
    learner::GruCellCache {
        x_t: s.x.clone(),
        h_prev: s.h_prev.clone(),
        r: cols(&gates, 0, h),
        z: cols(&gates, 1, h),
        n: cols(&gates, 2, h),
        hn,
    }
}

fn learner_grads(s: &GatedStep) -> Grads {
    let g = learner::gru_cell_backward(&cache(s), s.w_ih.view(), s.w_hh.view(), s.dh.view());
    [
        g.dx.into_dyn(),
        g.dh_prev.into_dyn(),
        g.dw_ih.into_dyn(),
        g.dw_hh.into_dyn(),
        g.db_ih.into_dyn(),
        g.db_hh.into_dyn(),
    ]
}

fn reference_grads(s: &GatedStep) -> Grads {
    let gru = s.gru(GruForm::ResetAfter);
    let xs = s.x.clone().insert_axis(Axis(0)); // (1, B, D)
    let fwd = gru
        .forward(xs.view(), s.h_prev.view())
        .expect("reference forward");
    let dhs = s.dh.clone().insert_axis(Axis(0)); // (1, B, H)
    let back = gru.backward(&fwd, dhs.view()).expect("reference backward");
    [
        back.dxs.index_axis(Axis(0), 0).to_owned().into_dyn(),
        back.ds0.into_dyn(),
        back.grads.w_ih.into_dyn(),
        back.grads.w_hh.into_dyn(),
        back.grads.b_ih.into_dyn(),
        back.grads.b_hh.into_dyn(),
    ]
}

fn expected_shapes(s: &GatedStep) -> [Vec<usize>; 6] {
    let common::Shape { b, d, h, .. } = s.shape;
    [
        vec![b, d],
        vec![b, h],
        vec![3 * h, d],
        vec![3 * h, h],
        vec![3 * h],
        vec![3 * h],
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
    /// db_hh = db_ih.
    DbHnNotScaled,
    /// g_h's n block is da_n, not da_n ⊙ r.
    HiddenNNotScaled,
    NoDirectPath,
    ZFlipped,
    DrMissingHn,
    NoTanhGrad,
    /// Stacked z, r, n.
    GateOrder,
}

const MISTAKES: [Mistake; 7] = [
    Mistake::DbHnNotScaled,
    Mistake::HiddenNNotScaled,
    Mistake::NoDirectPath,
    Mistake::ZFlipped,
    Mistake::DrMissingHn,
    Mistake::NoTanhGrad,
    Mistake::GateOrder,
];

fn hint(m: Mistake) -> &'static str {
    match m {
        Mistake::DbHnNotScaled => {
            "db_hh equals db_ih, but db_hh's n block is scaled by r_t: b_hn sits inside \
             r_t ⊙ (h_prev W_hn^T + b_hn), so it gets da_n ⊙ r_t while b_in gets da_n"
        }
        Mistake::HiddenNNotScaled => {
            "the candidate's hidden half got da_n unscaled: it sits inside r_t ⊙ (h_prev \
             W_hn^T + b_hn), so the n rows of dw_hh, the n block of db_hh and that path into \
             dh_prev use da_n ⊙ r_t"
        }
        Mistake::NoDirectPath => {
            "h_prev also reaches h_t directly, through z_t ⊙ h_prev: add dh ⊙ z_t directly to \
             dh_prev, on top of g_h W_hh"
        }
        Mistake::ZFlipped => {
            "the update gate is the wrong way round: in PyTorch's form h_t = (1 - z_t) ⊙ n_t + \
             z_t ⊙ h_prev, z_t ≈ 1 keeps h_prev; so da_z = dh ⊙ (h_prev - n_t) ⊙ z_t(1 - z_t), \
             n_t gets dh ⊙ (1 - z_t), h_prev gets dh ⊙ z_t"
        }
        Mistake::DrMissingHn => {
            "the reset gate multiplies hn = h_prev W_hn^T + b_hn, so by the product rule \
             da_r = da_n ⊙ hn ⊙ r_t(1 - r_t)"
        }
        Mistake::NoTanhGrad => {
            "the candidate's tanh derivative is missing: da_n = dh ⊙ (1 - z_t) ⊙ (1 - n_t^2)"
        }
        Mistake::GateOrder => {
            "the gate blocks are out of order: stack the gate gradients r, z, n, the order of \
             the rows of W_ih and W_hh"
        }
    }
}

/// The backward pass with one mistake made.
fn variant(s: &GatedStep, m: Mistake) -> Grads {
    let k = cache(s);
    let dsig = |v: &Array2<f64>| v.mapv(|v| v * (1.0 - v));
    let flip = m == Mistake::ZFlipped;
    let da_z = if flip {
        &s.dh * &(&k.n - &k.h_prev) * dsig(&k.z)
    } else {
        &s.dh * &(&k.h_prev - &k.n) * dsig(&k.z)
    };
    let keep_n = if flip {
        k.z.clone()
    } else {
        k.z.mapv(|z| 1.0 - z)
    };
    let da_n = if m == Mistake::NoTanhGrad {
        &s.dh * &keep_n
    } else {
        &s.dh * &keep_n * k.n.mapv(|n| 1.0 - n * n)
    };
    let d_hn = if m == Mistake::HiddenNNotScaled {
        da_n.clone()
    } else {
        &da_n * &k.r
    };
    let da_r = if m == Mistake::DrMissingHn {
        &da_n * &dsig(&k.r)
    } else {
        &da_n * &k.hn * dsig(&k.r)
    };
    let (g_x, g_h) = if m == Mistake::GateOrder {
        (
            concatenate![Axis(1), da_z, da_r, da_n],
            concatenate![Axis(1), da_z, da_r, d_hn],
        )
    } else {
        (
            concatenate![Axis(1), da_r, da_z, da_n],
            concatenate![Axis(1), da_r, da_z, d_hn],
        )
    };
    let direct = match m {
        Mistake::NoDirectPath => Array2::zeros(k.h_prev.raw_dim()),
        Mistake::ZFlipped => &s.dh * &k.z.mapv(|z| 1.0 - z),
        _ => &s.dh * &k.z,
    };
    let db_hh = if m == Mistake::DbHnNotScaled {
        g_x.sum_axis(Axis(0))
    } else {
        g_h.sum_axis(Axis(0))
    };
    [
        g_x.dot(&s.w_ih).into_dyn(),
        (direct + g_h.dot(&s.w_hh)).into_dyn(),
        g_x.t().dot(&k.x_t).into_dyn(),
        g_h.t().dot(&s.h_prev).into_dyn(),
        g_x.sum_axis(Axis(0)).into_dyn(),
        db_hh.into_dyn(),
    ]
}

fn suspects(s: &GatedStep, k: usize) -> Vec<Suspect> {
    MISTAKES
        .iter()
        .map(|&m| {
            suspect(
                format!("{} matches a backward pass where {}", NAMES[k], hint(m)),
                variant(s, m)[k].clone(),
            )
        })
        .collect()
}

/// $L = \sum dh \odot h_t$ of the reference step, with the tensor whose gradient is
/// `NAMES[k]` set to `value`.
fn loss_with(s: &GatedStep, k: usize, value: &ArrayD<f64>) -> f64 {
    let mut q = s.clone();
    let v = value.clone();
    match k {
        DX => q.x = v.into_dimensionality().expect("2-d"),
        DH_PREV => q.h_prev = v.into_dimensionality().expect("2-d"),
        DW_IH => q.w_ih = v.into_dimensionality().expect("2-d"),
        DW_HH => q.w_hh = v.into_dimensionality().expect("2-d"),
        DB_IH => q.b_ih = v.into_dimensionality().expect("1-d"),
        _ => q.b_hh = v.into_dimensionality().expect("1-d"),
    }
    let h_t = q
        .gru(GruForm::ResetAfter)
        .step(q.x.view(), q.h_prev.view())
        .expect("the reference step");
    (&h_t * &q.dh).sum()
}

fn value_of(s: &GatedStep, k: usize) -> ArrayD<f64> {
    match k {
        DX => s.x.clone().into_dyn(),
        DH_PREV => s.h_prev.clone().into_dyn(),
        DW_IH => s.w_ih.clone().into_dyn(),
        DW_HH => s.w_hh.clone().into_dyn(),
        DB_IH => s.b_ih.clone().into_dyn(),
        _ => s.b_hh.clone().into_dyn(),
    }
}

/// Gradient-checks the learner's tensor `k` on every step.
#[track_caller]
fn gradient_check(k: usize) {
    for s in GatedStep::all(3) {
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
    for s in GatedStep::all(3) {
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
fn dw_ih_passes_the_gradient_check() {
    gradient_check(DW_IH);
}

#[test]
fn dw_hh_passes_the_gradient_check() {
    gradient_check(DW_HH);
}

#[test]
fn db_ih_passes_the_gradient_check() {
    gradient_check(DB_IH);
}

#[test]
fn db_hh_passes_the_gradient_check() {
    gradient_check(DB_HH);
}

#[test]
fn matches_the_reference_backward_on_many_seeds() {
    for s in GatedStep::many(3, 4) {
        compare_with_reference(&s, &s.context());
    }
}

#[test]
fn the_two_biases_get_different_gradients() {
    // Only the n blocks differ, by the factor r_t: the r and z blocks are equal.
    for s in GatedStep::all(3) {
        let h = s.shape.h;
        let got = learner_grads(&s);
        compare_with_reference(&s, &s.context());
        let (ih, hh) = (&got[DB_IH], &got[DB_HH]);
        let rz = ndarray::s![0..2 * h];
        assert_agrees(
            "db_hh (r and z blocks)",
            &s.context(),
            hh.slice(rz).into_dyn(),
            ih.slice(rz).into_dyn(),
            &[],
            "the r and z blocks of db_ih and db_hh are equal: both biases are simply added",
        );
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 3)] {
        let s = GatedStep::new(sh, 3, 66);
        compare_with_reference(&s, &format!("with B = 1, {}", s.context()));
    }
}
