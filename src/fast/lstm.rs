//! The fast LSTM: PyTorch's `nn.LSTM` (gate order i, f, g, o; no peepholes), the default
//! [`Lstm`] of [`crate::lstm`], computed with reused workspaces, one matrix multiply per
//! time step and per direction, and every weight gradient as one multiply over all steps.
//!
//! The equations are the readable layer's,
//! $$z_t = x_t W_{ih}^\top + b_{ih} + b_{hh} + h_{t-1} W_{hh}^\top, \quad
//! c_t = f_t \odot c_{t-1} + i_t \odot g_t, \quad h_t = o_t \odot \tanh(c_t),$$
//! and so are the parameter names; only the bookkeeping differs (see [`crate::fast`]).

use super::{
    fit, flat, flat_mut, lanes, parts, product, product_split, run_parts, slice, slice_mut,
    split_n, store, weight_grads, FastReal, GradWorkspace, Out, Panels, LANES,
};
use crate::cell::{Backward, Recurrent};
use crate::error::{check_sequence_input, check_shape, check_state, dims3, require};
use crate::lstm::{Lstm, LstmConfig, LstmGrads, LstmState};
use crate::params::impl_params;
use crate::Result;
use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, Zip,
};

/// The standard LSTM, fast. Same tensors and names as [`Lstm`]'s default configuration,
/// so [`crate::torch_io`] loads PyTorch's `nn.LSTM` weights into it unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct FastLstm<F> {
    /// $W_{ih}$: (4H, D), blocks i, f, g, o.
    pub w_ih: Array2<F>,
    /// $W_{hh}$: (4H, H).
    pub w_hh: Array2<F>,
    /// $b_{ih}$: (4H,).
    pub b_ih: Array1<F>,
    /// $b_{hh}$: (4H,).
    pub b_hh: Array1<F>,
}

impl_params!(FastLstm => w_ih, w_hh, b_ih, b_hh);

/// What [`FastLstm::forward_into`] keeps for the backward pass. Keep one and pass it to
/// every forward call: its arrays are reallocated only when the shapes change.
#[derive(Clone, Debug)]
pub struct FastLstmCache<F> {
    xs: Array3<F>,      // (T, B, D)
    acts: Array3<F>,    // (T, B, 4H)  i, f, g, o after their nonlinearities
    hs: Array3<F>,      // (T+1, B, H)  h_0, h_1, ..., h_T
    cs: Array3<F>,      // (T+1, B, H)  c_0, c_1, ..., c_T
    tanh_cs: Array3<F>, // (T, B, H)  tanh(c_t), kept so the backward pass needs no tanh
    bias: Array1<F>,    // (4H,)  b_ih + b_hh
    w_ih_t: Panels<F>,  // W_ih^T (D, 4H), packed for the input projection
    w_hh_t: Panels<F>,  // W_hh^T (H, 4H), packed for the recurrent product of every step
}

impl<F: FastReal> Default for FastLstmCache<F> {
    fn default() -> Self {
        FastLstmCache {
            xs: Array3::zeros((0, 0, 0)),
            acts: Array3::zeros((0, 0, 0)),
            hs: Array3::zeros((0, 0, 0)),
            cs: Array3::zeros((0, 0, 0)),
            tanh_cs: Array3::zeros((0, 0, 0)),
            bias: Array1::zeros(0),
            w_ih_t: Panels::default(),
            w_hh_t: Panels::default(),
        }
    }
}

