//! Stacked (deep) recurrent networks: layer $k$ reads layer $k-1$'s outputs as its input
//! sequence, $h^{(k)}_t = f^{(k)}(h^{(k-1)}_t, h^{(k)}_{t-1})$ with $h^{(0)}_t = x_t$
//! (Graves, Mohamed & Hinton 2013), with dropout between layers (Zaremba, Sutskever &
//! Vinyals 2014: only on the connections between layers, never on the recurrent ones).
//!
//! Depth here is along the layers at each time step; the recurrence still runs along one
//! axis, time. That is not a *multidimensional* RNN (Graves, Fernández & Schmidhuber
//! 2007), whose recurrence runs along several axes of the data at once (the rows and the
//! columns of an image).
//!
//! Any [`Recurrent`] cell stacks, including a [`crate::bidirectional::Bidirectional`] one:
//! a 2-layer bidirectional LSTM is `Stacked<Bidirectional<Lstm<F>>>`, PyTorch's
//! `nn.LSTM(num_layers=2, bidirectional=True)`. Layer $k$'s tensors are named
//! `l{k}.{name}`; [`crate::torch_io::stacked_pytorch_names`] maps them to PyTorch's.

use crate::cell::{Backward, Recurrent};
use crate::error::{require, Error};
use crate::init;
use crate::params::intern;
use crate::{Params, Real, Result};
use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD};
use rand::Rng;

/// Layers of recurrent cells, each reading the outputs of the one below.
#[derive(Clone, Debug, PartialEq)]
pub struct Stacked<C> {
    /// The layers, bottom (reading the inputs) first.
    pub layers: Vec<C>,
    /// The probability of zeroing each output of a layer before the next layer reads it
    /// (inverted dropout: the kept ones are scaled by 1/(1-p)). Not applied after the top
    /// layer, as in PyTorch.
    pub dropout: f64,
    /// Seeds the dropout masks together with the training step.
    pub seed: u64,
    /// The training step whose masks the next forward pass uses; `None`: no dropout.
    step: Option<u64>,
}

/// Every layer's cache and the dropout masks between layers.
#[derive(Clone, Debug)]
pub struct StackedCache<F, K> {
    caches: Vec<K>,
    /// masks[k] multiplies layer k's outputs before layer k+1 reads them: (T, B, H_k),
    /// one per layer but the top.
    masks: Vec<Option<Array3<F>>>,
}

/// Every layer's gradients, named `l{k}.{name}`.
#[derive(Clone, Debug)]
pub struct StackedGrads<G> {
    /// Layer k's gradients.
    pub layers: Vec<G>,
}

impl<C> Stacked<C> {
    /// Stacks `layers` (bottom first); each layer's input size must be the hidden size of
    /// the layer below. Dropout starts switched off (evaluation); training loops switch it
    /// on per step with [`Recurrent::set_dropout`].
    pub fn new<F: Real>(layers: Vec<C>, dropout: f64, seed: u64) -> Result<Self>
    where
        C: Recurrent<F>,
    {
        require(
            !layers.is_empty(),
            "layers",
            "needs at least one layer, got 0",
        )?;
        require(
            (0.0..1.0).contains(&dropout),
            "dropout",
            format!("must be in [0, 1), got {dropout}"),
        )?;
        for (k, pair) in layers.windows(2).enumerate() {
            require(
                pair[1].input_size() == pair[0].hidden_size(),
                "layers",
                format!(
                    "layer {} reads inputs of size {} but layer {k} outputs {}",
                    k + 1,
                    pair[1].input_size(),
                    pair[0].hidden_size()
                ),
            )?;
        }
        Ok(Stacked {
            layers,
            dropout,
            seed,
            step: None,
        })
    }

    /// The mask for layer `k`'s outputs at the current step, or `None` if dropout is off.
    fn mask<F: Real>(&self, k: usize, shape: (usize, usize, usize)) -> Option<Array3<F>> {
        let step = self.step?;
        if self.dropout == 0.0 {
            return None;
        }
        // One generator per (seed, step, layer): masks are reproducible and independent.
        let mut rng = init::rng(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(step.wrapping_mul(1024))
                .wrapping_add(k as u64),
        );
        let keep = 1.0 - self.dropout;
        let scale = F::cast(1.0 / keep);
        Some(Array3::from_shape_simple_fn(shape, || {
            if rng.random::<f64>() < keep {
                scale
            } else {
                F::zero()
            }
        }))
    }
}

/// Every layer's tensors, renamed `l{k}.{name}`.
fn by_layer<V>(layers: Vec<Vec<(&'static str, V)>>) -> Vec<(&'static str, V)> {
    layers
        .into_iter()
        .enumerate()
        .flat_map(|(k, tensors)| {
            tensors
                .into_iter()
                .map(move |(name, v)| (intern(format!("l{k}.{name}")), v))
        })
        .collect()
}

impl<F: Real, C: Params<F>> Params<F> for Stacked<C> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        by_layer(self.layers.iter().map(|l| l.params()).collect())
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        by_layer(self.layers.iter_mut().map(|l| l.params_mut()).collect())
    }
}

