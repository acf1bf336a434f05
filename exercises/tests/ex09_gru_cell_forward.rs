//! Grades exercise 9, `gru_cell_forward`, against `recurrent::Gru` in both forms: the
//! gates r and z first, then the candidate, then the new state.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex09_gru_cell_forward.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex09_gru_cell_forward.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex09_gru_cell_forward.rs"]
mod learner;

mod common;

use common::{
    assert_agrees, assert_shape, block1, block2, cols, shape, sigmoid, suspect, GatedStep, Suspect,
};
use ndarray::{arr1, arr2, Array2, ArrayD, Axis};
use recurrent::GruForm;

const NAMES: [&str; 4] = ["r", "z", "n", "h"];
const FORMS: [GruForm; 2] = [GruForm::ResetAfter, GruForm::ResetBefore];

fn default_hint(k: usize, form: GruForm) -> &'static str {
    match (k, form) {
        (0, _) => {
            "r_t = σ(x_t W_ir^T + b_ir + h_prev W_hr^T + b_hr), block 0 (rows 0..H) of the \
             stacked weights and biases"
        }
        (1, _) => {
            "z_t = σ(x_t W_iz^T + b_iz + h_prev W_hz^T + b_hz), block 1 (rows H..2H) of the \
             stacked weights and biases"
        }
        (2, GruForm::ResetAfter) => {
            "in ResetAfter, n_t = tanh(x_t W_in^T + b_in + r_t ⊙ (h_prev W_hn^T + b_hn)), \
             block 2 (rows 2H..3H)"
        }
        (2, GruForm::ResetBefore) => {
            "in ResetBefore, the candidate is tanh(x_t W_in^T + b_in + (r_t ⊙ h_prev) W_hn^T + \
             b_hn), block 2 (rows 2H..3H)"
        }
        (_, GruForm::ResetAfter) => "in ResetAfter, h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_prev",
        (_, GruForm::ResetBefore) => "in ResetBefore, h_t = (1 - z_t) ⊙ h_prev + z_t ⊙ h̃_t",
    }
}

type Four = [ArrayD<f64>; 4];

fn learner_step(s: &GatedStep, form: GruForm) -> Four {
    let r = learner::gru_cell_forward(
        s.x.view(),
        s.h_prev.view(),
        s.w_ih.view(),
        s.w_hh.view(),
        s.b_ih.view(),
        s.b_hh.view(),
        form,
    );
    [r.r, r.z, r.n, r.h].map(|a| a.into_dyn())
}

/// The reference gates (from `Gru::forward`'s cache) and state (from `Gru::step`).
fn reference(s: &GatedStep, form: GruForm) -> Four {
    let gru = s.gru(form);
    let h = s.shape.h;
    let xs = s.x.clone().insert_axis(Axis(0)); // (1, B, D)
    let cache = gru
        .forward(xs.view(), s.h_prev.view())
        .expect("reference forward");
    let gates = cache.gates().index_axis(Axis(0), 0).to_owned(); // (B, 3H)
    let h_t = gru
        .step(s.x.view(), s.h_prev.view())
        .expect("reference step");
    [
        cols(&gates, 0, h).into_dyn(),
        cols(&gates, 1, h).into_dyn(),
        cols(&gates, 2, h).into_dyn(),
        h_t.into_dyn(),
    ]
}

/// A step computed with switches, to recognise the common mistakes.
#[derive(Clone, Copy, PartialEq)]
struct Variant {
    /// Which blocks r and z are read from.
    rz: (usize, usize),
    reset_after: bool,
    z_keeps: bool,
    sigmoid_n: bool,
    b_hn_outside: bool,
}

impl Variant {
    fn correct(form: GruForm) -> Variant {
        let after = form == GruForm::ResetAfter;
        Variant {
            rz: (0, 1),
            reset_after: after,
            z_keeps: after,
            sigmoid_n: false,
            b_hn_outside: false,
        }
    }