impl<F: FastReal> FastLstmCache<F> {
    /// The outputs $h_1, \dots, h_T$: (T, B, H).
    pub fn hs(&self) -> ArrayView3<'_, F> {
        self.hs.slice(s![1.., .., ..])
    }
    /// The cell states $c_1, \dots, c_T$: (T, B, H).
    pub fn cs(&self) -> ArrayView3<'_, F> {
        self.cs.slice(s![1.., .., ..])
    }
    /// $\tanh(c_1), \dots, \tanh(c_T)$: (T, B, H), as the forward pass computed them.
    pub fn tanh_cs(&self) -> ArrayView3<'_, F> {
        self.tanh_cs.view()
    }
    /// The gates after their nonlinearities, blocks $i, f, g, o$ of H each: (T, B, 4H).
    pub fn gates(&self) -> ArrayView3<'_, F> {
        self.acts.view()
    }
    /// The bytes of activations this cache holds for BPTT: $T B (D + 7H)$ scalars plus
    /// the two initial states and the transposed $W_{hh}$.
    pub fn bytes(&self) -> usize {
        let n = self.xs.len()
            + self.acts.len()
            + self.hs.len()
            + self.cs.len()
            + self.tanh_cs.len()
            + self.w_ih_t.len()
            + self.w_hh_t.len();
        n * std::mem::size_of::<F>()
    }
}

/// The gradients and workspaces of [`FastLstm::backward_into`]. Keep one across training
/// steps, like the cache.
#[derive(Clone, Debug)]
pub struct FastLstmBackward<F> {
    /// The parameter gradients, named as the parameters.
    pub grads: LstmGrads<F>,
    /// $\partial L/\partial x_t$: (T, B, D), when asked for.
    pub dxs: Option<Array3<F>>,
    /// $\partial L/\partial h_0$: (B, H).
    pub dh0: Array2<F>,
    /// $\partial L/\partial c_0$: (B, H).
    pub dc0: Array2<F>,
    /// The total $\partial L/\partial h_t$ at every step: (T, B, H).
    pub dhs: Array3<F>,
    dzs: Array3<F>,  // (T, B, 4H)  dL/dz_t, the pre-activation errors of every step
    w_hh: Panels<F>, // W_hh (4H, H), packed for the product of every step
    grad_ws: GradWorkspace<F>,
}

impl<F: FastReal> Default for FastLstmBackward<F> {
    fn default() -> Self {
        FastLstmBackward {
            grads: LstmGrads {
                w_ih: Array2::zeros((0, 0)),
                w_hh: Array2::zeros((0, 0)),
                b_ih: Array1::zeros(0),
                b_hh: Array1::zeros(0),
                p_i: None,
                p_f: None,
                p_o: None,
                w_gates: None,
            },
            dxs: None,
            dh0: Array2::zeros((0, 0)),
            dc0: Array2::zeros((0, 0)),
            dhs: Array3::zeros((0, 0, 0)),
            dzs: Array3::zeros((0, 0, 0)),
            w_hh: Panels::default(),
            grad_ws: GradWorkspace::default(),
        }
    }
}

impl<F: FastReal> FastLstm<F> {
    /// A new layer drawn exactly as [`Lstm::new`] draws the default LSTM of `config`.
    pub fn new(config: &LstmConfig) -> Result<Self> {
        FastLstm::from_lstm(&Lstm::new(config)?)
    }

    /// The fast form of `lstm`, which must be the standard LSTM (PyTorch's): a variant
    /// with peepholes, coupled or removed gates, missing activations or full gate
    /// recurrence is a configuration error.
    pub fn from_lstm(lstm: &Lstm<F>) -> Result<Self> {
        let c = lstm.config();
        let standard = LstmConfig {
            input_size: c.input_size,
            hidden_size: c.hidden_size,
            forget_bias: c.forget_bias,
            seed: c.seed,
            ..LstmConfig::default()
        };
        require(
            *c == standard,
            "lstm",
            format!(
                "the fast path computes the standard LSTM (PyTorch's nn.LSTM) only; this one \
                 has peepholes: {}, input_gate: {}, forget_gate: {}, output_gate: {}, \
                 input_activation: {}, output_activation: {}, coupled: {}, \
                 full_gate_recurrence: {}",
                c.peepholes,
                c.input_gate,
                c.forget_gate,
                c.output_gate,
                c.input_activation,
                c.output_activation,
                c.coupled,
                c.full_gate_recurrence
            ),
        )?;
        Ok(FastLstm {
            w_ih: lstm.w_ih.clone(),
            w_hh: lstm.w_hh.clone(),
            b_ih: lstm.b_ih.clone(),
            b_hh: lstm.b_hh.clone(),
        })
    }

