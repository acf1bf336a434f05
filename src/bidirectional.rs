//! A bidirectional wrapper over any recurrent cell (Schuster & Paliwal 1997).
//!
//! One cell reads the sequence forwards, $\overrightarrow{h}_t = f(x_t,
//! \overrightarrow{h}_{t-1})$; a second cell with its own weights reads it backwards,
//! $\overleftarrow{h}_t = f(x_t, \overleftarrow{h}_{t+1})$; the output at step $t$ joins
//! the two, so it sees the whole sequence, past and future. The price is latency: the
//! backward cell starts at the last input, so no output exists before the whole sequence
//! has arrived, and a bidirectional network cannot stream.
//!
//! The outputs are concatenated, $[\overrightarrow{h}_t; \overleftarrow{h}_t]$ (2H wide,
//! PyTorch's `bidirectional=True`), or summed (H wide). The reverse cell's parameters are
//! named as the forward cell's with a `_reverse` suffix, as in PyTorch (`w_ih_reverse` is
//! `weight_ih_l0_reverse`).

use crate::cell::{Backward, Recurrent};
use crate::error::{require, Error};
use crate::params::intern;
use crate::{Params, Real, Result};
use ndarray::{concatenate, s, Array3, ArrayView3, ArrayViewD, ArrayViewMutD, Axis};

/// How the two directions' outputs are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// $[\overrightarrow{h}_t; \overleftarrow{h}_t]$: (T, B, 2H). PyTorch's choice.
    Concat,
    /// $\overrightarrow{h}_t + \overleftarrow{h}_t$: (T, B, H).
    Sum,
}

/// Two cells of the same kind, one per direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Bidirectional<C> {
    /// Reads $x_1 \dots x_T$.
    pub fwd: C,
    /// Reads $x_T \dots x_1$.
    pub bwd: C,
    /// How outputs are joined.
    pub merge: Merge,
}

/// A state per direction. The backward cell's state runs from the end of the sequence:
/// its initial state is the one "after" $x_T$ and its final state the one at $x_1$.
#[derive(Clone, Debug, PartialEq)]
pub struct BiState<S> {
    /// The forward cell's state.
    pub fwd: S,
    /// The backward cell's state.
    pub bwd: S,
}

/// Both cells' caches and the joined outputs.
#[derive(Clone, Debug)]
pub struct BiCache<F, K> {
    fwd: K,
    bwd: K,
    hs: Array3<F>, // (T, B, 2H) or (T, B, H)
}

/// The gradients of both cells, named as the parameters.
#[derive(Clone, Debug)]
pub struct BiGrads<G> {
    /// The forward cell's gradients.
    pub fwd: G,
    /// The backward cell's gradients.
    pub bwd: G,
}

/// `xs` with its time axis reversed, in standard layout (the cells' hot loops expect it).
fn reversed<F: Real>(xs: ArrayView3<F>) -> Array3<F> {
    xs.slice(s![..;-1, .., ..])
        .as_standard_layout()
        .into_owned()
}

impl<C> Bidirectional<C> {
    /// Wraps two cells, which must have the same input and hidden sizes.
    pub fn new<F: Real>(fwd: C, bwd: C, merge: Merge) -> Result<Self>
    where
        C: Recurrent<F>,
    {
        require(
            fwd.input_size() == bwd.input_size() && fwd.hidden_size() == bwd.hidden_size(),
            "bwd",
            format!(
                "the two directions must have the same sizes: forward (D, H) = ({}, {}), backward ({}, {})",
                fwd.input_size(),
                fwd.hidden_size(),
                bwd.input_size(),
                bwd.hidden_size()
            ),
        )?;
        Ok(Bidirectional { fwd, bwd, merge })
    }
}

/// The forward cell's tensors under their own names, then the backward cell's with the
/// `_reverse` suffix.
fn with_reverse<V>(
    fwd: Vec<(&'static str, V)>,
    bwd: Vec<(&'static str, V)>,
) -> Vec<(&'static str, V)> {
    let mut all = fwd;
    all.extend(
        bwd.into_iter()
            .map(|(name, v)| (intern(format!("{name}_reverse")), v)),
    );
    all
}

impl<F: Real, C: Params<F>> Params<F> for Bidirectional<C> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        with_reverse(self.fwd.params(), self.bwd.params())
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        with_reverse(self.fwd.params_mut(), self.bwd.params_mut())
    }
}

