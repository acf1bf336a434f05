//! What the graders share: random problems drawn from a seed, the reference forward pass
//! from the `recurrent` crate, and comparisons whose failure messages name the likely
//! mistake.
#![allow(dead_code)]

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayViewD, Axis, Dimension};
use rand::Rng;
use recurrent::gradcheck::rel_error;
use recurrent::init::{rng, SeededRng};
use recurrent::Rnn;
use std::fmt;

/// Two analytic computations of the same quantity agree to rounding error (about 1e-15);
/// anything above this is a mistake, not noise.
pub const TOL: f64 = 1e-8;

/// The sizes of one problem.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub t: usize,
    pub b: usize,
    pub d: usize,
    pub h: usize,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(T, B, D, H) = ({}, {}, {}, {})",
            self.t, self.b, self.d, self.h
        )
    }
}

pub const fn shape(t: usize, b: usize, d: usize, h: usize) -> Shape {
    Shape { t, b, d, h }
}

/// Fixed shapes covering the edge cases (T = 1, B = 1, a single unit, D = H, D ≠ H),
/// followed by random ones.
pub fn shapes() -> Vec<Shape> {
    let mut all = vec![
        shape(1, 1, 1, 1),
        shape(1, 2, 3, 2),
        shape(3, 1, 2, 3),
        shape(4, 2, 3, 3),
        shape(5, 3, 2, 4),
        shape(2, 4, 5, 2),
        shape(7, 2, 4, 5),
    ];
    let mut g = rng(2024);
    for _ in 0..3 {
        all.push(shape(
            g.random_range(1..=6),
            g.random_range(1..=3),
            g.random_range(1..=4),
            g.random_range(1..=5),
        ));
    }
    all
}

fn uniform1(n: usize, bound: f64, g: &mut SeededRng) -> Array1<f64> {
    Array1::from_shape_simple_fn(n, || g.random_range(-bound..=bound))
}

fn uniform2(rows: usize, cols: usize, bound: f64, g: &mut SeededRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || g.random_range(-bound..=bound))
}

fn uniform3(dims: (usize, usize, usize), bound: f64, g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(dims, || g.random_range(-bound..=bound))
}

/// One random problem: parameters, inputs, an initial state, and the weights G of the
/// loss $L = \sum G \odot hs$, so that $\partial L/\partial h_t = G_t$.
#[derive(Clone, Debug)]
pub struct Problem {
    pub shape: Shape,
    pub seed: u64,
    pub xs: Array3<f64>,   // (T, B, D)
    pub h0: Array2<f64>,   // (B, H)
    pub w_xh: Array2<f64>, // (H, D)
    pub w_hh: Array2<f64>, // (H, H)
    pub b: Array1<f64>,    // (H,)
    pub g: Array3<f64>,    // (T, B, H)
}

impl Problem {
    /// Weights large enough that tanh is clearly nonlinear, small enough that it is not
    /// saturated (so every gradient term is of order one).
    pub fn new(shape: Shape, seed: u64) -> Problem {
        let mut g = rng(seed);
        let Shape { t, b, d, h } = shape;
        Problem {
            shape,
            seed,
            xs: uniform3((t, b, d), 1.0, &mut g),
            h0: uniform2(b, h, 0.8, &mut g),
            w_xh: uniform2(h, d, 0.9, &mut g),
            w_hh: uniform2(h, h, 0.9, &mut g),
            b: uniform1(h, 0.5, &mut g),
            g: uniform3((t, b, h), 1.0, &mut g),
        }
    }

    /// Every fixed and random shape, each with its own seed.
    pub fn all() -> Vec<Problem> {
        shapes()
            .into_iter()
            .enumerate()
            .map(|(i, s)| Problem::new(s, 100 + i as u64))
            .collect()
    }

    pub fn rnn(&self) -> Rnn<f64> {
        Rnn {
            w_xh: self.w_xh.clone(),
            w_hh: self.w_hh.clone(),
            b: self.b.clone(),
            nonlinearity: recurrent::Nonlinearity::Tanh,
        }
    }

    /// The reference states $h_1..h_T$ from `recurrent::Rnn::forward`: (T, B, H).
    pub fn hs(&self) -> Array3<f64> {
        reference_hs(&self.rnn(), &self.xs, &self.h0)
    }

    /// Where a failure happened, for messages.
    pub fn context(&self) -> String {
        format!("on {} with seed {}", self.shape, self.seed)
    }

    /// $h_{t-1}$ for every step: h0, h_1, ..., h_{T-1}, (T, B, H).
    pub fn h_prevs(&self, hs: &Array3<f64>) -> Array3<f64> {
        let mut out = Array3::zeros(hs.raw_dim());
        for t in 0..hs.len_of(Axis(0)) {
            let prev = if t == 0 {
                self.h0.view()
            } else {
                hs.index_axis(Axis(0), t - 1)
            };
            out.index_axis_mut(Axis(0), t).assign(&prev);
        }
        out
    }
}

