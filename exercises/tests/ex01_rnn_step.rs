//! Grades exercise 1, `rnn_step`, against `recurrent::Rnn::step`.
//!
//! Each test isolates one term of $h_t = \tanh(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$
//! by zeroing the others, so a failure says which term is wrong.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex01_rnn_step.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex01_rnn_step.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex01_rnn_step.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, shape, suspect, Problem, Suspect};
use ndarray::{arr1, arr2, Array1, Array2, Axis};

const DEFAULT_HINT: &str = "h_t should be tanh(x_t W_xh^T + h_prev W_hh^T + b): check each \
     of the three terms, and that tanh is applied last, to their sum";

/// One step's inputs.
struct Step {
    x: Array2<f64>,      // (B, D)
    h_prev: Array2<f64>, // (B, H)
    w_xh: Array2<f64>,   // (H, D)
    w_hh: Array2<f64>,   // (H, H)
    b: Array1<f64>,      // (H,)
}

impl Step {
    fn from(p: &Problem) -> Step {
        Step {
            x: p.xs.index_axis(Axis(0), 0).to_owned(),
            h_prev: p.h0.clone(),
            w_xh: p.w_xh.clone(),
            w_hh: p.w_hh.clone(),
            b: p.b.clone(),
        }
    }

    fn learner(&self) -> Array2<f64> {
        learner::rnn_step(
            self.x.view(),
            self.h_prev.view(),
            self.w_xh.view(),
            self.w_hh.view(),
            self.b.view(),
        )
    }

    fn reference(&self) -> Array2<f64> {
        let rnn = recurrent::Rnn {
            w_xh: self.w_xh.clone(),
            w_hh: self.w_hh.clone(),
            b: self.b.clone(),
            nonlinearity: recurrent::Nonlinearity::Tanh,
        };
        rnn.step(self.x.view(), self.h_prev.view())
            .expect("the reference step")
    }

    /// The likely wrong answers, each with its hint.
    fn suspects(&self) -> Vec<Suspect> {
        let input = self.x.dot(&self.w_xh.t()); // (B, H)
        let recurrent = self.h_prev.dot(&self.w_hh.t()); // (B, H)
        let a = &input + &recurrent + &self.b; // (B, H)
        let tanh = |a: Array2<f64>| a.mapv(f64::tanh).into_dyn();
        vec![
            suspect(
                "h_t is tanh(x_t W_xh^T + h_prev W_hh^T) without b: did you add the bias b?",
                tanh(&input + &recurrent),
            ),
            suspect(
                "h_t equals the sum before the squashing: did you apply tanh to it?",
                a.clone().into_dyn(),
            ),
            suspect(
                "b was added after the tanh: add b inside the tanh, to the sum it squashes",
                (tanh(&input + &recurrent) + &self.b).into_dyn(),
            ),
            suspect(
                "h_prev was multiplied by W_hh itself: multiply by the transpose of W_hh \
                 (h_prev W_hh^T, `h_prev.dot(&w_hh.t())`)",
                tanh(&input + &self.h_prev.dot(&self.w_hh) + &self.b),
            ),
            suspect(
                "h_t does not depend on h_prev: did you add the recurrent term h_prev W_hh^T?",
                tanh(&input + &self.b),
            ),
            suspect(
                "h_t does not depend on x_t: did you add the input term x_t W_xh^T?",
                tanh(&recurrent + &self.b),
            ),
        ]
    }

    #[track_caller]
    fn check(&self, context: &str) {
        let got = self.learner();
        let expected = self.reference();
        assert_agrees(
            "h_t",
            context,
            got.view().into_dyn(),
            expected.view().into_dyn(),
            &self.suspects(),
            DEFAULT_HINT,
        );
    }
}

#[test]
fn returns_one_row_per_example_and_one_column_per_unit() {
    for p in Problem::all() {
        let step = Step::from(&p);
        let got = step.learner();
        assert_shape(
            "h_t",
            got.shape(),
            &[p.shape.b, p.shape.h],
            "h_t is (B, H): a (B, D)·(D, H) product, one row per example",
        );
    }
}

#[test]
fn input_term_is_x_t_times_w_xh_transposed() {
    for p in Problem::all() {
        let mut step = Step::from(&p);
        step.h_prev.fill(0.0);
        step.b.fill(0.0);
        step.check(&format!("with h_prev = 0 and b = 0, {}", p.context()));
    }
}

#[test]
fn recurrent_term_is_h_prev_times_w_hh_transposed() {
    for p in Problem::all() {
        let mut step = Step::from(&p);
        step.x.fill(0.0);
        step.b.fill(0.0);
        step.check(&format!("with x_t = 0 and b = 0, {}", p.context()));
    }
}

#[test]
fn bias_is_added_inside_the_tanh() {
    for p in Problem::all() {
        let mut step = Step::from(&p);
        step.x.fill(0.0);
        step.h_prev.fill(0.0);
        step.check(&format!(
            "with x_t = 0 and h_prev = 0 (so h_t should be tanh(b)), {}",
            p.context()
        ));
    }
}

#[test]
fn large_sums_are_squashed_into_minus_one_one() {
    for p in Problem::all() {
        let mut step = Step::from(&p);
        step.w_xh *= 4.0;
        step.w_hh *= 4.0;
        step.b *= 4.0;
        step.check(&format!("with weights times 4, {}", p.context()));
        let got = step.learner();
        assert!(
            got.iter().all(|v| v.abs() < 1.0),
            "h_t has entries outside (-1, 1): did you apply tanh to the sum?"
        );
    }
}

#[test]
fn matches_the_reference_step_on_random_shapes() {
    for p in Problem::all() {
        Step::from(&p).check(&p.context());
    }
}

#[test]
fn one_example_one_unit_by_hand() {
    // tanh(0.5·2 + (-0.3)·0.7 + 0.1) = tanh(0.89)
    let step = Step {
        x: arr2(&[[0.5]]),
        h_prev: arr2(&[[-0.3]]),
        w_xh: arr2(&[[2.0]]),
        w_hh: arr2(&[[0.7]]),
        b: arr1(&[0.1]),
    };
    step.check("with B = D = H = 1, x_t = 0.5, h_prev = -0.3, w_xh = 2, w_hh = 0.7, b = 0.1");
    let got = step.learner();
    assert!(
        (got[[0, 0]] - 0.89f64.tanh()).abs() < 1e-12,
        "h_t should be tanh(0.89) = {}, got {}",
        0.89f64.tanh(),
        got[[0, 0]]
    );
}

#[test]
fn a_batch_of_one_is_the_same_as_one_row_of_a_batch() {
    let p = Problem::new(shape(1, 3, 4, 3), 7);
    let step = Step::from(&p);
    let full = step.learner();
    for row in 0..3 {
        let single = Step {
            x: step.x.slice(ndarray::s![row..row + 1, ..]).to_owned(),
            h_prev: step.h_prev.slice(ndarray::s![row..row + 1, ..]).to_owned(),
            w_xh: step.w_xh.clone(),
            w_hh: step.w_hh.clone(),
            b: step.b.clone(),
        };
        single.check(&format!("with B = 1 (row {row} of a batch of 3)"));
        assert_agrees(
            "h_t",
            &format!("row {row} of a batch of 3 vs the same example alone"),
            full.slice(ndarray::s![row..row + 1, ..]).into_dyn(),
            single.learner().view().into_dyn(),
            &[],
            "each example (row) must be computed independently of the others",
        );
    }
}
