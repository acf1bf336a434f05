//! The bidirectional and stacked wrappers' backward passes against central differences:
//! every parameter of every layer and direction, the inputs and every initial state, over
//! the RNN, the LSTM and the GRU, both merges, with and without dropout (fixed masks), on
//! random shapes and several seeds, in float64, to a max relative error below 1e-6.

use ndarray::{Array2, Array3, ArrayD};
use rand::Rng;
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, SeededRng};
use recurrent::lstm::{LstmConfig, LstmState};
use recurrent::{
    BiState, Bidirectional, Gru, GruConfig, GruForm, Init, Lstm, Merge, Params, Recurrent, Rnn,
    RnnConfig, Stacked,
};

/// The tensors of a recurrent state, in a fixed order, so the checker can perturb them.
trait StateTensors: Sized {
    fn tensors(&self) -> Vec<ArrayD<f64>>;
    /// Rebuilds a state of the same structure from `tensors`, consuming them in order.
    fn rebuild(&self, tensors: &mut std::slice::Iter<ArrayD<f64>>) -> Self;
}

fn array2(a: &ArrayD<f64>) -> Array2<f64> {
    a.clone().into_dimensionality().expect("a 2-axis state")
}

impl StateTensors for Array2<f64> {
    fn tensors(&self) -> Vec<ArrayD<f64>> {
        vec![self.clone().into_dyn()]
    }
    fn rebuild(&self, t: &mut std::slice::Iter<ArrayD<f64>>) -> Self {
        array2(t.next().expect("h"))
    }
}

impl StateTensors for LstmState<f64> {
    fn tensors(&self) -> Vec<ArrayD<f64>> {
        vec![self.h.clone().into_dyn(), self.c.clone().into_dyn()]
    }
    fn rebuild(&self, t: &mut std::slice::Iter<ArrayD<f64>>) -> Self {
        LstmState {
            h: array2(t.next().expect("h")),
            c: array2(t.next().expect("c")),
        }
    }
}

impl<S: StateTensors> StateTensors for BiState<S> {
    fn tensors(&self) -> Vec<ArrayD<f64>> {
        let mut all = self.fwd.tensors();
        all.extend(self.bwd.tensors());
        all
    }
    fn rebuild(&self, t: &mut std::slice::Iter<ArrayD<f64>>) -> Self {
        BiState {
            fwd: self.fwd.rebuild(t),
            bwd: self.bwd.rebuild(t),
        }
    }
}

impl<S: StateTensors> StateTensors for Vec<S> {
    fn tensors(&self) -> Vec<ArrayD<f64>> {
        self.iter().flat_map(|s| s.tensors()).collect()
    }
    fn rebuild(&self, t: &mut std::slice::Iter<ArrayD<f64>>) -> Self {
        self.iter().map(|s| s.rebuild(t)).collect()
    }
}

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// A random initial state shaped like `zero`.
fn random_state<S: StateTensors>(zero: &S, g: &mut SeededRng) -> S {
    let random: Vec<ArrayD<f64>> = zero
        .tensors()
        .into_iter()
        .map(|t| t.mapv(|_| g.random_range(-1.0..1.0)))
        .collect();
    zero.rebuild(&mut random.iter())
}

/// Checks `layer` on the loss $L = \sum G \odot \text{outputs}$ over every parameter, the
/// inputs and the initial state.
fn check_layer<C>(what: &str, layer: C, t: usize, b: usize, g: &mut SeededRng)
where
    C: Recurrent<f64> + Clone,
    C::State: StateTensors,
{
    let xs = random3((t, b, layer.input_size()), g);
    let s0 = random_state(&layer.zero_state(b), g);
    let cache = layer.forward_seq(xs.view(), &s0).unwrap();
    let gw = random3(layer.outputs(&cache).dim(), g);
    let back = layer.backward_seq(&cache, gw.view()).unwrap();

    let mut tensors: Vec<Checked> = layer
        .params()
        .into_iter()
        .zip(back.grads.params())
        .map(|((name, p), (gname, dp))| {
            assert_eq!(
                name, gname,
                "{what}: gradients listed in the parameters' order"
            );
            Checked::new(name, p.to_owned(), dp.to_owned())
        })
        .collect();
    let n_params = tensors.len();
    tensors.push(Checked::new(
        "xs",
        xs.clone().into_dyn(),
        back.dxs.into_dyn(),
    ));
    for (k, (s, ds)) in s0.tensors().into_iter().zip(back.ds0.tensors()).enumerate() {
        let name: &'static str = Box::leak(format!("s0[{k}]").into_boxed_str());
        tensors.push(Checked::new(name, s, ds));
    }
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let mut l = layer.clone();
        for ((_, mut p), value) in l.params_mut().into_iter().zip(&v[..n_params]) {
            p.assign(value);
        }
        let xs: Array3<f64> = v[n_params].clone().into_dimensionality().unwrap();
        let s0 = s0.rebuild(&mut v[n_params + 1..].iter());
        let cache = l.forward_seq(xs.view(), &s0).unwrap();
        (&l.outputs(&cache) * &gw).sum()
    });
    assert!(
        report.passes(TOLERANCE),
        "{what}, (T, B) = ({t}, {b}):\n{report}"
    );
}

