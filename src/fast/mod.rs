//! Fast paths for the standard LSTM and the reset-after GRU: the same models as
//! [`crate::lstm`] and [`crate::gru`] (same parameters, same names, same numbers up to
//! rounding), organised the way cuDNN and oneDNN organise them. The chapter "Making it
//! fast" explains each choice and measures it; `tests/fast_*.rs` check that the fast paths
//! agree with the readable ones to about 1e-12 in float64 and pass the gradient check.
//!
//! What changes against the readable layers:
//!
//! - **Workspaces.** [`FastLstm::forward_into`] and [`FastLstm::backward_into`] (and the
//!   GRU's) write into a cache and a gradient buffer the caller keeps, so a training loop
//!   allocates no array after its first step (only a few short lists per pass, one entry
//!   per thread, to hand out the work). The [`crate::Recurrent`] implementations
//!   allocate them fresh, so the fast layers also plug into
//!   [`crate::train::SequenceModel::with_cell`] unchanged.
//! - **Padded state.** $h_0, h_1, \dots, h_T$ live in one (T+1, B, H) array (and so do the
//!   LSTM's cells), so "the previous states of every step" is one contiguous slice and the
//!   gradient of `w_hh` is one matrix multiply over all time steps.
//! - **Packed weights.** The recurrent weight is the same at every step, so it is packed
//!   once per pass into the column panels a micro-kernel reads ([`Panels`]); the product of
//!   each step runs on that kernel (AVX-512 in float32 where the processor has it), with no
//!   per-step packing. Without AVX-512, small batches use the portable packed kernel and
//!   large ones the general matrix multiply.
//! - **Vector element-wise code.** The gate loops go over blocks of [`LANES`] units held in
//!   local arrays, and are compiled twice, for AVX-512 and the baseline, chosen at run time.
//! - **Threads.** The recurrence splits the batch across threads (each runs the whole
//!   sequence for its rows), the weight gradients split the columns of the errors, and the
//!   threads are kept from one hand-off to the next ([`pool`]).
//! - **Cheaper nonlinearities in float32.** [`FastReal`] gives `f32` a branch-free
//!   exponential that the compiler vectorises, and keeps `f64` on the exact functions of
//!   [`crate::activations`], so float64 gradient checks see the same numbers as the
//!   readable path.

