//! The fast GRU: PyTorch's `nn.GRU` (gate order r, z, n; the reset gate applied after
//! the recurrent product), [`GruForm::ResetAfter`] of [`crate::gru`], with the same
//! bookkeeping as [`super::FastLstm`].
//!
//! $$r_t = \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}), \quad
//! z_t = \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}),$$
//! $$n_t = \tanh(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})), \quad
//! h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.$$
//! Reset-after is the form cuDNN chose because all three recurrent products then share
//! one matrix multiply per step, (B, H)·(H, 3H), exactly like the LSTM's one product; the
//! reset-before form needs $r_t$ before its third product, two multiplies per step.

use super::{
    fit, flat, flat_mut, lanes, parts, product, product_split, run_parts, slice, slice_mut,
    split_n, store, weight_grads_of, FastReal, GradTask, GradWorkspace, Out, Panels, LANES,
};
use crate::cell::{Backward, Recurrent};
use crate::error::{check_sequence_input, check_shape, check_state, dims3, require};
use crate::gru::{Gru, GruConfig, GruForm, GruGrads};
use crate::params::impl_params;
use crate::Result;
use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis,
};

/// The reset-after GRU, fast. Same tensors and names as [`Gru`], so [`crate::torch_io`]
/// loads PyTorch's `nn.GRU` weights into it unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct FastGru<F> {
    /// $W_{ih}$: (3H, D), blocks r, z, n.
    pub w_ih: Array2<F>,
    /// $W_{hh}$: (3H, H).
    pub w_hh: Array2<F>,
    /// $b_{ih}$: (3H,).
    pub b_ih: Array1<F>,
    /// $b_{hh}$: (3H,).
    pub b_hh: Array1<F>,
}

impl_params!(FastGru => w_ih, w_hh, b_ih, b_hh);

/// What [`FastGru::forward_into`] keeps for the backward pass; reused across calls.
#[derive(Clone, Debug)]
pub struct FastGruCache<F> {
    xs: Array3<F>,     // (T, B, D)
    gates: Array3<F>,  // (T, B, 3H)  r_t, z_t, n_t
    gh_n: Array3<F>,   // (T, B, H)  h_{t-1} W_hn^T + b_hn, which r_t multiplies
    hs: Array3<F>,     // (T+1, B, H)  h_0, h_1, ..., h_T
    gh: Array2<F>,     // (B, 3H)  one step's recurrent products h_{t-1} W_hh^T
    bias: Array1<F>,   // (3H,)  b_ih + (b_hr, b_hz, 0): the biases added before the loop
    w_ih_t: Panels<F>, // W_ih^T (D, 3H), packed for the input projection
    w_hh_t: Panels<F>, // W_hh^T (H, 3H), packed for the recurrent product of every step
}

impl<F: FastReal> Default for FastGruCache<F> {
    fn default() -> Self {
        FastGruCache {
            xs: Array3::zeros((0, 0, 0)),
            gates: Array3::zeros((0, 0, 0)),
            gh_n: Array3::zeros((0, 0, 0)),
            hs: Array3::zeros((0, 0, 0)),
            gh: Array2::zeros((0, 0)),
            bias: Array1::zeros(0),
            w_ih_t: Panels::default(),
            w_hh_t: Panels::default(),
        }
    }
}

impl<F: FastReal> FastGruCache<F> {
    /// The outputs $h_1, \dots, h_T$: (T, B, H).
    pub fn hs(&self) -> ArrayView3<'_, F> {
        self.hs.slice(s![1.., .., ..])
    }
    /// The bytes this cache holds: $T B (D + 5H)$ scalars, the initial state, one step's
    /// products, the biases and the packed weights.
    pub fn bytes(&self) -> usize {
        let n = self.xs.len()
            + self.gates.len()
            + self.gh_n.len()
            + self.hs.len()
            + self.gh.len()
            + self.bias.len()
            + self.w_ih_t.len()
            + self.w_hh_t.len();
        n * std::mem::size_of::<F>()
    }
}

