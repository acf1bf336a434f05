//! Grades exercise 17: `bi_forward` against `recurrent::Bidirectional` for an RNN and an
//! LSTM, both merges and many shapes; `bi_backward` against central differences of
//! $L = \sum G \odot y$ over the inputs, both cells' parameters and (for the RNN) both
//! initial states, and against the crate's backward pass. Each test is built so that one
//! classic mistake fails it, and its message names that mistake.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex17_bidirectional.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex17_bidirectional.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex17_bidirectional.rs"]
mod learner;

mod common;

use common::{shapes, Problem, Shape};
use ndarray::{concatenate, s, Array3, ArrayD, ArrayView3, Axis};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::{BiState, Bidirectional, Lstm, LstmConfig, Merge, Params, Recurrent};

/// Two analytic computations of the same quantity agree to rounding.
const TOL: f64 = 1e-9;

fn max_diff(a: ArrayView3<f64>, b: ArrayView3<f64>) -> f64 {
    if a.dim() != b.dim() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn flip(a: ArrayView3<f64>) -> Array3<f64> {
    a.slice(s![..;-1, .., ..]).to_owned()
}

fn join<'a>(a: ArrayView3<'a, f64>, b: ArrayView3<'a, f64>, merge: Merge) -> Array3<f64> {
    match merge {
        Merge::Concat => concatenate(Axis(2), &[a, b]).unwrap(),
        Merge::Sum => &a + &b,
    }
}

fn flat<P: Params<f64>>(p: &P) -> Vec<f64> {
    p.params()
        .into_iter()
        .flat_map(|(_, v)| v.iter().copied().collect::<Vec<_>>())
        .collect()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < TOL)
}

/// One problem: two cells, inputs, initial states and the loss weights G.
struct Case<C: Recurrent<f64>> {
    label: String,
    fwd: C,
    bwd: C,
    xs: Array3<f64>,
    s0_fwd: C::State,
    s0_bwd: C::State,
    g: Array3<f64>,
    merge: Merge,
}

fn rnn_case(shape: Shape, seed: u64, merge: Merge) -> Case<recurrent::Rnn<f64>> {
    let a = Problem::new(shape, seed);
    let b = Problem::new(shape, seed + 1000);
    let g = match merge {
        Merge::Concat => concatenate(Axis(2), &[a.g.view(), b.g.view()]).unwrap(),
        Merge::Sum => a.g.clone(),
    };
    Case {
        label: format!("an RNN, {shape}, {merge:?}, seed {seed}"),
        fwd: a.rnn(),
        bwd: b.rnn(),
        xs: a.xs.clone(),
        s0_fwd: a.h0.clone(),
        s0_bwd: b.h0.clone(),
        g,
        merge,
    }
}

fn lstm_case(shape: Shape, seed: u64, merge: Merge) -> Case<Lstm<f64>> {
    let a = Problem::new(shape, seed);
    let b = Problem::new(shape, seed + 1000);
    let cell = |seed| {
        Lstm::new(&LstmConfig {
            input_size: shape.d,
            hidden_size: shape.h,
            seed,
            ..LstmConfig::default()
        })
        .unwrap()
    };
    let (fwd, bwd) = (cell(seed), cell(seed + 1));
    let g = match merge {
        Merge::Concat => concatenate(Axis(2), &[a.g.view(), b.g.view()]).unwrap(),
        Merge::Sum => a.g.clone(),
    };
    Case {
        label: format!("an LSTM, {shape}, {merge:?}, seed {seed}"),
        s0_fwd: fwd.zero_state(shape.b),
        s0_bwd: bwd.zero_state(shape.b),
        fwd,
        bwd,
        xs: a.xs.clone(),
        g,
        merge,
    }
}