    /// The readable [`Lstm`] with these parameters.
    pub fn to_lstm(&self) -> Result<Lstm<F>> {
        self.check_params()?;
        let mut lstm = Lstm::new(&LstmConfig {
            input_size: self.input_size(),
            hidden_size: self.hidden_size(),
            ..LstmConfig::default()
        })?;
        lstm.w_ih.assign(&self.w_ih);
        lstm.w_hh.assign(&self.w_hh);
        lstm.b_ih.assign(&self.b_ih);
        lstm.b_hh.assign(&self.b_hh);
        Ok(lstm)
    }

    /// D.
    pub fn input_size(&self) -> usize {
        self.w_ih.ncols()
    }

    /// H.
    pub fn hidden_size(&self) -> usize {
        self.w_hh.ncols()
    }

    /// The public fields can be replaced: check they still fit together.
    fn check_params(&self) -> Result<()> {
        let (d, h) = (self.input_size(), self.hidden_size());
        let gates = ("4H", Some(4 * h));
        check_shape("w_ih", self.w_ih.shape(), &[gates, ("D", Some(d))])?;
        check_shape("w_hh", self.w_hh.shape(), &[gates, ("H", Some(h))])?;
        check_shape("b_ih", self.b_ih.shape(), &[gates])?;
        check_shape("b_hh", self.b_hh.shape(), &[gates])
    }

    // ANCHOR: forward
    /// Runs the LSTM over `xs` (T, B, D) from `h0` and `c0` (B, H), writing everything the
    /// backward pass needs into `cache` (reallocated only if the shapes changed).
    pub fn forward_into(
        &self,
        xs: ArrayView3<F>,
        h0: ArrayView2<F>,
        c0: ArrayView2<F>,
        cache: &mut FastLstmCache<F>,
    ) -> Result<()> {
        self.check_params()?;
        let batch = check_sequence_input(&xs, self.input_size())?;
        check_state("h0", &h0, batch, self.hidden_size())?;
        check_state("c0", &c0, batch, self.hidden_size())?;
        let (t_len, _, d) = xs.dim();
        let h = self.hidden_size();
        let FastLstmCache {
            xs: xs_c,
            acts,
            hs,
            cs,
            tanh_cs,
            bias,
            w_ih_t,
            w_hh_t,
        } = cache;
        fit(xs_c, (t_len, batch, d));
        fit(acts, (t_len, batch, 4 * h));
        fit(hs, (t_len + 1, batch, h));
        fit(cs, (t_len + 1, batch, h));
        fit(tanh_cs, (t_len, batch, h));
        xs_c.assign(&xs);
        hs.index_axis_mut(Axis(0), 0).assign(&h0);
        cs.index_axis_mut(Axis(0), 0).assign(&c0);
        w_ih_t.pack(self.w_ih.t());
        w_hh_t.pack(self.w_hh.t());

        // The input half of every gate at every step, x_t W_ih^T + b_ih + b_hh, does not
        // depend on the recurrence: one (T·B, D)·(D, 4H) product, the largest and most
        // efficient of the pass, written where the activations will be, and split by rows
        // across the threads, as the recurrence below is.
        fit(bias, 4 * h); // (4H,)
        Zip::from(&mut *bias)
            .and(&self.b_ih)
            .and(&self.b_hh)
            .for_each(|b, &bi, &bh| *b = bi + bh);
        let z_flat = flat_mut(acts.view_mut()); // (T·B, 4H)
        product_split(
            flat(xs_c.view()),
            self.w_ih.t(),
            w_ih_t,
            Some(bias.view()),
            z_flat,
        );

        // The recurrence of one example never reads another's: each part of the batch runs
        // the whole sequence on a thread of its own ([`super::threads`]).
        let n = parts(batch, 2.0 * (t_len * batch * h * 4 * h) as f64);
        let mut jobs = Vec::with_capacity(n);
        let mut hs = split_n(hs.view_mut(), Axis(1), n).into_iter();
        let mut cs = split_n(cs.view_mut(), Axis(1), n).into_iter();
        let mut acts = split_n(acts.view_mut(), Axis(1), n).into_iter();
        let mut tanh_cs = split_n(tanh_cs.view_mut(), Axis(1), n).into_iter();
        for _ in 0..n {
            jobs.push(ForwardPart {
                hs: hs.next().expect("n parts"),
                cs: cs.next().expect("n parts"),
                acts: acts.next().expect("n parts"),
                tanh_cs: tanh_cs.next().expect("n parts"),
            });
        }
        let w_hh_t = &*w_hh_t;
        run_parts(jobs, |part| self.recur_forward(w_hh_t, part));
        Ok(())
    }

