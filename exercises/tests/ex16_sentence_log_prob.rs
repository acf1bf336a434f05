//! Grades exercise 16: `log_softmax` against the crate's on ordinary and extreme logits,
//! `sentence_log_prob` against `recurrent::sampling::sequence_log_prob` on small random
//! LSTM and RNN language models (one token fed at a time, the state carried by the
//! grader), and the per-token summaries on values known in closed form. Each test is built
//! so that one classic mistake fails it, and its message names that mistake.

#[cfg(not(any(feature = "solutions", feature = "mutants")))]
#[path = "../src/ex16_sentence_log_prob.rs"]
mod learner;
#[cfg(feature = "solutions")]
#[path = "../solutions/ex16_sentence_log_prob.rs"]
mod learner;
#[cfg(all(feature = "mutants", not(feature = "solutions")))]
#[path = "../mutants/ex16_sentence_log_prob.rs"]
mod learner;

use ndarray::{array, Array1, Array3, Axis};
use rand::Rng;
use recurrent::activations::log_softmax;
use recurrent::init::rng;
use recurrent::sampling::sequence_log_prob;
use recurrent::train::{SequenceModel, Task};
use recurrent::{Init, Lstm, LstmConfig, Recurrent};

/// Both sides sum the same logs in f64; the difference is rounding.
const TOL: f64 = 1e-9;

#[test]
fn log_softmax_matches_and_never_overflows() {
    let hint = "log softmax(z)_i = z_i - (m + ln Σ_j exp(z_j - m)) with m = max z: the \
                log-sum-exp trick";
    let mut g = rng(16);
    let mut cases = vec![
        array![0.0],
        array![1.0, 2.0, 3.0],
        array![1000.0, 0.0, -1000.0],
        array![-750.0, -760.0],
        array![800.0, 799.0, 790.0],
    ];
    for v in [2, 5, 9] {
        cases.push(Array1::from_shape_simple_fn(v, || {
            g.random_range(-4.0..4.0)
        }));
    }
    for z in cases {
        let got = learner::log_softmax(z.view());
        let want = log_softmax(z.view().insert_axis(Axis(0))).row(0).to_owned();
        let ok = got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| (a - b).abs() < TOL);
        if !ok {
            let why = if got.iter().any(|x| !x.is_finite()) {
                "the result is not finite: ln(softmax) is -inf where softmax underflows to 0, \
                 and exp of a large logit overflows; use the log-sum-exp trick"
            } else {
                hint
            };
            panic!("log_softmax({z}) returned {got}, expected {want}.\nLikely mistake: {why}");
        }
    }
}

/// A small random language model over `vocab` tokens whose predictions are far from
/// uniform (its head is scaled up), so every mistake changes the answer.
fn model(kind: usize, vocab: usize, hidden: usize, seed: u64) -> LanguageModel {
    let task = Task::Echo {
        seq_len: 4,
        delay: 1,
        vocab,
    };
    if kind == 0 {
        let mut m = SequenceModel::<f64>::new(&task, hidden, Init::Uniform, seed).unwrap();
        m.head.w.mapv_inplace(|w| 6.0 * w);
        LanguageModel::Rnn(Box::new(m))
    } else {
        let config = LstmConfig {
            input_size: vocab,
            hidden_size: hidden,
            seed,
            ..LstmConfig::default()
        };
        let cell = Lstm::new(&config).unwrap();
        let mut m = SequenceModel::with_cell(cell, &task, seed).unwrap();
        m.head.w.mapv_inplace(|w| 6.0 * w);
        LanguageModel::Lstm(Box::new(m))
    }
}

enum LanguageModel {
    Rnn(Box<SequenceModel<f64>>),
    Lstm(Box<SequenceModel<f64, Lstm<f64>>>),
}

impl LanguageModel {
    fn name(&self) -> &'static str {
        match self {
            LanguageModel::Rnn(_) => "an RNN",
            LanguageModel::Lstm(_) => "an LSTM",
        }
    }
    fn reference(&self, context: usize, tokens: &[usize]) -> f64 {
        match self {
            LanguageModel::Rnn(m) => sequence_log_prob(m, context, tokens).unwrap(),
            LanguageModel::Lstm(m) => sequence_log_prob(m, context, tokens).unwrap(),
        }
    }
    fn learner(&self, context: usize, tokens: &[usize]) -> f64 {
        match self {
            LanguageModel::Rnn(m) => stepwise(m, context, tokens),
            LanguageModel::Lstm(m) => stepwise(m, context, tokens),
        }
    }
}

/// Runs the learner's function with a `step` that feeds one token and carries the state.
fn stepwise<C: Recurrent<f64>>(m: &SequenceModel<f64, C>, context: usize, tokens: &[usize]) -> f64 {
    let vocab = m.rnn.input_size();
    let mut state = m.rnn.zero_state(1);
    let mut step = |token: usize| -> Array1<f64> {
        assert!(
            token < vocab,
            "step was fed token {token}, past the vocabulary of {vocab}"
        );
        let mut x = Array3::zeros((1, 1, vocab)); // (1, 1, V)
        x[[0, 0, token]] = 1.0;
        let cache = m.rnn.forward_seq(x.view(), &state).unwrap();
        state = m.rnn.final_state(&cache);
        let h = m.rnn.outputs(&cache).index_axis(Axis(0), 0).to_owned(); // (1, H)
        m.head.forward(h.view()).unwrap().row(0).to_owned() // (V,)
    };
    learner::sentence_log_prob(&mut step, context, tokens)
}