    fn run(self, s: &GatedStep) -> Four {
        let h = s.shape.h;
        let gx = s.x.dot(&s.w_ih.t()) + &s.b_ih; // (B, 3H)
        let gh = s.h_prev.dot(&s.w_hh.t()) + &s.b_hh; // (B, 3H)
        let r = (cols(&gx, self.rz.0, h) + cols(&gh, self.rz.0, h)).mapv(sigmoid);
        let z = (cols(&gx, self.rz.1, h) + cols(&gh, self.rz.1, h)).mapv(sigmoid);
        let (w_hn, b_hn) = (block2(&s.w_hh, 2, h), block1(&s.b_hh, 2, h));
        let gx_n = cols(&gx, 2, h);
        let a: Array2<f64> = if self.reset_after && self.b_hn_outside {
            &gx_n + &(&r * &s.h_prev.dot(&w_hn.t())) + &b_hn
        } else if self.reset_after {
            &gx_n + &(&r * &(s.h_prev.dot(&w_hn.t()) + &b_hn))
        } else {
            &gx_n + &(&r * &s.h_prev).dot(&w_hn.t()) + &b_hn
        };
        let n = if self.sigmoid_n {
            a.mapv(sigmoid)
        } else {
            a.mapv(f64::tanh)
        };
        let one_minus_z = z.mapv(|z| 1.0 - z);
        let h_t = if self.z_keeps {
            &one_minus_z * &n + &z * &s.h_prev
        } else {
            &one_minus_z * &s.h_prev + &z * &n
        };
        [r, z, n, h_t].map(|a| a.into_dyn())
    }
}

fn suspects(s: &GatedStep, form: GruForm, k: usize) -> Vec<Suspect> {
    let ok = Variant::correct(form);
    let after = form == GruForm::ResetAfter;
    let reset_hint = if after {
        "the reset gate acts in the wrong place: in ResetAfter, r_t scales the product, \
         r_t ⊙ (h_prev W_hn^T + b_hn), not h_prev before it"
    } else {
        "the reset gate acts in the wrong place: in ResetBefore, r_t scales h_prev before the \
         product, (r_t ⊙ h_prev) W_hn^T, not the product after it"
    };
    let list: Vec<(String, Variant)> = vec![
        (
            "the update gate is the wrong way round for this form: check the update-gate \
             convention. ResetAfter: h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_prev (z_t ≈ 1 keeps the \
             state); ResetBefore: h_t = (1 - z_t) ⊙ h_prev + z_t ⊙ h̃_t (z_t ≈ 1 takes the \
             candidate)"
                .into(),
            Variant {
                z_keeps: !ok.z_keeps,
                ..ok
            },
        ),
        (
            reset_hint.into(),
            Variant {
                reset_after: !ok.reset_after,
                ..ok
            },
        ),
        (
            format!(
                "this is the {} step, not the {:?} one: did you branch on `form`?",
                if after { "ResetBefore" } else { "ResetAfter" },
                form
            ),
            Variant {
                reset_after: !ok.reset_after,
                z_keeps: !ok.z_keeps,
                ..ok
            },
        ),
        (
            "r and z are read from each other's blocks: PyTorch stacks them r, z, n (rows 0..H \
             reset, H..2H update, 2H..3H candidate)"
                .into(),
            Variant { rz: (1, 0), ..ok },
        ),
        (
            "the candidate went through a sigmoid: the candidate is a tanh, in (-1, 1)".into(),
            Variant {
                sigmoid_n: true,
                ..ok
            },
        ),
    ];
    let mut list = list;
    // Before the reset suspect: with H = 1, (r ⊙ h) W_hn equals r ⊙ (h W_hn), and the two
    // mistakes coincide.
    if after {
        list.insert(
            0,
            (
                if s.shape.h == 1 {
                    "b_hn was added outside the reset, or r_t was applied to h_prev before the \
                     product (with H = 1 the two coincide): in ResetAfter, r_t scales the \
                     product, bias included; b_hn sits inside the reset, r_t ⊙ (h_prev W_hn^T \
                     + b_hn)"
                } else {
                    "b_hn was added outside the reset: in ResetAfter b_hn sits inside the \
                     reset, r_t ⊙ (h_prev W_hn^T + b_hn), which is why PyTorch keeps two biases"
                }
                .into(),
                Variant {
                    b_hn_outside: true,
                    ..ok
                },
            ),
        );
    }
    list.into_iter()
        .map(|(hint, v)| suspect(format!("{}: {hint}", NAMES[k]), v.run(s)[k].clone()))
        .collect()
}

