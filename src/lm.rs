//! Language models: an embedding, stacked fast LSTMs and a linear head over the vocabulary,
//! trained with softmax cross-entropy to predict the next token, by truncated BPTT over
//! one long corpus. The chapter "Language models and sampling" explains each part.
//!
//! The same code serves characters ([`crate::text::CharVocab`]) and words
//! ([`crate::vocab::WordVocab`]): a model sees only token ids below `vocab_size`.
//!
//! - **Embedding.** Token $x_t$ selects row $x_t$ of $E$ (V, E): the same as a one-hot
//!   vector times $E$, without the multiply. Its gradient adds each step's
//!   $\partial L/\partial e_t$ into the row of the token that was read.
//! - **Truncated BPTT over a corpus.** [`Streams`] cuts the corpus into B contiguous
//!   slices read in parallel, T tokens at a time; the state at the end of one window is the
//!   initial state of the next (so the model sees context from far back), but the gradient
//!   stops at the window's edge (so memory and time per step stay bounded).
//! - **Measures.** Cross-entropy in nats per token; divided by $\ln 2$ it is bits per
//!   character, and $e^{\text{nats}}$ is the perplexity of a word model: the number of
//!   equally likely words the model is as uncertain as.

use crate::error::{check_shape, require, Error};
use crate::fast::{FastLstm, FastLstmBackward, FastLstmCache, FastReal};
use crate::init::{self, SeededRng};
use crate::linear::{Linear, LinearGrads};
use crate::loss::softmax_cross_entropy;
use crate::lstm::LstmConfig;
use crate::optim::{clip_grad_norm, Adam, AdamConfig};
use crate::params::intern;
use crate::sampling::{distribution, draw, SamplingConfig};
use crate::{Params, Recurrent, Result};
use ndarray::{s, Array2, Array3, ArrayView2, ArrayViewD, ArrayViewMutD};

/// The shape of a language model.
#[derive(Clone, Debug, PartialEq)]
pub struct LmConfig {
    /// V: the vocabulary size, input and output. Default 84, the Shakespeare corpus's
    /// characters.
    pub vocab_size: usize,
    /// E: the embedding width. Default 32: a character needs few dimensions (there are
    /// 84 in the Shakespeare corpus), and for characters the embedding only replaces a
    /// one-hot input.
    pub embed_size: usize,
    /// H: each LSTM layer's width. Default 128, char-rnn's default width (Karpathy 2015),
    /// and the width of the chapter's Shakespeare run, where a wider layer read too little
    /// text in the time budget.
    pub hidden_size: usize,
    /// How many LSTM layers are stacked. Default 1: char-rnn stacks 2, but in a fixed time
    /// budget each layer costs as much text read as it adds depth.
    pub layers: usize,
    /// The forget gates' initial bias. Default 1 (Jozefowicz et al. 2015), so the cell
    /// remembers from the first step.
    pub forget_bias: f64,
    /// The seed of every initial weight.
    pub seed: u64,
}

impl Default for LmConfig {
    fn default() -> Self {
        LmConfig {
            vocab_size: 84,
            embed_size: 32,
            hidden_size: 128,
            layers: 1,
            forget_bias: 1.0,
            seed: 0,
        }
    }
}

impl LmConfig {
    /// Every size must be at least 1 and the forget bias finite.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("embed_size", self.embed_size),
            ("hidden_size", self.hidden_size),
            ("layers", self.layers),
        ] {
            if v == 0 {
                return Err(Error::Config {
                    field,
                    reason: "must be at least 1, got 0".into(),
                });
            }
        }
        if !self.forget_bias.is_finite() {
            return Err(Error::Config {
                field: "forget_bias",
                reason: format!("must be finite, got {}", self.forget_bias),
            });
        }
        Ok(())
    }
}

/// A language model: embedding, LSTM layers, linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct LanguageModel<F> {
    config: LmConfig,
    /// $E$: (V, E), one row per token.
    pub embedding: Array2<F>,
    /// The LSTM layers, bottom first; layer 0 reads E inputs, the others H.
    pub layers: Vec<FastLstm<F>>,
    /// From $h_t$ of the top layer to the V logits of the next token.
    pub head: Linear<F>,
}

/// The recurrent state of every layer, carried from window to window: `h[l]` and `c[l]`
/// are (B, H).
#[derive(Clone, Debug, PartialEq)]
pub struct LmState<F> {
    /// $h$ of each layer.
    pub h: Vec<Array2<F>>,
    /// $c$ of each layer.
    pub c: Vec<Array2<F>>,
}