impl<F: Real, G: Params<F>> Params<F> for BiGrads<G> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        with_reverse(self.fwd.params(), self.bwd.params())
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        with_reverse(self.fwd.params_mut(), self.bwd.params_mut())
    }
}

impl<F: Real, C: Recurrent<F>> Recurrent<F> for Bidirectional<C> {
    type State = BiState<C::State>;
    type Cache = BiCache<F, C::Cache>;
    type Grads = BiGrads<C::Grads>;

    fn input_size(&self) -> usize {
        self.fwd.input_size()
    }
    fn hidden_size(&self) -> usize {
        match self.merge {
            Merge::Concat => 2 * self.fwd.hidden_size(),
            Merge::Sum => self.fwd.hidden_size(),
        }
    }
    fn set_dropout(&mut self, step: Option<u64>) {
        self.fwd.set_dropout(step);
        self.bwd.set_dropout(step);
    }
    fn zero_state(&self, batch: usize) -> Self::State {
        BiState {
            fwd: self.fwd.zero_state(batch),
            bwd: self.bwd.zero_state(batch),
        }
    }

    // ANCHOR: forward
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Self::State) -> Result<Self::Cache> {
        let fwd = self.fwd.forward_seq(xs, &s0.fwd)?;
        // The backward cell is an ordinary cell run over the reversed sequence.
        let bwd = self.bwd.forward_seq(reversed(xs).view(), &s0.bwd)?;
        let h_fwd = self.fwd.outputs(&fwd); // (T, B, H)
        let h_bwd = reversed(self.bwd.outputs(&bwd)); // (T, B, H), back in input order
        let hs = match self.merge {
            Merge::Concat => concatenate(Axis(2), &[h_fwd, h_bwd.view()]).expect("same T, B"), // (T, B, 2H)
            Merge::Sum => &h_fwd + &h_bwd, // (T, B, H)
        };
        Ok(BiCache { fwd, bwd, hs })
    }
    // ANCHOR_END: forward

    fn outputs<'c>(&self, cache: &'c Self::Cache) -> ArrayView3<'c, F> {
        cache.hs.view()
    }
    fn final_state(&self, cache: &Self::Cache) -> Self::State {
        BiState {
            fwd: self.fwd.final_state(&cache.fwd),
            bwd: self.bwd.final_state(&cache.bwd),
        }
    }

    // ANCHOR: backward
    /// `dhs` is $\partial L/\partial$ output: (T, B, 2H) or (T, B, H). The returned `dhs`
    /// holds both directions' total state gradients side by side, (T, B, 2H), in input
    /// order.
    fn backward_seq(
        &self,
        cache: &Self::Cache,
        dhs: ArrayView3<F>,
    ) -> Result<Backward<F, Self::Grads, Self::State>> {
        if dhs.dim() != cache.hs.dim() {
            return Err(Error::Shape {
                arg: "dhs",
                expected: format!("{:?} (the outputs' shape)", cache.hs.dim()),
                found: dhs.shape().to_vec(),
            });
        }
        let h = self.fwd.hidden_size();
        // Concatenation routes each half of the gradient to its direction; a sum copies
        // the whole gradient to both.
        let (dh_fwd, dh_bwd) = match self.merge {
            Merge::Concat => (
                dhs.slice_move(s![.., .., ..h]),
                dhs.slice_move(s![.., .., h..]),
            ),
            Merge::Sum => (dhs, dhs),
        };
        let fwd = self.fwd.backward_seq(&cache.fwd, dh_fwd)?;
        // The backward cell saw time reversed, so its gradients arrive reversed too.
        let bwd = self.bwd.backward_seq(&cache.bwd, reversed(dh_bwd).view())?;
        let dxs = &fwd.dxs + &reversed(bwd.dxs.view()); // (T, B, D)
        let dhs = concatenate(Axis(2), &[fwd.dhs.view(), reversed(bwd.dhs.view()).view()])
            .expect("same T, B"); // (T, B, 2H)
        Ok(Backward {
            grads: BiGrads {
                fwd: fwd.grads,
                bwd: bwd.grads,
            },
            dxs,
            ds0: BiState {
                fwd: fwd.ds0,
                bwd: bwd.ds0,
            },
            dhs,
        })
    }
    // ANCHOR_END: backward
}