/// Defines a function whose body is compiled twice, for AVX-512 and for the baseline
/// target, and picks one at run time: the same source, two machine codes. The baseline
/// x86-64 target has SSE2, four float32 lanes per instruction; AVX-512 has sixteen, and
/// with the element-wise loops of the fast layers written to vectorise (no branch, no
/// call), the compiler uses all of them. The body must inline completely (helpers marked
/// `#[inline(always)]`), or the called code stays baseline.
// ANCHOR: multiversion
macro_rules! multiversion {
    ($(#[$attr:meta])* fn $name:ident<F: FastReal>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$attr])*
        fn $name<F: FastReal>($($arg: $ty),*) {
            #[inline(always)]
            fn body<F: FastReal>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq,avx512bw")]
            fn wide<F: FastReal>($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::fast::avx512() {
                // SAFETY: the processor has AVX-512F, checked just above.
                return unsafe { wide($($arg),*) };
            }
            body($($arg),*)
        }
    };
}
// ANCHOR_END: multiversion

mod gru;
mod lstm;
mod panels;
mod pool;

pub use gru::{FastGru, FastGruBackward, FastGruCache};
pub use lstm::{FastLstm, FastLstmBackward, FastLstmCache};
use panels::kernel_columns;
pub use panels::{Out, Panels, KC, MR, NR};

use crate::activations;
use crate::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{
    s, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3, Axis,
};

/// Whether the processor runs AVX-512F (the standard library checks once, then caches).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// A [`Real`] with the nonlinearities the fast paths use. Implemented for `f32` (a
/// vectorisable approximation, about 1e-7 absolute error) and `f64` (the exact functions
/// of [`crate::activations`]).
pub trait FastReal: Real {
    /// $\sigma(x)$.
    fn fast_sigmoid(self) -> Self;
    /// $\tanh(x)$.
    fn fast_tanh(self) -> Self;
    /// $e^x$ (the softmax of a language-model head needs it).
    fn fast_exp(self) -> Self;
    /// Whether this type has a vector micro-kernel on this processor (float32 with
    /// AVX-512), so that [`FastReal::packed_product`] does the product.
    fn has_vector_kernel() -> bool;
    /// `y += a · W` (or `y = a · W`, or `b + a · W`, as `out` says) with a vector
    /// micro-kernel for this type on this processor, if there is one; returns whether it did
    /// the product. `y` must be in standard layout, and may have fewer columns than W (it
    /// gets the first ones); `a` may be in any layout with non-negative strides (a
    /// transposed view included).
    fn packed_product(
        w: &Panels<Self>,
        a: ArrayView2<Self>,
        y: &mut ArrayViewMut2<Self>,
        out: Out<Self>,
    ) -> bool;
}

impl FastReal for f64 {
    fn fast_sigmoid(self) -> f64 {
        activations::sigmoid(self)
    }
    fn fast_tanh(self) -> f64 {
        activations::tanh(self)
    }
    fn fast_exp(self) -> f64 {
        self.exp()
    }
    fn has_vector_kernel() -> bool {
        false
    }
    fn packed_product(
        _: &Panels<f64>,
        _: ArrayView2<f64>,
        _: &mut ArrayViewMut2<f64>,
        _: Out<f64>,
    ) -> bool {
        false
    }
}

impl FastReal for f32 {
    #[inline(always)]
    fn fast_sigmoid(self) -> f32 {
        1.0 / (1.0 + exp_f32(-self))
    }
    #[inline(always)]
    fn fast_tanh(self) -> f32 {
        // tanh(x) = 1 - 2 / (e^{2x} + 1): one exponential and one division, no branch.
        // Near 0 this loses relative (not absolute) precision, which no network notices.
        1.0 - 2.0 / (exp_f32(2.0 * self) + 1.0)
    }
    #[inline(always)]
    fn fast_exp(self) -> f32 {
        exp_f32(self)
    }
    fn has_vector_kernel() -> bool {
        #[cfg(target_arch = "x86_64")]
        return avx512();
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }
    fn packed_product(
        w: &Panels<f32>,
        a: ArrayView2<f32>,
        y: &mut ArrayViewMut2<f32>,
        out: Out<f32>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            panels::avx512::product(w, a, y, out);
            return true;
        }
        false
    }
}

/// $e^x$ in float32 without a branch or a library call, so that a loop over a slice of
/// gate pre-activations compiles to SIMD instructions (libm's `expf` is a call per element).
///
/// Range reduction: $x = n \ln 2 + r$ with integer $n$ and $|r| \le \ln 2 / 2$, so
/// $e^x = 2^n e^r$. $n$ is rounded by adding and subtracting $1.5 \cdot 2^{23}$ (the float
/// unit rounds to the nearest integer for us, and $n$ can be read from the low bits),
/// $\ln 2$ is split in two constants so that $n \ln 2$ is subtracted exactly (Cody & Waite
/// 1980), $e^r$ is its Taylor polynomial to degree 7 (truncation error below
/// $0.35^8/8! \approx 5 \cdot 10^{-9}$, under float32's rounding), and $2^n$ is built in
/// the exponent bits. Inputs are clamped to $[-87, 88]$, where $2^n$ is a normal float.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23
    const LN2_HI: f32 = 0.693_145_75; // ln 2 to 16 bits, so n · LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6; // ln 2 - LN2_HI
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Estrin's scheme: the eight terms in pairs, the pairs joined by r² and r⁴, a tree three
    // multiply-adds deep where Horner's rule is a chain of seven. A gate waits on its
    // exponential (and the candidate, or the new cell, on a gate), so the chain's length,
    // not the number of operations, is the cost.
    let (r2, r4) = (r * r, (r * r) * (r * r));
    let low = (1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0));
    let high = (1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0));
    (low + r4 * high) * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// Rows (examples) below which a batch is not split across threads: the micro-kernel's
/// tile is [`MR`] rows, and a part smaller than that wastes most of each tile.
pub const MIN_ROWS_PER_THREAD: usize = MR;

/// How many threads the fast layers split a batch across. The recurrence of one example
/// never reads another's, so each thread runs the whole sequence for its own rows, with
/// one thread start per pass and no synchronisation per time step (cuDNN splits across
/// the batch within a step, which on a CPU would cost a hand-off between cores at every
/// step). Read once from `MATMUL_NUM_THREADS`, the variable ndarray's threaded matrix
/// multiply reads too, so that one setting governs both; if it is unset, the number of
/// cores with the crate's `threads` feature and one without it (tests and notebooks stay
/// single-threaded unless asked).
pub fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        let cores = || {
            if cfg!(feature = "threads") {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                1
            }
        };
        std::env::var("MATMUL_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(cores)
            .max(1)
    })
}