/// What a training step keeps between calls, so that a step allocates little: the
/// layers' caches and backward buffers, and the gradients of the last step.
#[derive(Clone, Debug)]
pub struct LmWorkspace<F> {
    embedded: Array3<F>, // (T, B, E)  the embedding rows of the inputs
    caches: Vec<FastLstmCache<F>>,
    backs: Vec<FastLstmBackward<F>>,
    /// $\partial L/\partial E$ of the last step: (V, E).
    pub d_embedding: Array2<F>,
    /// The head's gradients of the last step.
    pub d_head: LinearGrads<F>,
}

impl<F: FastReal> Default for LmWorkspace<F> {
    fn default() -> Self {
        LmWorkspace {
            embedded: Array3::zeros((0, 0, 0)),
            caches: Vec::new(),
            backs: Vec::new(),
            d_embedding: Array2::zeros((0, 0)),
            d_head: LinearGrads {
                w: Array2::zeros((0, 0)),
                b: ndarray::Array1::zeros(0),
            },
        }
    }
}

impl<F: FastReal> LmWorkspace<F> {
    /// The gradients of the last [`LanguageModel::train_step`], in the order and with the
    /// names of [`LanguageModel`]'s parameters.
    pub fn grads(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut out = vec![("embedding", self.d_embedding.view().into_dyn())];
        for (l, b) in self.backs.iter().enumerate() {
            for (name, g) in b.grads.params() {
                out.push((intern(format!("l{l}.{name}")), g));
            }
        }
        out.extend(
            self.d_head
                .params()
                .into_iter()
                .map(|(n, g)| (intern(format!("head.{n}")), g)),
        );
        out
    }

    fn grads_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        let mut out = vec![self.d_embedding.view_mut().into_dyn()];
        for b in &mut self.backs {
            out.extend(b.grads.params_mut().into_iter().map(|(_, g)| g));
        }
        out.extend(self.d_head.params_mut().into_iter().map(|(_, g)| g));
        out
    }

    /// What the last [`LanguageModel::forward`] kept, one cache per layer, bottom first:
    /// every step's gates, cell state and output (read by [`crate::inside`]).
    pub fn caches(&self) -> &[FastLstmCache<F>] {
        &self.caches
    }

    /// $\partial L/\partial h_0$ and $\partial L/\partial c_0$ of every layer, from the last
    /// step (what a gradient check of the carried state compares).
    pub fn initial_state_grads(&self) -> LmState<F> {
        LmState {
            h: self.backs.iter().map(|b| b.dh0.clone()).collect(),
            c: self.backs.iter().map(|b| b.dc0.clone()).collect(),
        }
    }
}

