//! The gated recurrent unit (GRU; Cho et al. 2014) over a batch of sequences, in both of
//! its published forms, with backpropagation through time.
//!
//! # One parameter layout, two forms
//!
//! Both forms have a reset gate $r_t$, an update gate $z_t$ and a candidate state, and both
//! store their weights as PyTorch's `nn.GRU` does: `w_ih` (3H, D), `w_hh` (3H, H), `b_ih`
//! (3H,) and `b_hh` (3H,), each a stack of three blocks in the gate order **r, z, n**. Rows
//! `0..H` belong to the reset gate, rows `H..2H` to the update gate and rows `2H..3H` to the
//! candidate. Below, $W_{ir}$ is rows `0..H` of `w_ih`, $W_{hz}$ rows `H..2H` of `w_hh`,
//! $b_{in}$ entries `2H..3H` of `b_ih`, and so on. Rows of $x_t$ (B, D) and $h_t$ (B, H)
//! are examples, as in [`crate::rnn`]; sequences are time-major, `xs` is (T, B, D).
//!
//! [`GruForm::ResetAfter`], the default, is PyTorch's and cuDNN's form, in which the reset
//! gate scales the candidate's recurrent term *after* the matrix product:
//! $$r_t = \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr})$$
//! $$z_t = \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz})$$
//! $$n_t = \tanh(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn}))$$
//! $$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$
//! These are the equations of the `torch.nn.GRU` documentation, written for row vectors, and
//! every parameter is drawn from $U(\pm 1/\sqrt{H})$ as PyTorch draws them, so weights copy
//! entry by entry between the two.
//!
//! [`GruForm::ResetBefore`] is the form of Olah (2015) and the notes, and of Chung et al.
//! (2014): the reset gate scales the old state *before* the product. Its gates $r_t$ and
//! $z_t$ are the same two equations; then
//! $$\tilde h_t = \tanh(x_t W_{in}^\top + b_{in} + (r_t \odot h_{t-1}) W_{hn}^\top + b_{hn})$$
//! $$h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$$
//! Here the n rows of `w_hh` multiply $r_t \odot h_{t-1}$, not $h_{t-1}$. Olah writes one
//! matrix on the concatenation, $\tanh(W \cdot [r_t \odot h_{t-1}, x_t])$, with no biases;
//! splitting it as `[w_hh rows n, w_ih rows n]` and adding the two biases gives the equation
//! above. (Keras's documentation traces this form to the last arXiv revision of Cho et al.,
//! 1406.1078v3, and the reset-after form to the first, v1.)
//!
//! # The update gate flips between the forms
//!
//! In `ResetAfter` $z_t \approx 1$ *keeps* the old state, as in Cho et al. (2014) and
//! PyTorch; in `ResetBefore` $z_t \approx 1$ *overwrites* it with the candidate, as in Olah,
//! Chung et al. and the notes. Each form follows the sources it reproduces, so that its
//! equations can be read against them symbol for symbol. The two conventions describe the
//! same models: replacing $z_t$ by $1 - z_t = \sigma(-a)$ is negating the z rows of `w_ih`,
//! `w_hh`, `b_ih` and `b_hh`. (With the reset gate fully open, $r_t = 1$, the two forms then
//! compute the same states; `tests/gru.rs` checks it.)
//!
//! A GRU has $3H(D + H + 2)$ parameters, three quarters of an LSTM's $4H(D + H + 2)$.

use crate::activations::{sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output};
use crate::cell::{Backward, Recurrent};
use crate::error::{
    check_sequence_input, check_shape, check_state, check_step_input, dims3, require,
};
use crate::init;
use crate::params::impl_params;
use crate::{Error, Real, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut2, Axis, Zip,
};

/// Where the reset gate acts, and with it which way round the update gate works (see the
/// [module documentation](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GruForm {
    /// PyTorch and cuDNN: the reset gate scales the candidate's recurrent term after the
    /// product, $r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})$, and
    /// $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$ ($z_t \approx 1$ keeps the state).
    #[default]
    ResetAfter,
    /// Olah, Chung et al. and the notes: the reset gate scales the state before the
    /// product, $(r_t \odot h_{t-1}) W_{hn}^\top$, and
    /// $h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$ ($z_t \approx 1$ takes the
    /// candidate).
    ResetBefore,
}