    /// The sequential loop of the forward pass, for the rows of one part of the batch.
    fn recur_forward(&self, w_hh_t: &Panels<F>, part: ForwardPart<'_, F>) {
        let ForwardPart {
            mut hs,
            mut cs,
            mut acts,
            mut tanh_cs,
        } = part;
        for t in 0..acts.len_of(Axis(0)) {
            let (h_done, mut h_rest) = hs.view_mut().split_at(Axis(0), t + 1);
            let (c_done, mut c_rest) = cs.view_mut().split_at(Axis(0), t + 1);
            let h_prev = h_done.index_axis(Axis(0), t); // (B, H)
            let c_prev = c_done.index_axis(Axis(0), t); // (B, H)
            let h_t = h_rest.index_axis_mut(Axis(0), 0); // (B, H)
            let c_t = c_rest.index_axis_mut(Axis(0), 0); // (B, H)
            let mut z_t = acts.index_axis_mut(Axis(0), t); // (B, 4H)
            let tanh_c_t = tanh_cs.index_axis_mut(Axis(0), t); // (B, H)

            // The only product on the sequential path: (B, H)·(H, 4H), all four gates.
            product(h_prev, self.w_hh.t(), w_hh_t, &mut z_t, Out::Add);
            cells_forward(z_t, c_prev, c_t, tanh_c_t, h_t);
        }
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Full BPTT through the sequence `cache` holds, given `dhs` (T, B, H), the gradient
    /// of the loss with respect to every output from the layers above. Writes the
    /// gradients into `out` (reallocated only if the shapes changed); computes
    /// $\partial L/\partial x_t$ only if `input_grads` (a first layer fed with data does
    /// not need it, and it costs as much as the gradient of $W_{ih}$).
    pub fn backward_into(
        &self,
        cache: &FastLstmCache<F>,
        dhs: ArrayView3<F>,
        input_grads: bool,
        out: &mut FastLstmBackward<F>,
    ) -> Result<()> {
        self.check_params()?;
        let (t_len, batch, d) = cache.xs.dim();
        let h = self.hidden_size();
        check_shape(
            "cache",
            cache.xs.shape(),
            &[("T", None), ("B", None), ("D", Some(self.input_size()))],
        )?;
        check_shape(
            "cache",
            cache.acts.shape(),
            &[("T", None), ("B", None), ("4H", Some(4 * h))],
        )?;
        check_shape("dhs", dhs.shape(), &dims3((t_len, batch, h)))?;
        let FastLstmBackward {
            grads,
            dxs,
            dh0: dh_next,
            dc0: dc,
            dhs: dh_total,
            dzs,
            w_hh,
            grad_ws,
        } = out;
        fit(dh_next, (batch, h)); // (B, H)  dL/dh_{t-1} through step t; at the end, dL/dh_0
        fit(dc, (batch, h)); // (B, H)  dL/dc_t through c_{t+1}; at the end, dL/dc_0
        fit(dh_total, (t_len, batch, h)); // (T, B, H)
        fit(dzs, (t_len, batch, 4 * h)); // (T, B, 4H)
        dh_next.fill(F::zero());
        dc.fill(F::zero());
        w_hh.pack(self.w_hh.view());
        {
            // Back through time, each part of the batch on its own thread, as forward.
            let n = parts(batch, 2.0 * (t_len * batch * h * 4 * h) as f64);
            let mut jobs = Vec::with_capacity(n);
            let mut dhs = split_n(dhs.view(), Axis(1), n).into_iter();
            let mut acts = split_n(cache.acts.view(), Axis(1), n).into_iter();
            let mut cs = split_n(cache.cs.view(), Axis(1), n).into_iter();
            let mut tanh_cs = split_n(cache.tanh_cs.view(), Axis(1), n).into_iter();
            let mut dh_total = split_n(dh_total.view_mut(), Axis(1), n).into_iter();
            let mut dz_parts = split_n(dzs.view_mut(), Axis(1), n).into_iter();
            let mut dh_next = split_n(dh_next.view_mut(), Axis(0), n).into_iter();
            let mut dc = split_n(dc.view_mut(), Axis(0), n).into_iter();
            for _ in 0..n {
                jobs.push(BackwardPart {
                    dhs: dhs.next().expect("n parts"),
                    acts: acts.next().expect("n parts"),
                    cs: cs.next().expect("n parts"),
                    tanh_cs: tanh_cs.next().expect("n parts"),
                    dh_total: dh_total.next().expect("n parts"),
                    dzs: dz_parts.next().expect("n parts"),
                    dh_next: dh_next.next().expect("n parts"),
                    dc: dc.next().expect("n parts"),
                });
            }
            let w_hh = &*w_hh;
            run_parts(jobs, |part| self.recur_backward(w_hh, part));
        }
        self.param_grads(cache, dzs.view(), grads, grad_ws);
        if input_grads {
            let dx = dxs.get_or_insert_with(|| Array3::zeros((0, 0, 0)));
            fit(dx, (t_len, batch, d));
            // dL/dx_t = dz_t W_ih for every step at once: (T·B, 4H)·(4H, D).
            general_mat_mul(
                F::one(),
                &flat(dzs.view()),
                &self.w_ih,
                F::zero(),
                &mut flat_mut(dx.view_mut()),
            );
        } else {
            *dxs = None;
        }
        Ok(())
    }

    /// The sequential loop of the backward pass, for the rows of one part of the batch.
    fn recur_backward(&self, w_hh: &Panels<F>, part: BackwardPart<'_, F>) {
        let BackwardPart {
            dhs,
            acts,
            cs,
            tanh_cs,
            mut dh_total,
            mut dzs,
            mut dh_next,
            mut dc,
        } = part;
        let t_len = dzs.len_of(Axis(0));
        for t in (0..t_len).rev() {
            let dhs_t = dhs.index_axis(Axis(0), t); // (B, H)  from the layers above
            let dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)  set to dhs_t + dh_next
            let acts_t = acts.index_axis(Axis(0), t); // (B, 4H)
            let c_prev = cs.index_axis(Axis(0), t); // (B, H)
            let tanh_c_t = tanh_cs.index_axis(Axis(0), t); // (B, H)
            let mut dz_t = dzs.index_axis_mut(Axis(0), t); // (B, 4H)
            cells_backward(
                acts_t,
                c_prev,
                tanh_c_t,
                (dhs_t, dh_next.view(), dh_t),
                dc.view_mut(),
                dz_t.view_mut(),
            );
            // dL/dh_{t-1} = dz_t W_hh: (B, 4H)·(4H, H), the backward pass's only product on
            // the sequential path, written over dh_next (read above).
            product(
                dz_t.view(),
                self.w_hh.view(),
                w_hh,
                &mut dh_next.view_mut(),
                Out::Set,
            );
        }
    }
    // ANCHOR_END: backward

