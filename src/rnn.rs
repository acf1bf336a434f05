//! The Elman RNN (Elman 1990) over a batch of sequences, with backpropagation through time.
//!
//! $$h_t = \phi(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$$
//!
//! where $\phi$ is $\tanh$ (the default, as in PyTorch's `nn.RNN`) or the rectifier
//! $\max(0, a)$ of Le, Jaitly & Hinton (2015)'s IRNN ([`Nonlinearity`]).
//!
//! Rows are examples: $x_t$ is (B, D), $h_t$ is (B, H), `w_xh` is (H, D) and `w_hh` is
//! (H, H), the same layout as PyTorch's `weight_ih_l0` and `weight_hh_l0`. Sequences are
//! time-major: `xs` is (T, B, D).

use crate::activations::{relu, tanh, tanh_grad_from_output};
use crate::cell::{Backward, Recurrent};
use crate::error::{
    check_sequence_input, check_shape, check_state, check_step_input, dims3, require,
};
use crate::init::{self, Init};
use crate::params::impl_params;
use crate::{Real, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, Zip};

// ANCHOR: nonlinearity
/// The elementwise function $\phi$ of an [`Rnn`]: $h_t = \phi(a_t)$.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Nonlinearity {
    /// $\tanh$: bounded, so the state cannot blow up, but $\tanh' = 1 - h^2 < 1$ shrinks
    /// the error at every step where a unit is away from zero.
    #[default]
    Tanh,
    /// The rectifier $\max(0, a)$ (Le, Jaitly & Hinton 2015): slope exactly 1 wherever a
    /// unit is active, so with $W_{hh} = I$ the error passes back unchanged; unbounded, so
    /// a $W_{hh}$ with $\rho > 1$ makes the state itself grow.
    Relu,
}

impl Nonlinearity {
    /// $\phi(a)$.
    pub fn apply<F: Real>(self, a: F) -> F {
        match self {
            Nonlinearity::Tanh => tanh(a),
            Nonlinearity::Relu => relu(a),
        }
    }

    /// $\phi'(a)$ from the output $h = \phi(a)$, so that backward needs only the states:
    /// $1 - h^2$ for tanh; for the rectifier 1 where $h > 0$ (exactly where $a > 0$) and 0
    /// elsewhere, taking the slope at the kink $a = 0$ to be 0 as PyTorch does.
    pub fn grad_from_output<F: Real>(self, h: F) -> F {
        match self {
            Nonlinearity::Tanh => tanh_grad_from_output(h),
            Nonlinearity::Relu => {
                if h > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
        }
    }
}
// ANCHOR_END: nonlinearity

/// How to build an [`Rnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct RnnConfig {
    /// D, the size of each input vector. Default 1: the smallest useful input, a scalar
    /// signal; set it to your data's width.
    pub input_size: usize,
    /// H, the size of the state. Default 32: enough for the toy tasks of the first
    /// chapters and small enough that a gradient check runs in a blink.
    pub hidden_size: usize,
    /// How to draw $W_{hh}$. Default [`Init::Uniform`], PyTorch's default, so that results
    /// compare with `nn.RNN`. $W_{xh}$ and $b$ are drawn from $U(\pm 1/\sqrt{H})$ as
    /// PyTorch does, except that `Xavier` draws $W_{xh}$ by Glorot's rule with $b = 0$, and
    /// `Identity` is Le et al. (2015)'s whole recipe: $b = 0$ and $W_{xh}$ from
    /// $\mathcal N(0, 0.001^2)$ ([`init::IRNN_INPUT_STD`]).
    pub init: Init,
    /// $\phi$. Default [`Nonlinearity::Tanh`], Elman's and PyTorch's `nn.RNN` default, whose
    /// bounded states keep an untuned network stable; [`Nonlinearity::Relu`] with
    /// `Init::Identity` is the IRNN.
    pub nonlinearity: Nonlinearity,
    /// The seed of every random draw. Default 0: any fixed number makes runs repeatable.
    pub seed: u64,
}

