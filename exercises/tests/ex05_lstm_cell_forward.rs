//! Grades exercise 5, `lstm_cell_forward`, against `recurrent::Lstm::step` (PyTorch's
//! LSTM): the four activations first, then the cell, then the output, so a failure names
//! the first quantity that is off.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex05_lstm_cell_forward.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex05_lstm_cell_forward.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex05_lstm_cell_forward.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, cols, shape, sigmoid, suspect, GatedStep, Suspect};
use ndarray::{arr1, arr2, Array2, ArrayD};
use recurrent::LstmState;

/// The six results, in the order they are checked.
const NAMES: [&str; 6] = ["i", "f", "g", "o", "c", "h"];

const DEFAULT_HINTS: [&str; 6] = [
    "i_t = σ(z_i), z_i the first block (columns 0..H) of z = x_t W_ih^T + b_ih + h_prev \
     W_hh^T + b_hh",
    "f_t = σ(z_f), z_f the second block (columns H..2H) of z",
    "g_t = tanh(z_g), z_g the third block (columns 2H..3H) of z",
    "o_t = σ(z_o), z_o the fourth block (columns 3H..4H) of z",
    "c_t = f_t ⊙ c_prev + i_t ⊙ g_t, elementwise",
    "h_t = o_t ⊙ tanh(c_t), elementwise",
];

type Six = [ArrayD<f64>; 6];

fn learner_step(s: &GatedStep) -> Six {
    let r = learner::lstm_cell_forward(
        s.x.view(),
        s.h_prev.view(),
        s.c_prev.view(),
        s.w_ih.view(),
        s.w_hh.view(),
        s.b_ih.view(),
        s.b_hh.view(),
    );
    [r.i, r.f, r.g, r.o, r.c, r.h].map(|a| a.into_dyn())
}

fn reference(s: &GatedStep) -> Six {
    let prev = LstmState {
        h: s.h_prev.clone(),
        c: s.c_prev.clone(),
    };
    let (state, gates) = s
        .lstm(false, false)
        .step(s.x.view(), &prev, None)
        .expect("the reference step");
    [gates.i, gates.f, gates.g, gates.o, state.c, state.h].map(|a| a.into_dyn())
}

/// A known mistake.
#[derive(Clone, Copy, PartialEq)]
enum Mistake {
    /// The blocks read in another order: which block each of i, f, g, o comes from.
    Order([usize; 4]),
    SigmoidG,
    NoTanhC,
    NoForget,
    NoInputGate,
    OldCellInH,
    NoBhh,
}

fn hint(m: Mistake) -> &'static str {
    match m {
        Mistake::Order(_) => {
            "the gate blocks are read in the wrong order: PyTorch stacks them i, f, g, o \
             (columns 0..H of z are z_i, H..2H z_f, 2H..3H z_g, 3H..4H z_o)"
        }
        Mistake::SigmoidG => {
            "the candidate went through a sigmoid: g_t = tanh(z_g), in (-1, 1), not a gate"
        }
        Mistake::NoTanhC => "h_t = o_t ⊙ c_t: squash the cell first, h_t = o_t ⊙ tanh(c_t)",
        Mistake::NoForget => {
            "c_t adds c_prev unscaled: the forget gate scales the old cell, c_t = f_t ⊙ c_prev \
             + i_t ⊙ g_t"
        }
        Mistake::NoInputGate => {
            "c_t adds g_t unscaled: the input gate scales the candidate, c_t = f_t ⊙ c_prev + \
             i_t ⊙ g_t"
        }
        Mistake::OldCellInH => {
            "h_t was computed from tanh(c_prev): h_t = o_t ⊙ tanh(c_t) reads the new cell"
        }
        Mistake::NoBhh => {
            "the pre-activations lack b_hh: PyTorch adds both biases, z = x_t W_ih^T + b_ih + \
             h_prev W_hh^T + b_hh"
        }
    }
}