/// How to build a [`Gru`].
#[derive(Clone, Debug, PartialEq)]
pub struct GruConfig {
    /// D, the size of each input vector. Default 1: the smallest useful input, a scalar
    /// signal; set it to your data's width.
    pub input_size: usize,
    /// H, the size of the state. Default 32, as for [`crate::rnn::RnnConfig`], so that the
    /// two layers compare at the same width.
    pub hidden_size: usize,
    /// Where the reset gate acts. Default [`GruForm::ResetAfter`], PyTorch's form, so that
    /// results compare with `nn.GRU`.
    pub form: GruForm,
    /// The seed of every random draw. Default 0: any fixed number makes runs repeatable.
    pub seed: u64,
}

impl Default for GruConfig {
    fn default() -> Self {
        GruConfig {
            input_size: 1,
            hidden_size: 32,
            form: GruForm::ResetAfter,
            seed: 0,
        }
    }
}

impl GruConfig {
    /// Checks every field; [`Gru::new`] calls it.
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
        )
    }
}

/// A GRU layer: its four stacked parameters (gate order r, z, n) and its form.
#[derive(Clone, Debug, PartialEq)]
pub struct Gru<F> {
    /// $[W_{ir}; W_{iz}; W_{in}]$: (3H, D), PyTorch's `weight_ih_l0`.
    pub w_ih: Array2<F>,
    /// $[W_{hr}; W_{hz}; W_{hn}]$: (3H, H), PyTorch's `weight_hh_l0`. In `ResetBefore` the
    /// n rows multiply $r_t \odot h_{t-1}$; otherwise every row multiplies $h_{t-1}$.
    pub w_hh: Array2<F>,
    /// $[b_{ir}; b_{iz}; b_{in}]$: (3H,), PyTorch's `bias_ih_l0`.
    pub b_ih: Array1<F>,
    /// $[b_{hr}; b_{hz}; b_{hn}]$: (3H,), PyTorch's `bias_hh_l0`. Only $b_{hn}$ is not
    /// interchangeable with its `b_ih` twin: in `ResetAfter` the reset gate multiplies it.
    pub b_hh: Array1<F>,
    /// Where the reset gate acts.
    pub form: GruForm,
}

/// What [`Gru::forward`] keeps for [`Gru::backward`]: the inputs, every state and every
/// gate.
#[derive(Clone, Debug)]
pub struct GruCache<F> {
    form: GruForm,
    xs: Array3<F>,    // (T, B, D)
    h0: Array2<F>,    // (B, H)
    hs: Array3<F>,    // (T, B, H)
    gates: Array3<F>, // (T, B, 3H)  r_t, z_t and n_t (or h̃_t), side by side
    // (T, B, H)  what the candidate's backward needs from the hidden side. ResetAfter:
    // h_{t-1} W_hn^T + b_hn, which r_t multiplies, so ∂L/∂r_t needs it. ResetBefore:
    // r_t ⊙ h_{t-1}, which W_hn multiplies, so ∂L/∂W_hn needs it.
    n_hidden: Array3<F>,
}

impl<F: Real> GruCache<F> {
    /// The states $h_1, \dots, h_T$: (T, B, H).
    pub fn hs(&self) -> ArrayView3<'_, F> {
        self.hs.view()
    }
    /// The last state $h_T$: (B, H).
    pub fn h_last(&self) -> ArrayView2<'_, F> {
        self.hs.index_axis(Axis(0), self.hs.len_of(Axis(0)) - 1)
    }
    /// The gate activations at every step, (T, B, 3H): columns `0..H` are $r_t$, `H..2H`
    /// are $z_t$ and `2H..3H` the candidate ($n_t$ or $\tilde h_t$).
    pub fn gates(&self) -> ArrayView3<'_, F> {
        self.gates.view()
    }
    /// The number of time steps T.
    pub fn len(&self) -> usize {
        self.hs.len_of(Axis(0))
    }
    /// Always false: a cache is only made from a non-empty sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes this cache holds: $O(T \cdot B \cdot (D + 5H))$, the inputs, the states,
    /// three gates and the candidate's hidden-side term per step.
    pub fn bytes(&self) -> usize {
        let scalars =
            self.xs.len() + self.h0.len() + self.hs.len() + self.gates.len() + self.n_hidden.len();
        scalars * std::mem::size_of::<F>()
    }
}