impl<C: Recurrent<f64> + Clone> Case<C>
where
    C::State: Clone,
{
    fn reference(&self) -> Bidirectional<C> {
        Bidirectional::new(self.fwd.clone(), self.bwd.clone(), self.merge).unwrap()
    }
    fn state(&self) -> BiState<C::State> {
        BiState {
            fwd: self.s0_fwd.clone(),
            bwd: self.s0_bwd.clone(),
        }
    }
    fn outputs(&self, cell: &C, xs: ArrayView3<f64>, s0: &C::State) -> Array3<f64> {
        cell.outputs(&cell.forward_seq(xs, s0).unwrap()).to_owned()
    }

    fn grade_forward(&self) {
        let got = learner::bi_forward(
            &self.fwd,
            &self.bwd,
            self.xs.view(),
            &self.s0_fwd,
            &self.s0_bwd,
            self.merge,
        )
        .unwrap_or_else(|e| panic!("bi_forward on {} returned an error: {e}", self.label));
        let bi = self.reference();
        let want = bi
            .outputs(&bi.forward_seq(self.xs.view(), &self.state()).unwrap())
            .to_owned();
        if max_diff(got.ys.view(), want.view()) < TOL {
            return;
        }
        let hint = if got.ys.dim() != want.dim() {
            format!(
                "the outputs have shape {:?}, expected {:?}: Concat joins along the feature \
                 axis (Axis(2)) to 2H, Sum keeps H",
                got.ys.dim(),
                want.dim()
            )
        } else {
            let h_f = self.outputs(&self.fwd, self.xs.view(), &self.s0_fwd);
            let rev = flip(self.xs.view());
            let h_b_rev = self.outputs(&self.bwd, rev.view(), &self.s0_bwd);
            let h_b_unrev_input = self.outputs(&self.bwd, self.xs.view(), &self.s0_bwd);
            let candidates = [
                (
                    join(h_f.view(), flip(h_b_unrev_input.view()).view(), self.merge),
                    "the backward cell must read x_T first: reverse the input sequence \
                     before its forward_seq (reverse_time(xs))",
                ),
                (
                    join(h_f.view(), h_b_rev.view(), self.merge),
                    "reverse the backward cell's outputs back into input order: its first \
                     output belongs to x_T",
                ),
                (
                    join(h_b_rev.view(), h_f.view(), self.merge),
                    "put the forward half first: [forward; backward], as PyTorch does",
                ),
                (
                    join(flip(h_b_unrev_input.view()).view(), h_f.view(), self.merge),
                    "put the forward half first: [forward; backward], as PyTorch does",
                ),
            ];
            candidates
                .iter()
                .find(|(c, _)| max_diff(got.ys.view(), c.view()) < TOL)
                .map(|(_, h)| h.to_string())
                .unwrap_or_else(|| {
                    "run fwd over xs from s0_fwd, bwd over reverse_time(xs) from s0_bwd, \
                     reverse bwd's outputs back, then join them"
                        .to_string()
                })
        };
        panic!(
            "bi_forward on {}: the outputs differ from the reference by up to {:.3e}.\n\
             Likely mistake: {hint}",
            self.label,
            max_diff(got.ys.view(), want.view())
        );
    }

    /// The learner's backward pass against the crate's, naming the likely mistake.
    fn grade_backward(&self) {
        let cache = learner::bi_forward(
            &self.fwd,
            &self.bwd,
            self.xs.view(),
            &self.s0_fwd,
            &self.s0_bwd,
            self.merge,
        )
        .unwrap();
        let got = learner::bi_backward(&self.fwd, &self.bwd, &cache, self.g.view(), self.merge)
            .unwrap_or_else(|e| panic!("bi_backward on {} returned an error: {e}", self.label));
        let bi = self.reference();
        let want = bi
            .backward_seq(
                &bi.forward_seq(self.xs.view(), &self.state()).unwrap(),
                self.g.view(),
            )
            .unwrap();
        let h = self.fwd.hidden_size();
        let (g_f, g_b) = match self.merge {
            Merge::Concat => (
                self.g.slice(s![.., .., ..h]).to_owned(),
                self.g.slice(s![.., .., h..]).to_owned(),
            ),
            Merge::Sum => (self.g.clone(), self.g.clone()),
        };
        let (gf, wf) = (flat(&got.fwd), flat(&want.grads.fwd));
        let (gb, wb) = (flat(&got.bwd), flat(&want.grads.bwd));
        let fail = |what: &str, hint: &str| -> ! {
            panic!(
                "bi_backward on {}: {what} differs from the reference.\nLikely mistake: {hint}",
                self.label
            )
        };
        if !close(&gf, &wf) {
            let half: Vec<f64> = wf.iter().map(|x| 0.5 * x).collect();
            if self.merge == Merge::Sum && close(&gf, &half) {
                fail(
                    "the forward cell's gradient (it is half the right one)",
                    "with Sum, y_t = h_fwd + h_bwd, so each direction receives the whole \
                     gradient dys, not half of it",
                );
            }
            fail(
                "the forward cell's gradient",
                "give the forward cell its share of dys (Concat: the first H features; \
                 Sum: all of dys), in order",
            );
        }
        if !close(&gb, &wb) {
            let half: Vec<f64> = wb.iter().map(|x| 0.5 * x).collect();
            let cache_b = self
                .bwd
                .forward_seq(flip(self.xs.view()).view(), &self.s0_bwd)
                .unwrap();
            let unreversed = flat(&self.bwd.backward_seq(&cache_b, g_b.view()).unwrap().grads);
            let hint = if self.merge == Merge::Sum && close(&gb, &half) {
                "with Sum, y_t = h_fwd + h_bwd, so each direction receives the whole gradient \
                 dys, not half of it"
            } else if close(&gb, &unreversed) {
                "the backward cell ran over reversed time, so reverse its share of the \
                 gradient (reverse_time) before its backward_seq"
            } else {
                "give the backward cell its share of dys (Concat: the last H features; Sum: \
                 all of dys), reversed in time"
            };
            fail("the backward cell's gradient", hint);
        }
        if max_diff(got.dxs.view(), want.dxs.view()) >= TOL {
            let f = self
                .fwd
                .backward_seq(
                    &self.fwd.forward_seq(self.xs.view(), &self.s0_fwd).unwrap(),
                    g_f.view(),
                )
                .unwrap();
            let hint = if max_diff(got.dxs.view(), f.dxs.view()) < TOL {
                "x_t fed both cells, so dxs is the sum of both cells' input gradients"
            } else if max_diff(got.dxs.view(), want.dxs.view()) < f64::INFINITY
                && max_diff(
                    (&got.dxs - &f.dxs).view(),
                    flip((&want.dxs - &f.dxs).view()).view(),
                ) < TOL
            {
                "reverse the backward cell's dxs back into input order before adding it"
            } else {
                "dxs = the forward cell's dxs + the backward cell's dxs reversed in time"
            };
            fail("dxs", hint);
        }
    }

    /// Central differences over xs and every parameter of both cells.
    fn gradient_check(&self) {
        let cache = learner::bi_forward(
            &self.fwd,
            &self.bwd,
            self.xs.view(),
            &self.s0_fwd,
            &self.s0_bwd,
            self.merge,
        )
        .unwrap();
        let got =
            learner::bi_backward(&self.fwd, &self.bwd, &cache, self.g.view(), self.merge).unwrap();
        let mut tensors = vec![Checked::new(
            "xs",
            self.xs.clone().into_dyn(),
            got.dxs.clone().into_dyn(),
        )];
        for (prefix, cell, grads) in [("fwd", &self.fwd, &got.fwd), ("bwd", &self.bwd, &got.bwd)] {
            for ((name, v), (_, d)) in cell.params().into_iter().zip(grads.params()) {
                tensors.push(Checked::new(
                    format!("{prefix}.{name}"),
                    v.to_owned(),
                    d.to_owned(),
                ));
            }
        }
        let n_f = self.fwd.params().len();
        let report = check(&tensors, |values: &[ArrayD<f64>]| {
            let mut bi = self.reference();
            for (i, (_, mut p)) in bi.params_mut().into_iter().enumerate() {
                p.assign(&values[1 + i]);
            }
            let xs = values[0].clone().into_dimensionality().unwrap();
            let ys = bi
                .outputs(&bi.forward_seq(xs.view(), &self.state()).unwrap())
                .to_owned();
            (&ys * &self.g).sum()
        });
        if !report.passes(TOLERANCE) {
            let worst = report
                .tensors
                .iter()
                .max_by(|a, b| a.max_rel_error.total_cmp(&b.max_rel_error))
                .unwrap();
            let hint = if worst.name == "xs" {
                "dxs = the forward cell's dxs + the backward cell's dxs reversed back in time"
            } else if worst.name.starts_with("bwd") {
                "the backward cell needs its share of dys reversed in time (Sum: the whole \
                 gradient, not half)"
            } else {
                "the forward cell needs its share of dys (Concat: the first H features; Sum: \
                 the whole gradient)"
            };
            panic!(
                "gradient check of bi_backward on {} failed ({n_f} tensors per cell):\n\
                 {report}\nLikely mistake: {hint}",
                self.label
            );
        }
    }
}

