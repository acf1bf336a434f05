//! Grades exercise 13, `esn_readout`, against `recurrent::esn::ridge_readout` on the states
//! of a real reservoir driven by a generated Mackey–Glass series, and against a linear map
//! it must recover exactly.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex13_esn_readout.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex13_esn_readout.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex13_esn_readout.rs"]
mod learner;

mod common;

use common::{assert_agrees, assert_shape, suspect, Suspect};
use ndarray::{concatenate, s, Array2, Axis};
use recurrent::esn::{column, ridge_readout, solve_spd, Esn, EsnConfig};
use recurrent::init::{rng, uniform};
use recurrent::series::MackeyGlass;

const DEFAULT_HINT: &str = "drop the first `washout` rows of states and targets, build \
     X = [1 | states] (a column of ones first), then solve (XᵀX + λI) W_out = XᵀY";

/// One graded problem: reservoir states, targets and the readout's settings.
struct Problem {
    states: Array2<f64>,  // (T, N)
    targets: Array2<f64>, // (T, O)
    washout: usize,
    ridge: f64,
    context: String,
}

/// A reservoir of `n` units driven by Mackey–Glass from `seed`; the targets are the next
/// value and, for `outputs` = 2, the one after.
fn esn_problem(
    n: usize,
    t: usize,
    outputs: usize,
    washout: usize,
    ridge: f64,
    seed: u64,
) -> Problem {
    let series = MackeyGlass::default()
        .generate(t + 2, seed)
        .expect("a valid series");
    let esn = Esn::new(&EsnConfig {
        reservoir_size: n,
        seed,
        ..EsnConfig::default()
    })
    .expect("a valid reservoir");
    let states = esn
        .run(column(series.slice(s![..t])).view())
        .expect("the reservoir runs");
    let targets = Array2::from_shape_fn((t, outputs), |(i, o)| series[i + 1 + o]);
    Problem {
        states,
        targets,
        washout,
        ridge,
        context: format!(
            "on (T, N, O) = ({t}, {n}, {outputs}) with washout {washout}, λ = {ridge}, seed {seed}"
        ),
    }
}

fn problems() -> Vec<Problem> {
    vec![
        esn_problem(1, 40, 1, 10, 0.5, 1),
        esn_problem(5, 120, 1, 20, 0.1, 2),
        esn_problem(12, 200, 2, 50, 1e-3, 3),
        esn_problem(20, 300, 2, 30, 1.0, 4),
        esn_problem(8, 150, 1, 1, 0.05, 5),
    ]
}

/// The ridge readout with a planted mistake: `skip` rows dropped, λ on the diagonal or on
/// every entry, the ones column first, last or missing (a zero bias row).
fn variant(p: &Problem, skip: usize, ridge_everywhere: bool, bias: &str) -> Array2<f64> {
    let kept = p.states.slice(s![skip.., ..]);
    let y = p.targets.slice(s![skip.., ..]);
    let ones = Array2::ones((kept.nrows(), 1));
    let x = match bias {
        "last" => concatenate![Axis(1), kept, ones],
        "none" => kept.to_owned(),
        _ => concatenate![Axis(1), ones, kept],
    };
    let mut a = x.t().dot(&x);
    if ridge_everywhere {
        a.mapv_inplace(|v| v + p.ridge);
    } else {
        a.diag_mut().mapv_inplace(|v| v + p.ridge);
    }
    let w = solve_spd(a.view(), x.t().dot(&y).view()).expect("a solvable variant");
    match bias {
        "none" => concatenate![Axis(0), Array2::zeros((1, y.ncols())), w],
        _ => w,
    }
}