/// Gradients of the four parameters of a [`Gru`], stacked as the parameters are.
#[derive(Clone, Debug, PartialEq)]
pub struct GruGrads<F> {
    /// $\partial L/\partial$ `w_ih`: (3H, D).
    pub w_ih: Array2<F>,
    /// $\partial L/\partial$ `w_hh`: (3H, H).
    pub w_hh: Array2<F>,
    /// $\partial L/\partial$ `b_ih`: (3H,).
    pub b_ih: Array1<F>,
    /// $\partial L/\partial$ `b_hh`: (3H,).
    pub b_hh: Array1<F>,
}

/// What [`Gru::backward`] returns: parameter gradients, $\partial L/\partial x_t$,
/// $\partial L/\partial h_0$, and the total $\partial L/\partial h_t$.
pub type GruBackward<F> = Backward<F, GruGrads<F>, Array2<F>>;

// The gate blocks, in PyTorch's order.
const R: usize = 0;
const Z: usize = 1;
const N: usize = 2;

/// One gate's rows of the four stacked parameters.
struct GateRows<'a, F> {
    w_i: ArrayView2<'a, F>, // (H, D)
    w_h: ArrayView2<'a, F>, // (H, H)
    b_i: ArrayView1<'a, F>, // (H,)
    b_h: ArrayView1<'a, F>, // (H,)
}

impl<F: Real> Gru<F> {
    /// A new layer drawn from `config`: every parameter from $U(\pm 1/\sqrt{H})$, as
    /// PyTorch initialises `nn.GRU`. An invalid configuration is an error.
    pub fn new(config: &GruConfig) -> Result<Self> {
        config.validate()?;
        let (d, h) = (config.input_size, config.hidden_size);
        let mut rng = init::rng(config.seed);
        let bound = 1.0 / (h as f64).sqrt();
        let w_ih = init::uniform(3 * h, d, bound, &mut rng);
        let w_hh = init::uniform(3 * h, h, bound, &mut rng);
        let b_ih = init::uniform(1, 3 * h, bound, &mut rng).remove_axis(Axis(0));
        let b_hh = init::uniform(1, 3 * h, bound, &mut rng).remove_axis(Axis(0));
        Ok(Gru {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            form: config.form,
        })
    }

    /// D.
    pub fn input_size(&self) -> usize {
        self.w_ih.ncols()
    }

    /// H.
    pub fn hidden_size(&self) -> usize {
        self.w_hh.ncols()
    }