impl<F: FastReal> LanguageModel<F> {
    /// A new model: embedding rows from $N(0, 1)$ (PyTorch's `nn.Embedding`), LSTM layers
    /// as PyTorch draws them with the configured forget bias, head from $U(\pm 1/\sqrt H)$.
    pub fn new(config: &LmConfig) -> Result<Self> {
        config.validate()?;
        let mut rng = init::rng(config.seed);
        let embedding =
            Array2::from_shape_simple_fn((config.vocab_size, config.embed_size), || {
                F::cast(init::standard_normal(&mut rng))
            });
        let layers = (0..config.layers)
            .map(|l| {
                FastLstm::new(&LstmConfig {
                    input_size: if l == 0 {
                        config.embed_size
                    } else {
                        config.hidden_size
                    },
                    hidden_size: config.hidden_size,
                    forget_bias: config.forget_bias,
                    seed: config.seed.wrapping_add(1 + l as u64),
                    ..LstmConfig::default()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head = Linear::new(config.hidden_size, config.vocab_size, &mut rng)?;
        Ok(LanguageModel {
            config: config.clone(),
            embedding,
            layers,
            head,
        })
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &LmConfig {
        &self.config
    }

    /// The all-zero state of `batch` streams.
    pub fn zero_state(&self, batch: usize) -> LmState<F> {
        let zeros = Array2::zeros((batch, self.config.hidden_size));
        LmState {
            h: vec![zeros.clone(); self.layers.len()],
            c: vec![zeros; self.layers.len()],
        }
    }

    fn check_tokens(&self, arg: &'static str, tokens: &ArrayView2<usize>) -> Result<()> {
        check_shape(arg, tokens.shape(), &[("T", None), ("B", None)])?;
        let v = self.config.vocab_size;
        match tokens.indexed_iter().find(|(_, &x)| x >= v) {
            Some(((t, b), &x)) => Err(Error::Value {
                arg,
                reason: format!("token {x} at (t={t}, b={b}) is not below V = {v}"),
            }),
            None => Ok(()),
        }
    }

    fn check_state(&self, state: &LmState<F>, batch: usize) -> Result<()> {
        let (n, h) = (self.layers.len(), self.config.hidden_size);
        require(
            state.h.len() == n && state.c.len() == n,
            "state",
            format!(
                "holds {} h and {} c arrays for a model of {n} layers",
                state.h.len(),
                state.c.len()
            ),
        )?;
        for (h_l, c_l) in state.h.iter().zip(&state.c) {
            check_shape(
                "state.h",
                h_l.shape(),
                &[("B", Some(batch)), ("H", Some(h))],
            )?;
            check_shape(
                "state.c",
                c_l.shape(),
                &[("B", Some(batch)), ("H", Some(h))],
            )?;
        }
        Ok(())
    }

    // ANCHOR: forward
    /// Runs the model over `inputs` (T, B) token ids from `state`, keeping what the
    /// backward pass needs in `ws`, and returns the logits (T·B, V), row $tB + b$ predicting
    /// the token after `inputs[[t, b]]`. `state` becomes the state after the last step.
    pub fn forward(
        &self,
        inputs: ArrayView2<usize>,
        state: &mut LmState<F>,
        ws: &mut LmWorkspace<F>,
    ) -> Result<Array2<F>> {
        self.check_tokens("inputs", &inputs)?;
        let (t_len, batch) = inputs.dim();
        self.check_state(state, batch)?;
        let e = self.config.embed_size;
        if ws.embedded.dim() != (t_len, batch, e) {
            ws.embedded = Array3::zeros((t_len, batch, e)); // (T, B, E)
        }
        for ((t, b), &x) in inputs.indexed_iter() {
            ws.embedded
                .slice_mut(s![t, b, ..])
                .assign(&self.embedding.row(x));
        }
        ws.caches.resize_with(self.layers.len(), Default::default);
        for l in 0..self.layers.len() {
            let (below, here) = ws.caches.split_at_mut(l);
            let xs = match below.last() {
                Some(cache) => cache.hs(), // (T, B, H)  the layer below's outputs
                None => ws.embedded.view(),
            };
            self.layers[l].forward_into(xs, state.h[l].view(), state.c[l].view(), &mut here[0])?;
            let last = Recurrent::final_state(&self.layers[l], &here[0]);
            state.h[l] = last.h;
            state.c[l] = last.c;
        }
        let top = ws.caches.last().expect("at least one layer").hs(); // (T, B, H)
        let h_flat = top
            .to_shape((t_len * batch, self.config.hidden_size))
            .map_err(|e| Error::Value {
                arg: "inputs",
                reason: e.to_string(),
            })?; // (T·B, H)
        self.head.forward(h_flat.view()) // (T·B, V)
    }
    // ANCHOR_END: forward

    // ANCHOR: train_step
    /// One step of truncated BPTT: the mean cross-entropy (nats per token) of predicting
    /// `targets` (T, B) from `inputs` (T, B), and its gradients with respect to every
    /// parameter (left in `ws`, see [`LmWorkspace::grads`]) and the initial state. `state`
    /// becomes the final state, to start the next window from: the gradient does not flow
    /// into it (it is a plain value), which is what truncates the backpropagation.
    pub fn train_step(
        &self,
        inputs: ArrayView2<usize>,
        targets: ArrayView2<usize>,
        state: &mut LmState<F>,
        ws: &mut LmWorkspace<F>,
    ) -> Result<f64> {
        self.check_tokens("targets", &targets)?;
        check_shape(
            "targets",
            targets.shape(),
            &[("T", Some(inputs.nrows())), ("B", Some(inputs.ncols()))],
        )?;
        let (t_len, batch) = inputs.dim();
        let h = self.config.hidden_size;
        let logits = self.forward(inputs, state, ws)?; // (T·B, V)
        let flat_targets: Vec<usize> = targets.iter().copied().collect(); // row t·B + b
        let (loss, d_logits) = softmax_cross_entropy(logits.view(), &flat_targets)?;
        // The head: dL/dW = dlogits^T h, dL/dh = dlogits W.
        let top = ws.caches.last().expect("at least one layer").hs();
        let h_flat = top
            .to_shape((t_len * batch, h))
            .expect("contiguous outputs"); // (T·B, H)
        let (d_head, dh_flat) = self.head.backward(h_flat.view(), d_logits.view())?;
        ws.d_head = d_head;
        let mut dhs = dh_flat
            .into_shape_with_order((t_len, batch, h))
            .expect("(T·B, H) is (T, B, H)"); // (T, B, H)
        ws.backs.resize_with(self.layers.len(), Default::default);
        // Down the stack: each layer's input gradient is the gradient of the outputs of the
        // layer below; the bottom layer's is the gradient of the embedded inputs.
        for l in (0..self.layers.len()).rev() {
            self.layers[l].backward_into(&ws.caches[l], dhs.view(), true, &mut ws.backs[l])?;
            dhs = ws.backs[l]
                .dxs
                .take()
                .expect("backward_into fills dxs when asked");
        }
        // The embedding: row x_t receives dL/de_t for every step that read token x_t.
        let d_emb = &mut ws.d_embedding;
        if d_emb.dim() != self.embedding.dim() {
            *d_emb = Array2::zeros(self.embedding.dim()); // (V, E)
        } else {
            d_emb.fill(F::zero());
        }
        for ((t, b), &x) in inputs.indexed_iter() {
            let mut row = d_emb.row_mut(x);
            row += &dhs.slice(s![t, b, ..]);
        }
        Ok(loss.as_f64())
    }
    // ANCHOR_END: train_step

    /// The mean cross-entropy, in nats per token, of `ids` read as `streams` contiguous
    /// slices in parallel, `seq_len` tokens at a time, carrying the state: the held-out
    /// measure. Each slice's first token is only read, never predicted. With `limit`, only
    /// the first `limit` predictions of each slice count (a cheaper estimate while
    /// training that still samples the whole text).
    pub fn evaluate(
        &self,
        ids: &[usize],
        streams: usize,
        seq_len: usize,
        limit: Option<usize>,
    ) -> Result<f64> {
        require(streams >= 1, "streams", "must be at least 1, got 0")?;
        require(seq_len >= 1, "seq_len", "must be at least 1, got 0")?;
        let slice = ids.len() / streams;
        require(
            slice >= 2,
            "ids",
            format!("{} tokens cannot make {streams} slices of 2", ids.len()),
        )?;
        let steps = limit.map_or(slice - 1, |n| n.min(slice - 1));
        let mut state = self.zero_state(streams);
        let mut ws = LmWorkspace::default();
        let (mut nll, mut count) = (0.0, 0usize);
        let mut start = 0;
        while start < steps {
            let t_len = seq_len.min(steps - start);
            let inputs =
                Array2::from_shape_fn((t_len, streams), |(t, b)| ids[b * slice + start + t]); // (T, B)
            let targets: Vec<usize> = (0..t_len)
                .flat_map(|t| (0..streams).map(move |b| (t, b)))
                .map(|(t, b)| ids[b * slice + start + t + 1])
                .collect(); // row t·B + b
            let logits = self.forward(inputs.view(), &mut state, &mut ws)?;
            let (loss, _) = softmax_cross_entropy(logits.view(), &targets)?;
            nll += loss.as_f64() * targets.len() as f64;
            count += targets.len();
            start += t_len;
        }
        Ok(nll / count as f64)
    }

    /// The logits (V) of the token after `context` (at least one token), read from the zero
    /// state.
    pub fn next_logits(&self, context: &[usize]) -> Result<ndarray::Array1<F>> {
        require(!context.is_empty(), "context", "needs at least one token")?;
        let inputs =
            Array2::from_shape_vec((context.len(), 1), context.to_vec()).expect("one column"); // (T, 1)
        let logits = self.forward(
            inputs.view(),
            &mut self.zero_state(1),
            &mut Default::default(),
        )?;
        Ok(logits.row(context.len() - 1).to_owned())
    }

    /// The `k` most likely next tokens after `context`, with their probabilities, most
    /// likely first: next-word prediction.
    pub fn predict_next(&self, context: &[usize], k: usize) -> Result<Vec<(usize, f64)>> {
        let probs = distribution(
            self.next_logits(context)?.view(),
            &SamplingConfig::default(),
        )?;
        let mut ranked: Vec<(usize, f64)> = probs.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        Ok(ranked)
    }

    // ANCHOR: log_prob
    /// $\log p(x_1 \dots x_T \mid x_0)$ in nats, the sum of the model's conditional
    /// log-probabilities: `context` is $x_0$ (for a sentence, ⟨EOS⟩: the end of the one
    /// before), `tokens` are $x_1 \dots x_T$.
    pub fn log_prob(&self, context: usize, tokens: &[usize]) -> Result<f64> {
        require(!tokens.is_empty(), "tokens", "an empty sequence")?;
        let inputs: Vec<usize> = std::iter::once(context)
            .chain(tokens[..tokens.len() - 1].iter().copied())
            .collect();
        let inputs = Array2::from_shape_vec((inputs.len(), 1), inputs).expect("one column");
        let targets =
            Array2::from_shape_vec((tokens.len(), 1), tokens.to_vec()).expect("one column");
        self.check_tokens("tokens", &targets.view())?;
        let logits = self.forward(
            inputs.view(),
            &mut self.zero_state(1),
            &mut Default::default(),
        )?;
        let log_p = crate::activations::log_softmax(logits.view()); // (T, V)
        Ok(tokens
            .iter()
            .enumerate()
            .map(|(t, &y)| log_p[[t, y]].as_f64())
            .sum())
    }
    // ANCHOR_END: log_prob

    // ANCHOR: sample
    /// Reads `prompt`, then draws up to `config.max_len` tokens one at a time, each from
    /// the model's distribution given everything before it, fed back in as the next input.
    pub fn sample(
        &self,
        prompt: &[usize],
        config: &SamplingConfig,
        rng: &mut SeededRng,
    ) -> Result<Vec<usize>> {
        require(
            !prompt.is_empty(),
            "prompt",
            "needs at least one token to start from",
        )?;
        let mut state = self.zero_state(1);
        let mut ws = LmWorkspace::default();
        let read = Array2::from_shape_vec((prompt.len(), 1), prompt.to_vec()).expect("one column");
        let mut logits = self.forward(read.view(), &mut state, &mut ws)?; // (T, V)
        let mut last = logits.nrows() - 1;
        let mut out = Vec::with_capacity(config.max_len);
        while out.len() < config.max_len {
            let next = draw(&distribution(logits.row(last), config)?, rng);
            out.push(next);
            if config.stop == Some(next) {
                break;
            }
            let one = Array2::from_elem((1, 1), next); // (1, 1)
            logits = self.forward(one.view(), &mut state, &mut ws)?; // (1, V)
            last = 0;
        }
        Ok(out)
    }
    // ANCHOR_END: sample
}

impl<F: FastReal> Params<F> for LanguageModel<F> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut out = vec![("embedding", self.embedding.view().into_dyn())];
        for (l, layer) in self.layers.iter().enumerate() {
            for (name, p) in layer.params() {
                out.push((intern(format!("l{l}.{name}")), p));
            }
        }
        for (name, p) in self.head.params() {
            out.push((intern(format!("head.{name}")), p));
        }
        out
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut out = vec![("embedding", self.embedding.view_mut().into_dyn())];
        for (l, layer) in self.layers.iter_mut().enumerate() {
            for (name, p) in layer.params_mut() {
                out.push((intern(format!("l{l}.{name}")), p));
            }
        }
        for (name, p) in self.head.params_mut() {
            out.push((intern(format!("head.{name}")), p));
        }
        out
    }
}

// ANCHOR: streams
/// A long corpus as B parallel streams for truncated BPTT: the ids are cut into B
/// contiguous slices, and window k holds tokens $kT \dots kT+T$ of every slice (inputs the
/// first T, targets the last T). Consecutive windows continue each other, so the state
/// after one is the right initial state for the next. When a slice runs out, reading
/// starts again from the slices' beginnings, and the caller resets the state.
#[derive(Clone, Debug, PartialEq)]
pub struct Streams {
    ids: Vec<usize>,
    batch: usize,
    seq_len: usize,
    slice: usize,
    position: usize,
}

impl Streams {
    /// `batch` streams over `ids`, windows of `seq_len` steps. Each slice must hold at least
    /// one window and its next token.
    pub fn new(ids: Vec<usize>, batch: usize, seq_len: usize) -> Result<Self> {
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        require(seq_len >= 1, "seq_len", "must be at least 1, got 0")?;
        let slice = ids.len() / batch;
        require(
            slice > seq_len,
            "ids",
            format!(
                "{} tokens make {batch} slices of {slice}, too short for windows of {seq_len} \
                 steps (each needs {})",
                ids.len(),
                seq_len + 1
            ),
        )?;
        Ok(Streams {
            ids,
            batch,
            seq_len,
            slice,
            position: 0,
        })
    }

    /// The next window: inputs (T, B), targets (T, B), and whether reading wrapped around
    /// to the beginning (the state must then be reset: the text before is not this text's).
    pub fn next_window(&mut self) -> (Array2<usize>, Array2<usize>, bool) {
        let wrapped = self.position + self.seq_len + 1 > self.slice;
        if wrapped {
            self.position = 0;
        }
        let p = self.position;
        let (ids, slice) = (&self.ids, self.slice);
        let inputs =
            Array2::from_shape_fn((self.seq_len, self.batch), |(t, b)| ids[b * slice + p + t]); // (T, B)
        let targets = Array2::from_shape_fn((self.seq_len, self.batch), |(t, b)| {
            ids[b * slice + p + t + 1]
        }); // (T, B)
        self.position += self.seq_len;
        (inputs, targets, wrapped)
    }

    /// Where in each slice the next window starts (saved in a checkpoint).
    pub fn position(&self) -> usize {
        self.position
    }

    /// Continues from `position` (as [`Streams::position`] returned it).
    pub fn set_position(&mut self, position: usize) -> Result<()> {
        require(
            position <= self.slice,
            "position",
            format!("{position} is past the slice length {}", self.slice),
        )?;
        self.position = position;
        Ok(())
    }

    /// B.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// T.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// How many tokens one pass over the streams reads.
    pub fn tokens_per_epoch(&self) -> usize {
        (self.slice - 1) / self.seq_len * self.seq_len * self.batch
    }
}
// ANCHOR_END: streams

/// How a [`Trainer`] trains.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerConfig {
    /// B: parallel streams. Default 32: enough rows for the matrix multiplies to run
    /// near full speed on one core, few enough that each step is quick.
    pub batch: usize,
    /// T: steps per window, the truncation length. Default 64, as in char-rnn's longer
    /// runs: long enough for a word or two of context to train through.
    pub seq_len: usize,
    /// Adam's peak step size. Default 4e-3, the chapter's Shakespeare run: small
    /// character models tolerate more than Adam's cautious 1e-3, and the clipping below
    /// catches the occasional large step.
    pub lr: f64,
    /// The step size decays linearly from `lr` to `lr * final_lr_fraction` over
    /// `decay_steps`. Default 0.1: large steps early for fast progress, small ones at the
    /// end so the parameters settle instead of rattling around a minimum.
    pub final_lr_fraction: f64,
    /// Steps of the linear decay; afterwards the step size stays at its final value.
    /// Default 2000, a little more than the chapter's run takes: set it to the length of
    /// the run, so the step size has decayed when training stops.
    pub decay_steps: usize,
    /// Clip the global gradient norm to this. Default 5, char-rnn's value: rare spikes are
    /// cut, ordinary steps untouched.
    pub clip_norm: f64,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            batch: 32,
            seq_len: 64,
            lr: 4e-3,
            final_lr_fraction: 0.1,
            decay_steps: 2000,
            clip_norm: 5.0,
        }
    }
}

