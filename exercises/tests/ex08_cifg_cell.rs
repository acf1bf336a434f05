//! Grades exercise 8, `cifg_cell_forward`, against `recurrent::Lstm::step` with
//! `coupled: true` (three blocks f, g, o, as `Lstm::gate_rows` lays them out).

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex08_cifg_cell.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex08_cifg_cell.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex08_cifg_cell.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, cols, shape, sigmoid, suspect, GatedStep, Suspect};
use ndarray::{Array2, ArrayD};
use recurrent::lstm::Gate;
use recurrent::LstmState;

const NAMES: [&str; 5] = ["f", "g", "o", "c", "h"];

const DEFAULT_HINTS: [&str; 5] = [
    "f_t = σ(z_f), the first block (columns 0..H) of z = x_t W_ih^T + b_ih + h_prev W_hh^T + \
     b_hh",
    "g_t = tanh(z_g), the second block (columns H..2H) of z",
    "o_t = σ(z_o), the third block (columns 2H..3H) of z",
    "c_t = f_t ⊙ c_prev + (1 - f_t) ⊙ g_t",
    "h_t = o_t ⊙ tanh(c_t)",
];

type Five = [ArrayD<f64>; 5];

fn learner_step(s: &GatedStep) -> Five {
    let r = learner::cifg_cell_forward(
        s.x.view(),
        s.h_prev.view(),
        s.c_prev.view(),
        s.w_ih.view(),
        s.w_hh.view(),
        s.b_ih.view(),
        s.b_hh.view(),
    );
    [r.f, r.g, r.o, r.c, r.h].map(|a| a.into_dyn())
}

fn reference(s: &GatedStep) -> Five {
    let lstm = s.lstm(false, true);
    let h = s.shape.h;
    // The layout this exercise states: f, g, o, no input-gate rows.
    assert_eq!(
        lstm.gate_rows(Gate::Input),
        None,
        "CIFG has no input-gate rows"
    );
    assert_eq!(lstm.gate_rows(Gate::Forget), Some(0..h), "f is block 0");
    assert_eq!(
        lstm.gate_rows(Gate::Candidate),
        Some(h..2 * h),
        "g is block 1"
    );
    assert_eq!(
        lstm.gate_rows(Gate::Output),
        Some(2 * h..3 * h),
        "o is block 2"
    );
    let prev = LstmState {
        h: s.h_prev.clone(),
        c: s.c_prev.clone(),
    };
    let (state, gates) = lstm
        .step(s.x.view(), &prev, None)
        .expect("the reference step");
    [gates.f, gates.g, gates.o, state.c, state.h].map(|a| a.into_dyn())
}

#[derive(Clone, Copy, PartialEq)]
enum Mistake {
    Uncoupled,
    BlockZeroIsI,
    FScalesBoth,
    /// Blocks read f, o, g.
    Order,
    NoTanhC,
}

fn hint(m: Mistake) -> &'static str {
    match m {
        Mistake::Uncoupled => {
            "the candidate is written unscaled: CIFG couples the gates, c_t = f_t ⊙ c_prev + \
             (1 - f_t) ⊙ g_t"
        }
        Mistake::BlockZeroIsI => {
            "block 0 was taken as the input gate: here block 0 is the forget gate, f_t = \
             σ(z_f), and the input gate is 1 - f_t (not f_t = 1 - i_t, Greff et al.'s way \
             round)"
        }
        Mistake::FScalesBoth => {
            "f_t scales both terms: the candidate is scaled by 1 - f_t, not f_t"
        }
        Mistake::Order => {
            "the blocks are read in the wrong order: the three blocks are stacked f, g, o \
             (PyTorch's i, f, g, o without the i rows)"
        }
        Mistake::NoTanhC => "h_t = o_t ⊙ c_t: squash the cell first, h_t = o_t ⊙ tanh(c_t)",
    }
}

fn variant(s: &GatedStep, m: Mistake) -> Five {
    let h = s.shape.h;
    let z = s.x.dot(&s.w_ih.t()) + &s.b_ih + s.h_prev.dot(&s.w_hh.t()) + &s.b_hh;
    let (kg, ko) = if m == Mistake::Order { (2, 1) } else { (1, 2) };
    let s0 = cols(&z, 0, h).mapv(sigmoid);
    let (f, i) = if m == Mistake::BlockZeroIsI {
        (s0.mapv(|v| 1.0 - v), s0)
    } else {
        (s0.clone(), s0.mapv(|v| 1.0 - v))
    };
    let g = cols(&z, kg, h).mapv(f64::tanh);
    let o = cols(&z, ko, h).mapv(sigmoid);
    let written = match m {
        Mistake::Uncoupled => g.clone(),
        Mistake::FScalesBoth => &f * &g,
        _ => &i * &g,
    };
    let c: Array2<f64> = &f * &s.c_prev + written;
    let shown = if m == Mistake::NoTanhC {
        c.clone()
    } else {
        c.mapv(f64::tanh)
    };
    let h_t = &o * &shown;
    [f, g, o, c, h_t].map(|a| a.into_dyn())
}

fn suspects(s: &GatedStep, k: usize) -> Vec<Suspect> {
    [
        Mistake::Uncoupled,
        Mistake::BlockZeroIsI,
        Mistake::FScalesBoth,
        Mistake::Order,
        Mistake::NoTanhC,
    ]
    .into_iter()
    .map(|m| {
        suspect(
            format!("{}: {}", NAMES[k], hint(m)),
            variant(s, m)[k].clone(),
        )
    })
    .collect()
}

#[track_caller]
fn check_all(s: &GatedStep, which: &[usize], context: &str) {
    let got = learner_step(s);
    let expected = reference(s);
    for &k in which {
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
fn returns_one_row_per_example_and_one_column_per_unit() {
    for s in GatedStep::all(3) {
        let got = learner_step(&s);
        for k in 0..5 {
            assert_shape(
                NAMES[k],
                got[k].shape(),
                &[s.shape.b, s.shape.h],
                "every result is (B, H): one (B, H) block of the (B, 3H) pre-activations",
            );
        }
    }
}

#[test]
fn the_three_activations_match_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, &[0, 1, 2], &s.context());
    }
}

#[test]
fn the_cell_is_coupled() {
    for s in GatedStep::all(3) {
        check_all(&s, &[3], &s.context());
    }
}

#[test]
fn the_output_matches_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, &[4], &s.context());
    }
}

#[test]
fn everything_matches_on_many_seeds() {
    for s in GatedStep::many(3, 4) {
        check_all(&s, &[0, 1, 2, 3, 4], &s.context());
    }
}

#[test]
fn the_new_cell_lies_between_the_old_cell_and_the_candidate() {
    for s in GatedStep::all(3) {
        check_all(&s, &[0, 1, 2, 3, 4], &s.context());
        let got = learner_step(&s);
        let (g, c) = (&got[1], &got[3]);
        for ((idx, &c_new), &cand) in c.indexed_iter().zip(g.iter()) {
            let old = s.c_prev[[idx[0], idx[1]]];
            let (lo, hi) = (old.min(cand), old.max(cand));
            assert!(
                (lo - 1e-12..=hi + 1e-12).contains(&c_new),
                "c_t at {idx:?} is {c_new}, outside [{lo}, {hi}]: with coupled gates c_t = f_t ⊙ \
                 c_prev + (1 - f_t) ⊙ g_t lies between c_prev and g_t, {}",
                s.context()
            );
        }
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 4)] {
        let s = GatedStep::new(sh, 3, 44);
        check_all(
            &s,
            &[0, 1, 2, 3, 4],
            &format!("with B = 1, {}", s.context()),
        );
    }
}