fn all_shapes() -> Vec<(Shape, u64)> {
    shapes()
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, 1700 + i as u64))
        .collect()
}

#[test]
fn reverse_time_reverses_only_time() {
    let a = Array3::from_shape_fn((4, 2, 3), |(t, b, k)| (100 * t + 10 * b + k) as f64);
    let got = learner::reverse_time(a.view());
    let want = flip(a.view());
    assert!(
        max_diff(got.view(), want.view()) == 0.0,
        "reverse_time of a (4, 2, 3) array returned\n{got}\nexpected\n{want}\nLikely \
         mistake: reverse axis 0 only, `a.slice(s![..;-1, .., ..])`"
    );
}

#[test]
fn forward_matches_the_crate_rnn() {
    for merge in [Merge::Concat, Merge::Sum] {
        for (shape, seed) in all_shapes() {
            rnn_case(shape, seed, merge).grade_forward();
        }
    }
}

#[test]
fn forward_matches_the_crate_lstm() {
    for merge in [Merge::Concat, Merge::Sum] {
        for (shape, seed) in all_shapes().into_iter().take(6) {
            lstm_case(shape, seed, merge).grade_forward();
        }
    }
}

#[test]
fn backward_matches_the_crate() {
    for merge in [Merge::Concat, Merge::Sum] {
        for (shape, seed) in all_shapes() {
            rnn_case(shape, seed, merge).grade_backward();
        }
        for (shape, seed) in all_shapes().into_iter().take(4) {
            lstm_case(shape, seed, merge).grade_backward();
        }
    }
}