    // ANCHOR: param_grads
    /// The weight gradients are sums over time of outer products, so each is one large
    /// product over all T·B rows, after the sequential loop, at the GEMM's best efficiency:
    /// $\partial L/\partial W_{ih} = Z'^\top X$ and $\partial L/\partial W_{hh} = Z'^\top
    /// H_{prev}$, where $H_{prev}$ is $h_0, \dots, h_{T-1}$: the first T slices of the padded
    /// states, contiguous already.
    fn param_grads(
        &self,
        cache: &FastLstmCache<F>,
        dzs: ArrayView3<F>,
        grads: &mut LstmGrads<F>,
        ws: &mut GradWorkspace<F>,
    ) {
        let (t_len, _, _) = dzs.dim();
        let h = self.hidden_size();
        fit(&mut grads.w_ih, self.w_ih.raw_dim()); // (4H, D)
        fit(&mut grads.w_hh, self.w_hh.raw_dim()); // (4H, H)
        fit(&mut grads.b_ih, 4 * h); // (4H,)
        fit(&mut grads.b_hh, 4 * h); // (4H,)
        let dz_flat = flat(dzs); // (T·B, 4H)
        let h_prev = flat(cache.hs.slice(s![..t_len, .., ..])); // (T·B, H)
        let xs = flat(cache.xs.view()); // (T·B, D)
        weight_grads(
            dz_flat,
            &mut [(xs, grads.w_ih.view_mut()), (h_prev, grads.w_hh.view_mut())],
            grads.b_ih.view_mut(),
            ws,
        );
        grads.b_hh.assign(&grads.b_ih);
    }
    // ANCHOR_END: param_grads
}