fn rnn(d: usize, h: usize, seed: u64) -> Rnn<f64> {
    Rnn::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        init: Init::Uniform,
        seed,
        ..RnnConfig::default()
    })
    .unwrap()
}

fn lstm(d: usize, h: usize, seed: u64) -> Lstm<f64> {
    Lstm::new(&LstmConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..LstmConfig::default()
    })
    .unwrap()
}

fn gru(d: usize, h: usize, seed: u64) -> Gru<f64> {
    Gru::new(&GruConfig {
        input_size: d,
        hidden_size: h,
        form: GruForm::ResetAfter,
        seed,
    })
    .unwrap()
}

/// Random (T, B, D, H).
fn shape(g: &mut SeededRng) -> (usize, usize, usize, usize) {
    (
        g.random_range(1..=5),
        g.random_range(1..=3),
        g.random_range(1..=4),
        g.random_range(1..=4),
    )
}

#[test]
fn bidirectional_bptt_matches_central_differences() {
    for seed in 0..4 {
        let g = &mut rng(3000 + seed);
        for merge in [Merge::Concat, Merge::Sum] {
            let (t, b, d, h) = shape(g);
            let bi = Bidirectional::new(rnn(d, h, seed), rnn(d, h, seed + 50), merge).unwrap();
            check_layer(
                &format!("bidirectional RNN {merge:?}, seed {seed}"),
                bi,
                t,
                b,
                g,
            );
            let (t, b, d, h) = shape(g);
            let bi = Bidirectional::new(lstm(d, h, seed), lstm(d, h, seed + 50), merge).unwrap();
            check_layer(
                &format!("bidirectional LSTM {merge:?}, seed {seed}"),
                bi,
                t,
                b,
                g,
            );
            let (t, b, d, h) = shape(g);
            let bi = Bidirectional::new(gru(d, h, seed), gru(d, h, seed + 50), merge).unwrap();
            check_layer(
                &format!("bidirectional GRU {merge:?}, seed {seed}"),
                bi,
                t,
                b,
                g,
            );
        }
    }
}

#[test]
fn stacked_bptt_matches_central_differences_with_and_without_dropout() {
    for seed in 0..4 {
        let g = &mut rng(4000 + seed);
        for dropout in [0.0, 0.3] {
            let (t, b, d, h) = shape(g);
            let h2 = g.random_range(1..=4);
            let mut deep = Stacked::new(
                vec![
                    lstm(d, h, seed),
                    lstm(h, h2, seed + 1),
                    lstm(h2, h, seed + 2),
                ],
                dropout,
                seed,
            )
            .unwrap();
            // A fixed training step: fixed masks, so the loss is one function to check.
            deep.set_dropout(Some(7));
            check_layer(
                &format!("3-layer LSTM, dropout {dropout}, seed {seed}"),
                deep,
                t,
                b,
                g,
            );
            let (t, b, d, h) = shape(g);
            let mut deep =
                Stacked::new(vec![gru(d, h, seed), gru(h, h, seed + 1)], dropout, seed).unwrap();
            deep.set_dropout(Some(3));
            check_layer(
                &format!("2-layer GRU, dropout {dropout}, seed {seed}"),
                deep,
                t,
                b,
                g,
            );
        }
    }
}

#[test]
fn a_deep_bidirectional_lstm_matches_central_differences() {
    for seed in 0..3 {
        let g = &mut rng(5000 + seed);
        let (t, b, d, h) = shape(g);
        let layer = |d: usize, s: u64| {
            Bidirectional::new(lstm(d, h, s), lstm(d, h, s + 100), Merge::Concat).unwrap()
        };
        let mut deep =
            Stacked::new(vec![layer(d, seed), layer(2 * h, seed + 1)], 0.25, seed).unwrap();
        deep.set_dropout(Some(seed));
        check_layer(
            &format!("2-layer bidirectional LSTM, seed {seed}"),
            deep,
            t,
            b,
            g,
        );
    }
}
