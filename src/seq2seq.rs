//! The encoder–decoder (Sutskever, Vinyals & Le 2014; Cho et al. 2014), with optional
//! attention (Bahdanau et al. 2015; Luong et al. 2015): many-to-many when the input and
//! the output sequences have different lengths and no step-by-step alignment.
//!
//! The encoder reads the source $x_1 \dots x_S$; its final state starts the decoder, which
//! reads the target shifted right by one (a start symbol, then $y_1 \dots y_{T-1}$: teacher
//! forcing) and predicts $y_1 \dots y_T$. Without attention, the encoder's final state is
//! all the decoder ever learns about the source, a fixed-size bottleneck whatever $S$ is;
//! with attention, the decoder's state $s_t$ also reads a context $c_t$ from all encoder
//! outputs, and the output layer sees $[s_t; c_t]$ (Luong et al.'s form: attention after
//! the recurrent step, so teacher forcing runs the whole decoder first).
//!
//! The encoder and decoder are any cell whose state is its output $h$ (the Elman RNN and
//! the GRU), so the gradient of the decoder's initial state is the gradient of the
//! encoder's last output.

use crate::attention::{from_rows, to_rows, Attention, AttentionCache};
use crate::cell::Recurrent;
use crate::error::{check_shape, require};
use crate::linear::{Linear, LinearGrads};
use crate::loss::softmax_cross_entropy;
use crate::params::intern;
use crate::{Params, Real, Result};
use ndarray::{concatenate, s, Array2, Array3, ArrayView3, ArrayViewD, ArrayViewMutD, Axis};

/// An encoder, a decoder, optional attention and an output layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Seq2Seq<F, C> {
    /// Reads the source (S, B, D_src).
    pub encoder: C,
    /// Reads the shifted target (T, B, D_tgt) from the encoder's final state.
    pub decoder: C,
    /// `None`: the plain encoder–decoder with its fixed-size bottleneck.
    pub attention: Option<Attention<F>>,
    /// From $s_t$ (or $[s_t; c_t]$ with attention) to the target vocabulary's logits.
    pub head: Linear<F>,
}

/// The gradients of every part, named as the parameters.
#[derive(Clone, Debug)]
pub struct Seq2SeqGrads<F, G> {
    /// The encoder's.
    pub encoder: G,
    /// The decoder's.
    pub decoder: G,
    /// The additive attention's (`None` without parameters).
    pub attention: Option<crate::attention::AdditiveGrads<F>>,
    /// The output layer's.
    pub head: LinearGrads<F>,
}

/// The tensors of each part under `part.name`.
fn named<'a, V: 'a>(parts: Vec<(&str, Vec<(&'static str, V)>)>) -> Vec<(&'static str, V)> {
    parts
        .into_iter()
        .flat_map(|(part, tensors)| {
            let part = part.to_string();
            tensors
                .into_iter()
                .map(move |(name, v)| (intern(format!("{part}.{name}")), v))
        })
        .collect()
}

impl<F: Real, C: Params<F>> Params<F> for Seq2Seq<F, C> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut parts = vec![
            ("encoder", self.encoder.params()),
            ("decoder", self.decoder.params()),
        ];
        if let Some(Attention::Additive(a)) = &self.attention {
            parts.push(("attention", a.params()));
        }
        parts.push(("head", self.head.params()));
        named(parts)
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut parts = vec![
            ("encoder", self.encoder.params_mut()),
            ("decoder", self.decoder.params_mut()),
        ];
        if let Some(Attention::Additive(a)) = &mut self.attention {
            parts.push(("attention", a.params_mut()));
        }
        parts.push(("head", self.head.params_mut()));
        named(parts)
    }
}

impl<F: Real, G: Params<F>> Params<F> for Seq2SeqGrads<F, G> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut parts = vec![
            ("encoder", self.encoder.params()),
            ("decoder", self.decoder.params()),
        ];
        if let Some(a) = &self.attention {
            parts.push(("attention", a.params()));
        }
        parts.push(("head", self.head.params()));
        named(parts)
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut parts = vec![
            ("encoder", self.encoder.params_mut()),
            ("decoder", self.decoder.params_mut()),
        ];
        if let Some(a) = &mut self.attention {
            parts.push(("attention", a.params_mut()));
        }
        parts.push(("head", self.head.params_mut()));
        named(parts)
    }
}

