//! Attention and the encoder–decoder against central differences, in float64, on random
//! shapes and several seeds, to a max relative error below 1e-6: the additive score's
//! parameters, the queries and the keys for all three scores; and every parameter of an
//! encoder–decoder (RNN and GRU, with each score and without attention) through the loss.

use ndarray::{Array3, ArrayD, Ix1, Ix2, Ix3};
use rand::Rng;
use recurrent::attention::{Additive, Attention};
use recurrent::gradcheck::{check, Checked, TOLERANCE};
use recurrent::init::{rng, SeededRng};
use recurrent::seq2seq::Seq2Seq;
use recurrent::{Gru, GruConfig, GruForm, Init, Linear, Params, Recurrent, Rnn, RnnConfig};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.5..1.5))
}

fn kinds(hq: usize, hk: usize, g: &mut SeededRng) -> Vec<Attention<f64>> {
    let width = g.random_range(1..=4);
    let mut all = vec![Attention::Additive(
        Additive::new(hq, hk, width, g).unwrap(),
    )];
    if hq == hk {
        all.extend([Attention::Dot, Attention::ScaledDot]);
    }
    all
}

#[test]
fn attention_backward_matches_central_differences() {
    for seed in 0..6 {
        let g = &mut rng(6000 + seed);
        let (t, b, s) = (
            g.random_range(1..=4),
            g.random_range(1..=3),
            g.random_range(1..=5),
        );
        let hk = g.random_range(1..=4);
        let hq = if seed % 2 == 0 {
            hk
        } else {
            g.random_range(1..=4)
        };
        for attn in kinds(hq, hk, g) {
            let queries = random3((t, b, hq), g);
            let keys = random3((s, b, hk), g);
            let weight = random3((t, b, hk), g); // L = Σ G ⊙ c
            let cache = attn.forward(queries.view(), keys.view()).unwrap();
            let back = attn.backward(&cache, weight.view()).unwrap();
            let mut tensors = Vec::new();
            if let (Attention::Additive(p), Some(grads)) = (&attn, &back.grads) {
                for ((name, v), (_, dv)) in p.params().into_iter().zip(grads.params()) {
                    tensors.push(Checked::new(name, v.to_owned(), dv.to_owned()));
                }
            }
            let n = tensors.len();
            tensors.push(Checked::new(
                "queries",
                queries.clone().into_dyn(),
                back.dqueries.into_dyn(),
            ));
            tensors.push(Checked::new(
                "keys",
                keys.clone().into_dyn(),
                back.dkeys.into_dyn(),
            ));
            let report = check(&tensors, |v: &[ArrayD<f64>]| {
                let attn = match &attn {
                    Attention::Additive(_) => Attention::Additive(Additive {
                        w_q: v[0].clone().into_dimensionality::<Ix2>().unwrap(),
                        w_k: v[1].clone().into_dimensionality::<Ix2>().unwrap(),
                        v: v[2].clone().into_dimensionality::<Ix1>().unwrap(),
                    }),
                    other => other.clone(),
                };
                let q = v[n].clone().into_dimensionality::<Ix3>().unwrap();
                let k = v[n + 1].clone().into_dimensionality::<Ix3>().unwrap();
                (&attn.forward(q.view(), k.view()).unwrap().context * &weight).sum()
            });
            assert!(report.passes(TOLERANCE), "{attn:?}, seed {seed}:\n{report}");
        }
    }
}

/// One-hot (T, B, V) from random symbols, and the symbols in (t, b) order.
fn one_hot(t: usize, b: usize, v: usize, g: &mut SeededRng) -> (Array3<f64>, Vec<usize>) {
    let mut x = Array3::zeros((t, b, v));
    let mut symbols = Vec::new();
    for i in 0..t {
        for j in 0..b {
            let s = g.random_range(0..v);
            x[[i, j, s]] = 1.0;
            symbols.push(s);
        }
    }
    (x, symbols)
}

fn check_seq2seq<C>(what: &str, model: Seq2Seq<f64, C>, g: &mut SeededRng)
where
    C: Recurrent<f64, State = ndarray::Array2<f64>> + Clone,
{
    let (s, t, b) = (
        g.random_range(1..=5),
        g.random_range(1..=4),
        g.random_range(1..=3),
    );
    let (src, _) = one_hot(s, b, model.encoder.input_size(), g);
    let (dec_in, _) = one_hot(t, b, model.decoder.input_size(), g);
    let targets: Vec<usize> = (0..t * b)
        .map(|_| g.random_range(0..model.head.outputs()))
        .collect();
    let evaluated = model.evaluate(src.view(), dec_in.view(), &targets).unwrap();
    let tensors: Vec<Checked> = model
        .params()
        .into_iter()
        .zip(evaluated.grads.params())
        .map(|((name, p), (gname, dp))| {
            assert_eq!(name, gname);
            Checked::new(name, p.to_owned(), dp.to_owned())
        })
        .collect();
    let report = check(&tensors, |v: &[ArrayD<f64>]| {
        let mut m = model.clone();
        for ((_, mut p), value) in m.params_mut().into_iter().zip(v) {
            p.assign(value);
        }
        m.evaluate(src.view(), dec_in.view(), &targets)
            .unwrap()
            .loss
    });
    assert!(report.passes(TOLERANCE), "{what}:\n{report}");
}

#[test]
fn encoder_decoder_backward_matches_central_differences() {
    for seed in 0..3 {
        let g = &mut rng(7000 + seed);
        let (v_src, v_tgt, h) = (
            g.random_range(2..=5),
            g.random_range(2..=5),
            g.random_range(1..=4),
        );
        let rnn = |d: usize, s: u64| {
            Rnn::<f64>::new(&RnnConfig {
                input_size: d,
                hidden_size: h,
                init: Init::Uniform,
                seed: s,
                ..RnnConfig::default()
            })
            .unwrap()
        };
        let gru = |d: usize, s: u64| {
            Gru::<f64>::new(&GruConfig {
                input_size: d,
                hidden_size: h,
                form: GruForm::ResetAfter,
                seed: s,
            })
            .unwrap()
        };
        let mut attentions: Vec<Option<Attention<f64>>> = vec![None];
        attentions.extend(kinds(h, h, g).into_iter().map(Some));
        for attention in attentions {
            let width = if attention.is_some() { 2 * h } else { h };
            let what = format!("seed {seed}, attention {attention:?}");
            let head = Linear::new(width, v_tgt, g).unwrap();
            let model = Seq2Seq::new(
                rnn(v_src, seed),
                rnn(v_tgt, seed + 9),
                attention.clone(),
                head.clone(),
            )
            .unwrap();
            check_seq2seq(&format!("RNN {what}"), model, g);
            let model =
                Seq2Seq::new(gru(v_src, seed), gru(v_tgt, seed + 9), attention, head).unwrap();
            check_seq2seq(&format!("GRU {what}"), model, g);
        }
    }
}