/// Floating-point operations below which a piece of work stays on one thread. Handing a
/// part to a kept worker thread and waiting for it costs about a microsecond (`cargo xtask
/// bench` measures it), what a core does in about 10⁵ FLOPs; ten times that keeps the
/// hand-off under a tenth of the part.
pub const MIN_FLOPS_PER_THREAD: f64 = 1e6;

/// Into how many parts to split `rows` rows of work costing `flops` in all: [`threads`],
/// but no part under [`MIN_ROWS_PER_THREAD`] rows or [`MIN_FLOPS_PER_THREAD`].
pub fn parts(rows: usize, flops: f64) -> usize {
    parts_of(rows / MIN_ROWS_PER_THREAD, flops)
}

/// [`threads`], but at most `most` parts and none under [`MIN_FLOPS_PER_THREAD`].
fn parts_of(most: usize, flops: f64) -> usize {
    let by_work = (flops / MIN_FLOPS_PER_THREAD) as usize;
    threads().min(most).min(by_work).max(1)
}

/// An array view that splits in two along an axis: ndarray's `ArrayView` and
/// `ArrayViewMut`, which have the method but share no trait for it.
pub(crate) trait Split: Sized {
    fn len_along(&self, axis: Axis) -> usize;
    fn split_in_two(self, axis: Axis, at: usize) -> (Self, Self);
}

impl<F, D: ndarray::RemoveAxis> Split for ndarray::ArrayView<'_, F, D> {
    fn len_along(&self, axis: Axis) -> usize {
        self.len_of(axis)
    }
    fn split_in_two(self, axis: Axis, at: usize) -> (Self, Self) {
        self.split_at(axis, at)
    }
}

impl<F, D: ndarray::RemoveAxis> Split for ndarray::ArrayViewMut<'_, F, D> {
    fn len_along(&self, axis: Axis) -> usize {
        self.len_of(axis)
    }
    fn split_in_two(self, axis: Axis, at: usize) -> (Self, Self) {
        self.split_at(axis, at)
    }
}

/// `a` cut along `axis` into `n` consecutive parts of nearly equal size.
pub(crate) fn split_n<V: Split>(a: V, axis: Axis, n: usize) -> Vec<V> {
    let len = a.len_along(axis);
    let bounds: Vec<usize> = (0..=n).map(|p| p * len / n).collect();
    split_at_bounds(a, axis, &bounds)
}

/// `a` cut along `axis` into the parts `bounds[p]..bounds[p + 1]` (`bounds` rising from 0
/// to the length of `a` along `axis`).
fn split_at_bounds<V: Split>(a: V, axis: Axis, bounds: &[usize]) -> Vec<V> {
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    let mut rest = a;
    for pair in bounds.windows(2) {
        let (part, tail) = rest.split_in_two(axis, pair[1] - pair[0]);
        out.push(part);
        rest = tail;
    }
    out
}

/// Runs `work` on every item of `jobs`, the first on this thread and each other on a
/// worker of the [`pool`] (threads kept from one call to the next), and returns when all
/// are done.
pub fn run_parts<J: Send>(jobs: Vec<J>, work: impl Fn(J) + Sync) {
    let n = jobs.len();
    // Each job is taken by exactly one part; the lock is uncontended.
    let slots: Vec<std::sync::Mutex<Option<J>>> = jobs
        .into_iter()
        .map(|j| std::sync::Mutex::new(Some(j)))
        .collect();
    pool::run(n, &|i| {
        let job = slots[i]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("each part runs once");
        work(job);
    });
}

/// Units per block of the element-wise loops: one AVX-512 register of float32.
pub(crate) const LANES: usize = 16;

/// Up to [`LANES`] numbers copied into a local block (zeros after them). A whole block
/// is copied with a length the compiler knows, so the copy is a vector move rather than a
/// call to `memcpy`.
#[inline(always)]
pub(crate) fn lanes<F: Real>(from: &[F]) -> [F; LANES] {
    let mut out = [F::zero(); LANES];
    match <&[F; LANES]>::try_from(from) {
        Ok(block) => out = *block,
        Err(_) => out[..from.len()].copy_from_slice(from),
    }
    out
}