/// What a teacher-forced forward pass keeps.
pub struct Seq2SeqCache<F, K> {
    /// The output layer's logits: (T·B, V), rows in (t, b) order.
    pub logits: Array2<F>,
    enc: K,
    dec: K,
    attention: Option<AttentionCache<F>>,
    features: Array2<F>,         // (T·B, Hd [+ Hk]) the output layer's input
    dims: (usize, usize, usize), // (T, B, Hd)
}

impl<F: Real, K> Seq2SeqCache<F, K> {
    /// The attention weights (T, B, S), if the model attends: the alignment heat map.
    pub fn weights(&self) -> Option<ArrayView3<'_, F>> {
        self.attention.as_ref().map(|a| a.weights.view())
    }
}

/// The loss of a batch and every gradient.
pub struct Seq2SeqEvaluated<F, G> {
    /// Mean cross-entropy per target symbol.
    pub loss: F,
    /// The gradients.
    pub grads: Seq2SeqGrads<F, G>,
}

impl<F: Real, C: Recurrent<F, State = Array2<F>>> Seq2Seq<F, C> {
    /// Puts the parts together; sizes must fit: the decoder's state is the encoder's
    /// (the encoder's final state starts it), and the output layer reads Hd (+ Hk with
    /// attention) inputs.
    pub fn new(
        encoder: C,
        decoder: C,
        attention: Option<Attention<F>>,
        head: Linear<F>,
    ) -> Result<Self> {
        require(
            encoder.hidden_size() == decoder.hidden_size(),
            "decoder",
            format!(
                "its state starts as the encoder's, so both need the same hidden size: encoder {}, decoder {}",
                encoder.hidden_size(),
                decoder.hidden_size()
            ),
        )?;
        let features = decoder.hidden_size()
            + if attention.is_some() {
                encoder.hidden_size()
            } else {
                0
            };
        require(
            head.inputs() == features,
            "head",
            format!("must read {features} features (the decoder state, plus the context with attention), reads {}", head.inputs()),
        )?;
        Ok(Seq2Seq {
            encoder,
            decoder,
            attention,
            head,
        })
    }

    // ANCHOR: forward
    /// Teacher-forced forward pass: `src` (S, B, D_src), `dec_in` (T, B, D_tgt), the target
    /// shifted right by one. The cache holds the logits (T·B, V), rows in (t, b) order.
    pub fn forward(
        &self,
        src: ArrayView3<F>,
        dec_in: ArrayView3<F>,
    ) -> Result<Seq2SeqCache<F, C::Cache>> {
        check_shape(
            "dec_in",
            dec_in.shape(),
            &[
                ("T", None),
                ("B", Some(src.dim().1)),
                ("D_tgt", Some(self.decoder.input_size())),
            ],
        )?;
        let enc = self
            .encoder
            .forward_seq(src, &self.encoder.zero_state(src.dim().1))?;
        // The encoder's summary of the source is where the decoder starts.
        let s0 = self.encoder.final_state(&enc); // (B, H)
        let dec = self.decoder.forward_seq(dec_in, &s0)?;
        let states = self.decoder.outputs(&dec); // (T, B, Hd)
        let (t_len, b_len, hd) = states.dim();
        let (features, attention) = match &self.attention {
            None => (states.to_owned(), None),
            Some(attn) => {
                let cache = attn.forward(states, self.encoder.outputs(&enc))?;
                let joined =
                    concatenate(Axis(2), &[states, cache.context.view()]).expect("same T, B"); // (T, B, Hd + Hk)
                (joined, Some(cache))
            }
        };
        let features = to_rows(features.view()); // (T·B, Hd [+ Hk])
        let logits = self.head.forward(features.view())?; // (T·B, V)
        Ok(Seq2SeqCache {
            logits,
            enc,
            dec,
            attention,
            features,
            dims: (t_len, b_len, hd),
        })
    }
    // ANCHOR_END: forward