#[track_caller]
fn check_all(s: &GatedStep, form: GruForm, which: &[usize], context: &str) {
    let got = learner_step(s, form);
    let expected = reference(s, form);
    for &k in which {
        assert_agrees(
            NAMES[k],
            &format!("in {form:?}, {context}"),
            got[k].view(),
            expected[k].view(),
            &suspects(s, form, k),
            default_hint(k, form),
        );
    }
}

#[test]
fn returns_one_row_per_example_and_one_column_per_unit() {
    for s in GatedStep::all(3) {
        for form in FORMS {
            let got = learner_step(&s, form);
            for k in 0..4 {
                assert_shape(
                    NAMES[k],
                    got[k].shape(),
                    &[s.shape.b, s.shape.h],
                    "every result is (B, H): one (B, H) block of the (B, 3H) products",
                );
            }
        }
    }
}

#[test]
fn reset_after_gates_and_candidate_match_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, GruForm::ResetAfter, &[0, 1, 2], &s.context());
    }
}

#[test]
fn reset_after_state_matches_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, GruForm::ResetAfter, &[3], &s.context());
    }
}

#[test]
fn reset_before_gates_and_candidate_match_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, GruForm::ResetBefore, &[0, 1, 2], &s.context());
    }
}

#[test]
fn reset_before_state_matches_the_reference() {
    for s in GatedStep::all(3) {
        check_all(&s, GruForm::ResetBefore, &[3], &s.context());
    }
}

#[test]
fn both_forms_match_on_many_seeds() {
    for s in GatedStep::many(3, 4) {
        for form in FORMS {
            check_all(&s, form, &[0, 1, 2, 3], &s.context());
        }
    }
}

#[test]
fn a_single_example_and_a_single_unit() {
    for sh in [shape(1, 1, 1, 1), shape(1, 1, 3, 1), shape(1, 1, 2, 4)] {
        let s = GatedStep::new(sh, 3, 55);
        for form in FORMS {
            check_all(
                &s,
                form,
                &[0, 1, 2, 3],
                &format!("with B = 1, {}", s.context()),
            );
        }
    }
}

#[test]
fn one_unit_by_hand_reset_after() {
    // r = σ(0.5), z = σ(-1), n = tanh(0.25 + r·(0.5·1 + 0.5)), h = (1 - z) n + z·1.
    let s = GatedStep {
        x: arr2(&[[1.0]]),
        h_prev: arr2(&[[1.0]]),
        w_ih: arr2(&[[0.5], [-0.5], [0.25]]),
        w_hh: arr2(&[[0.0], [-0.5], [0.5]]),
        b_ih: arr1(&[0.0, 0.0, 0.0]),
        b_hh: arr1(&[0.0, 0.0, 0.5]),
        ..GatedStep::new(shape(1, 1, 1, 1), 3, 1)
    };
    check_all(
        &s,
        GruForm::ResetAfter,
        &[0, 1, 2, 3],
        "with B = D = H = 1, x_t = h_prev = 1",
    );
    let (r, z) = (sigmoid(0.5), sigmoid(-1.0));
    let n = (0.25 + r * 1.0).tanh();
    let expected = (1.0 - z) * n + z;
    let got = learner_step(&s, GruForm::ResetAfter)[3][[0, 0]];
    assert!(
        (got - expected).abs() < 1e-12,
        "h_t should be (1 - σ(-1))·tanh(0.25 + σ(0.5)·1) + σ(-1)·1 = {expected}, got {got}"
    );
}