/// The gradients and workspaces of [`FastGru::backward_into`]; reused across calls.
#[derive(Clone, Debug)]
pub struct FastGruBackward<F> {
    /// The parameter gradients, named as the parameters.
    pub grads: GruGrads<F>,
    /// $\partial L/\partial x_t$: (T, B, D), when asked for.
    pub dxs: Option<Array3<F>>,
    /// $\partial L/\partial h_0$: (B, H).
    pub dh0: Array2<F>,
    /// The total $\partial L/\partial h_t$ at every step: (T, B, H).
    pub dhs: Array3<F>,
    dgh: Array3<F>,   // (T, B, 3H)  dL/d(h_{t-1} W_hh^T + b_hh): da_r, da_z, r ⊙ da_n
    dgx_n: Array3<F>, // (T, B, H)  dL/d(the candidate's input half): da_n
    w_hh: Panels<F>,  // W_hh (3H, H), packed for the product of every step
    grad_ws: GradWorkspace<F>,
}

impl<F: FastReal> Default for FastGruBackward<F> {
    fn default() -> Self {
        FastGruBackward {
            grads: GruGrads {
                w_ih: Array2::zeros((0, 0)),
                w_hh: Array2::zeros((0, 0)),
                b_ih: Array1::zeros(0),
                b_hh: Array1::zeros(0),
            },
            dxs: None,
            dh0: Array2::zeros((0, 0)),
            dhs: Array3::zeros((0, 0, 0)),
            dgh: Array3::zeros((0, 0, 0)),
            dgx_n: Array3::zeros((0, 0, 0)),
            w_hh: Panels::default(),
            grad_ws: GradWorkspace::default(),
        }
    }
}

impl<F: FastReal> FastGru<F> {
    /// A new layer drawn exactly as [`Gru::new`] draws it; the form must be reset-after.
    pub fn new(config: &GruConfig) -> Result<Self> {
        FastGru::from_gru(&Gru::new(config)?)
    }

    /// The fast form of `gru`, which must be [`GruForm::ResetAfter`] (PyTorch's and
    /// cuDNN's); the reset-before form is a configuration error.
    pub fn from_gru(gru: &Gru<F>) -> Result<Self> {
        require(
            gru.form == GruForm::ResetAfter,
            "form",
            format!(
                "the fast path computes the reset-after GRU (PyTorch's nn.GRU) only, got {:?}",
                gru.form
            ),
        )?;
        Ok(FastGru {
            w_ih: gru.w_ih.clone(),
            w_hh: gru.w_hh.clone(),
            b_ih: gru.b_ih.clone(),
            b_hh: gru.b_hh.clone(),
        })
    }