impl Default for RnnConfig {
    fn default() -> Self {
        RnnConfig {
            input_size: 1,
            hidden_size: 32,
            init: Init::Uniform,
            nonlinearity: Nonlinearity::Tanh,
            seed: 0,
        }
    }
}

impl RnnConfig {
    /// Checks every field; [`Rnn::new`] calls it.
    pub fn validate(&self) -> Result<()> {
        require(
            self.input_size > 0,
            "input_size",
            "must be at least 1, got 0",
        )?;
        require(
            self.hidden_size > 0,
            "hidden_size",
            "must be at least 1, got 0",
        )?;
        self.init.validate()
    }
}

/// An Elman RNN layer: its three parameters and its nonlinearity.
#[derive(Clone, Debug, PartialEq)]
pub struct Rnn<F> {
    /// $W_{xh}$: (H, D).
    pub w_xh: Array2<F>,
    /// $W_{hh}$: (H, H).
    pub w_hh: Array2<F>,
    /// $b$: (H,).
    pub b: Array1<F>,
    /// $\phi$, not a parameter: training never changes it.
    pub nonlinearity: Nonlinearity,
}

/// What [`Rnn::forward`] keeps for [`Rnn::backward`]: the inputs and every state.
#[derive(Clone, Debug)]
pub struct RnnCache<F> {
    xs: Array3<F>, // (T, B, D)
    h0: Array2<F>, // (B, H)
    hs: Array3<F>, // (T, B, H)
}

impl<F: Real> RnnCache<F> {
    /// The states $h_1, \dots, h_T$: (T, B, H).
    pub fn hs(&self) -> ArrayView3<'_, F> {
        self.hs.view()
    }
    /// The last state $h_T$: (B, H).
    pub fn h_last(&self) -> ArrayView2<'_, F> {
        self.hs.index_axis(Axis(0), self.hs.len_of(Axis(0)) - 1)
    }
    /// The number of time steps T.
    pub fn len(&self) -> usize {
        self.hs.len_of(Axis(0))
    }
    /// Always false: a cache is only made from a non-empty sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes this cache holds: the memory that full BPTT must keep, growing as
    /// $O(T \cdot B \cdot (D + H))$.
    pub fn bytes(&self) -> usize {
        (self.xs.len() + self.h0.len() + self.hs.len()) * std::mem::size_of::<F>()
    }
}

/// Gradients of the three parameters of an [`Rnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct RnnGrads<F> {
    /// $\partial L/\partial W_{xh}$: (H, D).
    pub w_xh: Array2<F>,
    /// $\partial L/\partial W_{hh}$: (H, H).
    pub w_hh: Array2<F>,
    /// $\partial L/\partial b$: (H,).
    pub b: Array1<F>,
}

/// What [`Rnn::backward`] returns: parameter gradients, $\partial L/\partial x_t$,
/// $\partial L/\partial h_0$, and the total $\partial L/\partial h_t$.
pub type RnnBackward<F> = Backward<F, RnnGrads<F>, Array2<F>>;

impl<F: Real> Rnn<F> {
    /// A new layer drawn from `config`; an invalid configuration is an error.
    pub fn new(config: &RnnConfig) -> Result<Self> {
        config.validate()?;
        let (d, h) = (config.input_size, config.hidden_size);
        let mut rng = init::rng(config.seed);
        let bound = 1.0 / (h as f64).sqrt();
        let w_hh = config.init.matrix(h, h, &mut rng)?;
        let w_xh = match config.init {
            Init::Xavier => init::xavier_uniform(h, d, &mut rng),
            // Le et al. (2015): tiny input weights, so that at the start the state is
            // mostly the copy W_hh = I makes of the previous one.
            Init::Identity { .. } => init::normal(h, d, init::IRNN_INPUT_STD, &mut rng),
            Init::Uniform | Init::Orthogonal { .. } => init::uniform(h, d, bound, &mut rng),
        };
        let b = match config.init {
            Init::Uniform | Init::Orthogonal { .. } => {
                init::uniform(1, h, bound, &mut rng).remove_axis(Axis(0))
            }
            Init::Xavier | Init::Identity { .. } => Array1::zeros(h),
        };
        Ok(Rnn {
            w_xh,
            w_hh,
            b,
            nonlinearity: config.nonlinearity,
        })
    }

