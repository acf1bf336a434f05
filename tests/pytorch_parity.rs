//! Parity with PyTorch's `nn.LSTM` and `nn.GRU`, forward and backward, without PyTorch.
//!
//! `scripts/pytorch/make_fixtures.py` ran PyTorch once and saved, for each layer in float64
//! and float32, its parameters, inputs, outputs, final states, a fixed random tensor G and
//! the gradients of L = Σ G ⊙ output with respect to every parameter, the inputs and the
//! initial state (`tests/fixtures/pytorch/README.md`). Each test here loads the parameters
//! through `torch_io`, runs this crate's forward and backward passes, and compares every
//! tensor.
//!
//! The measure, entry by entry, is the absolute difference for values of magnitude up to 1
//! and the relative difference above: |ours − torch| / max(1, |torch|). Its maximum over a
//! tensor must be at most 1e-10 in float64 and 1e-5 in float32 (float32 carries about 7
//! significant digits and the two libraries sum in different orders). A failure names the
//! tensor, the worst entry's index and both values; run with `--nocapture` to see the
//! measured maximum of every tensor.

use ndarray::{Array2, Array3, ArrayD, ArrayView, ArrayViewD, Axis, Dimension, Ix2, Ix3};
use recurrent::gru::{Gru, GruConfig, GruForm};
use recurrent::lstm::{Lstm, LstmConfig, LstmState};
use recurrent::torch_io::{self, NpyFloat, PYTORCH_NAMES};
use recurrent::{BiState, Bidirectional, Merge, Params, Recurrent, Stacked};
use std::path::{Path, PathBuf};

const TOL_F64: f64 = 1e-10;
const TOL_F32: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(name)
}

fn read<F: NpyFloat>(dir: &Path, name: &str) -> ArrayD<F> {
    torch_io::read_array(dir.join(format!("{name}.npy"))).unwrap_or_else(|e| panic!("{e}"))
}

fn read2<F: NpyFloat>(dir: &Path, name: &str) -> Array2<F> {
    read(dir, name)
        .into_dimensionality::<Ix2>()
        .unwrap_or_else(|e| panic!("{name}.npy: expected 2 axes: {e}"))
}

fn read3<F: NpyFloat>(dir: &Path, name: &str) -> Array3<F> {
    read(dir, name)
        .into_dimensionality::<Ix3>()
        .unwrap_or_else(|e| panic!("{name}.npy: expected 3 axes: {e}"))
}

/// Collects the comparisons of one fixture and fails at the end, listing every tensor
/// over the tolerance.
struct Parity {
    fixture: String,
    dir: PathBuf,
    tol: f64,
    failures: Vec<String>,
}

impl Parity {
    fn new(fixture: &str, tol: f64) -> Self {
        Parity {
            fixture: fixture.to_string(),
            dir: self::fixture(fixture),
            tol,
            failures: Vec::new(),
        }
    }

    /// Compares `ours` with `torch`: max over entries of |a − b| / max(1, |b|).
    fn check<F: NpyFloat>(&mut self, tensor: &str, ours: ArrayViewD<F>, torch: ArrayViewD<F>) {
        if ours.shape() != torch.shape() {
            self.failures.push(format!(
                "{tensor}: shape {:?}, PyTorch's {:?}",
                ours.shape(),
                torch.shape()
            ));
            return;
        }
        let mut worst: Option<(f64, Vec<usize>, f64, f64)> = None;
        for ((index, &a), &b) in ours.indexed_iter().zip(torch.iter()) {
            let (a, b) = (a.as_f64(), b.as_f64());
            let err = (a - b).abs() / b.abs().max(1.0);
            // A NaN anywhere is the worst entry, and stays so.
            let worse =
                |w: &(f64, Vec<usize>, f64, f64)| !w.0.is_nan() && (err.is_nan() || err > w.0);
            if worst.as_ref().is_none_or(worse) {
                worst = Some((err, index.slice().to_vec(), a, b));
            }
        }
        let Some((err, index, a, b)) = worst else {
            return;
        };
        eprintln!("{:>9} {tensor:<24} max diff {err:.3e}", self.fixture);
        if err.is_nan() || err > self.tol {
            self.failures.push(format!(
                "{tensor}: max diff {err:.3e} > {:.0e} at {index:?}: ours {a:.17e}, PyTorch {b:.17e}",
                self.tol
            ));
        }
    }

    /// Compares `ours` with the fixture's `<file>.npy` (`file` relative to its directory).
    fn against<F: NpyFloat, D: Dimension>(&mut self, file: &str, ours: ArrayView<F, D>) {
        let torch = read::<F>(&self.dir, file);
        self.check(file, ours.into_dyn(), torch.view());
    }