fn suspects(p: &Problem) -> Vec<Suspect> {
    let reference = |washout, ridge| {
        ridge_readout(p.states.view(), p.targets.view(), washout, ridge)
            .expect("the reference readout")
            .into_dyn()
    };
    let mut list = vec![
        suspect(
            "W_out matches the fit on all T rows: you forgot the washout (drop the first \
             `washout` rows of both states and targets; the reservoir was still forgetting \
             its zero start)",
            reference(0, p.ridge),
        ),
        suspect(
            "W_out matches a fit that drops one row too many: drop exactly `washout` rows \
             (rows 0..washout) and keep row `washout`",
            reference(p.washout + 1, p.ridge),
        ),
        suspect(
            "W_out matches the unregularised least-squares solution: you forgot λ (you solved \
             XᵀX W = XᵀY); add λ = `ridge` to the diagonal of XᵀX",
            reference(p.washout, 0.0),
        ),
        suspect(
            "λ was added to every entry of XᵀX: add it only to the diagonal (λI)",
            variant(p, p.washout, true, "first").into_dyn(),
        ),
        suspect(
            "W_out matches a fit without the column of ones: you forgot the bias column \
             (X = [1 | states]; row 0 of W_out is the bias)",
            variant(p, p.washout, false, "none").into_dyn(),
        ),
        suspect(
            "this is the right fit with the bias as the last row: put the column of ones in \
             front of the states (first column), so that row 0 of W_out is the bias",
            variant(p, p.washout, false, "last").into_dyn(),
        ),
    ];
    if p.washout > 0 {
        list.push(suspect(
            "W_out matches a fit that drops one row too few: drop exactly `washout` rows \
             (rows 0..washout) and keep row `washout`",
            reference(p.washout - 1, p.ridge),
        ));
    }
    list
}

#[test]
fn readout_has_one_row_per_state_unit_plus_the_bias() {
    for p in problems() {
        let got = learner::esn_readout(p.states.view(), p.targets.view(), p.washout, p.ridge);
        assert_shape(
            "W_out",
            got.shape(),
            &[p.states.ncols() + 1, p.targets.ncols()],
            "W_out is (1 + N, O): one row for the bias, one per reservoir unit",
        );
    }
}

#[test]
fn recovers_a_known_linear_map_exactly_without_ridge() {
    // y = 0.7 + states · w after the washout; the washout rows hold nonsense targets that a
    // correct readout never sees.
    let mut g = rng(13);
    let states: Array2<f64> = uniform(60, 3, 1.0, &mut g);
    let w = ndarray::array![[1.5, -0.5], [-2.0, 0.25], [0.5, 1.0]];
    let mut targets = states.dot(&w) + 0.7;
    targets.slice_mut(s![..8, ..]).fill(25.0);
    let p = Problem {
        states,
        targets,
        washout: 8,
        ridge: 0.0,
        context: "on a known linear map with washout 8 and λ = 0".into(),
    };
    let got = learner::esn_readout(p.states.view(), p.targets.view(), p.washout, p.ridge);
    let expected = concatenate![Axis(0), ndarray::array![[0.7, 0.7]], w];
    assert_agrees(
        "W_out",
        &p.context,
        got.into_dyn().view(),
        expected.into_dyn().view(),
        &suspects(&p),
        DEFAULT_HINT,
    );
}

#[test]
fn matches_the_crate_readout_on_reservoir_states() {
    for p in problems() {
        let got = learner::esn_readout(p.states.view(), p.targets.view(), p.washout, p.ridge);
        let expected = ridge_readout(p.states.view(), p.targets.view(), p.washout, p.ridge)
            .expect("the reference readout");
        assert_agrees(
            "W_out",
            &p.context,
            got.into_dyn().view(),
            expected.into_dyn().view(),
            &suspects(&p),
            DEFAULT_HINT,
        );
    }
}

#[test]
fn a_large_lambda_shrinks_the_readout_as_the_reference_does() {
    let p = esn_problem(10, 150, 1, 25, 50.0, 7);
    let got = learner::esn_readout(p.states.view(), p.targets.view(), p.washout, p.ridge);
    let expected = ridge_readout(p.states.view(), p.targets.view(), p.washout, p.ridge)
        .expect("the reference readout");
    assert_agrees(
        "W_out",
        &p.context,
        got.into_dyn().view(),
        expected.into_dyn().view(),
        &suspects(&p),
        DEFAULT_HINT,
    );
}