impl TrainerConfig {
    /// Positive sizes and step size, fraction in [0, 1], finite positive clip.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (
                "batch",
                self.batch >= 1,
                format!("must be at least 1, got {}", self.batch),
            ),
            (
                "seq_len",
                self.seq_len >= 1,
                format!("must be at least 1, got {}", self.seq_len),
            ),
            (
                "lr",
                self.lr.is_finite() && self.lr > 0.0,
                format!("must be finite and > 0, got {}", self.lr),
            ),
            (
                "final_lr_fraction",
                (0.0..=1.0).contains(&self.final_lr_fraction),
                format!("must lie in [0, 1], got {}", self.final_lr_fraction),
            ),
            (
                "clip_norm",
                self.clip_norm.is_finite() && self.clip_norm > 0.0,
                format!("must be finite and > 0, got {}", self.clip_norm),
            ),
        ];
        for (field, ok, reason) in checks {
            if !ok {
                return Err(Error::Config { field, reason });
            }
        }
        Ok(())
    }

    /// The step size at step `step` (counted from 0).
    pub fn lr_at(&self, step: usize) -> f64 {
        let progress = (step as f64 / self.decay_steps.max(1) as f64).min(1.0);
        self.lr * (1.0 - progress * (1.0 - self.final_lr_fraction))
    }
}