    /// Compares every parameter gradient with `<subdir>/<pytorch name>.npy`.
    fn check_grads<F: NpyFloat, G: Params<F>>(&mut self, subdir: &str, grads: &G) {
        let names: Vec<&str> = grads.params().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["w_ih", "w_hh", "b_ih", "b_hh"],
            "the default layer has PyTorch's four parameters"
        );
        for (ours, g) in grads.params() {
            let torch_name = PYTORCH_NAMES
                .iter()
                .find(|(o, _)| *o == ours)
                .map(|(_, t)| *t)
                .expect("mapped");
            self.against(&format!("{subdir}/{torch_name}"), g);
        }
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{}: {} tensor(s) differ from PyTorch's:\n  {}",
            self.fixture,
            self.failures.len(),
            self.failures.join("\n  ")
        );
    }
}

fn lstm_parity<F: NpyFloat>(name: &str, tol: f64) {
    let dir = fixture(name);
    let xs = read3::<F>(&dir, "xs"); // (T, B, D)
    let s0 = LstmState {
        h: read2::<F>(&dir, "h0"), // (B, H)
        c: read2::<F>(&dir, "c0"),
    };
    let config = LstmConfig {
        input_size: xs.dim().2,
        hidden_size: s0.h.ncols(),
        ..LstmConfig::default()
    };
    let mut lstm = Lstm::<F>::new(&config).unwrap();
    torch_io::load_params(&mut lstm, &dir).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Parity::new(name, tol);

    // Forward: outputs and final state.
    let cache = lstm.forward_seq(xs.view(), &s0).unwrap();
    p.against("hs", lstm.outputs(&cache));
    let last = lstm.final_state(&cache);
    p.against("h_n", last.h.view());
    p.against("c_n", last.c.view());

    // Backward for L = Σ G ⊙ output, through the `Recurrent` interface.
    let g = read3::<F>(&dir, "g");
    let back = lstm.backward_seq(&cache, g.view()).unwrap();
    p.check_grads("grad", &back.grads);
    p.against("grad/xs", back.dxs.view());
    p.against("grad/h0", back.ds0.h.view());
    p.against("grad/c0", back.ds0.c.view());

    // Backward for L' = L + Σ G_c ⊙ c_n: the error injected into the final cell state.
    let g_c = read2::<F>(&dir, "g_c");
    let back = lstm.backward(&cache, g.view(), Some(g_c.view())).unwrap();
    p.check_grads("grad_with_cn", &back.grads);
    p.against("grad_with_cn/xs", back.dxs.view());
    p.against("grad_with_cn/h0", back.ds0.h.view());
    p.against("grad_with_cn/c0", back.ds0.c.view());
    p.finish();
}

fn gru_parity<F: NpyFloat>(name: &str, tol: f64) {
    let dir = fixture(name);
    let xs = read3::<F>(&dir, "xs"); // (T, B, D)
    let h0 = read2::<F>(&dir, "h0"); // (B, H)
    let config = GruConfig {
        input_size: xs.dim().2,
        hidden_size: h0.ncols(),
        ..GruConfig::default()
    };
    assert_eq!(config.form, GruForm::ResetAfter, "PyTorch's GRU");
    let mut gru = Gru::<F>::new(&config).unwrap();
    torch_io::load_params(&mut gru, &dir).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Parity::new(name, tol);

    let cache = gru.forward_seq(xs.view(), &h0).unwrap();
    p.against("hs", gru.outputs(&cache));
    let last = gru.final_state(&cache);
    p.against("h_n", last.view());

    let g = read3::<F>(&dir, "g");
    let back = gru.backward_seq(&cache, g.view()).unwrap();
    p.check_grads("grad", &back.grads);
    p.against("grad/xs", back.dxs.view());
    p.against("grad/h0", back.ds0.view());
    p.finish();
}

