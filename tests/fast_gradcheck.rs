//! The fast paths' BPTT against central differences, in float64: every parameter, the
//! inputs and the initial state, on random shapes (batch sizes on both sides of the
//! small-batch switch) and several seeds, to a max relative error below 1e-6. And the fast
//! layers plug into the training loop: an LSTM and a GRU, in float32, learn the echo task
//! through `train_model` as the readable layers do.

use ndarray::{Array2, Array3, ArrayD, Ix1, Ix2, Ix3};
use rand::Rng;
use recurrent::fast::{FastGru, FastLstm, SMALL_BATCH};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::gru::GruConfig;
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::lstm::{LstmConfig, LstmState};
use recurrent::train::{train_model, SequenceModel, Task, TrainConfig};
use recurrent::Recurrent;

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

fn shape(r: &mut SeededRng) -> (usize, usize, usize, usize) {
    (
        r.random_range(1..=5),
        r.random_range(1..=SMALL_BATCH + 2),
        r.random_range(1..=4),
        r.random_range(1..=4),
    )
}

fn two(v: &ArrayD<f64>) -> Array2<f64> {
    v.clone().into_dimensionality::<Ix2>().unwrap()
}

fn one(v: &ArrayD<f64>) -> ndarray::Array1<f64> {
    v.clone().into_dimensionality::<Ix1>().unwrap()
}

/// L = Σ G ⊙ h_t, so dL/dh_t = G_t at every step.
#[test]
fn fast_lstm_bptt_matches_central_differences() {
    for seed in 0..8 {
        let mut r = rng(300 + seed);
        let (t, b, d, h) = shape(&mut r);
        let lstm = FastLstm::<f64>::new(&LstmConfig {
            input_size: d,
            hidden_size: h,
            seed,
            ..LstmConfig::default()
        })
        .unwrap();
        let xs = random3((t, b, d), &mut r);
        let s0 = LstmState {
            h: uniform(b, h, 1.0, &mut r),
            c: uniform(b, h, 1.0, &mut r),
        };
        let g = random3((t, b, h), &mut r);
        let cache = lstm.forward_seq(xs.view(), &s0).unwrap();
        let back = lstm.backward_seq(&cache, g.view()).unwrap();
        let tensors = [
            Checked::new(
                "w_ih",
                lstm.w_ih.clone().into_dyn(),
                back.grads.w_ih.into_dyn(),
            ),
            Checked::new(
                "w_hh",
                lstm.w_hh.clone().into_dyn(),
                back.grads.w_hh.into_dyn(),
            ),
            Checked::new(
                "b_ih",
                lstm.b_ih.clone().into_dyn(),
                back.grads.b_ih.into_dyn(),
            ),
            Checked::new(
                "b_hh",
                lstm.b_hh.clone().into_dyn(),
                back.grads.b_hh.into_dyn(),
            ),
            Checked::new("xs", xs.clone().into_dyn(), back.dxs.into_dyn()),
            Checked::new("h0", s0.h.clone().into_dyn(), back.ds0.h.into_dyn()),
            Checked::new("c0", s0.c.clone().into_dyn(), back.ds0.c.into_dyn()),
        ];
        let report = check(&tensors, |v: &[ArrayD<f64>]| {
            let lstm = FastLstm {
                w_ih: two(&v[0]),
                w_hh: two(&v[1]),
                b_ih: one(&v[2]),
                b_hh: one(&v[3]),
            };
            let xs = v[4].clone().into_dimensionality::<Ix3>().unwrap();
            let s0 = LstmState {
                h: two(&v[5]),
                c: two(&v[6]),
            };
            let cache = lstm.forward_seq(xs.view(), &s0).unwrap();
            (&lstm.outputs(&cache) * &g).sum()
        });
        assert!(
            report.passes(TOLERANCE),
            "seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
        );
    }
}

#[test]
fn fast_gru_bptt_matches_central_differences() {
    for seed in 0..8 {
        let mut r = rng(400 + seed);
        let (t, b, d, h) = shape(&mut r);
        let gru = FastGru::<f64>::new(&GruConfig {
            input_size: d,
            hidden_size: h,
            seed,
            ..GruConfig::default()
        })
        .unwrap();
        let xs = random3((t, b, d), &mut r);
        let h0 = uniform(b, h, 1.0, &mut r);
        let g = random3((t, b, h), &mut r);
        let cache = gru.forward_seq(xs.view(), &h0).unwrap();
        let back = gru.backward_seq(&cache, g.view()).unwrap();
        let tensors = [
            Checked::new(
                "w_ih",
                gru.w_ih.clone().into_dyn(),
                back.grads.w_ih.into_dyn(),
            ),
            Checked::new(
                "w_hh",
                gru.w_hh.clone().into_dyn(),
                back.grads.w_hh.into_dyn(),
            ),
            Checked::new(
                "b_ih",
                gru.b_ih.clone().into_dyn(),
                back.grads.b_ih.into_dyn(),
            ),
            Checked::new(
                "b_hh",
                gru.b_hh.clone().into_dyn(),
                back.grads.b_hh.into_dyn(),
            ),
            Checked::new("xs", xs.clone().into_dyn(), back.dxs.into_dyn()),
            Checked::new("h0", h0.clone().into_dyn(), back.ds0.into_dyn()),
        ];
        let report = check(&tensors, |v: &[ArrayD<f64>]| {
            let gru = FastGru {
                w_ih: two(&v[0]),
                w_hh: two(&v[1]),
                b_ih: one(&v[2]),
                b_hh: one(&v[3]),
            };
            let xs = v[4].clone().into_dimensionality::<Ix3>().unwrap();
            let cache = gru.forward_seq(xs.view(), &two(&v[5])).unwrap();
            (&gru.outputs(&cache) * &g).sum()
        });
        assert!(
            report.passes(TOLERANCE),
            "seed {seed}, (T, B, D, H) = ({t}, {b}, {d}, {h}):\n{report}"
        );
    }
}

/// The echo task that `tests/train.rs` sets the readable LSTM and GRU: the fast layers,
/// in float32, pass it through the same `train_model`.
#[test]
fn fast_layers_train_through_the_ordinary_training_loop() {
    let config = TrainConfig {
        task: Task::Echo {
            seq_len: 12,
            delay: 2,
            vocab: 4,
        },
        steps: 400,
        lr: 1e-2,
        ..TrainConfig::default()
    };
    let lstm = FastLstm::<f32>::new(&LstmConfig {
        input_size: 4,
        hidden_size: 16,
        ..LstmConfig::default()
    })
    .unwrap();
    let model = SequenceModel::with_cell(lstm, &config.task, 0).unwrap();
    let (_, log) = train_model(model, &config, |_, _| {}).unwrap();
    assert!(log.accuracy.unwrap() > 0.95, "LSTM: {:?}", log.accuracy);
    let gru = FastGru::<f32>::new(&GruConfig {
        input_size: 4,
        hidden_size: 16,
        ..GruConfig::default()
    })
    .unwrap();
    let model = SequenceModel::with_cell(gru, &config.task, 0).unwrap();
    let (_, log) = train_model(model, &config, |_, _| {}).unwrap();
    assert!(log.accuracy.unwrap() > 0.95, "GRU: {:?}", log.accuracy);
}