    /// D.
    pub fn input_size(&self) -> usize {
        self.w_xh.ncols()
    }

    /// H.
    pub fn hidden_size(&self) -> usize {
        self.w_xh.nrows()
    }

    fn check_step(&self, x_t: &ArrayView2<F>, h_prev: &ArrayView2<F>) -> Result<()> {
        let b = check_step_input(x_t, self.input_size())?;
        check_state("h_prev", h_prev, b, self.hidden_size())
    }

    fn check_sequence(&self, xs: &ArrayView3<F>, h0: &ArrayView2<F>) -> Result<()> {
        let b = check_sequence_input(xs, self.input_size())?;
        check_state("h0", h0, b, self.hidden_size())
    }

    // ANCHOR: step
    /// One time step: $h_t = \phi(x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b)$.
    /// `x_t` is (B, D), `h_prev` is (B, H); returns $h_t$ (B, H).
    pub fn step(&self, x_t: ArrayView2<F>, h_prev: ArrayView2<F>) -> Result<Array2<F>> {
        self.check_step(&x_t, &h_prev)?;
        let a_t = x_t.dot(&self.w_xh.t()) + h_prev.dot(&self.w_hh.t()) + &self.b; // (B, H)
        Ok(a_t.mapv(|a| self.nonlinearity.apply(a)))
    }
    // ANCHOR_END: step

    // ANCHOR: forward
    /// Runs the RNN over `xs` (T, B, D) from `h0` (B, H), keeping every state.
    ///
    /// The input projections $x_t W_{xh}^\top + b$ do not depend on the state, so all T of
    /// them are one (T·B, D)·(D, H) matrix multiply before the loop; the loop adds only
    /// $h_{t-1} W_{hh}^\top$, in place, into the rows that become $h_t$. Nothing is
    /// allocated per time step.
    pub fn forward(&self, xs: ArrayView3<F>, h0: ArrayView2<F>) -> Result<RnnCache<F>> {
        self.check_sequence(&xs, &h0)?;
        let (t_len, batch, d) = xs.dim();
        let h = self.hidden_size();
        let xs = xs.as_standard_layout().into_owned(); // (T, B, D)
        let x_flat = xs
            .view()
            .into_shape_with_order((t_len * batch, d))
            .expect("standard layout"); // (T·B, D)
        let mut hs = Array3::zeros((t_len, batch, h)); // (T, B, H)
        {
            let mut a_flat = hs
                .view_mut()
                .into_shape_with_order((t_len * batch, h))
                .expect("standard layout"); // (T·B, H)
            a_flat.assign(&self.b);
            general_mat_mul(F::one(), &x_flat, &self.w_xh.t(), F::one(), &mut a_flat);
        }
        for t in 0..t_len {
            let (done, mut rest) = hs.view_mut().split_at(Axis(0), t);
            let h_prev = if t == 0 {
                h0.view()
            } else {
                done.index_axis(Axis(0), t - 1)
            }; // (B, H)
            let mut a_t = rest.index_axis_mut(Axis(0), 0); // (B, H)
            general_mat_mul(F::one(), &h_prev, &self.w_hh.t(), F::one(), &mut a_t);
            let phi = self.nonlinearity;
            a_t.mapv_inplace(|a| phi.apply(a));
        }
        Ok(RnnCache {
            xs,
            h0: h0.to_owned(),
            hs,
        })
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Full backpropagation through time.
    ///
    /// `dhs` (T, B, H) holds $\partial L/\partial h_t$ *through the layers above only*
    /// (zero at steps the loss does not read). Walking from $t = T$ down to 1, the total
    /// derivative is that direct term plus what flows back from step $t+1$:
    /// $$\frac{dL}{dh_t} = \frac{\partial L}{\partial h_t} + \frac{dL}{dh_{t+1}}\frac{\partial h_{t+1}}{\partial h_t},$$
    /// which is why the pass must run right to left. The weight gradients are sums over
    /// time; they are formed after the loop as one matrix multiply each.
    pub fn backward(&self, cache: &RnnCache<F>, dhs: ArrayView3<F>) -> Result<RnnBackward<F>> {
        check_shape("dhs", dhs.shape(), &dims3(cache.hs.dim()))?;
        let (t_len, batch, h) = cache.hs.dim();
        let mut dh_total = Array3::zeros((t_len, batch, h)); // (T, B, H)  dL/dh_t
        let mut das = Array3::zeros((t_len, batch, h)); // (T, B, H)  dL/da_t, a_t before φ
        let phi = self.nonlinearity;
        let mut dh_next = Array2::zeros((batch, h)); // (B, H)  dL/dh_t through h_{t+1}
        for t in (0..t_len).rev() {
            let mut dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)
            Zip::from(&mut dh_t)
                .and(dhs.index_axis(Axis(0), t))
                .and(&dh_next)
                .for_each(|d, &direct, &later| *d = direct + later);
            let mut da_t = das.index_axis_mut(Axis(0), t); // (B, H)
            Zip::from(&mut da_t)
                .and(&dh_t)
                .and(cache.hs.index_axis(Axis(0), t))
                .for_each(|da, &dh, &h_t| *da = dh * phi.grad_from_output(h_t));
            // dL/dh_{t-1} (the part through h_t) = da_t W_hh
            general_mat_mul(F::one(), &da_t, &self.w_hh, F::zero(), &mut dh_next);
        }
        let (grads, dxs) = self.param_and_input_grads(cache, &das);
        Ok(Backward {
            grads,
            dxs,
            ds0: dh_next,
            dhs: dh_total,
        })
    }
    // ANCHOR_END: backward