/// Writes the first `to.len()` (at most [`LANES`]) numbers of a local block back; the
/// mirror of [`lanes`].
#[inline(always)]
pub(crate) fn store<F: Real>(to: &mut [F], block: &[F; LANES]) {
    match <&mut [F; LANES]>::try_from(&mut *to) {
        Ok(whole) => *whole = *block,
        Err(_) => {
            let w = to.len();
            to.copy_from_slice(&block[..w]);
        }
    }
}

/// Below this many rows, without a vector micro-kernel, [`product`] uses the portable
/// packed kernel instead of the general matrix multiply: at B = 1 a GEMM spends its time
/// packing panels, each packed number used once. Measured by `cargo xtask bench` (the
/// chapter "Making it fast"): at B = 1 a row-by-row product was 1.7× faster than the packed
/// GEMM, at B = 64 almost 7× slower; where between them the two cross was not measured, and
/// 4 is a cautious guess.
pub const SMALL_BATCH: usize = 4;

/// `y += a · w` (or `y = a · w`, or `b + a · w`, as `out` says) for `a` (M, K), `w` (K, N)
/// and `packed`, the same `w` packed into panels: the float32 AVX-512 micro-kernel where
/// there is one, otherwise the portable packed kernel for a few rows in standard layout and
/// the general (blocked, optionally threaded) multiply for the rest.
fn product<F: FastReal>(
    a: ArrayView2<F>,
    w: ArrayView2<F>,
    packed: &Panels<F>,
    y: &mut ArrayViewMut2<F>,
    out: Out<F>,
) {
    if F::packed_product(packed, a.view(), y, out) {
        return;
    }
    match out {
        Out::Add => {}
        Out::Set => y.fill(F::zero()),
        Out::Bias(b) => y
            .rows_mut()
            .into_iter()
            .for_each(|mut row| row.assign(&ndarray::aview1(b))),
    }
    if a.nrows() < SMALL_BATCH && a.is_standard_layout() {
        packed.times_add(a, y);
    } else {
        general_mat_mul(F::one(), &a, &w, F::one(), y);
    }
}

/// The buffers of [`weight_grads`]; the fast layers keep one in their backward workspaces.
#[derive(Clone, Debug)]
pub struct GradWorkspace<F> {
    parts: Vec<GradPart<F>>, // one per thread
}

impl<F> Default for GradWorkspace<F> {
    fn default() -> Self {
        GradWorkspace { parts: Vec::new() }
    }
}

/// One thread's buffers in [`weight_grads`].
#[derive(Clone, Debug)]
struct GradPart<F> {
    errors: Panels<F>, // dL/dz (T·B, its columns of G), packed
    grad_t: Vec<F>,    // (N, its columns of G)  a weight gradient, transposed
}

impl<F> Default for GradPart<F> {
    fn default() -> Self {
        GradPart {
            errors: Panels::default(),
            grad_t: Vec::new(),
        }
    }
}

// ANCHOR: weight_grads
/// One matrix of pre-activation errors and the weight gradients computed from it, for
/// [`weight_grads_of`].
pub struct GradTask<'a, F> {
    /// $\partial L/\partial z$: (T·B, G), rows contiguous.
    pub errors: ArrayView2<'a, F>,
    /// (inputs (T·B, N), grad (G', N)) pairs: `grad = errorsᵀ · inputs`. A `grad` with
    /// fewer rows than G (G' ≤ G) gets the first G' columns of the errors (the GRU's
    /// recurrent weight shares two of its three blocks of errors with its input weight).
    pub pairs: Vec<(ArrayView2<'a, F>, ArrayViewMut2<'a, F>)>,
    /// (G,), contiguous: set to the column sums of `errors`, the bias gradient.
    pub bias: ArrayViewMut1<'a, F>,
}

/// Weight gradients over all time steps at once: [`weight_grads_of`] for one matrix of
/// errors (T·B, G), its (inputs, grad) pairs and its bias gradient.
pub fn weight_grads<F: FastReal>(
    errors: ArrayView2<F>,
    pairs: &mut [(ArrayView2<F>, ArrayViewMut2<F>)],
    mut bias: ArrayViewMut1<F>,
    ws: &mut GradWorkspace<F>,
) {
    // The views borrowed for this call, so that all of them share one lifetime.
    let pairs = pairs
        .iter_mut()
        .map(|(x, d)| (x.view(), d.view_mut()))
        .collect();
    let task = GradTask {
        errors: errors.view(),
        pairs,
        bias: bias.view_mut(),
    };
    weight_grads_of(vec![task], ws);
}