multiversion! {
    /// [`cell_forward`] for every example of a step: (B, 4H) pre-activations in, gates out.
    fn cells_forward<F: FastReal>(
        z_t: ArrayViewMut2<F>,
        c_prev: ArrayView2<F>,
        c_t: ArrayViewMut2<F>,
        tanh_c_t: ArrayViewMut2<F>,
        h_t: ArrayViewMut2<F>,
    ) {
        let (mut z_t, mut c_t, mut tanh_c_t, mut h_t) = (z_t, c_t, tanh_c_t, h_t);
        for b in 0..z_t.nrows() {
            cell_forward(
                slice_mut(z_t.row_mut(b)),
                slice(c_prev.row(b)),
                slice_mut(c_t.row_mut(b)),
                slice_mut(tanh_c_t.row_mut(b)),
                slice_mut(h_t.row_mut(b)),
            );
        }
    }
}

multiversion! {
    /// [`cell_backward`] for every example of a step.
    fn cells_backward<F: FastReal>(
        acts_t: ArrayView2<F>,
        c_prev: ArrayView2<F>,
        tanh_c_t: ArrayView2<F>,
        dh_t: (ArrayView2<F>, ArrayView2<F>, ArrayViewMut2<F>),
        dc: ArrayViewMut2<F>,
        dz_t: ArrayViewMut2<F>,
    ) {
        let (dhs_t, dh_next, mut dh_t) = dh_t;
        let (mut dc, mut dz_t) = (dc, dz_t);
        for b in 0..dz_t.nrows() {
            cell_backward(
                slice(acts_t.row(b)),
                slice(c_prev.row(b)),
                slice(tanh_c_t.row(b)),
                (
                    slice(dhs_t.row(b)),
                    slice(dh_next.row(b)),
                    slice_mut(dh_t.row_mut(b)),
                ),
                slice_mut(dc.row_mut(b)),
                slice_mut(dz_t.row_mut(b)),
            );
        }
    }
}

/// The rows of one part of the batch that the forward recurrence writes.
struct ForwardPart<'a, F> {
    hs: ArrayViewMut3<'a, F>,      // (T+1, b, H)
    cs: ArrayViewMut3<'a, F>,      // (T+1, b, H)
    acts: ArrayViewMut3<'a, F>,    // (T, b, 4H)  input halves in, gates out
    tanh_cs: ArrayViewMut3<'a, F>, // (T, b, H)
}