    fn gate(&self, g: usize) -> GateRows<'_, F> {
        let h = self.hidden_size();
        let rows = g * h..(g + 1) * h;
        GateRows {
            w_i: self.w_ih.slice(s![rows.clone(), ..]),
            w_h: self.w_hh.slice(s![rows.clone(), ..]),
            b_i: self.b_ih.slice(s![rows.clone()]),
            b_h: self.b_hh.slice(s![rows]),
        }
    }

    fn check_step(&self, x_t: &ArrayView2<F>, h_prev: &ArrayView2<F>) -> Result<()> {
        let b = check_step_input(x_t, self.input_size())?;
        check_state("h_prev", h_prev, b, self.hidden_size())
    }

    fn check_sequence(&self, xs: &ArrayView3<F>, h0: &ArrayView2<F>) -> Result<()> {
        let b = check_sequence_input(xs, self.input_size())?;
        check_state("h0", h0, b, self.hidden_size())
    }

    /// A cache from a GRU of the other form, or of other sizes, would give wrong gradients
    /// or a panic deep inside a matrix multiply.
    fn check_cache(&self, cache: &GruCache<F>) -> Result<()> {
        if cache.form != self.form {
            return Err(Error::Value {
                arg: "cache",
                reason: format!(
                    "made by a {:?} GRU, but this GRU is {:?}",
                    cache.form, self.form
                ),
            });
        }
        check_shape(
            "cache",
            cache.xs.shape(),
            &[("T", None), ("B", None), ("D", Some(self.input_size()))],
        )?;
        check_shape(
            "cache",
            cache.hs.shape(),
            &[("T", None), ("B", None), ("H", Some(self.hidden_size()))],
        )
    }

    // ANCHOR: step
    /// One time step, gate by gate, exactly as the equations of the [module
    /// documentation](self) read, in this layer's [`GruForm`]. `x_t` is (B, D), `h_prev` is
    /// (B, H); returns $h_t$ (B, H). [`Gru::forward`] computes the same numbers with fused
    /// matrix multiplies.
    pub fn step(&self, x_t: ArrayView2<F>, h_prev: ArrayView2<F>) -> Result<Array2<F>> {
        self.check_step(&x_t, &h_prev)?;
        let GateRows {
            w_i: w_ir,
            w_h: w_hr,
            b_i: b_ir,
            b_h: b_hr,
        } = self.gate(R);
        let GateRows {
            w_i: w_iz,
            w_h: w_hz,
            b_i: b_iz,
            b_h: b_hz,
        } = self.gate(Z);
        let GateRows {
            w_i: w_in,
            w_h: w_hn,
            b_i: b_in,
            b_h: b_hn,
        } = self.gate(N);
        let r = (x_t.dot(&w_ir.t()) + b_ir + h_prev.dot(&w_hr.t()) + b_hr).mapv(sigmoid); // (B, H)
        let z = (x_t.dot(&w_iz.t()) + b_iz + h_prev.dot(&w_hz.t()) + b_hz).mapv(sigmoid); // (B, H)
        let one_minus_z = z.mapv(|z| F::one() - z); // (B, H)
        let h_t = match self.form {
            GruForm::ResetAfter => {
                // The reset gate scales the candidate's recurrent term, after the product;
                // z ≈ 1 keeps the old state (Cho et al., PyTorch).
                let hn = h_prev.dot(&w_hn.t()) + b_hn; // (B, H)
                let n = (x_t.dot(&w_in.t()) + b_in + &r * &hn).mapv(tanh); // (B, H)
                one_minus_z * &n + &z * &h_prev
            }
            GruForm::ResetBefore => {
                // The reset gate scales h_{t-1}, before the product; z ≈ 1 takes the
                // candidate (Olah, Chung et al., the notes).
                let rh = &r * &h_prev; // (B, H)
                let a_n = x_t.dot(&w_in.t()) + b_in + rh.dot(&w_hn.t()) + b_hn; // (B, H)
                let h_tilde = a_n.mapv(tanh); // (B, H)
                one_minus_z * h_prev + &z * &h_tilde
            }
        }; // (B, H)
        Ok(h_t)
    }
    // ANCHOR_END: step

    // ANCHOR: forward
    /// Runs the GRU over `xs` (T, B, D) from `h0` (B, H), keeping every state and gate.
    ///
    /// The input halves of all three gates, $x_t W_{ih}^\top + b_{ih}$, do not depend on the
    /// state, so all T of them are one (T·B, D)·(D, 3H) matrix multiply before the loop,
    /// written into the array that then holds the gates. Each step adds the hidden halves:
    /// in `ResetAfter` with one (B, H)·(H, 3H) multiply for all three gates; in
    /// `ResetBefore` with one for r and z, then one for the candidate, because its input
    /// $r_t \odot h_{t-1}$ needs $r_t$ first. Nothing is allocated per time step.
    pub fn forward(&self, xs: ArrayView3<F>, h0: ArrayView2<F>) -> Result<GruCache<F>> {
        self.check_sequence(&xs, &h0)?;
        let (t_len, batch, d) = xs.dim();
        let h = self.hidden_size();
        let xs = xs.as_standard_layout().into_owned(); // (T, B, D)
        let x_flat = xs
            .view()
            .into_shape_with_order((t_len * batch, d))
            .expect("standard layout"); // (T·B, D)
        let mut gates = Array3::zeros((t_len, batch, 3 * h)); // (T, B, 3H)
        {
            let mut gx_flat = gates
                .view_mut()
                .into_shape_with_order((t_len * batch, 3 * h))
                .expect("standard layout"); // (T·B, 3H)
            gx_flat.assign(&self.b_ih);
            general_mat_mul(F::one(), &x_flat, &self.w_ih.t(), F::one(), &mut gx_flat);
        }
        let mut hs = Array3::zeros((t_len, batch, h)); // (T, B, H)
        let mut n_hidden = Array3::zeros((t_len, batch, h)); // (T, B, H)
        let mut gh = Array2::zeros((batch, 3 * h)); // (B, 3H)  one step's hidden halves
        let (w_hh_rz, w_hn) = self.w_hh.view().split_at(Axis(0), 2 * h); // (2H, H), (H, H)
        let (b_hh_rz, b_hn) = self.b_hh.view().split_at(Axis(0), 2 * h); // (2H,), (H,)
        for t in 0..t_len {
            let (done, mut rest) = hs.view_mut().split_at(Axis(0), t);
            let h_prev = if t == 0 {
                h0.view()
            } else {
                done.index_axis(Axis(0), t - 1)
            }; // (B, H)
            let mut h_t = rest.index_axis_mut(Axis(0), 0); // (B, H)
            let g_t = gates.index_axis_mut(Axis(0), t); // (B, 3H)  input halves in, gates out
            let (mut r, rest) = g_t.split_at(Axis(1), h); // (B, H)
            let (mut z, mut n) = rest.split_at(Axis(1), h); // (B, H), (B, H)
            let mut n_hidden_t = n_hidden.index_axis_mut(Axis(0), t); // (B, H)
            match self.form {
                GruForm::ResetAfter => {
                    // All three hidden halves at once: h_{t-1} W_hh^T + b_hh.
                    gh.assign(&self.b_hh);
                    general_mat_mul(F::one(), &h_prev, &self.w_hh.t(), F::one(), &mut gh);
                }
                GruForm::ResetBefore => {
                    // Only r and z: the candidate's hidden half waits for r_t.
                    let mut gh_rz = gh.slice_mut(s![.., ..2 * h]); // (B, 2H)
                    gh_rz.assign(&b_hh_rz);
                    general_mat_mul(F::one(), &h_prev, &w_hh_rz.t(), F::one(), &mut gh_rz);
                }
            }
            let (gh_r, gh_z) = gh.slice(s![.., ..2 * h]).split_at(Axis(1), h); // (B, H), (B, H)
            Zip::from(&mut r)
                .and(&gh_r)
                .for_each(|r, &a| *r = sigmoid(*r + a));
            Zip::from(&mut z)
                .and(&gh_z)
                .for_each(|z, &a| *z = sigmoid(*z + a));
            match self.form {
                GruForm::ResetAfter => {
                    let gh_n = gh.slice(s![.., 2 * h..]); // (B, H)
                    n_hidden_t.assign(&gh_n);
                    Zip::from(&mut n)
                        .and(&r)
                        .and(&gh_n)
                        .for_each(|n, &r, &a| *n = tanh(*n + r * a));
                    Zip::from(&mut h_t)
                        .and(&z)
                        .and(&n)
                        .and(&h_prev)
                        .for_each(|h, &z, &n, &hp| *h = (F::one() - z) * n + z * hp);
                }
                GruForm::ResetBefore => {
                    // r_t ⊙ h_{t-1} goes straight into the cache, and the product reads it
                    // from there.
                    Zip::from(&mut n_hidden_t)
                        .and(&r)
                        .and(&h_prev)
                        .for_each(|rh, &r, &hp| *rh = r * hp);
                    let mut gh_n = gh.slice_mut(s![.., 2 * h..]); // (B, H)
                    gh_n.assign(&b_hn);
                    general_mat_mul(F::one(), &n_hidden_t, &w_hn.t(), F::one(), &mut gh_n);
                    Zip::from(&mut n)
                        .and(&gh_n)
                        .for_each(|n, &a| *n = tanh(*n + a));
                    Zip::from(&mut h_t)
                        .and(&z)
                        .and(&n)
                        .and(&h_prev)
                        .for_each(|h, &z, &n, &hp| *h = (F::one() - z) * hp + z * n);
                }
            }
        }
        Ok(GruCache {
            form: self.form,
            xs,
            h0: h0.to_owned(),
            hs,
            gates,
            n_hidden,
        })
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Full backpropagation through time.
    ///
    /// `dhs` (T, B, H) holds $\partial L/\partial h_t$ through the layers above only. Walking
    /// from $t = T$ down to 1, the total derivative $dL/dh_t$ is that direct term plus what
    /// flows back from step $t+1$; from it each step forms the gradients of the gates'
    /// pre-activations, $a_r$, $a_z$, $a_n$ (with $\sigma' = \sigma(1-\sigma)$ and
    /// $\tanh' = 1 - \tanh^2$ from the kept outputs), and sends $dL/dh_{t-1}$ back along
    /// three paths: the direct one through the interpolation, the gates' hidden halves, and
    /// (in `ResetBefore`) the product $r_t \odot h_{t-1}$. The weight gradients are sums over
    /// time, formed after the loop as one matrix multiply per block.
    pub fn backward(&self, cache: &GruCache<F>, dhs: ArrayView3<F>) -> Result<GruBackward<F>> {
        self.check_cache(cache)?;
        check_shape("dhs", dhs.shape(), &dims3(cache.hs.dim()))?;
        let (t_len, batch, h) = cache.hs.dim();
        let mut dh_total = Array3::zeros((t_len, batch, h)); // (T, B, H)  dL/dh_t
        let mut dgx = Array3::zeros((t_len, batch, 3 * h)); // (T, B, 3H)  dL/d(x_t W_ih^T + b_ih)
        let mut dgh_n = Array3::zeros((t_len, batch, h)); // (T, B, H)  dL/d(n's hidden half)
        let mut dh_next = Array2::zeros((batch, h)); // (B, H)  dL/dh_t through step t+1
        let mut drh = Array2::zeros((batch, h)); // (B, H)  ResetBefore: dL/d(r_t ⊙ h_{t-1})
        let (w_hh_rz, w_hn) = self.w_hh.view().split_at(Axis(0), 2 * h); // (2H, H), (H, H)
        for t in (0..t_len).rev() {
            let h_prev = if t == 0 {
                cache.h0.view()
            } else {
                cache.hs.index_axis(Axis(0), t - 1)
            }; // (B, H)
            let mut dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)
            Zip::from(&mut dh_t)
                .and(dhs.index_axis(Axis(0), t))
                .and(&dh_next)
                .for_each(|d, &direct, &later| *d = direct + later);
            let (r, rest) = cache.gates.index_axis(Axis(0), t).split_at(Axis(1), h); // (B, H)
            let (z, n) = rest.split_at(Axis(1), h); // (B, H), (B, H)
            let n_hidden_t = cache.n_hidden.index_axis(Axis(0), t); // (B, H)
            let mut dgh_n_t = dgh_n.index_axis_mut(Axis(0), t); // (B, H)
            let mut dgx_t = dgx.index_axis_mut(Axis(0), t); // (B, 3H)
            {
                let (mut da_r, rest) = dgx_t.view_mut().split_at(Axis(1), h); // (B, H)
                let (mut da_z, mut da_n) = rest.split_at(Axis(1), h); // (B, H), (B, H)
                match self.form {
                    GruForm::ResetAfter => {
                        // h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
                        Zip::from(&mut da_z)
                            .and(&dh_t)
                            .and(&z)
                            .and(&n)
                            .and(&h_prev)
                            .for_each(|da, &dh, &z, &n, &hp| {
                                *da = dh * (hp - n) * sigmoid_grad_from_output(z)
                            });
                        Zip::from(&mut da_n).and(&dh_t).and(&z).and(&n).for_each(
                            |da, &dh, &z, &n| *da = dh * (F::one() - z) * tanh_grad_from_output(n),
                        );
                        // a_n = x W_in^T + b_in + r ⊙ (h_{t-1} W_hn^T + b_hn): the hidden half
                        // gets da_n ⊙ r, and r gets da_n ⊙ (the hidden half).
                        Zip::from(&mut dgh_n_t)
                            .and(&da_n)
                            .and(&r)
                            .for_each(|d, &da, &r| *d = da * r);
                        Zip::from(&mut da_r)
                            .and(&da_n)
                            .and(&r)
                            .and(&n_hidden_t)
                            .for_each(|da, &dan, &r, &gh_n| {
                                *da = dan * gh_n * sigmoid_grad_from_output(r)
                            });
                        Zip::from(&mut dh_next)
                            .and(&dh_t)
                            .and(&z)
                            .for_each(|d, &dh, &z| *d = dh * z);
                    }
                    GruForm::ResetBefore => {
                        // h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h̃
                        Zip::from(&mut da_z)
                            .and(&dh_t)
                            .and(&z)
                            .and(&n)
                            .and(&h_prev)
                            .for_each(|da, &dh, &z, &n, &hp| {
                                *da = dh * (n - hp) * sigmoid_grad_from_output(z)
                            });
                        Zip::from(&mut da_n)
                            .and(&dh_t)
                            .and(&z)
                            .and(&n)
                            .for_each(|da, &dh, &z, &n| *da = dh * z * tanh_grad_from_output(n));
                        // a_n = x W_in^T + b_in + (r ⊙ h_{t-1}) W_hn^T + b_hn: the hidden half
                        // gets da_n itself, and r ⊙ h_{t-1} gets da_n W_hn.
                        dgh_n_t.assign(&da_n);
                        general_mat_mul(F::one(), &da_n, &w_hn, F::zero(), &mut drh);
                        Zip::from(&mut da_r)
                            .and(&drh)
                            .and(&r)
                            .and(&h_prev)
                            .for_each(|da, &drh, &r, &hp| {
                                *da = drh * hp * sigmoid_grad_from_output(r)
                            });
                        Zip::from(&mut dh_next)
                            .and(&dh_t)
                            .and(&z)
                            .and(&drh)
                            .and(&r)
                            .for_each(|d, &dh, &z, &drh, &r| *d = dh * (F::one() - z) + drh * r);
                    }
                }
            }
            // dL/dh_{t-1} += [da_r, da_z] W_hh[r, z rows]: the gates' hidden halves.
            let da_rz = dgx_t.slice(s![.., ..2 * h]); // (B, 2H)
            general_mat_mul(F::one(), &da_rz, &w_hh_rz, F::one(), &mut dh_next);
            // In ResetAfter the candidate's hidden half is a product with h_{t-1} as well.
            if self.form == GruForm::ResetAfter {
                general_mat_mul(F::one(), &dgh_n_t, &w_hn, F::one(), &mut dh_next);
            }
        }
        let (grads, dxs) = self.param_and_input_grads(cache, &dgx, &dgh_n);
        Ok(Backward {
            grads,
            dxs,
            ds0: dh_next,
            dhs: dh_total,
        })
    }
    // ANCHOR_END: backward

    // ANCHOR: param_grads
    /// The sums over time, given the pre-activation gradients of every step:
    /// $\partial L/\partial W_{ih} = \sum_t a_t'^\top x_t$ and
    /// $\partial L/\partial x_t = a_t' W_{ih}$ with $a_t' = $ `dgx` (all three gates);
    /// for the r and z rows of `w_hh`, $\sum_t a_t'^\top h_{t-1}$ over the same r and z
    /// columns; for its n rows, `dgh_n` times what those rows multiply, $h_{t-1}$ in
    /// `ResetAfter` and $r_t \odot h_{t-1}$ in `ResetBefore`. The biases sum the same
    /// gradients over time and batch.
    fn param_and_input_grads(
        &self,
        cache: &GruCache<F>,
        dgx: &Array3<F>,
        dgh_n: &Array3<F>,
    ) -> (GruGrads<F>, Array3<F>) {
        let (t_len, batch, h) = dgh_n.dim();
        let d = self.input_size();
        let dgx_flat = flatten(dgx); // (T·B, 3H)
        let dgh_n_flat = flatten(dgh_n); // (T·B, H)
        let x_flat = flatten(&cache.xs); // (T·B, D)
        let hs_flat = flatten(&cache.hs); // (T·B, H)
        let w_ih = dgx_flat.t().dot(&x_flat); // (3H, D)
        let mut w_hh = Array2::zeros((3 * h, h)); // (3H, H)
        {
            let (mut dw_rz, mut dw_n) = w_hh.view_mut().split_at(Axis(0), 2 * h); // (2H, H), (H, H)
            let da_rz = dgx_flat.slice(s![.., ..2 * h]); // (T·B, 2H)
            add_products_with_previous_states(da_rz, cache.h0.view(), hs_flat, &mut dw_rz);
            match self.form {
                // The n rows multiply h_{t-1} ...
                GruForm::ResetAfter => add_products_with_previous_states(
                    dgh_n_flat,
                    cache.h0.view(),
                    hs_flat,
                    &mut dw_n,
                ),
                // ... or r_t ⊙ h_{t-1}, kept in the cache.
                GruForm::ResetBefore => {
                    let rh_flat = flatten(&cache.n_hidden); // (T·B, H)
                    general_mat_mul(F::one(), &dgh_n_flat.t(), &rh_flat, F::zero(), &mut dw_n);
                }
            }
        }
        let b_ih = dgx_flat.sum_axis(Axis(0)); // (3H,)
        let mut b_hh = Array1::zeros(3 * h); // (3H,)
        b_hh.slice_mut(s![..2 * h]).assign(&b_ih.slice(s![..2 * h]));
        b_hh.slice_mut(s![2 * h..])
            .assign(&dgh_n_flat.sum_axis(Axis(0)));
        let mut dxs = Array3::zeros((t_len, batch, d)); // (T, B, D)
        {
            let mut dx_flat = dxs
                .view_mut()
                .into_shape_with_order((t_len * batch, d))
                .expect("standard layout"); // (T·B, D)
            general_mat_mul(F::one(), &dgx_flat, &self.w_ih, F::zero(), &mut dx_flat);
        }
        (
            GruGrads {
                w_ih,
                w_hh,
                b_ih,
                b_hh,
            },
            dxs,
        )
    }
    // ANCHOR_END: param_grads
}