pub fn reference_hs(rnn: &Rnn<f64>, xs: &Array3<f64>, h0: &Array2<f64>) -> Array3<f64> {
    rnn.forward(xs.view(), h0.view())
        .expect("the reference forward pass")
        .hs()
        .to_owned()
}

/// The worst entry of a comparison.
#[derive(Clone, Debug)]
pub struct Worst {
    pub rel_error: f64,
    pub index: Vec<usize>,
    pub got: f64,
    pub expected: f64,
}

/// The entry where `got` and `expected` (same shape) differ most, by the gradient
/// checker's relative error (absolute below 1e-4); NaN counts as infinitely wrong.
pub fn worst(got: ArrayViewD<f64>, expected: ArrayViewD<f64>) -> Worst {
    let mut w = Worst {
        rel_error: 0.0,
        index: vec![0; got.ndim()],
        got: 0.0,
        expected: 0.0,
    };
    for ((idx, &a), &e) in got.indexed_iter().zip(expected.iter()) {
        let err = rel_error(a, e);
        let err = if err.is_nan() { f64::INFINITY } else { err };
        if err > w.rel_error {
            w = Worst {
                rel_error: err,
                index: idx.slice().to_vec(),
                got: a,
                expected: e,
            };
        }
    }
    w
}

/// Whether two arrays of the same shape agree to rounding error.
pub fn agree(got: ArrayViewD<f64>, expected: ArrayViewD<f64>) -> bool {
    got.shape() == expected.shape() && worst(got, expected).rel_error <= TOL
}

/// Panics unless `got` has the `expected` shape, saying so plainly.
#[track_caller]
pub fn assert_shape(name: &str, got: &[usize], expected: &[usize], hint: &str) {
    assert!(
        got == expected,
        "{name} has shape {got:?}, expected {expected:?}: {hint}"
    );
}

/// A wrong answer the grader recognises, and what to say when it sees it.
pub struct Suspect {
    pub hint: String,
    pub value: ArrayD<f64>,
}

pub fn suspect(hint: impl Into<String>, value: ArrayD<f64>) -> Suspect {
    Suspect {
        hint: hint.into(),
        value,
    }
}

/// The hint for a wrong `got`: the first suspect it equals (that is not also the right
/// answer), else "all zeros" or "NaN" if it is, else `default`.
pub fn diagnose(
    what: &str,
    got: ArrayViewD<f64>,
    expected: ArrayViewD<f64>,
    suspects: &[Suspect],
    default: &str,
) -> String {
    for s in suspects {
        if s.value.shape() == got.shape()
            && agree(got.view(), s.value.view())
            && !agree(expected.view(), s.value.view())
        {
            return s.hint.clone();
        }
    }
    if got.iter().any(|v| v.is_nan()) {
        return format!("{what} contains NaN: is some value used before it is computed? {default}");
    }
    if got.iter().all(|&v| v == 0.0) && expected.iter().any(|&v| v != 0.0) {
        return format!(
            "{what} is all zeros: did you compute it and return it (not the zeros you started from)?"
        );
    }
    default.to_string()
}

/// Checks shape, then values against the reference; on a mismatch panics with the worst
/// entry and the diagnosed hint.
#[track_caller]
pub fn assert_agrees(
    what: &str,
    context: &str,
    got: ArrayViewD<f64>,
    expected: ArrayViewD<f64>,
    suspects: &[Suspect],
    default: &str,
) {
    assert_shape(what, got.shape(), expected.shape(), default);
    let w = worst(got.view(), expected.view());
    if w.rel_error > TOL {
        let hint = diagnose(what, got.view(), expected.view(), suspects, default);
        panic!(
            "{what} is off (max rel err {:.1e}): {hint}\n  worst entry: index {:?}, got {:.6}, expected {:.6}, {context}",
            w.rel_error, w.index, w.got, w.expected
        );
    }
}

// ---------------------------------------------------------------------------------------
// One step of a gated cell (exercises 5 to 10).
// ---------------------------------------------------------------------------------------

/// The inputs of one step of a gated cell with `k` stacked gate blocks (LSTM 4, CIFG and
/// GRU 3), its diagonal peepholes, and the gradients `dh`, `dc` arriving from above. The
/// `t` of the shape is ignored: a step reads one time step.
#[derive(Clone, Debug)]
pub struct GatedStep {
    pub shape: Shape,
    pub seed: u64,
    pub x: Array2<f64>,      // (B, D)
    pub h_prev: Array2<f64>, // (B, H)
    pub c_prev: Array2<f64>, // (B, H)
    pub w_ih: Array2<f64>,   // (kH, D)
    pub w_hh: Array2<f64>,   // (kH, H)
    pub b_ih: Array1<f64>,   // (kH,)
    pub b_hh: Array1<f64>,   // (kH,)
    pub p_i: Array1<f64>,    // (H,)
    pub p_f: Array1<f64>,    // (H,)
    pub p_o: Array1<f64>,    // (H,)
    pub dh: Array2<f64>,     // (B, H)
    pub dc: Array2<f64>,     // (B, H)
}