    // ANCHOR: backward_truncated
    /// Truncated BPTT(k) (Williams & Peng 1990): the error injected at each step $s$ is
    /// carried back through at most `k` steps ($s, s-1, \dots, s-k+1$) and then dropped.
    /// Time is $O(T k)$ instead of $O(T)$ matrix products, but no gradient crosses more
    /// than `k` steps, so dependencies longer than `k` cannot be learned. With `k >= T` it
    /// equals [`Rnn::backward`].
    pub fn backward_truncated(
        &self,
        cache: &RnnCache<F>,
        dhs: ArrayView3<F>,
        k: usize,
    ) -> Result<RnnBackward<F>> {
        require(k >= 1, "k", "truncation length must be at least 1, got 0")?;
        check_shape("dhs", dhs.shape(), &dims3(cache.hs.dim()))?;
        let (t_len, batch, h) = cache.hs.dim();
        let mut dh_total = Array3::zeros((t_len, batch, h)); // (T, B, H)
        let mut das = Array3::zeros((t_len, batch, h)); // (T, B, H)
        let mut dh0 = Array2::zeros((batch, h)); // (B, H)
        let mut delta = Array2::zeros((batch, h)); // (B, H)  error from step s, now at h_t
        let mut share = Array2::zeros((batch, h)); // (B, H)  that error's part of dL/da_t
        let phi = self.nonlinearity;
        for s in (0..t_len).rev() {
            let injected = dhs.index_axis(Axis(0), s); // (B, H)
                                                       // No loss reads h_s (a many-to-one task reads h_T only): nothing to carry back,
                                                       // so skip the k products that would carry zeros.
            if injected.iter().all(|v| *v == F::zero()) {
                continue;
            }
            delta.assign(&injected);
            let earliest = (s + 1).saturating_sub(k);
            for t in (earliest..=s).rev() {
                let mut dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)
                dh_t += &delta;
                Zip::from(&mut share)
                    .and(&delta)
                    .and(cache.hs.index_axis(Axis(0), t))
                    .for_each(|sh, &dh, &h_t| *sh = dh * phi.grad_from_output(h_t));
                let mut da_t = das.index_axis_mut(Axis(0), t); // (B, H)
                da_t += &share;
                general_mat_mul(F::one(), &share, &self.w_hh, F::zero(), &mut delta);
            }
            // The chain reached step 1, so its error arrives at h0 as well.
            if earliest == 0 {
                dh0 += &delta;
            }
        }
        let (grads, dxs) = self.param_and_input_grads(cache, &das);
        Ok(Backward {
            grads,
            dxs,
            ds0: dh0,
            dhs: dh_total,
        })
    }
    // ANCHOR_END: backward_truncated

    // ANCHOR: param_grads
    /// The sums over time, given $\partial L/\partial a_t$ for every step:
    /// $\partial L/\partial W_{xh} = \sum_t a_t'^\top x_t$,
    /// $\partial L/\partial W_{hh} = \sum_t a_t'^\top h_{t-1}$,
    /// $\partial L/\partial b = \sum_t \mathbf 1^\top a_t'$ and
    /// $\partial L/\partial x_t = a_t' W_{xh}$, where $a_t' = \partial L/\partial a_t$.
    fn param_and_input_grads(
        &self,
        cache: &RnnCache<F>,
        das: &Array3<F>,
    ) -> (RnnGrads<F>, Array3<F>) {
        let (t_len, batch, h) = das.dim();
        let d = self.input_size();
        let da_flat = das
            .view()
            .into_shape_with_order((t_len * batch, h))
            .expect("standard layout"); // (T·B, H)
        let x_flat = cache
            .xs
            .view()
            .into_shape_with_order((t_len * batch, d))
            .expect("standard layout"); // (T·B, D)
        let w_xh = da_flat.t().dot(&x_flat); // (H, D)
                                             // h_{t-1} is h0 for t = 1 and hs[t-2] after: two products instead of a copy.
        let da_first = das.index_axis(Axis(0), 0); // (B, H)
        let mut w_hh = da_first.t().dot(&cache.h0); // (H, H)
        if t_len > 1 {
            let da_later = das
                .slice(s![1.., .., ..])
                .into_shape_with_order(((t_len - 1) * batch, h))
                .expect("contiguous"); // ((T-1)·B, H)
            let h_earlier = cache
                .hs
                .slice(s![..t_len - 1, .., ..])
                .into_shape_with_order(((t_len - 1) * batch, h))
                .expect("contiguous"); // ((T-1)·B, H)
            general_mat_mul(F::one(), &da_later.t(), &h_earlier, F::one(), &mut w_hh);
        }
        let b = da_flat.sum_axis(Axis(0)); // (H,)
        let mut dxs = Array3::zeros((t_len, batch, d)); // (T, B, D)
        let mut dx_flat = dxs
            .view_mut()
            .into_shape_with_order((t_len * batch, d))
            .expect("standard layout"); // (T·B, D)
        general_mat_mul(F::one(), &da_flat, &self.w_xh, F::zero(), &mut dx_flat);
        (RnnGrads { w_xh, w_hh, b }, dxs)
    }
    // ANCHOR_END: param_grads
}

