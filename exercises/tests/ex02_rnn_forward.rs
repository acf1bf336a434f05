//! Grades exercise 2, `rnn_forward`, against `recurrent::Rnn::forward`.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex02_rnn_forward.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex02_rnn_forward.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex02_rnn_forward.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, shape, suspect, Problem, Suspect};
use ndarray::{Array2, Array3, Axis};

const DEFAULT_HINT: &str = "hs[t] should be tanh(x_t W_xh^T + h_(t-1) W_hh^T + b), where \
     h_(t-1) is h0 at the first step and the state you just computed after that";

fn learner_hs(p: &Problem) -> Array3<f64> {
    learner::rnn_forward(
        p.xs.view(),
        p.h0.view(),
        p.w_xh.view(),
        p.w_hh.view(),
        p.b.view(),
    )
}

/// Which state each step reads, in the suspects below.
#[derive(Clone, Copy)]
enum Reads {
    Previous,
    Zeros,
    H0,
}

/// A forward pass with one thing changed, to recognise the common mistakes.
fn variant(p: &Problem, reads: Reads, tanh: bool, bias: bool) -> Array3<f64> {
    let (t_len, batch, _) = p.xs.dim();
    let hidden = p.shape.h;
    let mut hs = Array3::zeros((t_len, batch, hidden)); // (T, B, H)
    let mut h_prev = p.h0.clone(); // (B, H)
    for t in 0..t_len {
        let read = match reads {
            Reads::Previous => h_prev.clone(),
            Reads::Zeros => Array2::zeros((batch, hidden)),
            Reads::H0 => p.h0.clone(),
        }; // (B, H)
        let mut a = p.xs.index_axis(Axis(0), t).dot(&p.w_xh.t()) + read.dot(&p.w_hh.t()); // (B, H)
        if bias {
            a += &p.b;
        }
        let h_t = if tanh { a.mapv(f64::tanh) } else { a }; // (B, H)
        hs.index_axis_mut(Axis(0), t).assign(&h_t);
        h_prev = h_t;
    }
    hs
}

fn suspects(p: &Problem) -> Vec<Suspect> {
    let hs = p.hs();
    let feed = "did you feed h_{t-1} into step t, updating h_prev to the new state after \
                every step?";
    vec![
        suspect(
            "your hs are h0, h_1, ..., h_(T-1): the states are off by one (hs[0] must be h_1, \
             the state after the first input, and hs[T-1] must be h_T)",
            p.h_prevs(&hs).into_dyn(),
        ),
        suspect(
            format!("every step starts from a zero state: {feed}"),
            variant(p, Reads::Zeros, true, true).into_dyn(),
        ),
        suspect(
            format!("every step starts from h0: {feed}"),
            variant(p, Reads::H0, true, true).into_dyn(),
        ),
        suspect(
            "the states are the sums before the squashing: did you apply tanh at every step?",
            variant(p, Reads::Previous, false, true).into_dyn(),
        ),
        suspect(
            "the states match a forward pass without b: did you add the bias b?",
            variant(p, Reads::Previous, true, false).into_dyn(),
        ),
    ]
}

#[track_caller]
fn check(p: &Problem, got: &Array3<f64>, context: &str) {
    assert_agrees(
        "hs",
        context,
        got.view().into_dyn(),
        p.hs().view().into_dyn(),
        &suspects(p),
        DEFAULT_HINT,
    );
}

#[test]
fn returns_t_states_of_b_by_h() {
    for p in Problem::all() {
        let got = learner_hs(&p);
        assert_shape(
            "hs",
            got.shape(),
            &[p.shape.t, p.shape.b, p.shape.h],
            "hs is (T, B, H): one (B, H) state per input step, h_1..h_T (h0 is not included)",
        );
    }
}

#[test]
fn first_state_is_one_step_after_h0() {
    for p in Problem::all() {
        let got = learner_hs(&p);
        let x_1 = p.xs.index_axis(Axis(0), 0); // (B, D)
        let expected = p.rnn().step(x_1, p.h0.view()).expect("the reference step"); // (B, H)
        let from_zero = p
            .rnn()
            .step(x_1, Array2::zeros(p.h0.raw_dim()).view())
            .expect("the reference step");
        assert_shape(
            "hs",
            got.shape(),
            &[p.shape.t, p.shape.b, p.shape.h],
            DEFAULT_HINT,
        );
        assert_agrees(
            "hs[0]",
            &p.context(),
            got.index_axis(Axis(0), 0).into_dyn(),
            expected.view().into_dyn(),
            &[
                suspect(
                    "hs[0] is h0: the states are off by one (hs[0] must be h_1 = \
                     tanh(x_1 W_xh^T + h0 W_hh^T + b), the state after the first input)",
                    p.h0.clone().into_dyn(),
                ),
                suspect(
                    "hs[0] was computed from a zero state: did you start from h0, and did \
                     you feed h_{t-1} into step t?",
                    from_zero.into_dyn(),
                ),
            ],
            "hs[0] should be h_1 = tanh(x_1 W_xh^T + h0 W_hh^T + b), with x_1 = xs[0]",
        );
    }
}

#[test]
fn each_state_is_computed_from_the_previous_one() {
    for p in Problem::all().into_iter().filter(|p| p.shape.t >= 2) {
        let got = learner_hs(&p);
        check(&p, &got, &p.context());
    }
}

#[test]
fn matches_the_reference_forward_on_random_shapes() {
    for seed in 0..5 {
        for p in Problem::all() {
            let p = Problem::new(p.shape, p.seed + 1000 * seed);
            let got = learner_hs(&p);
            check(&p, &got, &p.context());
        }
    }
}

#[test]
fn a_single_step_is_one_rnn_step() {
    for s in [shape(1, 1, 1, 1), shape(1, 1, 3, 2), shape(1, 3, 2, 4)] {
        let p = Problem::new(s, 11);
        let got = learner_hs(&p);
        check(&p, &got, &format!("with T = 1, {}", p.context()));
    }
}

#[test]
fn the_first_input_still_matters_at_the_last_step() {
    // The state is the network's only memory: x_1 can reach h_T only through
    // h_1, h_2, ..., h_(T-1).
    let p = Problem::new(shape(12, 2, 3, 4), 5);
    let got = learner_hs(&p);
    check(&p, &got, &format!("on a longer sequence, {}", p.context()));
    let mut nudged = p.clone();
    nudged
        .xs
        .index_axis_mut(Axis(0), 0)
        .mapv_inplace(|v| v + 0.5);
    let got_nudged = learner_hs(&nudged);
    let last = p.shape.t - 1;
    let change = (&got_nudged.index_axis(Axis(0), last) - &got.index_axis(Axis(0), last))
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        change > 1e-6,
        "hs[T-1] did not change when x_1 changed (max change {change:.1e}): did you feed \
         h_{{t-1}} into step t, so that the state carries the past forward?"
    );
}