/// Everything training needs, and everything a checkpoint saves: the model, Adam's
/// moments, the streams' position, the carried state and the step count.
#[derive(Clone, Debug)]
pub struct Trainer<F> {
    /// The model being trained.
    pub model: LanguageModel<F>,
    /// How it is trained.
    pub config: TrainerConfig,
    /// Adam, with its moment estimates.
    pub adam: Adam<F>,
    /// The training corpus as parallel streams.
    pub streams: Streams,
    /// The state carried into the next window.
    pub state: LmState<F>,
    /// Steps taken so far.
    pub step: usize,
    ws: LmWorkspace<F>,
}

impl<F: FastReal> Trainer<F> {
    /// A trainer of `model` on `ids`.
    pub fn new(model: LanguageModel<F>, ids: Vec<usize>, config: TrainerConfig) -> Result<Self> {
        config.validate()?;
        let streams = Streams::new(ids, config.batch, config.seq_len)?;
        let adam = Adam::new(AdamConfig {
            lr: config.lr,
            ..AdamConfig::default()
        })?;
        let state = model.zero_state(config.batch);
        Ok(Trainer {
            model,
            config,
            adam,
            streams,
            state,
            step: 0,
            ws: LmWorkspace::default(),
        })
    }

    // ANCHOR: trainer_step
    /// One window of truncated BPTT and one Adam update; returns the window's loss in nats
    /// per token.
    pub fn train_step(&mut self) -> Result<f64> {
        let (inputs, targets, wrapped) = self.streams.next_window();
        if wrapped {
            self.state = self.model.zero_state(self.config.batch);
        }
        let loss =
            self.model
                .train_step(inputs.view(), targets.view(), &mut self.state, &mut self.ws)?;
        clip_grad_norm(&mut self.ws.grads_mut(), self.config.clip_norm)?;
        let grads: Vec<ArrayViewD<F>> = self.ws.grads().into_iter().map(|(_, g)| g).collect();
        self.adam.set_lr(self.config.lr_at(self.step))?;
        let mut params: Vec<ArrayViewMutD<F>> = self
            .model
            .params_mut()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        self.adam.step(&mut params, &grads)?;
        self.step += 1;
        Ok(loss)
    }
    // ANCHOR_END: trainer_step
}