/// A 2-layer bidirectional LSTM: `Stacked<Bidirectional<Lstm>>` loaded through the name
/// map `l{k}.w_ih[_reverse]` ↔ `weight_ih_l{k}[_reverse]`. States in the fixture are
/// (num_layers · 2, B, H), layer by layer, forward direction first.
fn deep_bidirectional_parity<F: NpyFloat>(name: &str, tol: f64) {
    let dir = fixture(name);
    let xs = read3::<F>(&dir, "xs"); // (T, B, D)
    let h0 = read3::<F>(&dir, "h0"); // (4, B, H)
    let c0 = read3::<F>(&dir, "c0"); // (4, B, H)
    let (d, h) = (xs.dim().2, h0.dim().2);
    let lstm = |input_size| {
        Lstm::<F>::new(&LstmConfig {
            input_size,
            hidden_size: h,
            ..LstmConfig::default()
        })
        .unwrap()
    };
    let layer =
        |input_size| Bidirectional::new(lstm(input_size), lstm(input_size), Merge::Concat).unwrap();
    let mut deep = Stacked::new(vec![layer(d), layer(2 * h)], 0.0, 0).unwrap();
    let names = torch_io::stacked_pytorch_names(2, true);
    torch_io::load_params_with(&mut deep, &dir, &names).unwrap_or_else(|e| panic!("{e}"));
    let state = |k: usize| LstmState {
        h: h0.index_axis(Axis(0), k).to_owned(),
        c: c0.index_axis(Axis(0), k).to_owned(),
    };
    let s0: Vec<BiState<LstmState<F>>> = (0..2)
        .map(|layer| BiState {
            fwd: state(2 * layer),
            bwd: state(2 * layer + 1),
        })
        .collect();
    let mut p = Parity::new(name, tol);

    let cache = deep.forward_seq(xs.view(), &s0).unwrap();
    p.against("hs", deep.outputs(&cache));
    let last = deep.final_state(&cache);
    let stack = |pick: fn(&LstmState<F>) -> &Array2<F>| {
        let views: Vec<_> = last
            .iter()
            .flat_map(|s| [pick(&s.fwd).view(), pick(&s.bwd).view()])
            .collect();
        ndarray::stack(Axis(0), &views).unwrap() // (4, B, H)
    };
    p.against("h_n", stack(|s| &s.h).view());
    p.against("c_n", stack(|s| &s.c).view());

    let g = read3::<F>(&dir, "g"); // (T, B, 2H)
    let back = deep.backward_seq(&cache, g.view()).unwrap();
    for (ours, grad) in back.grads.params() {
        let torch_name = names.iter().find(|(o, _)| *o == ours).expect("mapped").1;
        p.against(&format!("grad/{torch_name}"), grad);
    }
    p.against("grad/xs", back.dxs.view());
    let stack_ds0 = |pick: fn(&LstmState<F>) -> &Array2<F>| {
        let views: Vec<_> = back
            .ds0
            .iter()
            .flat_map(|s| [pick(&s.fwd).view(), pick(&s.bwd).view()])
            .collect();
        ndarray::stack(Axis(0), &views).unwrap()
    };
    p.against("grad/h0", stack_ds0(|s| &s.h).view());
    p.against("grad/c0", stack_ds0(|s| &s.c).view());
    p.finish();
}

#[test]
fn two_layer_bidirectional_lstm_matches_pytorch_f64() {
    deep_bidirectional_parity::<f64>("lstm_2layer_bi_f64", TOL_F64);
}

#[test]
fn two_layer_bidirectional_lstm_matches_pytorch_f32() {
    deep_bidirectional_parity::<f32>("lstm_2layer_bi_f32", TOL_F32);
}

#[test]
fn lstm_matches_pytorch_f64() {
    lstm_parity::<f64>("lstm_f64", TOL_F64);
}

#[test]
fn lstm_matches_pytorch_f32() {
    lstm_parity::<f32>("lstm_f32", TOL_F32);
}

#[test]
fn gru_matches_pytorch_f64() {
    gru_parity::<f64>("gru_f64", TOL_F64);
}

#[test]
fn gru_matches_pytorch_f32() {
    gru_parity::<f32>("gru_f32", TOL_F32);
}

/// The comparison itself must be able to fail: a parameter nudged by 1e-6 moves the
/// outputs far past the float64 tolerance, and the message names the tensor.
#[test]
fn a_perturbed_layer_fails_the_comparison() {
    let dir = fixture("gru_f64");
    let xs = read3::<f64>(&dir, "xs");
    let h0 = read2::<f64>(&dir, "h0");
    let config = GruConfig {
        input_size: xs.dim().2,
        hidden_size: h0.ncols(),
        ..GruConfig::default()
    };
    let mut gru = Gru::<f64>::new(&config).unwrap();
    torch_io::load_params(&mut gru, &dir).unwrap();
    gru.b_hh[0] += 1e-6;
    let cache = gru.forward_seq(xs.view(), &h0).unwrap();
    let mut p = Parity::new("gru_f64", TOL_F64);
    p.against("hs", gru.outputs(&cache));
    assert_eq!(p.failures.len(), 1);
    let msg = &p.failures[0];
    assert!(msg.starts_with("hs: max diff"), "{msg}");
}