    /// Loss and gradients for one batch: `targets` are the T·B symbols to predict, in
    /// (t, b) order.
    pub fn evaluate(
        &self,
        src: ArrayView3<F>,
        dec_in: ArrayView3<F>,
        targets: &[usize],
    ) -> Result<Seq2SeqEvaluated<F, C::Grads>> {
        let cache = self.forward(src, dec_in)?;
        let (loss, dlogits) = softmax_cross_entropy(cache.logits.view(), targets)?; // (T·B, V)
        let (head, dfeatures) = self.head.backward(cache.features.view(), dlogits.view())?; // (T·B, Hd [+ Hk])
        let (t_len, b_len, hd) = cache.dims;
        let dfeatures = from_rows(dfeatures, t_len, b_len); // (T, B, Hd [+ Hk])
        let mut dstates = dfeatures.slice(s![.., .., ..hd]).to_owned(); // (T, B, Hd)
        let enc_out = self.encoder.outputs(&cache.enc);
        let mut denc = Array3::zeros(enc_out.dim()); // (S, B, Hk) ∂L/∂ encoder outputs
        let mut attention = None;
        if let (Some(attn), Some(acache)) = (&self.attention, &cache.attention) {
            let back = attn.backward(acache, dfeatures.slice(s![.., .., hd..]))?;
            dstates += &back.dqueries;
            denc += &back.dkeys;
            attention = back.grads;
        }
        let dec = self.decoder.backward_seq(&cache.dec, dstates.view())?;
        // The decoder's initial state is the encoder's last output.
        let last = denc.dim().0 - 1;
        denc.index_axis_mut(Axis(0), last)
            .scaled_add(F::one(), &dec.ds0);
        let enc = self.encoder.backward_seq(&cache.enc, denc.view())?;
        Ok(Seq2SeqEvaluated {
            loss,
            grads: Seq2SeqGrads {
                encoder: enc.grads,
                decoder: dec.grads,
                attention,
                head,
            },
        })
    }

    /// Greedy decoding without teacher forcing: starts from the one-hot `start` symbol and
    /// feeds each step's most likely symbol back in, for `len` steps. Returns the symbols
    /// (T, B) and, with attention, the weights (T, B, S) of every step.
    pub fn greedy(
        &self,
        src: ArrayView3<F>,
        start: usize,
        len: usize,
    ) -> Result<(Array2<usize>, Option<Array3<F>>)> {
        let vocab = self.decoder.input_size();
        require(
            start < vocab,
            "start",
            format!("must be a symbol below {vocab}, got {start}"),
        )?;
        let b_len = src.dim().1;
        let enc = self
            .encoder
            .forward_seq(src, &self.encoder.zero_state(b_len))?;
        let keys = self.encoder.outputs(&enc); // (S, B, Hk)
        let mut state = self.encoder.final_state(&enc); // (B, H)
        let mut input = Array3::zeros((1, b_len, vocab)); // (1, B, V)
        input.slice_mut(s![0, .., start]).fill(F::one());
        let mut symbols = Array2::zeros((len, b_len)); // (T, B)
        let mut weights = self
            .attention
            .as_ref()
            .map(|_| Array3::zeros((len, b_len, keys.dim().0))); // (T, B, S)
        for t in 0..len {
            let step = self.decoder.forward_seq(input.view(), &state)?;
            state = self.decoder.final_state(&step);
            let s_t = self.decoder.outputs(&step); // (1, B, Hd)
            let features = match &self.attention {
                None => s_t.index_axis(Axis(0), 0).to_owned(),
                Some(attn) => {
                    let a = attn.forward(s_t, keys)?;
                    if let Some(w) = &mut weights {
                        w.index_axis_mut(Axis(0), t)
                            .assign(&a.weights.index_axis(Axis(0), 0));
                    }
                    concatenate(
                        Axis(1),
                        &[s_t.index_axis(Axis(0), 0), a.context.index_axis(Axis(0), 0)],
                    )
                    .expect("same B")
                }
            };
            let logits = self.head.forward(features.view())?; // (B, V)
            input.fill(F::zero());
            for (b, row) in logits.rows().into_iter().enumerate() {
                let best = row
                    .iter()
                    .enumerate()
                    .fold(0, |best, (v, &z)| if z > row[best] { v } else { best });
                symbols[[t, b]] = best;
                input[[0, b, best]] = F::one();
            }
        }
        Ok((symbols, weights))
    }
}