#[test]
fn gradient_check_rnn_and_lstm() {
    for merge in [Merge::Concat, Merge::Sum] {
        for (shape, seed) in all_shapes().into_iter().take(5) {
            rnn_case(shape, seed, merge).gradient_check();
            lstm_case(shape, seed, merge).gradient_check();
        }
    }
}

#[test]
fn initial_state_gradients_are_each_cells_own() {
    for merge in [Merge::Concat, Merge::Sum] {
        for (shape, seed) in all_shapes().into_iter().take(5) {
            let case = rnn_case(shape, seed, merge);
            let cache = learner::bi_forward(
                &case.fwd,
                &case.bwd,
                case.xs.view(),
                &case.s0_fwd,
                &case.s0_bwd,
                merge,
            )
            .unwrap();
            let got =
                learner::bi_backward(&case.fwd, &case.bwd, &cache, case.g.view(), merge).unwrap();
            let tensors = [
                Checked::new(
                    "s0_fwd",
                    case.s0_fwd.clone().into_dyn(),
                    got.ds0_fwd.clone().into_dyn(),
                ),
                Checked::new(
                    "s0_bwd",
                    case.s0_bwd.clone().into_dyn(),
                    got.ds0_bwd.clone().into_dyn(),
                ),
            ];
            let bi = case.reference();
            let report = check(&tensors, |v: &[ArrayD<f64>]| {
                let s0 = BiState {
                    fwd: v[0].clone().into_dimensionality().unwrap(),
                    bwd: v[1].clone().into_dimensionality().unwrap(),
                };
                let ys = bi
                    .outputs(&bi.forward_seq(case.xs.view(), &s0).unwrap())
                    .to_owned();
                (&ys * &case.g).sum()
            });
            assert!(
                report.passes(TOLERANCE),
                "gradient check of the initial states on {}:\n{report}\nLikely mistake: \
                 ds0_fwd is the forward cell's ds0 and ds0_bwd the backward cell's (it \
                 started at x_T), each from its own backward_seq",
                case.label
            );
        }
    }
}

#[test]
fn a_wrong_gradient_shape_is_an_error_that_names_dys() {
    let case = rnn_case(common::shape(3, 2, 2, 3), 1799, Merge::Concat);
    let cache = learner::bi_forward(
        &case.fwd,
        &case.bwd,
        case.xs.view(),
        &case.s0_fwd,
        &case.s0_bwd,
        Merge::Concat,
    )
    .unwrap();
    // H wide instead of 2H: the classic slip of passing one direction's gradient.
    let narrow = Array3::<f64>::zeros((3, 2, 3));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        learner::bi_backward(&case.fwd, &case.bwd, &cache, narrow.view(), Merge::Concat).map(|_| ())
    }));
    let hint = "check that dys has the outputs' shape first and return Err(Error::Shape { arg: \
                \"dys\", .. }), so that the message names dys and both shapes";
    match result {
        Ok(Err(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("dys"),
                "bi_backward with dys of shape (3, 2, 3) for outputs (3, 2, 6) returned the \
                 error \"{text}\", which does not say that dys is wrong.\nLikely mistake: \
                 the error names dys: {hint}"
            );
        }
        Ok(Ok(())) => panic!(
            "bi_backward accepted dys of shape (3, 2, 3) for outputs (3, 2, 6).\nLikely \
             mistake: the error names dys: {hint}"
        ),
        Err(_) => panic!(
            "bi_backward panicked on dys of shape (3, 2, 3) for outputs (3, 2, 6).\nLikely \
             mistake: the error names dys: {hint}"
        ),
    }
}