/// `out += Σ_t da_t^T h_{t-1}` for `da` (T·B, K) and the states `hs` (T·B, H) flattened
/// over time and batch: $h_{t-1}$ is `h0` for $t = 1$ and row block $t-1$ of `hs` after,
/// so two products replace copying every $h_{t-1}$ into one array.
fn add_products_with_previous_states<F: Real>(
    da: ArrayView2<F>,
    h0: ArrayView2<F>,
    hs: ArrayView2<F>,
    out: &mut ArrayViewMut2<F>,
) {
    let batch = h0.nrows();
    let rows = da.nrows();
    general_mat_mul(F::one(), &da.slice(s![..batch, ..]).t(), &h0, F::one(), out);
    if rows > batch {
        general_mat_mul(
            F::one(),
            &da.slice(s![batch.., ..]).t(),
            &hs.slice(s![..rows - batch, ..]),
            F::one(),
            out,
        );
    }
}

/// A (T, B, K) array as (T·B, K): one row per example and step.
fn flatten<F: Real>(a: &Array3<F>) -> ArrayView2<'_, F> {
    let (t_len, batch, k) = a.dim();
    a.view()
        .into_shape_with_order((t_len * batch, k))
        .expect("standard layout")
}

impl_params!(Gru, GruGrads => w_ih, w_hh, b_ih, b_hh);

impl<F: Real> Recurrent<F> for Gru<F> {
    type State = Array2<F>;
    type Cache = GruCache<F>;
    type Grads = GruGrads<F>;

    fn input_size(&self) -> usize {
        Gru::input_size(self)
    }
    fn hidden_size(&self) -> usize {
        Gru::hidden_size(self)
    }
    fn zero_state(&self, batch: usize) -> Array2<F> {
        Array2::zeros((batch, Gru::hidden_size(self)))
    }
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Array2<F>) -> Result<GruCache<F>> {
        self.forward(xs, s0.view())
    }
    fn outputs<'c>(&self, cache: &'c GruCache<F>) -> ArrayView3<'c, F> {
        cache.hs()
    }
    fn final_state(&self, cache: &GruCache<F>) -> Array2<F> {
        cache.h_last().to_owned()
    }
    fn backward_seq(&self, cache: &GruCache<F>, dhs: ArrayView3<F>) -> Result<GruBackward<F>> {
        self.backward(cache, dhs)
    }
}