/// Every [`GradTask`]: each gradient `grad = errorsᵀ · inputs`, each bias the column sums
/// of its errors, in one hand-off to the threads.
///
/// With a vector kernel, each gradient is computed transposed, $(\partial L/\partial
/// W)^\top = X^\top Z'$, which puts the long T·B dimension where the micro-kernel sums
/// over it; $X^\top$ is read in place (a transposed view). The columns of the errors are
/// shared out among the threads a panel at a time: each thread packs its own columns
/// (summing them for the bias on the way) and computes its own rows of every gradient, so
/// nothing runs on one thread alone. Without a vector kernel, the general matrix multiply.
pub fn weight_grads_of<F: FastReal>(tasks: Vec<GradTask<'_, F>>, ws: &mut GradWorkspace<F>) {
    let mut flops = 0;
    let mut panels = 0;
    for task in &tasks {
        let (tb, g) = task.errors.dim();
        assert_eq!(
            task.bias.len(),
            g,
            "bias has {} numbers, errors {g} columns",
            task.bias.len()
        );
        for (inputs, grad) in &task.pairs {
            assert!(
                grad.nrows() <= g && grad.ncols() == inputs.ncols(),
                "grad is {:?}, not (at most {g}, {})",
                grad.dim(),
                inputs.ncols()
            );
            flops += 2 * tb * grad.nrows() * inputs.ncols();
        }
        panels += g.div_ceil(NR);
    }
    if !F::has_vector_kernel() {
        for GradTask {
            errors,
            pairs,
            bias,
        } in tasks
        {
            for (inputs, mut grad) in pairs {
                let errors = errors.slice(s![.., ..grad.nrows()]);
                general_mat_mul(F::one(), &errors.t(), &inputs, F::zero(), &mut grad);
            }
            column_sums(errors, bias);
        }
        return;
    }
    let n = parts_of(panels, flops as f64);
    packed_weight_grads(tasks, ws, n);
}

/// [`weight_grads_of`] on the vector kernel, in `n` parts (a part may be empty), the first
/// on this thread and each other on a worker thread. The panels of all the tasks' errors,
/// in order, are cut into `n` runs of about the same cost.
fn packed_weight_grads<F: FastReal>(
    tasks: Vec<GradTask<'_, F>>,
    ws: &mut GradWorkspace<F>,
    n: usize,
) {
    // (task, first column, cost) of every panel. A panel costs the multiply-adds of every
    // gradient that uses it (only the first ones, for a gradient of G' rows; a last panel
    // of at most 16 columns takes the kernel half the work of a full one), and its packing.
    let mut units: Vec<(usize, usize, usize)> = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let g = task.errors.ncols();
        for c0 in (0..g).step_by(NR) {
            let kernel: usize = task
                .pairs
                .iter()
                .filter(|(_, grad)| c0 < grad.nrows())
                .map(|(x, grad)| kernel_columns(NR.min(grad.nrows() - c0)) * x.ncols())
                .sum();
            units.push((i, c0, kernel + NR.min(g - c0)));
        }
    }
    // cuts[p]: the first panel of part p, where the running cost comes nearest p/n of it all.
    let total: usize = units.iter().map(|u| u.2).sum();
    let mut cuts = vec![0];
    let (mut u, mut done) = (0, 0);
    for p in 1..n {
        while u < units.len() && (done + units[u].2 / 2) * n < total * p {
            done += units[u].2;
            u += 1;
        }
        cuts.push(u);
    }
    cuts.push(units.len());
    ws.parts.resize_with(n, GradPart::default);
    let mut pieces: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let g = task.errors.ncols();
        // This task's columns before each cut.
        let bounds: Vec<usize> = cuts
            .iter()
            .map(|&u| match units.get(u) {
                Some(&(j, c0, _)) if j == i => c0,
                Some(&(j, _, _)) if j < i => 0,
                _ => g,
            })
            .collect();
        let mut grads: Vec<_> = task
            .pairs
            .into_iter()
            .map(|(x, grad)| {
                // A gradient of G' rows is cut at the same places, clipped to G'.
                let cut: Vec<usize> = bounds.iter().map(|&b| b.min(grad.nrows())).collect();
                (x, split_at_bounds(grad, Axis(0), &cut).into_iter())
            })
            .collect();
        let biases = split_at_bounds(task.bias, Axis(0), &bounds);
        for ((piece, bias), cols) in pieces.iter_mut().zip(biases).zip(bounds.windows(2)) {
            let rows: Vec<_> = grads
                .iter_mut()
                .map(|(x, rows)| (*x, rows.next().expect("one per part")))
                .collect();
            if cols[0] < cols[1] {
                piece.push((task.errors.slice_move(s![.., cols[0]..cols[1]]), bias, rows));
            }
        }
    }
    let jobs: Vec<_> = ws.parts.iter_mut().zip(pieces).collect();
    run_parts(jobs, |(part, pieces)| {
        for (errors, mut bias, rows) in pieces {
            // (T·B, its columns)
            let sums = bias.as_slice_mut().expect("a bias gradient is contiguous");
            part.errors.pack_summing(errors, sums);
            for (inputs, mut grad) in rows {
                if grad.is_empty() {
                    continue;
                }
                // (N, the columns of this part that the gradient has); the buffer keeps its
                // largest size, so gradients of different shapes do not reallocate it.
                let shape = (inputs.ncols(), grad.nrows());
                if part.grad_t.len() < shape.0 * shape.1 {
                    part.grad_t.resize(shape.0 * shape.1, F::zero());
                }
                let buffer = &mut part.grad_t[..shape.0 * shape.1];
                let mut grad_t = ArrayViewMut2::from_shape(shape, buffer).expect("sized above");
                F::packed_product(&part.errors, inputs.t(), &mut grad_t, Out::Set);
                grad.assign(&grad_t.t());
            }
        }
    });
}
// ANCHOR_END: weight_grads