#[track_caller]
fn grade(lm: &LanguageModel, context: usize, tokens: &[usize]) {
    let got = lm.learner(context, tokens);
    let want = lm.reference(context, tokens);
    if (got - want).abs() <= TOL * want.abs().max(1.0) {
        return;
    }
    let n = tokens.len();
    // What the classic mistakes would have returned.
    let no_context = if n > 1 {
        lm.reference(tokens[0], &tokens[1..])
    } else {
        f64::NAN
    };
    let hint = if !got.is_finite() {
        "the result is not finite: multiplying probabilities underflows to 0 after a few \
         hundred tokens (and ln 0 = -inf); sum the log-probabilities instead"
            .to_string()
    } else if (got - want / n as f64).abs() < TOL * want.abs().max(1.0) && n > 1 {
        "this is the mean over tokens: return the sum, not the mean (the per-token \
         summaries divide by T themselves)"
            .to_string()
    } else if (got - no_context).abs() < TOL * no_context.abs().max(1.0) {
        "you started from the first token: feed the context y_0 first; its logits score y_1"
            .to_string()
    } else if got > 0.0 {
        "a log-probability is never positive: add log_softmax(logits)[y], not the raw logit"
            .to_string()
    } else {
        "score each token with the logits returned before it was fed (they predict it), \
         then feed it; the logits returned after feeding y_t predict y_{t+1}"
            .to_string()
    };
    panic!(
        "sentence_log_prob under {} (V = {}), context {context}, tokens {tokens:?}: returned \
         {got}, expected {want}.\nLikely mistake: {hint}",
        lm.name(),
        match lm {
            LanguageModel::Rnn(m) => m.rnn.input_size(),
            LanguageModel::Lstm(m) => m.rnn.input_size(),
        }
    );
}

#[test]
fn one_token_is_one_conditional() {
    for kind in 0..2 {
        let lm = model(kind, 5, 6, 1);
        for y in 0..5 {
            grade(&lm, 2, &[y]);
        }
    }
}

#[test]
fn sentences_match_the_model_under_rnn_and_lstm() {
    let mut g = rng(160);
    for seed in 0..4 {
        for kind in 0..2 {
            let vocab = g.random_range(2..=7);
            let lm = model(kind, vocab, g.random_range(1..=8), seed);
            for len in [2, 3, 7, 12] {
                let tokens: Vec<usize> = (0..len).map(|_| g.random_range(0..vocab)).collect();
                grade(&lm, g.random_range(0..vocab), &tokens);
            }
        }
    }
}

#[test]
fn a_long_sentence_does_not_underflow() {
    let lm = model(1, 6, 8, 7);
    let mut g = rng(161);
    let tokens: Vec<usize> = (0..2000).map(|_| g.random_range(0..6)).collect();
    grade(&lm, 0, &tokens);
}

#[test]
fn all_continuations_sum_to_one() {
    // The chain rule: Σ over every (y1, y2) of p(y1, y2 | y0) is 1.
    let lm = model(0, 4, 5, 3);
    let total: f64 = (0..4)
        .flat_map(|a| (0..4).map(move |b| [a, b]))
        .map(|pair| lm.learner(1, &pair).exp())
        .sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "the probabilities of all 16 two-token sentences sum to {total}, not 1.\nLikely \
         mistake: score each token with the logits returned before it was fed, and sum \
         log_softmax (not raw logits)"
    );
}

#[test]
fn per_token_summaries() {
    // A model that spreads its bets evenly over 4 tokens for 10 tokens: ln p = -10 ln 4.
    let lp = -10.0 * 4f64.ln();
    let ppl = learner::perplexity(lp, 10);
    assert!(
        (ppl - 4.0).abs() < 1e-12,
        "perplexity(-10 ln 4, 10) returned {ppl}, expected 4.\nLikely mistake: {}",
        if ppl < 1.0 {
            "a perplexity is at least 1: exp(-ln p / T), mind the minus sign"
        } else {
            "exp(-ln p / T): divide by the number of tokens, then exponentiate"
        }
    );
    let bits = learner::bits_per_token(lp, 10);
    assert!(
        (bits - 2.0).abs() < 1e-12,
        "bits_per_token(-10 ln 4, 10) returned {bits}, expected 2 (four equally likely \
         tokens are two bits).\nLikely mistake: {}",
        if (bits - 4f64.ln()).abs() < 1e-9 {
            "that is nats per token: divide by ln 2 to get bits"
        } else {
            "-ln p / (T ln 2): mind the minus sign and divide by T"
        }
    );
    let bits = learner::bits_per_token(-3.0, 7);
    assert!(
        (bits - 3.0 / (7.0 * std::f64::consts::LN_2)).abs() < 1e-12,
        "bits_per_token(-3, 7) returned {bits}.\nLikely mistake: -ln p / (T ln 2)"
    );
}