impl_params!(Rnn, RnnGrads => w_xh, w_hh, b);

impl<F: Real> Recurrent<F> for Rnn<F> {
    type State = Array2<F>;
    type Cache = RnnCache<F>;
    type Grads = RnnGrads<F>;

    fn input_size(&self) -> usize {
        Rnn::input_size(self)
    }
    fn hidden_size(&self) -> usize {
        Rnn::hidden_size(self)
    }
    fn zero_state(&self, batch: usize) -> Array2<F> {
        Array2::zeros((batch, Rnn::hidden_size(self)))
    }
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Array2<F>) -> Result<RnnCache<F>> {
        self.forward(xs, s0.view())
    }
    fn outputs<'c>(&self, cache: &'c RnnCache<F>) -> ArrayView3<'c, F> {
        cache.hs()
    }
    fn final_state(&self, cache: &RnnCache<F>) -> Array2<F> {
        cache.h_last().to_owned()
    }
    fn backward_seq(&self, cache: &RnnCache<F>, dhs: ArrayView3<F>) -> Result<RnnBackward<F>> {
        self.backward(cache, dhs)
    }
    fn backward_truncated_seq(
        &self,
        cache: &RnnCache<F>,
        dhs: ArrayView3<F>,
        k: usize,
    ) -> Result<RnnBackward<F>> {
        self.backward_truncated(cache, dhs, k)
    }
}