/// `sums` = the sum of the rows of `a`: a bias gradient. Rows of `a` and `sums` are
/// contiguous (the workspaces' layout), so the inner loop is over two slices, which the
/// compiler vectorises.
fn column_sums<F: Real>(a: ArrayView2<F>, mut sums: ArrayViewMut1<F>) {
    let sums = sums.as_slice_mut().expect("a bias gradient is contiguous");
    sums.fill(F::zero());
    for row in a.rows() {
        for (s, &v) in sums.iter_mut().zip(slice(row)) {
            *s += v;
        }
    }
}

/// `y = bias + a · w` (`bias`, contiguous, broadcast over the rows; zero if `None`), with
/// the rows of `a` and `y` split across threads ([`parts`]); `packed` is `w` packed. The
/// input projection of a whole sequence, or a language-model head.
pub fn product_split<F: FastReal>(
    a: ArrayView2<F>,
    w: ArrayView2<F>,
    packed: &Panels<F>,
    bias: Option<ArrayView1<F>>,
    y: ArrayViewMut2<F>,
) {
    let (k, n) = w.dim();
    let parts = parts(a.nrows(), 2.0 * (a.nrows() * k * n) as f64);
    let jobs: Vec<_> = split_n(a, Axis(0), parts)
        .into_iter()
        .zip(split_n(y, Axis(0), parts))
        .collect();
    let out = match &bias {
        Some(b) => Out::Bias(b.as_slice().expect("a bias is contiguous")),
        None => Out::Set,
    };
    run_parts(jobs, |(a, mut y)| product(a, w, packed, &mut y, out));
}