/// The rows of one part of the batch that the backward recurrence reads and writes.
struct BackwardPart<'a, F> {
    dhs: ArrayView3<'a, F>,         // (T, b, H)  from the layers above
    acts: ArrayView3<'a, F>,        // (T, b, 4H)
    cs: ArrayView3<'a, F>,          // (T+1, b, H)
    tanh_cs: ArrayView3<'a, F>,     // (T, b, H)
    dh_total: ArrayViewMut3<'a, F>, // (T, b, H)
    dzs: ArrayViewMut3<'a, F>,      // (T, b, 4H)
    dh_next: ArrayViewMut2<'a, F>,  // (b, H)
    dc: ArrayViewMut2<'a, F>,       // (b, H)
}

// ANCHOR: cell_forward
/// One example's gates, in place: `z` (4H) holds the pre-activations $z_i, z_f, z_g, z_o$
/// on entry and $i, f, g, o$ on exit; writes $c_t$, $\tanh(c_t)$ and $h_t$ (H each).
///
/// The units go by in blocks of [`LANES`]: each block is copied into local arrays, computed
/// there, and copied back. Locals cannot overlap the caller's arrays, so the compiler turns
/// each line into vector instructions with no run-time overlap check, which, given the
/// arrays directly, it did not always manage (it fell back to one unit at a time).
#[inline(always)]
fn cell_forward<F: FastReal>(
    z: &mut [F],
    c_prev: &[F],
    c: &mut [F],
    tanh_c: &mut [F],
    h: &mut [F],
) {
    let n = c.len();
    let (zi, rest) = z.split_at_mut(n);
    let (zf, rest) = rest.split_at_mut(n);
    let (zg, zo) = rest.split_at_mut(n);
    for j0 in (0..n).step_by(LANES) {
        let at = j0..(j0 + LANES).min(n);
        let mut i = lanes(&zi[at.clone()]);
        let mut f = lanes(&zf[at.clone()]);
        let mut g = lanes(&zg[at.clone()]);
        let mut o = lanes(&zo[at.clone()]);
        let cp = lanes(&c_prev[at.clone()]);
        let (mut ct, mut th, mut ht) = ([F::zero(); LANES], [F::zero(); LANES], [F::zero(); LANES]);
        for j in 0..LANES {
            i[j] = i[j].fast_sigmoid();
            f[j] = f[j].fast_sigmoid();
            g[j] = g[j].fast_tanh();
            o[j] = o[j].fast_sigmoid();
            ct[j] = f[j] * cp[j] + i[j] * g[j];
            th[j] = ct[j].fast_tanh();
            ht[j] = o[j] * th[j];
        }
        store(&mut zi[at.clone()], &i);
        store(&mut zf[at.clone()], &f);
        store(&mut zg[at.clone()], &g);
        store(&mut zo[at.clone()], &o);
        store(&mut c[at.clone()], &ct);
        store(&mut tanh_c[at.clone()], &th);
        store(&mut h[at], &ht);
    }
}
// ANCHOR_END: cell_forward

