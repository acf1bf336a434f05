//! The fast paths against PyTorch's `nn.LSTM` and `nn.GRU`, on the fixtures of
//! `tests/pytorch_parity.rs` (made by `scripts/pytorch/make_fixtures.py`): parameters loaded
//! through `torch_io`, then outputs, final states and the gradients of L = Σ G ⊙ output
//! with respect to every parameter, the inputs and the initial state, compared entry by
//! entry as |ours − torch| / max(1, |torch|), at most 1e-10 in float64 and 1e-5 in float32
//! (where the fast path's nonlinearities are approximations good to about 1e-7).

use ndarray::{Array2, Array3, ArrayD, ArrayView, Dimension, Ix2, Ix3};
use recurrent::fast::{FastGru, FastLstm, FastReal};
use recurrent::gru::GruConfig;
use recurrent::lstm::{LstmConfig, LstmState};
use recurrent::torch_io::{self, NpyFloat, PYTORCH_NAMES};
use recurrent::{Params, Recurrent};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(name)
}

fn read<F: NpyFloat>(dir: &Path, name: &str) -> ArrayD<F> {
    torch_io::read_array(dir.join(format!("{name}.npy"))).unwrap_or_else(|e| panic!("{e}"))
}

fn read2<F: NpyFloat>(dir: &Path, name: &str) -> Array2<F> {
    read(dir, name).into_dimensionality::<Ix2>().unwrap()
}

fn read3<F: NpyFloat>(dir: &Path, name: &str) -> Array3<F> {
    read(dir, name).into_dimensionality::<Ix3>().unwrap()
}

/// Compares `ours` with the fixture's `<file>.npy`.
fn against<F: NpyFloat, D: Dimension>(dir: &Path, file: &str, ours: ArrayView<F, D>, tol: f64) {
    let torch = read::<F>(dir, file);
    assert_eq!(ours.shape(), torch.shape(), "{file}: shape");
    let worst = ours
        .iter()
        .zip(torch.iter())
        .map(|(&a, &b)| (a.as_f64() - b.as_f64()).abs() / b.as_f64().abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(
        worst <= tol,
        "{}/{file}: max diff {worst:e} > {tol:e}",
        dir.display()
    );
}

fn against_grads<F: NpyFloat>(dir: &Path, grads: &impl Params<F>, tol: f64) {
    for (ours, g) in grads.params() {
        let (_, torch) = PYTORCH_NAMES.iter().find(|(o, _)| *o == ours).unwrap();
        against(dir, &format!("grad/{torch}"), g, tol);
    }
}

fn lstm_parity<F: NpyFloat + FastReal>(name: &str, tol: f64) {
    let dir = fixture(name);
    let xs = read3::<F>(&dir, "xs"); // (T, B, D)
    let s0 = LstmState {
        h: read2::<F>(&dir, "h0"), // (B, H)
        c: read2::<F>(&dir, "c0"),
    };
    let mut lstm = FastLstm::<F>::new(&LstmConfig {
        input_size: xs.dim().2,
        hidden_size: s0.h.ncols(),
        ..LstmConfig::default()
    })
    .unwrap();
    torch_io::load_params(&mut lstm, &dir).unwrap_or_else(|e| panic!("{e}"));
    let cache = lstm.forward_seq(xs.view(), &s0).unwrap();
    against(&dir, "hs", lstm.outputs(&cache), tol);
    let last = lstm.final_state(&cache);
    against(&dir, "h_n", last.h.view(), tol);
    against(&dir, "c_n", last.c.view(), tol);
    let back = lstm
        .backward_seq(&cache, read3::<F>(&dir, "g").view())
        .unwrap();
    against_grads(&dir, &back.grads, tol);
    against(&dir, "grad/xs", back.dxs.view(), tol);
    against(&dir, "grad/h0", back.ds0.h.view(), tol);
    against(&dir, "grad/c0", back.ds0.c.view(), tol);
}

fn gru_parity<F: NpyFloat + FastReal>(name: &str, tol: f64) {
    let dir = fixture(name);
    let xs = read3::<F>(&dir, "xs"); // (T, B, D)
    let h0 = read2::<F>(&dir, "h0"); // (B, H)
    let mut gru = FastGru::<F>::new(&GruConfig {
        input_size: xs.dim().2,
        hidden_size: h0.ncols(),
        ..GruConfig::default()
    })
    .unwrap();
    torch_io::load_params(&mut gru, &dir).unwrap_or_else(|e| panic!("{e}"));
    let cache = gru.forward_seq(xs.view(), &h0).unwrap();
    against(&dir, "hs", gru.outputs(&cache), tol);
    against(&dir, "h_n", gru.final_state(&cache).view(), tol);
    let back = gru
        .backward_seq(&cache, read3::<F>(&dir, "g").view())
        .unwrap();
    against_grads(&dir, &back.grads, tol);
    against(&dir, "grad/xs", back.dxs.view(), tol);
    against(&dir, "grad/h0", back.ds0.view(), tol);
}

#[test]
fn fast_lstm_matches_pytorch() {
    lstm_parity::<f64>("lstm_f64", 1e-10);
    lstm_parity::<f32>("lstm_f32", 1e-5);
}

#[test]
fn fast_gru_matches_pytorch() {
    gru_parity::<f64>("gru_f64", 1e-10);
    gru_parity::<f32>("gru_f32", 1e-5);
}