impl GatedStep {
    /// Weights in ±0.8 and a cell in ±1.5: every gate is clearly nonlinear but none is
    /// saturated, so every gradient term is of order one.
    pub fn new(shape: Shape, blocks: usize, seed: u64) -> GatedStep {
        let mut g = rng(seed);
        let Shape { b, d, h, .. } = shape;
        GatedStep {
            shape,
            seed,
            x: uniform2(b, d, 1.0, &mut g),
            h_prev: uniform2(b, h, 0.8, &mut g),
            c_prev: uniform2(b, h, 1.5, &mut g),
            w_ih: uniform2(blocks * h, d, 0.8, &mut g),
            w_hh: uniform2(blocks * h, h, 0.8, &mut g),
            b_ih: uniform1(blocks * h, 0.5, &mut g),
            b_hh: uniform1(blocks * h, 0.5, &mut g),
            p_i: uniform1(h, 0.8, &mut g),
            p_f: uniform1(h, 0.8, &mut g),
            p_o: uniform1(h, 0.8, &mut g),
            dh: uniform2(b, h, 1.0, &mut g),
            dc: uniform2(b, h, 1.0, &mut g),
        }
    }

    /// Every fixed and random shape (B = 1 and H = 1 among them), each with its own seed.
    pub fn all(blocks: usize) -> Vec<GatedStep> {
        shapes()
            .into_iter()
            .enumerate()
            .map(|(i, s)| GatedStep::new(s, blocks, 500 + i as u64))
            .collect()
    }

    /// `all` again over several seeds.
    pub fn many(blocks: usize, seeds: u64) -> Vec<GatedStep> {
        let mut out = Vec::new();
        for k in 0..seeds {
            for (i, s) in shapes().into_iter().enumerate() {
                out.push(GatedStep::new(s, blocks, 500 + i as u64 + 1000 * k));
            }
        }
        out
    }

    /// Where a failure happened, for messages.
    pub fn context(&self) -> String {
        let Shape { b, d, h, .. } = self.shape;
        format!("on (B, D, H) = ({b}, {d}, {h}) with seed {}", self.seed)
    }

    /// The reference LSTM (`coupled` for CIFG, `peepholes` with this step's p_i, p_f, p_o)
    /// holding this step's parameters.
    pub fn lstm(&self, peepholes: bool, coupled: bool) -> recurrent::Lstm<f64> {
        let Shape { d, h, .. } = self.shape;
        let mut lstm = recurrent::Lstm::new(&recurrent::LstmConfig {
            input_size: d,
            hidden_size: h,
            peepholes,
            coupled,
            ..recurrent::LstmConfig::default()
        })
        .expect("a valid LSTM configuration");
        lstm.w_ih = self.w_ih.clone();
        lstm.w_hh = self.w_hh.clone();
        lstm.b_ih = self.b_ih.clone();
        lstm.b_hh = self.b_hh.clone();
        if peepholes {
            lstm.p_i = (!coupled).then(|| self.p_i.clone());
            lstm.p_f = Some(self.p_f.clone());
            lstm.p_o = Some(self.p_o.clone());
        }
        lstm
    }

    /// The reference GRU in `form` holding this step's parameters (3 blocks).
    pub fn gru(&self, form: recurrent::GruForm) -> recurrent::Gru<f64> {
        recurrent::Gru {
            w_ih: self.w_ih.clone(),
            w_hh: self.w_hh.clone(),
            b_ih: self.b_ih.clone(),
            b_hh: self.b_hh.clone(),
            form,
        }
    }
}

/// Rows `block·H .. (block+1)·H` of a stacked (kH, ·) matrix.
pub fn block2(m: &Array2<f64>, block: usize, h: usize) -> Array2<f64> {
    m.slice(ndarray::s![block * h..(block + 1) * h, ..])
        .to_owned()
}

/// Entries `block·H .. (block+1)·H` of a stacked (kH,) vector.
pub fn block1(v: &Array1<f64>, block: usize, h: usize) -> Array1<f64> {
    v.slice(ndarray::s![block * h..(block + 1) * h]).to_owned()
}

/// Columns `block·H .. (block+1)·H` of a (B, kH) matrix.
pub fn cols(m: &Array2<f64>, block: usize, h: usize) -> Array2<f64> {
    m.slice(ndarray::s![.., block * h..(block + 1) * h])
        .to_owned()
}

pub fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}