impl<F: Real, G: Params<F>> Params<F> for StackedGrads<G> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        by_layer(self.layers.iter().map(|l| l.params()).collect())
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        by_layer(self.layers.iter_mut().map(|l| l.params_mut()).collect())
    }
}

impl<F: Real, C: Recurrent<F>> Recurrent<F> for Stacked<C> {
    /// One state per layer, bottom first.
    type State = Vec<C::State>;
    type Cache = StackedCache<F, C::Cache>;
    type Grads = StackedGrads<C::Grads>;

    fn input_size(&self) -> usize {
        self.layers[0].input_size()
    }
    fn hidden_size(&self) -> usize {
        self.layers[self.layers.len() - 1].hidden_size()
    }
    fn set_dropout(&mut self, step: Option<u64>) {
        self.step = step;
        for layer in &mut self.layers {
            layer.set_dropout(step);
        }
    }
    fn zero_state(&self, batch: usize) -> Self::State {
        self.layers.iter().map(|l| l.zero_state(batch)).collect()
    }

    // ANCHOR: forward
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Self::State) -> Result<Self::Cache> {
        require(
            s0.len() == self.layers.len(),
            "s0",
            format!(
                "needs one state per layer: {} layers, {} states",
                self.layers.len(),
                s0.len()
            ),
        )?;
        let mut caches = Vec::with_capacity(self.layers.len());
        let mut masks = Vec::with_capacity(self.layers.len());
        let mut input: Option<Array3<F>> = None; // layer k's input, (T, B, H_{k-1})
        for (k, (layer, state)) in self.layers.iter().zip(s0).enumerate() {
            let cache = match &input {
                None => layer.forward_seq(xs, state)?,
                Some(below) => layer.forward_seq(below.view(), state)?,
            };
            if k + 1 < self.layers.len() {
                let hs = layer.outputs(&cache); // (T, B, H_k)
                let mask = self.mask::<F>(k, hs.dim());
                input = Some(match &mask {
                    Some(m) => &hs * m,
                    None => hs.to_owned(),
                });
                masks.push(mask);
            }
            caches.push(cache);
        }
        Ok(StackedCache { caches, masks })
    }
    // ANCHOR_END: forward

    fn outputs<'c>(&self, cache: &'c Self::Cache) -> ArrayView3<'c, F> {
        let top = self.layers.len() - 1;
        self.layers[top].outputs(&cache.caches[top])
    }
    fn final_state(&self, cache: &Self::Cache) -> Self::State {
        self.layers
            .iter()
            .zip(&cache.caches)
            .map(|(layer, c)| layer.final_state(c))
            .collect()
    }

    // ANCHOR: backward
    /// `dhs` (T, B, H_top) is $\partial L/\partial$ the top layer's outputs; the returned
    /// `dhs` is the top layer's total state gradient.
    fn backward_seq(
        &self,
        cache: &Self::Cache,
        dhs: ArrayView3<F>,
    ) -> Result<Backward<F, Self::Grads, Self::State>> {
        let top = self.layers.len() - 1;
        let expected = self.layers[top].outputs(&cache.caches[top]).dim();
        if dhs.dim() != expected {
            return Err(Error::Shape {
                arg: "dhs",
                expected: format!("{expected:?} (the top layer's outputs)"),
                found: dhs.shape().to_vec(),
            });
        }
        let mut grads = Vec::with_capacity(self.layers.len());
        let mut ds0 = Vec::with_capacity(self.layers.len());
        let mut dh_above = dhs.to_owned(); // dL/d(layer k's outputs): (T, B, H_k)
        let mut dhs_top = None;
        let mut dxs = None;
        // Top layer first: each layer's input gradient is the gradient of the outputs of
        // the layer below, through the same dropout mask.
        for k in (0..=top).rev() {
            let back = self.layers[k].backward_seq(&cache.caches[k], dh_above.view())?;
            if k == top {
                dhs_top = Some(back.dhs);
            }
            if k > 0 {
                dh_above = match &cache.masks[k - 1] {
                    Some(m) => &back.dxs * m,
                    None => back.dxs,
                };
            } else {
                dxs = Some(back.dxs);
            }
            grads.push(back.grads);
            ds0.push(back.ds0);
        }
        grads.reverse();
        ds0.reverse();
        Ok(Backward {
            grads: StackedGrads { layers: grads },
            dxs: dxs.expect("layer 0 ran"),
            ds0,
            dhs: dhs_top.expect("the top layer ran"),
        })
    }
    // ANCHOR_END: backward
}