/// Views a contiguous (T, B, N) array as (T·B, N): one matrix of all time steps' rows.
fn flat<F>(a: ArrayView3<'_, F>) -> ArrayView2<'_, F> {
    let (t, b, n) = a.dim();
    a.into_shape_with_order((t * b, n)).expect("contiguous")
}

/// [`flat`], mutable.
fn flat_mut<F>(a: ArrayViewMut3<'_, F>) -> ArrayViewMut2<'_, F> {
    let (t, b, n) = a.dim();
    a.into_shape_with_order((t * b, n)).expect("contiguous")
}

/// Replaces `a` by zeros of `shape` unless it has that shape already (then leaves it as
/// it is: every caller overwrites it). The new array starts on a cache-line boundary
/// (64 bytes): the threads split the workspaces by rows, and a boundary between two
/// threads' rows that fell inside a cache line would have both cores writing that line at
/// every time step.
fn fit<F: Real, D: ndarray::Dimension>(
    a: &mut ndarray::Array<F, D>,
    shape: impl ndarray::IntoDimension<Dim = D>,
) {
    let shape = shape.into_dimension();
    if a.raw_dim() != shape {
        let n = shape.size();
        let line = 64 / std::mem::size_of::<F>();
        let buffer = ndarray::Array1::<F>::zeros(n + line);
        let start = buffer.as_ptr().align_offset(64).min(line);
        *a = buffer
            .slice_move(s![start..start + n])
            .into_shape_with_order(shape)
            .expect("n numbers in that shape");
    }
}

/// A row of a standard-layout array as a slice.
fn slice<F>(row: ndarray::ArrayView1<'_, F>) -> &[F] {
    row.to_slice()
        .expect("rows of the workspaces are contiguous")
}

/// [`slice`], mutable.
fn slice_mut<F>(row: ndarray::ArrayViewMut1<'_, F>) -> &mut [F] {
    row.into_slice()
        .expect("rows of the workspaces are contiguous")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{rng, uniform};
    use ndarray::{Array1, Array2};

    /// The packed weight gradients, in one to four parts (panels split unevenly, a last
    /// panel partly padding, inputs read transposed in place, a gradient of only the first
    /// columns), against the general multiply; the bias against the column sums.
    #[test]
    fn packed_weight_grads_match_the_general_multiply_in_any_number_of_parts() {
        if !f32::has_vector_kernel() {
            return; // the packed path is the vector kernel's; without it, weight_grads is GEMM
        }
        let mut r = rng(5);
        for (tb, g, inputs) in [(50, 65, [7, 33]), (9, 100, [1, 64]), (130, 256, [65, 16])] {
            let errors = uniform::<f32>(tb, g, 1.0, &mut r);
            let xs: Vec<Array2<f32>> = inputs
                .iter()
                .map(|&n| uniform::<f32>(tb, n, 1.0, &mut r))
                .collect();
            for n in 1..=4 {
                // The second gradient takes only the first 40 columns of the errors.
                let rows = [g, 40];
                let mut grads: Vec<Array2<f32>> = inputs
                    .iter()
                    .zip(rows)
                    .map(|(&k, rows)| Array2::zeros((rows, k)))
                    .collect();
                let mut bias = Array1::zeros(g);
                let mut ws = GradWorkspace::default();
                let pairs: Vec<_> = xs
                    .iter()
                    .map(|x| x.view())
                    .zip(grads.iter_mut().map(|d| d.view_mut()))
                    .collect();
                let task = GradTask {
                    errors: errors.view(),
                    pairs,
                    bias: bias.view_mut(),
                };
                packed_weight_grads(vec![task], &mut ws, n);
                for ((x, grad), rows) in xs.iter().zip(&grads).zip(rows) {
                    let expected = errors.slice(s![.., ..rows]).t().dot(x);
                    let err = (grad - &expected)
                        .mapv(f32::abs)
                        .fold(0.0f32, |m, &v| m.max(v));
                    assert!(
                        err < 1e-4 * tb as f32,
                        "({tb}, {g}), {n} parts: error {err:e}"
                    );
                }
                let sums = errors.sum_axis(Axis(0));
                let err = (&bias - &sums)
                    .mapv(f32::abs)
                    .fold(0.0f32, |m, &v| m.max(v));
                assert!(err < 1e-4 * tb as f32, "bias, {n} parts: error {err:e}");
            }
        }
    }

    /// Two tasks in one hand-off, cut anywhere among their panels (inside the first, at
    /// the boundary, inside the second), give what each gives alone.
    #[test]
    fn weight_grads_of_two_tasks_match_each_alone() {
        if !f32::has_vector_kernel() {
            return;
        }
        let mut r = rng(7);
        let tb = 40;
        let (e1, e2) = (
            uniform::<f32>(tb, 100, 1.0, &mut r),
            uniform::<f32>(tb, 33, 1.0, &mut r),
        );
        let (x1, x2) = (
            uniform::<f32>(tb, 20, 1.0, &mut r),
            uniform::<f32>(tb, 50, 1.0, &mut r),
        );
        let alone = |e: &Array2<f32>, x: &Array2<f32>, rows: usize| {
            let mut grad = Array2::zeros((rows, x.ncols()));
            let mut bias = Array1::zeros(e.ncols());
            let mut ws = GradWorkspace::default();
            weight_grads(
                e.view(),
                &mut [(x.view(), grad.view_mut())],
                bias.view_mut(),
                &mut ws,
            );
            (grad, bias)
        };
        let (g1, b1) = alone(&e1, &x1, 100);
        let (g2a, b2) = alone(&e2, &x2, 33);
        let (g2b, _) = alone(&e2, &x1, 20);
        for n in 1..=5 {
            let (mut d1, mut d2a, mut d2b) = (
                Array2::zeros((100, 20)),
                Array2::zeros((33, 50)),
                Array2::zeros((20, 20)),
            );
            let (mut c1, mut c2) = (Array1::zeros(100), Array1::zeros(33));
            let tasks = vec![
                GradTask {
                    errors: e1.view(),
                    pairs: vec![(x1.view(), d1.view_mut())],
                    bias: c1.view_mut(),
                },
                GradTask {
                    errors: e2.view(),
                    pairs: vec![(x2.view(), d2a.view_mut()), (x1.view(), d2b.view_mut())],
                    bias: c2.view_mut(),
                },
            ];
            packed_weight_grads(tasks, &mut GradWorkspace::default(), n);
            assert_eq!(d1, g1, "{n} parts: the first task's gradient");
            assert_eq!((&d2a, &d2b), (&g2a, &g2b), "{n} parts: the second task's");
            assert_eq!((&c1, &c2), (&b1, &b2), "{n} parts: the biases");
        }
    }

    /// `product_split` sets y to the bias plus the product, or to the product alone.
    #[test]
    fn product_split_sets_the_bias_plus_the_product() {
        let mut r = rng(6);
        let (a, w) = (
            uniform::<f64>(20, 7, 1.0, &mut r),
            uniform::<f64>(7, 40, 1.0, &mut r),
        );
        let bias = uniform::<f64>(1, 40, 1.0, &mut r).row(0).to_owned();
        let mut packed = Panels::default();
        packed.pack(w.view());
        let mut y = Array2::from_elem((20, 40), 9.0);
        product_split(a.view(), w.view(), &packed, Some(bias.view()), y.view_mut());
        let expected = a.dot(&w) + &bias;
        assert!(
            (&y - &expected)
                .mapv(f64::abs)
                .fold(0.0f64, |m, &v| m.max(v))
                < 1e-12
        );
        product_split(a.view(), w.view(), &packed, None, y.view_mut());
        assert!(
            (&y - &a.dot(&w))
                .mapv(f64::abs)
                .fold(0.0f64, |m, &v| m.max(v))
                < 1e-12
        );
    }

    #[test]
    fn fitted_workspaces_start_on_a_cache_line() {
        for n in [1, 3, 17, 100, 4099] {
            let mut a = Array2::<f32>::zeros((0, 0));
            fit(&mut a, (n, 3));
            assert_eq!(a.as_ptr() as usize % 64, 0, "f32, {n} rows");
            assert!(a.is_standard_layout() && a.iter().all(|&v| v == 0.0));
            let mut b = ndarray::Array3::<f64>::zeros((0, 0, 0));
            fit(&mut b, (2, n, 5));
            assert_eq!(b.as_ptr() as usize % 64, 0, "f64, {n} rows");
        }
    }

    #[test]
    fn exp_f32_is_accurate_over_the_range_gates_use() {
        let mut worst = 0.0f64;
        for k in -8000..=8000 {
            let x = k as f32 * 0.01; // -80 .. 80
            let exact = f64::from(x).exp();
            let rel = ((f64::from(exp_f32(x)) - exact) / exact).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "max relative error {worst:e}");
    }

    #[test]
    fn fast_nonlinearities_match_the_exact_ones_in_absolute_terms() {
        for k in -2000..=2000 {
            let x = k as f32 * 0.01;
            let s = f64::from(x.fast_sigmoid()) - activations::sigmoid(f64::from(x));
            let t = f64::from(x.fast_tanh()) - f64::from(x).tanh();
            assert!(s.abs() < 2e-7 && t.abs() < 3e-7, "x = {x}: {s:e}, {t:e}");
        }
        assert_eq!(1000.0f32.fast_sigmoid(), 1.0);
        assert!((-1000.0f32).fast_sigmoid() < 1e-37);
        assert_eq!(1000.0f32.fast_tanh(), 1.0);
        assert_eq!((-1000.0f32).fast_tanh(), -1.0);
    }
}