// ANCHOR: cell_backward
/// One example backwards, mirroring [`cell_forward`]: from $\partial L/\partial h_t$, the
/// sum of `dhs` (from the layers above) and `dh_next` (through the later steps), which it
/// writes to `dh_total`, and `dc` = $\partial L/\partial c_t$ through $c_{t+1}$, writes
/// $\partial L/\partial z_t$ into `dz` (4H) and leaves $\partial L/\partial c_{t-1} =
/// \partial L/\partial c_t \odot f_t$ in `dc`. Uses only stored activations: $\sigma' =
/// \sigma(1-\sigma)$, $\tanh' = 1 - \tanh^2$. Blocks of [`LANES`] units in local arrays,
/// as the forward pass.
#[inline(always)]
fn cell_backward<F: FastReal>(
    acts: &[F],
    c_prev: &[F],
    tanh_c: &[F],
    (dhs, dh_next, dh_total): (&[F], &[F], &mut [F]),
    dc: &mut [F],
    dz: &mut [F],
) {
    let n = dc.len();
    let (ai, rest) = acts.split_at(n);
    let (af, rest) = rest.split_at(n);
    let (ag, ao) = rest.split_at(n);
    let (dzi, rest) = dz.split_at_mut(n);
    let (dzf, rest) = rest.split_at_mut(n);
    let (dzg, dzo) = rest.split_at_mut(n);
    let one = F::one();
    for j0 in (0..n).step_by(LANES) {
        let at = j0..(j0 + LANES).min(n);
        let (i, f, g, o) = (
            lanes(&ai[at.clone()]),
            lanes(&af[at.clone()]),
            lanes(&ag[at.clone()]),
            lanes(&ao[at.clone()]),
        );
        let (cp, th) = (lanes(&c_prev[at.clone()]), lanes(&tanh_c[at.clone()]));
        let (above, later) = (lanes(&dhs[at.clone()]), lanes(&dh_next[at.clone()]));
        let mut dh = [F::zero(); LANES];
        let mut dcj = lanes(&dc[at.clone()]);
        let mut d = [[F::zero(); LANES]; 4]; // dz_i, dz_f, dz_g, dz_o
        for j in 0..LANES {
            dh[j] = above[j] + later[j];
            // h_t = o_t ⊙ tanh(c_t)
            d[3][j] = dh[j] * th[j] * (o[j] * (one - o[j]));
            dcj[j] += dh[j] * o[j] * (one - th[j] * th[j]);
            // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
            d[0][j] = dcj[j] * g[j] * (i[j] * (one - i[j]));
            d[1][j] = dcj[j] * cp[j] * (f[j] * (one - f[j]));
            d[2][j] = dcj[j] * i[j] * (one - g[j] * g[j]);
            dcj[j] *= f[j];
        }
        for (out, block) in [&mut *dzi, &mut *dzf, &mut *dzg, &mut *dzo]
            .into_iter()
            .zip(&d)
        {
            store(&mut out[at.clone()], block);
        }
        store(&mut dh_total[at.clone()], &dh);
        store(&mut dc[at], &dcj);
    }
}
// ANCHOR_END: cell_backward

impl<F: FastReal> Recurrent<F> for FastLstm<F> {
    type State = LstmState<F>;
    type Cache = FastLstmCache<F>;
    type Grads = LstmGrads<F>;

    fn input_size(&self) -> usize {
        FastLstm::input_size(self)
    }
    fn hidden_size(&self) -> usize {
        FastLstm::hidden_size(self)
    }
    fn zero_state(&self, batch: usize) -> LstmState<F> {
        let zeros = Array2::zeros((batch, FastLstm::hidden_size(self)));
        LstmState {
            h: zeros.clone(),
            c: zeros,
        }
    }
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &LstmState<F>) -> Result<FastLstmCache<F>> {
        let mut cache = FastLstmCache::default();
        self.forward_into(xs, s0.h.view(), s0.c.view(), &mut cache)?;
        Ok(cache)
    }
    fn outputs<'c>(&self, cache: &'c FastLstmCache<F>) -> ArrayView3<'c, F> {
        cache.hs()
    }
    fn final_state(&self, cache: &FastLstmCache<F>) -> LstmState<F> {
        let last = cache.hs.len_of(Axis(0)) - 1;
        LstmState {
            h: cache.hs.index_axis(Axis(0), last).to_owned(),
            c: cache.cs.index_axis(Axis(0), last).to_owned(),
        }
    }
    fn backward_seq(
        &self,
        cache: &FastLstmCache<F>,
        dhs: ArrayView3<F>,
    ) -> Result<Backward<F, LstmGrads<F>, LstmState<F>>> {
        let mut out = FastLstmBackward::default();
        self.backward_into(cache, dhs, true, &mut out)?;
        let dxs = out
            .dxs
            .expect("backward_into fills dxs when input_grads is true");
        Ok(Backward {
            grads: out.grads,
            dxs,
            ds0: LstmState {
                h: out.dh0,
                c: out.dc0,
            },
            dhs: out.dhs,
        })
    }
}