/// Nats to bits: divide by $\ln 2$.
pub fn bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// The perplexity of a mean cross-entropy in nats: $e^{\text{nats}}$.
pub fn perplexity(nats: f64) -> f64 {
    nats.exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{CharVocab, Unknown};

    const TEXT: &str = "the cat sat on the mat. the rat ate the cat's hat. ";

    fn small(vocab: usize, layers: usize) -> LanguageModel<f64> {
        LanguageModel::new(&LmConfig {
            vocab_size: vocab,
            embed_size: 5,
            hidden_size: 7,
            layers,
            seed: 3,
            ..LmConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn streams_continue_each_other_and_wrap() {
        let ids: Vec<usize> = (0..40).collect();
        let mut s = Streams::new(ids, 2, 3).unwrap(); // slices 0..20 and 20..40
        let (x, y, wrapped) = s.next_window();
        assert!(!wrapped);
        assert_eq!(x.column(0).to_vec(), vec![0, 1, 2]);
        assert_eq!(x.column(1).to_vec(), vec![20, 21, 22]);
        assert_eq!(y.column(1).to_vec(), vec![21, 22, 23]);
        let (x, _, _) = s.next_window();
        assert_eq!(x.column(0).to_vec(), vec![3, 4, 5]);
        for _ in 0..4 {
            s.next_window();
        }
        // Windows at 0, 3, ..., 15 fit (15 + 3 + 1 <= 20); the seventh would not.
        assert_eq!(s.position(), 18);
        let (x, _, wrapped) = s.next_window();
        assert!(wrapped);
        assert_eq!(x[[0, 0]], 0);
        assert_eq!(s.tokens_per_epoch(), 36);
        assert!(Streams::new(vec![0; 7], 2, 3).is_err());
    }

    #[test]
    fn carried_state_equals_one_long_window() {
        // Two windows of 4 from the carried state are one window of 8: TBPTT changes the
        // gradient, never the forward pass.
        let m = small(6, 2);
        let tokens = Array2::from_shape_fn((8, 3), |(t, b)| (t * 5 + b) % 6);
        let mut ws = LmWorkspace::default();
        let mut s1 = m.zero_state(3);
        let whole = m.forward(tokens.view(), &mut s1, &mut ws).unwrap();
        let mut s2 = m.zero_state(3);
        let a = m
            .forward(tokens.slice(s![..4, ..]), &mut s2, &mut ws)
            .unwrap();
        let b = m
            .forward(tokens.slice(s![4.., ..]), &mut s2, &mut ws)
            .unwrap();
        for (r, row) in a.rows().into_iter().chain(b.rows()).enumerate() {
            for (x, y) in row.iter().zip(whole.row(r)) {
                assert!((x - y).abs() < 1e-12);
            }
        }
        assert_eq!(s1, s2);
    }

    #[test]
    fn probabilities_are_consistent() {
        let m = small(5, 1);
        // Conditionals over all continuations sum to one; a longer sentence is less likely.
        let total: f64 = (0..5).map(|y| m.log_prob(2, &[y]).unwrap().exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let one = m.log_prob(0, &[1]).unwrap();
        let two = m.log_prob(0, &[1, 3]).unwrap();
        assert!(two < one && one < 0.0);
        let next = m.predict_next(&[2], 5).unwrap();
        assert!(next.windows(2).all(|w| w[0].1 >= w[1].1));
        // The top prediction's probability is that one-token sentence's probability.
        let (best, p) = next[0];
        assert!((p - m.log_prob(2, &[best]).unwrap().exp()).abs() < 1e-12);
        let config = SamplingConfig {
            max_len: 20,
            stop: Some(4),
            ..SamplingConfig::default()
        };
        let out = m.sample(&[0], &config, &mut init::rng(2)).unwrap();
        assert!(!out.is_empty() && out.len() <= 20);
        assert!(out[..out.len() - 1].iter().all(|&t| t != 4));
    }

    #[test]
    fn bad_inputs_name_the_argument() {
        let m = small(5, 1);
        let mut ws = LmWorkspace::default();
        let bad = Array2::from_elem((2, 1), 5usize);
        let err = m
            .forward(bad.view(), &mut m.zero_state(1), &mut ws)
            .unwrap_err();
        assert!(err.to_string().contains("inputs") && err.to_string().contains("token 5"));
        let ok = Array2::from_elem((2, 1), 1usize);
        let err = m
            .forward(ok.view(), &mut m.zero_state(2), &mut ws)
            .unwrap_err();
        assert!(err.to_string().contains("state.h"), "{err}");
        let short = Array2::from_elem((3, 1), 1usize);
        let err = m
            .train_step(ok.view(), short.view(), &mut m.zero_state(1), &mut ws)
            .unwrap_err();
        assert!(err.to_string().contains("targets"), "{err}");
        assert!(LanguageModel::<f64>::new(&LmConfig {
            layers: 0,
            ..LmConfig::default()
        })
        .is_err());
        assert!(TrainerConfig {
            lr: -1.0,
            ..TrainerConfig::default()
        }
        .validate()
        .is_err());
        assert!(m.log_prob(0, &[9]).is_err());
        assert!(m
            .sample(&[], &SamplingConfig::default(), &mut init::rng(0))
            .is_err());
    }

    #[test]
    fn a_char_model_learns_a_short_text() {
        let vocab = CharVocab::new(TEXT, Unknown::Reject).unwrap();
        let ids = vocab.encode(&TEXT.repeat(20)).unwrap();
        let model = LanguageModel::<f32>::new(&LmConfig {
            vocab_size: vocab.len(),
            embed_size: 8,
            hidden_size: 32,
            seed: 1,
            ..LmConfig::default()
        })
        .unwrap();
        let uniform = (vocab.len() as f64).ln();
        let mut trainer = Trainer::new(
            model,
            ids.clone(),
            TrainerConfig {
                batch: 4,
                seq_len: 16,
                lr: 1e-2,
                decay_steps: 300,
                ..TrainerConfig::default()
            },
        )
        .unwrap();
        let before = trainer.model.evaluate(&ids, 4, 16, None).unwrap();
        for _ in 0..300 {
            trainer.train_step().unwrap();
        }
        let after = trainer.model.evaluate(&ids, 4, 16, None).unwrap();
        assert!(
            (before - uniform).abs() < 0.3,
            "{before} vs ln V = {uniform}"
        );
        assert!(after < 0.5, "{before} -> {after}");
    }
}
