//! Grades exercise 7, `peephole_cell_forward`, against `recurrent::Lstm::step` with
//! `peepholes: true` (Greff et al.'s "vanilla" LSTM): the activations first, then the
//! cell, then the output.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex07_peephole_cell.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex07_peephole_cell.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex07_peephole_cell.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, cols, shape, sigmoid, suspect, GatedStep, Suspect};
use ndarray::{Array1, Array2, ArrayD};
use recurrent::LstmState;

const NAMES: [&str; 6] = ["i", "f", "g", "o", "c", "h"];

const DEFAULT_HINTS: [&str; 6] = [
    "i_t = σ(z_i + p_i ⊙ c_prev), z_i the first block of z = x_t W_ih^T + h_prev W_hh^T + b",
    "f_t = σ(z_f + p_f ⊙ c_prev), z_f the second block of z",
    "g_t = tanh(z_g), the third block of z, with no peephole",
    "o_t = σ(z_o + p_o ⊙ c_t): the output gate peeps at the new cell c_t",
    "c_t = f_t ⊙ c_prev + i_t ⊙ g_t",
    "h_t = o_t ⊙ tanh(c_t)",
];

type Six = [ArrayD<f64>; 6];

fn learner_step(s: &GatedStep) -> Six {
    let b = &s.b_ih + &s.b_hh;
    let r = learner::peephole_cell_forward(
        s.x.view(),
        s.h_prev.view(),
        s.c_prev.view(),
        s.w_ih.view(),
        s.w_hh.view(),
        b.view(),
        learner::Peepholes {
            p_i: s.p_i.view(),
            p_f: s.p_f.view(),
            p_o: s.p_o.view(),
        },
    );
    [r.i, r.f, r.g, r.o, r.c, r.h].map(|a| a.into_dyn())
}

fn reference(s: &GatedStep) -> Six {
    let prev = LstmState {
        h: s.h_prev.clone(),
        c: s.c_prev.clone(),
    };
    let (state, gates) = s
        .lstm(true, false)
        .step(s.x.view(), &prev, None)
        .expect("the reference step");
    [gates.i, gates.f, gates.g, gates.o, state.c, state.h].map(|a| a.into_dyn())
}

/// What the output gate peeps at, in the variants.
#[derive(Clone, Copy, PartialEq)]
enum OutputSees {
    NewCell,
    OldCell,
    Nothing,
}

#[derive(Clone, Copy)]
struct Variant {
    output_sees: OutputSees,
    swap_i_f: bool,
    outside_sigmoid: bool,
    sees_h_prev: bool,
}

const CORRECT: Variant = Variant {
    output_sees: OutputSees::NewCell,
    swap_i_f: false,
    outside_sigmoid: false,
    sees_h_prev: false,
};

impl Variant {
    fn run(self, s: &GatedStep) -> Six {
        let h = s.shape.h;
        let z = s.x.dot(&s.w_ih.t()) + s.h_prev.dot(&s.w_hh.t()) + &s.b_ih + &s.b_hh;
        let (p_i, p_f) = if self.swap_i_f {
            (&s.p_f, &s.p_i)
        } else {
            (&s.p_i, &s.p_f)
        };
        let seen = if self.sees_h_prev {
            &s.h_prev
        } else {
            &s.c_prev
        };
        let gate = |k: usize, cell: &Array2<f64>, p: &Array1<f64>| {
            let peep = cell * p;
            if self.outside_sigmoid {
                cols(&z, k, h).mapv(sigmoid) + peep
            } else {
                (cols(&z, k, h) + peep).mapv(sigmoid)
            }
        };
        let i = gate(0, seen, p_i);
        let f = gate(1, seen, p_f);
        let g = cols(&z, 2, h).mapv(f64::tanh);
        let c = &f * &s.c_prev + &i * &g;
        let o = match self.output_sees {
            OutputSees::Nothing => cols(&z, 3, h).mapv(sigmoid),
            OutputSees::OldCell => gate(3, &s.c_prev, &s.p_o),
            OutputSees::NewCell if self.sees_h_prev => gate(3, &s.h_prev, &s.p_o),
            OutputSees::NewCell => gate(3, &c, &s.p_o),
        };
        let h_t = &o * &c.mapv(f64::tanh);
        [i, f, g, o, c, h_t].map(|a| a.into_dyn())
    }
}

fn suspects(s: &GatedStep, k: usize) -> Vec<Suspect> {
    let list = [
        (
            "o_t peeped at c_prev: o_t peeps at the new cell c_t, o_t = σ(z_o + p_o ⊙ c_t), \
             so compute it after c_t",
            Variant {
                output_sees: OutputSees::OldCell,
                ..CORRECT
            },
        ),
        (
            "o_t has no peephole: p_o ⊙ c_t is missing inside o_t's sigmoid",
            Variant {
                output_sees: OutputSees::Nothing,
                ..CORRECT
            },
        ),
        (
            "the input and forget gates use each other's peepholes: p_i belongs to the input \
             gate, p_f to the forget gate",
            Variant {
                swap_i_f: true,
                ..CORRECT
            },
        ),
        (
            "the peephole term was added after the squashing: it belongs inside the sigmoid, \
             σ(z + p ⊙ c)",
            Variant {
                outside_sigmoid: true,
                ..CORRECT
            },
        ),
        (
            "the gates peeped at h_prev: peepholes look at the cell, c_prev for i and f and \
             c_t for o",
            Variant {
                sees_h_prev: true,
                ..CORRECT
            },
        ),
    ];
    list.into_iter()
        .map(|(hint, v)| suspect(format!("{}: {hint}", NAMES[k]), v.run(s)[k].clone()))
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
                "every result is (B, H); a peephole term c ⊙ p is (B, H) ⊙ (H,) = (B, H)",
            );
        }
    }
}

#[test]
fn input_and_forget_gates_peep_at_the_old_cell() {
    for s in GatedStep::all(4) {
        check_all(&s, &[0, 1, 2], &s.context());
    }
}

#[test]
fn the_output_gate_peeps_at_the_new_cell() {
    for s in GatedStep::all(4) {
        check_all(&s, &[3], &s.context());
    }
}

#[test]
fn cell_and_output_match_the_reference() {
    for s in GatedStep::all(4) {
        check_all(&s, &[4, 5], &s.context());
    }
}

#[test]
fn everything_matches_on_many_seeds() {
    for s in GatedStep::many(4, 4) {
        check_all(&s, &[0, 1, 2, 3, 4, 5], &s.context());
    }
}

#[test]
fn only_the_output_peephole() {
    // p_i = p_f = 0: any difference is in how o_t peeps.
    for s in GatedStep::all(4) {
        let mut s = s;
        s.p_i.fill(0.0);
        s.p_f.fill(0.0);
        check_all(
            &s,
            &[0, 1, 2, 3, 4, 5],
            &format!("with p_i = p_f = 0, {}", s.context()),
        );
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 4)] {
        let s = GatedStep::new(sh, 4, 33);
        check_all(
            &s,
            &[0, 1, 2, 3, 4, 5],
            &format!("with B = 1, {}", s.context()),
        );
    }
}