    /// The readable [`Gru`] with these parameters.
    pub fn to_gru(&self) -> Result<Gru<F>> {
        self.check_params()?;
        Ok(Gru {
            w_ih: self.w_ih.clone(),
            w_hh: self.w_hh.clone(),
            b_ih: self.b_ih.clone(),
            b_hh: self.b_hh.clone(),
            form: GruForm::ResetAfter,
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

    /// The public fields can be replaced: check they still fit together.
    fn check_params(&self) -> Result<()> {
        let (d, h) = (self.input_size(), self.hidden_size());
        let gates = ("3H", Some(3 * h));
        check_shape("w_ih", self.w_ih.shape(), &[gates, ("D", Some(d))])?;
        check_shape("w_hh", self.w_hh.shape(), &[gates, ("H", Some(h))])?;
        check_shape("b_ih", self.b_ih.shape(), &[gates])?;
        check_shape("b_hh", self.b_hh.shape(), &[gates])
    }

    // ANCHOR: forward
    /// Runs the GRU over `xs` (T, B, D) from `h0` (B, H), writing everything the backward
    /// pass needs into `cache` (reallocated only if the shapes changed).
    pub fn forward_into(
        &self,
        xs: ArrayView3<F>,
        h0: ArrayView2<F>,
        cache: &mut FastGruCache<F>,
    ) -> Result<()> {
        self.check_params()?;
        let batch = check_sequence_input(&xs, self.input_size())?;
        check_state("h0", &h0, batch, self.hidden_size())?;
        let (t_len, _, d) = xs.dim();
        let h = self.hidden_size();
        let FastGruCache {
            xs: xs_c,
            gates,
            gh_n,
            hs,
            gh,
            bias,
            w_ih_t,
            w_hh_t,
        } = cache;
        fit(xs_c, (t_len, batch, d));
        fit(gates, (t_len, batch, 3 * h));
        fit(gh_n, (t_len, batch, h));
        fit(hs, (t_len + 1, batch, h));
        fit(gh, (batch, 3 * h));
        fit(bias, 3 * h);
        xs_c.assign(&xs);
        hs.index_axis_mut(Axis(0), 0).assign(&h0);
        w_ih_t.pack(self.w_ih.t());
        w_hh_t.pack(self.w_hh.t());

        // The reset and update gates add both their biases before any product, so they
        // can be added once here; the candidate's b_hn sits inside r_t ⊙ (...) and is
        // added at every step by the gate loop.
        bias.assign(&self.b_ih);
        let (mut b_rz, _) = bias.view_mut().split_at(Axis(0), 2 * h);
        b_rz += &self.b_hh.slice(s![..2 * h]);
        // x_t W_ih^T + b_ih (+ b_hr, b_hz) for every step: one (T·B, D)·(D, 3H) product.
        let gx_flat = flat_mut(gates.view_mut()); // (T·B, 3H)
        product_split(
            flat(xs_c.view()),
            self.w_ih.t(),
            w_ih_t,
            Some(bias.view()),
            gx_flat,
        );

        // Each part of the batch runs the whole sequence on its own thread, as the LSTM's.
        let n = parts(batch, 2.0 * (t_len * batch * h * 3 * h) as f64);
        let mut jobs = Vec::with_capacity(n);
        let mut hs = split_n(hs.view_mut(), Axis(1), n).into_iter();
        let mut gates = split_n(gates.view_mut(), Axis(1), n).into_iter();
        let mut gh_n = split_n(gh_n.view_mut(), Axis(1), n).into_iter();
        let mut gh = split_n(gh.view_mut(), Axis(0), n).into_iter();
        for _ in 0..n {
            jobs.push(ForwardPart {
                hs: hs.next().expect("n parts"),
                gates: gates.next().expect("n parts"),
                gh_n: gh_n.next().expect("n parts"),
                gh: gh.next().expect("n parts"),
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
            mut gates,
            mut gh_n,
            mut gh,
        } = part;
        let b_hn = slice(self.b_hh.slice(s![2 * self.hidden_size()..])); // (H,)
        for t in 0..gates.len_of(Axis(0)) {
            let (h_done, mut h_rest) = hs.view_mut().split_at(Axis(0), t + 1);
            let h_prev = h_done.index_axis(Axis(0), t); // (B, H)
            let h_t = h_rest.index_axis_mut(Axis(0), 0); // (B, H)
            let g_t = gates.index_axis_mut(Axis(0), t); // (B, 3H)  input halves in, gates out
            let gh_n_t = gh_n.index_axis_mut(Axis(0), t); // (B, H)

            // All three recurrent halves in one product, h_{t-1} W_hh^T (B, 3H), written
            // over the last step's.
            product(h_prev, self.w_hh.t(), w_hh_t, &mut gh, Out::Set);
            cells_forward(g_t, gh.view(), b_hn, h_prev, gh_n_t, h_t);
        }
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Full BPTT, given `dhs` (T, B, H) from the layers above; as
    /// [`super::FastLstm::backward_into`].
    pub fn backward_into(
        &self,
        cache: &FastGruCache<F>,
        dhs: ArrayView3<F>,
        input_grads: bool,
        out: &mut FastGruBackward<F>,
    ) -> Result<()> {
        self.check_params()?;
        let (t_len, batch, d) = cache.xs.dim();
        let h = self.hidden_size();
        let any = ("T", None);
        check_shape(
            "cache",
            cache.xs.shape(),
            &[any, ("B", None), ("D", Some(self.input_size()))],
        )?;
        check_shape(
            "cache",
            cache.gates.shape(),
            &[any, ("B", None), ("3H", Some(3 * h))],
        )?;
        check_shape("dhs", dhs.shape(), &dims3((t_len, batch, h)))?;
        let FastGruBackward {
            grads,
            dxs,
            dh0: dh_next,
            dhs: dh_total,
            dgh,
            dgx_n,
            w_hh,
            grad_ws,
        } = out;
        fit(dh_next, (batch, h)); // (B, H)  dL/dh_{t-1} through step t; at the end, dL/dh_0
        fit(dh_total, (t_len, batch, h)); // (T, B, H)
        fit(dgh, (t_len, batch, 3 * h)); // (T, B, 3H)
        fit(dgx_n, (t_len, batch, h)); // (T, B, H)
        dh_next.fill(F::zero());
        w_hh.pack(self.w_hh.view());
        {
            // Back through time, each part of the batch on its own thread, as forward.
            let n = parts(batch, 2.0 * (t_len * batch * h * 3 * h) as f64);
            let mut jobs = Vec::with_capacity(n);
            let mut dhs = split_n(dhs.view(), Axis(1), n).into_iter();
            let mut gates = split_n(cache.gates.view(), Axis(1), n).into_iter();
            let mut gh_n = split_n(cache.gh_n.view(), Axis(1), n).into_iter();
            let mut hs = split_n(cache.hs.view(), Axis(1), n).into_iter();
            let mut dh_total = split_n(dh_total.view_mut(), Axis(1), n).into_iter();
            let mut dgh = split_n(dgh.view_mut(), Axis(1), n).into_iter();
            let mut dgx_n = split_n(dgx_n.view_mut(), Axis(1), n).into_iter();
            let mut dh_next = split_n(dh_next.view_mut(), Axis(0), n).into_iter();
            for _ in 0..n {
                jobs.push(BackwardPart {
                    dhs: dhs.next().expect("n parts"),
                    gates: gates.next().expect("n parts"),
                    gh_n: gh_n.next().expect("n parts"),
                    hs: hs.next().expect("n parts"),
                    dh_total: dh_total.next().expect("n parts"),
                    dgh: dgh.next().expect("n parts"),
                    dgx_n: dgx_n.next().expect("n parts"),
                    dh_next: dh_next.next().expect("n parts"),
                });
            }
            let w_hh = &*w_hh;
            run_parts(jobs, |part| self.recur_backward(w_hh, part));
        }
        self.param_grads(cache, dgh.view(), dgx_n.view(), grads, grad_ws);
        if input_grads {
            let dx = dxs.get_or_insert_with(|| Array3::zeros((0, 0, 0)));
            fit(dx, (t_len, batch, d));
            // dL/dx_t = (da_r, da_z, da_n) W_ih for every step at once, (T·B, 3H)·(3H, D),
            // in two parts of K: the gates' errors are the first 2H columns of dgh.
            let (w_ih_rz, w_ih_n) = self.w_ih.view().split_at(Axis(0), 2 * h);
            let mut dx = flat_mut(dx.view_mut()); // (T·B, D)
            let da_rz = flat(dgh.view()).slice_move(s![.., ..2 * h]); // (T·B, 2H)
            general_mat_mul(F::one(), &da_rz, &w_ih_rz, F::zero(), &mut dx);
            general_mat_mul(F::one(), &flat(dgx_n.view()), &w_ih_n, F::one(), &mut dx);
        } else {
            *dxs = None;
        }
        Ok(())
    }

    /// The sequential loop of the backward pass, for the rows of one part of the batch.
    fn recur_backward(&self, w_hh: &Panels<F>, part: BackwardPart<'_, F>) {
        let BackwardPart {
            dhs,
            gates,
            gh_n,
            hs,
            mut dh_total,
            mut dgh,
            mut dgx_n,
            mut dh_next,
        } = part;
        for t in (0..dgh.len_of(Axis(0))).rev() {
            let dhs_t = dhs.index_axis(Axis(0), t); // (B, H)  from the layers above
            let dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)  set to dhs_t + dh_next
            let g_t = gates.index_axis(Axis(0), t); // (B, 3H)
            let gh_n_t = gh_n.index_axis(Axis(0), t); // (B, H)
            let h_prev = hs.index_axis(Axis(0), t); // (B, H)
            let mut dgh_t = dgh.index_axis_mut(Axis(0), t); // (B, 3H)
            let dgx_n_t = dgx_n.index_axis_mut(Axis(0), t); // (B, H)
            cells_backward(
                g_t,
                gh_n_t,
                h_prev,
                (dhs_t, dh_t),
                dgh_t.view_mut(),
                dgx_n_t,
                dh_next.view_mut(),
            );

            // dL/dh_{t-1} = dh_t ⊙ z_t (set above) + dgh_t W_hh: one (B, 3H)·(3H, H)
            // product, as the LSTM's (B, 4H)·(4H, H).
            product(dgh_t.view(), self.w_hh.view(), w_hh, &mut dh_next, Out::Add);
        }
    }
    // ANCHOR_END: backward

    // ANCHOR: param_grads
    /// As the LSTM's: each weight gradient is one product over all T·B rows,
    /// $\partial L/\partial W_{hh} = G_h'^\top H_{prev}$, $\partial L/\partial W_{ih} =
    /// G_x'^\top X$, and the biases are the column sums of $G_h'$ and $G_x'$. The two error
    /// matrices differ only in the candidate's block ($r_t \odot a_n'$ against $a_n'$), so
    /// the backward pass keeps $G_h'$ and that one block of $G_x'$, and the products read
    /// the shared blocks once.
    fn param_grads(
        &self,
        cache: &FastGruCache<F>,
        dgh: ArrayView3<F>,
        dgx_n: ArrayView3<F>,
        grads: &mut GruGrads<F>,
        ws: &mut GradWorkspace<F>,
    ) {
        let (t_len, _, _) = dgh.dim();
        let h = self.hidden_size();
        fit(&mut grads.w_ih, self.w_ih.raw_dim()); // (3H, D)
        fit(&mut grads.w_hh, self.w_hh.raw_dim()); // (3H, H)
        fit(&mut grads.b_ih, 3 * h); // (3H,)
        fit(&mut grads.b_hh, 3 * h); // (3H,)
        let h_prev = flat(cache.hs.slice(s![..t_len, .., ..])); // (T·B, H)
        let xs = flat(cache.xs.view()); // (T·B, D)
        let (w_ih_rz, w_ih_n) = grads.w_ih.view_mut().split_at(Axis(0), 2 * h);
        let (_, b_ih_n) = grads.b_ih.view_mut().split_at(Axis(0), 2 * h);
        // Both products in one hand-off to the threads, which share out the panels of both.
        weight_grads_of(
            vec![
                // The reset and update gates get the same error through both halves, so
                // W_ih's first 2H rows take the first 2H columns of the recurrent halves'.
                GradTask {
                    errors: flat(dgh.view()), // (T·B, 3H)
                    pairs: vec![(h_prev, grads.w_hh.view_mut()), (xs, w_ih_rz)],
                    bias: grads.b_hh.view_mut(),
                },
                // The candidate's input half is not scaled by r: its own errors, da_n.
                GradTask {
                    errors: flat(dgx_n.view()), // (T·B, H)
                    pairs: vec![(xs, w_ih_n)],
                    bias: b_ih_n,
                },
            ],
            ws,
        );
        let b_rz = grads.b_hh.slice(s![..2 * h]);
        grads.b_ih.slice_mut(s![..2 * h]).assign(&b_rz);
    }
    // ANCHOR_END: param_grads
}

/// The rows of one part of the batch that the forward recurrence writes.
struct ForwardPart<'a, F> {
    hs: ArrayViewMut3<'a, F>,    // (T+1, b, H)
    gates: ArrayViewMut3<'a, F>, // (T, b, 3H)  input halves in, gates out
    gh_n: ArrayViewMut3<'a, F>,  // (T, b, H)
    gh: ArrayViewMut2<'a, F>,    // (b, 3H)  one step's recurrent products
}

/// The rows of one part of the batch that the backward recurrence reads and writes.
struct BackwardPart<'a, F> {
    dhs: ArrayView3<'a, F>,         // (T, b, H)  from the layers above
    gates: ArrayView3<'a, F>,       // (T, b, 3H)
    gh_n: ArrayView3<'a, F>,        // (T, b, H)
    hs: ArrayView3<'a, F>,          // (T+1, b, H)
    dh_total: ArrayViewMut3<'a, F>, // (T, b, H)
    dgh: ArrayViewMut3<'a, F>,      // (T, b, 3H)
    dgx_n: ArrayViewMut3<'a, F>,    // (T, b, H)
    dh_next: ArrayViewMut2<'a, F>,  // (b, H)
}

multiversion! {
    /// [`cell_forward`] for every example of a step.
    fn cells_forward<F: FastReal>(
        g_t: ArrayViewMut2<F>,
        gh: ArrayView2<F>,
        b_hn: &[F],
        h_prev: ArrayView2<F>,
        gh_n_t: ArrayViewMut2<F>,
        h_t: ArrayViewMut2<F>,
    ) {
        let (mut g_t, mut gh_n_t, mut h_t) = (g_t, gh_n_t, h_t);
        for b in 0..g_t.nrows() {
            cell_forward(
                slice_mut(g_t.row_mut(b)),
                slice(gh.row(b)),
                b_hn,
                slice(h_prev.row(b)),
                slice_mut(gh_n_t.row_mut(b)),
                slice_mut(h_t.row_mut(b)),
            );
        }
    }
}

multiversion! {
    /// [`cell_backward`] for every example of a step.
    fn cells_backward<F: FastReal>(
        g_t: ArrayView2<F>,
        gh_n_t: ArrayView2<F>,
        h_prev: ArrayView2<F>,
        dh_t: (ArrayView2<F>, ArrayViewMut2<F>),
        dgh_t: ArrayViewMut2<F>,
        dgx_n_t: ArrayViewMut2<F>,
        dh_next: ArrayViewMut2<F>,
    ) {
        let (dhs_t, mut dh_t) = dh_t;
        let (mut dgh_t, mut dgx_n_t, mut dh_next) = (dgh_t, dgx_n_t, dh_next);
        for b in 0..dgh_t.nrows() {
            cell_backward(
                slice(g_t.row(b)),
                slice(gh_n_t.row(b)),
                slice(h_prev.row(b)),
                (slice(dhs_t.row(b)), slice_mut(dh_t.row_mut(b))),
                slice_mut(dgh_t.row_mut(b)),
                slice_mut(dgx_n_t.row_mut(b)),
                slice_mut(dh_next.row_mut(b)),
            );
        }
    }
}

// ANCHOR: cell_forward
/// One example's gates, in place: `g` (3H) holds the input halves $x_t W_{ih}^\top +
/// b_{ih}$ (and $b_{hr}$, $b_{hz}$) on entry and $r, z, n$ on exit; `gh` (3H) holds the
/// recurrent products $h_{t-1} W_{hh}^\top$, to which the candidate's adds `b_hn` (H).
/// Writes the candidate's recurrent half (kept for the backward pass) and $h_t$. Blocks
/// of [`LANES`] units in local arrays, as the LSTM's.
///
/// Two passes over the blocks: the gates of every block, then the candidates and $h_t$.
/// A candidate waits for its reset gate's exponential, and in one pass each block's
/// candidate would wait right behind its own gate; with the gates of all blocks first,
/// the processor has many independent exponentials to overlap in each pass.
#[inline(always)]
fn cell_forward<F: FastReal>(
    g: &mut [F],
    gh: &[F],
    b_hn: &[F],
    h_prev: &[F],
    gh_n: &mut [F],
    h: &mut [F],
) {
    let m = h.len();
    let (gr, rest) = g.split_at_mut(m);
    let (gz, gn) = rest.split_at_mut(m);
    let (ghr, rest) = gh.split_at(m);
    let (ghz, ghn) = rest.split_at(m);
    let one = F::one();
    for j0 in (0..m).step_by(LANES) {
        let at = j0..(j0 + LANES).min(m);
        let (mut r, mut z) = (lanes(&gr[at.clone()]), lanes(&gz[at.clone()]));
        let (hr, hz) = (lanes(&ghr[at.clone()]), lanes(&ghz[at.clone()]));
        for j in 0..LANES {
            r[j] = (r[j] + hr[j]).fast_sigmoid();
            z[j] = (z[j] + hz[j]).fast_sigmoid();
        }
        store(&mut gr[at.clone()], &r);
        store(&mut gz[at], &z);
    }
    for j0 in (0..m).step_by(LANES) {
        let at = j0..(j0 + LANES).min(m);
        let (r, z, mut n) = (
            lanes(&gr[at.clone()]),
            lanes(&gz[at.clone()]),
            lanes(&gn[at.clone()]),
        );
        let (mut hn, b_n, hp) = (
            lanes(&ghn[at.clone()]),
            lanes(&b_hn[at.clone()]),
            lanes(&h_prev[at.clone()]),
        );
        let mut ht = [F::zero(); LANES];
        for j in 0..LANES {
            hn[j] += b_n[j];
            n[j] = (n[j] + r[j] * hn[j]).fast_tanh();
            ht[j] = (one - z[j]) * n[j] + z[j] * hp[j];
        }
        store(&mut gn[at.clone()], &n);
        store(&mut gh_n[at.clone()], &hn);
        store(&mut h[at], &ht);
    }
}
// ANCHOR_END: cell_forward

// ANCHOR: cell_backward
/// One example backwards, mirroring [`cell_forward`]. `dh_next` holds $\partial
/// L/\partial h_t$ through the later steps; with `dhs` (from the layers above) it makes
/// the total, written to `dh_total`. From it, writes the errors on the recurrent halves
/// (`dgh`: $a_r', a_z', r_t \odot a_n'$) and on the candidate's input half (`dgx_n`: $a_n'$;
/// the reset and update gates' input halves have the same errors as their recurrent
/// halves), and sets `dh_next` to the direct path into $h_{t-1}$, $\partial L/\partial h_t
/// \odot z_t$ (the product through $W_{hh}$ is added by the caller).
#[inline(always)]
fn cell_backward<F: FastReal>(
    g: &[F],
    gh_n: &[F],
    h_prev: &[F],
    (dhs, dh_total): (&[F], &mut [F]),
    dgh: &mut [F],
    dgx_n: &mut [F],
    dh_next: &mut [F],
) {
    let m = dh_total.len();
    let (gr, rest) = g.split_at(m);
    let (gz, gn) = rest.split_at(m);
    let (dhr, rest) = dgh.split_at_mut(m);
    let (dhz, dhn) = rest.split_at_mut(m);
    let one = F::one();
    for j0 in (0..m).step_by(LANES) {
        let at = j0..(j0 + LANES).min(m);
        let (r, z, n) = (
            lanes(&gr[at.clone()]),
            lanes(&gz[at.clone()]),
            lanes(&gn[at.clone()]),
        );
        let (hn, hp) = (lanes(&gh_n[at.clone()]), lanes(&h_prev[at.clone()]));
        let (above, later) = (lanes(&dhs[at.clone()]), lanes(&dh_next[at.clone()]));
        let mut d = [F::zero(); LANES];
        let mut out = [[F::zero(); LANES]; 5]; // da_r, da_z, r ⊙ da_n, da_n, dh_prev
        for j in 0..LANES {
            d[j] = above[j] + later[j];
            // h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
            let da_z = d[j] * (hp[j] - n[j]) * (z[j] * (one - z[j]));
            let da_n = d[j] * (one - z[j]) * (one - n[j] * n[j]);
            // a_n = x W_in^T + b_in + r ⊙ gh_n
            let da_r = da_n * hn[j] * (r[j] * (one - r[j]));
            out[0][j] = da_r;
            out[1][j] = da_z;
            out[2][j] = da_n * r[j];
            out[3][j] = da_n;
            out[4][j] = d[j] * z[j];
        }
        store(&mut dhr[at.clone()], &out[0]);
        store(&mut dhz[at.clone()], &out[1]);
        store(&mut dhn[at.clone()], &out[2]);
        store(&mut dgx_n[at.clone()], &out[3]);
        store(&mut dh_total[at.clone()], &d);
        store(&mut dh_next[at], &out[4]);
    }
}
// ANCHOR_END: cell_backward

impl<F: FastReal> Recurrent<F> for FastGru<F> {
    type State = Array2<F>;
    type Cache = FastGruCache<F>;
    type Grads = GruGrads<F>;

    fn input_size(&self) -> usize {
        FastGru::input_size(self)
    }
    fn hidden_size(&self) -> usize {
        FastGru::hidden_size(self)
    }
    fn zero_state(&self, batch: usize) -> Array2<F> {
        Array2::zeros((batch, FastGru::hidden_size(self)))
    }
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &Array2<F>) -> Result<FastGruCache<F>> {
        let mut cache = FastGruCache::default();
        self.forward_into(xs, s0.view(), &mut cache)?;
        Ok(cache)
    }
    fn outputs<'c>(&self, cache: &'c FastGruCache<F>) -> ArrayView3<'c, F> {
        cache.hs()
    }
    fn final_state(&self, cache: &FastGruCache<F>) -> Array2<F> {
        let last = cache.hs.len_of(Axis(0)) - 1;
        cache.hs.index_axis(Axis(0), last).to_owned()
    }
    fn backward_seq(
        &self,
        cache: &FastGruCache<F>,
        dhs: ArrayView3<F>,
    ) -> Result<Backward<F, GruGrads<F>, Array2<F>>> {
        let mut out = FastGruBackward::default();
        self.backward_into(cache, dhs, true, &mut out)?;
        let dxs = out
            .dxs
            .expect("backward_into fills dxs when input_grads is true");
        Ok(Backward {
            grads: out.grads,
            dxs,
            ds0: out.dh0,
            dhs: out.dhs,
        })
    }
}