/// The step with one mistake made.
fn variant(s: &GatedStep, m: Mistake) -> Six {
    let h = s.shape.h;
    let mut z = s.x.dot(&s.w_ih.t()) + &s.b_ih + s.h_prev.dot(&s.w_hh.t());
    if m != Mistake::NoBhh {
        z += &s.b_hh;
    }
    let order = match m {
        Mistake::Order(o) => o,
        _ => [0, 1, 2, 3],
    };
    let i = cols(&z, order[0], h).mapv(sigmoid);
    let f = cols(&z, order[1], h).mapv(sigmoid);
    let g = if m == Mistake::SigmoidG {
        cols(&z, order[2], h).mapv(sigmoid)
    } else {
        cols(&z, order[2], h).mapv(f64::tanh)
    };
    let o = cols(&z, order[3], h).mapv(sigmoid);
    let kept = if m == Mistake::NoForget {
        s.c_prev.clone()
    } else {
        &f * &s.c_prev
    };
    let written = if m == Mistake::NoInputGate {
        g.clone()
    } else {
        &i * &g
    };
    let c: Array2<f64> = kept + written;
    let shown = match m {
        Mistake::NoTanhC => c.clone(),
        Mistake::OldCellInH => s.c_prev.mapv(f64::tanh),
        _ => c.mapv(f64::tanh),
    };
    let h_t = &o * &shown;
    [i, f, g, o, c, h_t].map(|a| a.into_dyn())
}

fn suspects(s: &GatedStep, k: usize) -> Vec<Suspect> {
    let mut mistakes = vec![
        Mistake::Order([0, 1, 3, 2]),
        Mistake::Order([0, 2, 1, 3]),
        Mistake::Order([1, 0, 2, 3]),
        Mistake::Order([0, 1, 2, 3].map(|b| 3 - b)),
        Mistake::SigmoidG,
        Mistake::NoTanhC,
        Mistake::NoForget,
        Mistake::NoInputGate,
        Mistake::OldCellInH,
        Mistake::NoBhh,
    ];
    mistakes.dedup();
    mistakes
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
    for s in GatedStep::all(4) {
        let got = learner_step(&s);
        for k in 0..6 {
            assert_shape(
                NAMES[k],
                got[k].shape(),
                &[s.shape.b, s.shape.h],
                "every result is (B, H): one (B, H) block of the (B, 4H) pre-activations",
            );
        }
    }
}

#[test]
fn the_four_activations_match_the_reference() {
    for s in GatedStep::all(4) {
        check_all(&s, &[0, 1, 2, 3], &s.context());
    }
}

#[test]
fn the_cell_matches_the_reference() {
    for s in GatedStep::all(4) {
        check_all(&s, &[4], &s.context());
    }
}

#[test]
fn the_output_matches_the_reference() {
    for s in GatedStep::all(4) {
        check_all(&s, &[5], &s.context());
    }
}

#[test]
fn everything_matches_on_many_seeds() {
    for s in GatedStep::many(4, 4) {
        check_all(&s, &[0, 1, 2, 3, 4, 5], &s.context());
    }
}

#[test]
fn from_a_zero_state_only_the_input_and_biases_count() {
    for s in GatedStep::all(4) {
        let mut s = s;
        s.h_prev.fill(0.0);
        s.c_prev.fill(0.0);
        check_all(
            &s,
            &[0, 1, 2, 3, 4, 5],
            &format!("with h_prev = c_prev = 0, {}", s.context()),
        );
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 4)] {
        let s = GatedStep::new(sh, 4, 77);
        check_all(
            &s,
            &[0, 1, 2, 3, 4, 5],
            &format!("with B = 1, {}", s.context()),
        );
    }
}

#[test]
fn one_unit_by_hand() {
    // z = x·w_ih + h·w_hh + b_ih + b_hh = [0.5, 1.0, -0.25, 0.75] block by block.
    let s = GatedStep {
        x: arr2(&[[1.0]]),
        h_prev: arr2(&[[0.5]]),
        c_prev: arr2(&[[2.0]]),
        w_ih: arr2(&[[0.25], [0.5], [-0.5], [0.5]]),
        w_hh: arr2(&[[0.5], [0.0], [0.5], [0.5]]),
        b_ih: arr1(&[0.0, 0.25, 0.0, 0.0]),
        b_hh: arr1(&[0.0, 0.25, 0.0, 0.0]),
        ..GatedStep::new(shape(1, 1, 1, 1), 4, 1)
    };
    check_all(
        &s,
        &[0, 1, 2, 3, 4, 5],
        "with B = D = H = 1 and z = [0.5, 1.0, -0.25, 0.75]",
    );
    let (i, f, g, o) = (sigmoid(0.5), sigmoid(1.0), (-0.25f64).tanh(), sigmoid(0.75));
    let c = f * 2.0 + i * g;
    let got = learner_step(&s);
    assert!(
        (got[5][[0, 0]] - o * c.tanh()).abs() < 1e-12,
        "h_t should be σ(0.75)·tanh(σ(1)·2 + σ(0.5)·tanh(-0.25)) = {}, got {}",
        o * c.tanh(),
        got[5][[0, 0]]
    );
}
