//! The recurrent product $y \mathrel{+}= a\,W$ for a weight $W$ that is used at every time
//! step: packed once into column panels, then multiplied by a micro-kernel whose
//! accumulators stay in registers and which the compiler vectorises for the widest vector
//! unit the processor has (AVX-512, else AVX2 with FMA, else the baseline).
//!
//! A general matrix multiply (GEMM) packs both operands into cache-friendly panels at every
//! call. That pays when each packed number is used many times, but the recurrent product
//! is a small (B, H)·(H, G·H) multiply repeated T times with the *same* weight: packing the
//! weight T times is wasted work (it was 14% of the fast LSTM's forward pass at (64, 100,
//! 256) under `matrixmultiply`), and at B = 1 it is most of the cost. cuDNN's persistent
//! kernels and oneDNN's RNN primitives avoid it the same way: the weight is laid out once,
//! in the order the kernel reads it (Appleyard, Kocisky & Blunsom 2016).
//!
//! The layout: the N columns of W (K, N) are cut into panels of [`NR`] columns, the last
//! padded with zeros; a panel stores its K rows one after the other, so the kernel reads
//! one panel from start to end, [`NR`] contiguous numbers per k. The micro-kernel computes a
//! tile of up to [`MR`] rows of $y$ by [`NR`] columns: for each k it loads one panel row and,
//! for each of its rows, broadcasts $a_{rk}$ and does [`NR`] multiply-adds into
//! accumulators that never leave the registers (8 × 2 of AVX-512's 32 vector registers in
//! float32).

use crate::Real;
use ndarray::{ArrayView2, ArrayViewMut2};

/// What a product does with the numbers already in its output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Out<'a, F> {
    /// `y += a · W`: the output holds another product to add to.
    Add,
    /// `y = a · W`: the output's old numbers are not read, which saves filling it with
    /// zeros first, a pass over `y` at every call.
    Set,
    /// `y = b + a · W`, `b` broadcast over the rows: the bias is added as the result is
    /// written, rather than filled in first and read back (for an input projection of a
    /// whole sequence, two passes over a (T·B, G·H) array).
    Bias(&'a [F]),
}

/// Columns per panel: two 16-lane AVX-512 registers of float32.
pub const NR: usize = 32;

/// The columns the vector kernel computes for a panel with `live` columns: a last panel
/// of at most half a panel ([`NR`]/2, one AVX-512 register) runs one register wide.
pub(crate) fn kernel_columns(live: usize) -> usize {
    if live <= NR / 2 {
        NR / 2
    } else {
        NR
    }
}

/// Rows per tile: 8 rows × 2 registers = 16 float32 accumulators, enough independent
/// multiply-add chains to hide their latency, few enough to leave registers for the panel
/// row being read.
pub const MR: usize = 8;

/// Rows of a panel per block: [`KC`] × [`NR`] float32 numbers are 32 KiB, the first-level
/// data cache of a core on the machine the chapter measures (128 rows measured no
/// different there).
pub const KC: usize = 256;

/// One row of a panel, [`NR`] numbers starting on a cache-line boundary (64 bytes), so
/// that none of the kernel's loads of a row straddles two lines. A plain `Vec<f32>` is
/// only 16-byte aligned by the allocator, and where its start fell decided whether every
/// load of the recurrent product touched one line or two: two copies of the same model
/// differed by 8% at batch 1.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
struct Row<F>([F; NR]);

/// A weight W (K, N) packed into column panels for [`Panels::times_add`].
#[derive(Clone, Debug, PartialEq)]
pub struct Panels<F> {
    rows: Vec<Row<F>>, // (⌈N/NR⌉ · K,)  panel by panel, row by row
    k: usize,
    n: usize,
}

impl<F> Default for Panels<F> {
    fn default() -> Self {
        Panels {
            rows: Vec::new(),
            k: 0,
            n: 0,
        }
    }
}

impl<F: Real> Panels<F> {
    /// The packed numbers as one slice, (⌈N/NR⌉, K, NR).
    fn values(&self) -> &[F] {
        const { assert!(std::mem::size_of::<Row<F>>() == NR * std::mem::size_of::<F>()) };
        // SAFETY: `Row<F>` is `repr(C)` around `[F; NR]` with no padding (asserted above), so
        // `rows` is `rows.len() · NR` initialised numbers of type F, one after the other.
        unsafe { std::slice::from_raw_parts(self.rows.as_ptr().cast(), self.rows.len() * NR) }
    }

    /// [`Panels::values`], to write.
    fn values_mut(&mut self) -> &mut [F] {
        const { assert!(std::mem::size_of::<Row<F>>() == NR * std::mem::size_of::<F>()) };
        // SAFETY: as in `values`, through the unique borrow of `rows`.
        unsafe {
            std::slice::from_raw_parts_mut(self.rows.as_mut_ptr().cast(), self.rows.len() * NR)
        }
    }

    /// Sizes the buffer for `panels` panels of K rows, reusing its memory.
    fn fit(&mut self, panels: usize) {
        self.rows.resize(panels * self.k, Row([F::zero(); NR]));
    }

    /// Packs `w` (K, N), any layout, reusing this buffer's memory. Every number of the
    /// buffer is written once, padding included (zeroing the buffer first would be a second
    /// pass over it: for the errors of a weight gradient, megabytes).
    pub fn pack(&mut self, w: ArrayView2<F>) {
        let (k, n) = w.dim();
        let panels = n.div_ceil(NR);
        self.k = k;
        self.n = n;
        self.fit(panels);
        if w.stride_of(ndarray::Axis(0)) == 1 && n > 1 && k > 0 {
            // Contiguous columns (W given as a transposed view, as the layers pass W^T):
            // read each column once, in memory order, and write it down its panel.
            for (p, panel) in self.values_mut().chunks_exact_mut(k * NR).enumerate() {
                for jj in 0..NR {
                    let j = p * NR + jj;
                    if j < n {
                        for (row, &v) in panel.chunks_exact_mut(NR).zip(w.column(j)) {
                            row[jj] = v;
                        }
                    } else {
                        panel
                            .chunks_exact_mut(NR)
                            .for_each(|row| row[jj] = F::zero());
                    }
                }
            }
            return;
        }
        for (kk, w_row) in w.rows().into_iter().enumerate() {
            match w_row.as_slice() {
                // A contiguous row (W in standard layout): a slice copy per panel.
                Some(row) => self.put_row(kk, row),
                None => {
                    for p in 0..panels {
                        let at = (p * k + kk) * NR;
                        for (j, to) in self.values_mut()[at..at + NR].iter_mut().enumerate() {
                            let col = p * NR + j;
                            *to = if col < n { w_row[col] } else { F::zero() };
                        }
                    }
                }
            }
        }
    }

    /// [`Panels::pack`] for a `w` whose rows are contiguous, also setting `sums` (N) to
    /// the sum of its rows, in the same pass over `w`: when `w` holds the pre-activation
    /// errors of a weight gradient, `sums` is the bias gradient.
    pub fn pack_summing(&mut self, w: ArrayView2<F>, sums: &mut [F]) {
        let (k, n) = w.dim();
        assert_eq!(
            sums.len(),
            n,
            "sums has {} numbers, w {n} columns",
            sums.len()
        );
        self.k = k;
        self.n = n;
        self.fit(n.div_ceil(NR));
        sums.fill(F::zero());
        for (kk, w_row) in w.rows().into_iter().enumerate() {
            let row = w_row.to_slice().expect("rows of w are contiguous");
            self.put_row(kk, row);
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += v;
            }
        }
    }

    /// Writes row `kk` of W (contiguous) into its place in every panel, padding included.
    fn put_row(&mut self, kk: usize, row: &[F]) {
        for (p, part) in row.chunks(NR).enumerate() {
            let at = (p * self.k + kk) * NR;
            let (values, padding) = self.values_mut()[at..at + NR].split_at_mut(part.len());
            values.copy_from_slice(part);
            padding.fill(F::zero());
        }
    }

    /// (K, N) of the packed weight.
    pub fn dim(&self) -> (usize, usize) {
        (self.k, self.n)
    }

    /// The scalars stored, padding included.
    pub fn len(&self) -> usize {
        self.rows.len() * NR
    }

    /// Whether nothing has been packed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `y += a · W` for `a` (M, K) and `y` (M, N), both in standard layout, with the
    /// portable micro-kernel: the readable form of the AVX-512 kernel below (and the
    /// reference it is tested against), and the fast layers' product for a few rows where
    /// there is no vector kernel ([`crate::fast::SMALL_BATCH`]).
    ///
    /// # Panics
    /// If the shapes do not fit the packed weight or a layout is not standard: the callers
    /// are the fast layers, which own every array passed here.
    pub fn times_add(&self, a: ArrayView2<F>, y: &mut ArrayViewMut2<F>) {
        let (a, y) = self.slices(a, y);
        times_add_body(self, a, y);
    }

    /// `a` and `y` as slices, after checking their shapes against the packed weight.
    fn slices<'a, 'y>(
        &self,
        a: ArrayView2<'a, F>,
        y: &'y mut ArrayViewMut2<'_, F>,
    ) -> (&'a [F], &'y mut [F]) {
        assert_eq!(
            a.ncols(),
            self.k,
            "a has {} columns, W has {} rows",
            a.ncols(),
            self.k
        );
        assert_eq!(
            y.dim(),
            (a.nrows(), self.n),
            "y is not (rows of a, columns of W)"
        );
        (
            a.to_slice().expect("a in standard layout"),
            y.as_slice_mut().expect("y in standard layout"),
        )
    }
}

/// Every panel against every tile of up to [`MR`] rows, [`KC`] rows of the panels at a
/// time. The panel loop is inside the K loop so that a block of a panel ([`KC`] × [`NR`]
/// numbers, 32 KiB in float32) stays in the first-level cache while the tiles go by, and
/// the K loop is outermost so that the rows of `a` it reads stay in the second level.
#[inline(always)]
fn times_add_body<F: Real>(w: &Panels<F>, a: &[F], y: &mut [F]) {
    let (k, n) = (w.k, w.n);
    if k == 0 || n == 0 {
        return;
    }
    let m = a.len() / k;
    for k0 in (0..k).step_by(KC) {
        let ks = k0..KC.min(k - k0) + k0;
        for (p, panel) in w.values().chunks_exact(k * NR).enumerate() {
            let cols = NR.min(n - p * NR);
            let block = &panel[ks.start * NR..ks.end * NR];
            for r0 in (0..m).step_by(MR) {
                let a_tile = &a[r0 * k + ks.start..];
                let y_tile = &mut y[r0 * n + p * NR..];
                let tile = match m - r0 {
                    1 => tile::<F, 1>,
                    2 => tile::<F, 2>,
                    3 => tile::<F, 3>,
                    4 => tile::<F, 4>,
                    5 => tile::<F, 5>,
                    6 => tile::<F, 6>,
                    7 => tile::<F, 7>,
                    _ => tile::<F, MR>,
                };
                tile(a_tile, k, block, y_tile, n, cols);
            }
        }
    }
}

// ANCHOR: tile
/// The portable micro-kernel: `R` rows of `a` (row stride `lda`) times a block of one panel
/// (its rows NR wide), added to the first `cols` columns of `R` rows of `y` (row stride
/// `n`). The accumulators are a fixed-size array, which the compiler vectorises.
fn tile<F: Real, const R: usize>(
    a: &[F],
    lda: usize,
    block: &[F],
    y: &mut [F],
    n: usize,
    cols: usize,
) {
    let kc = block.len() / NR;
    let rows: [&[F]; R] = std::array::from_fn(|r| &a[r * lda..r * lda + kc]);
    let mut acc = [[F::zero(); NR]; R];
    for (kk, w_row) in block.chunks_exact(NR).enumerate() {
        let w_row: &[F; NR] = w_row.try_into().expect("NR wide");
        for r in 0..R {
            let a_rk = rows[r][kk];
            for j in 0..NR {
                acc[r][j] += a_rk * w_row[j];
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (y, &s) in y[r * n..r * n + cols].iter_mut().zip(acc_r) {
            *y += s;
        }
    }
}
// ANCHOR_END: tile

/// The float32 micro-kernel in AVX-512 instructions: the same tiles as the portable
/// kernel, with the 8 × 2 accumulators named as registers so that none of them is spilled
/// to memory between two steps of k (the compiler's vectoriser, given the portable loop,
/// keeps them on the stack), and the panel's last columns written through a mask.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::{kernel_columns, Out, Panels, KC, MR, NR};
    use ndarray::{ArrayView2, ArrayViewMut2};
    use std::arch::x86_64::*;

    /// Lanes of float32 in one AVX-512 register.
    const LANES: usize = 16;
    /// Registers across a panel.
    const VECS: usize = NR / LANES;

    /// `y += a · W` (or `y = a · W`, or `b + a · W`, as `out` says), as
    /// [`Panels::times_add`], for `a` (M, K) in any layout with non-negative strides and `y`
    /// (M, N') in standard layout, N' ≤ N: the first N' columns of the product (a weight
    /// gradient may need only some of its rows). A transposed `a` is read in place: the
    /// weight gradients multiply by their inputs transposed, and reading $a_{rk}$ at
    /// `r · rs + k · cs` costs the kernel nothing, where a copy into standard layout costs a
    /// pass over memory.
    pub fn product(w: &Panels<f32>, a: ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, out: Out<f32>) {
        assert!(crate::fast::avx512(), "AVX-512F is not available");
        let (k, n) = w.dim();
        let (m, n_y) = y.dim();
        assert_eq!(a.ncols(), k, "a has {} columns, W has {k} rows", a.ncols());
        assert!(
            a.nrows() == m && n_y <= n,
            "y is {:?}, not (rows of a, at most the columns of W) = ({}, {n})",
            y.dim(),
            a.nrows()
        );
        let (rs, cs) = (a.strides()[0], a.strides()[1]);
        assert!(rs >= 0 && cs >= 0, "a has a negative stride");
        if let Out::Bias(b) = out {
            assert_eq!(
                b.len(),
                n_y,
                "the bias has {} numbers, y {n_y} columns",
                b.len()
            );
        }
        let y = y.as_slice_mut().expect("y in standard layout");
        if m == 0 || k == 0 || n_y == 0 {
            return;
        }
        // SAFETY: AVX-512F is available (asserted above); the tiles read a_{rk} at
        // r · rs + k · cs for r < M and k < K, elements of the view `a`, read K·NR numbers
        // of each panel they use, and write columns p·NR..p·NR+cols ≤ N' of rows r < M of
        // `y` (M·N').
        let a = (a.as_ptr(), (rs as usize, cs as usize));
        unsafe { all_tiles(w, a, y, (m, k, n_y), out) }
    }

    /// The loops of [`super::times_add_body`], with pointers, over the panels of the first
    /// `n` columns; `a` is a pointer and its strides, and `n` the row stride of `y`.
    #[target_feature(enable = "avx512f")]
    unsafe fn all_tiles(
        w: &Panels<f32>,
        (a, (rs, cs)): (*const f32, (usize, usize)),
        y: &mut [f32],
        (m, k, n): (usize, usize, usize),
        out: Out<f32>,
    ) {
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            // Only the first block of K may overwrite (or start from the bias): the later
            // ones add to it.
            let (add, bias) = match out {
                _ if k0 > 0 => (true, None),
                Out::Add => (true, None),
                Out::Set => (false, None),
                Out::Bias(b) => (false, Some(b)),
            };
            for (p, panel) in w
                .values()
                .chunks_exact(k * NR)
                .take(n.div_ceil(NR))
                .enumerate()
            {
                let cols = NR.min(n - p * NR);
                let block = panel.as_ptr().add(k0 * NR);
                for r0 in (0..m).step_by(MR) {
                    let a_tile = a.add(r0 * rs + k0 * cs);
                    let y_tile = y.as_mut_ptr().add(r0 * n + p * NR);
                    // A last panel with at most LANES live columns (N = 100 leaves 4, the
                    // head's 65 leaves 1) needs one register per row, not two: half the
                    // loads and multiply-adds of that panel.
                    let tile = if kernel_columns(cols) == LANES {
                        pick::<1>(m - r0)
                    } else {
                        pick::<VECS>(m - r0)
                    };
                    // This panel's columns of the bias, or null.
                    let b = bias.map_or(std::ptr::null(), |b| b.as_ptr().add(p * NR));
                    tile(a_tile, (rs, cs), kc, block, (y_tile, n, cols), (add, b));
                }
            }
        }
    }

    /// A tile of the kernel, as a function pointer.
    type Tile = unsafe fn(
        *const f32,
        (usize, usize),
        usize,
        *const f32,
        (*mut f32, usize, usize),
        (bool, *const f32),
    );

    /// The tile for `rows` (up to [`MR`]) rows, `V` registers wide.
    fn pick<const V: usize>(rows: usize) -> Tile {
        match rows {
            1 => tile::<1, V>,
            2 => tile::<2, V>,
            3 => tile::<3, V>,
            4 => tile::<4, V>,
            5 => tile::<5, V>,
            6 => tile::<6, V>,
            7 => tile::<7, V>,
            _ => tile::<MR, V>,
        }
    }

    // ANCHOR: avx512_tile
    /// `R` rows of `a` (strides `rs`, `cs`) times `kc` rows of one panel (NR wide, of which
    /// the first `V` registers' worth are read), added to `cols` columns of `R` rows of `y`
    /// (row stride `n`), or, if not `add`, written over them, plus the `cols` numbers at
    /// `bias` unless it is null.
    ///
    /// A multiply-add takes 4 cycles to give its result and the processor starts one or
    /// two per cycle, so at least 4 to 8 independent sums must be in flight. A full tile
    /// has R × V = 16; a tile of one or two rows (batch 1, the last rows of a batch), or a
    /// one-register tile of up to four rows, has 4 or fewer, and would wait on each result.
    /// Those tiles keep a second set of sums for the odd k, doubling the chains, and add the
    /// two sets at the end.
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const R: usize, const V: usize>(
        a: *const f32,
        (rs, cs): (usize, usize),
        kc: usize,
        panel: *const f32,
        (y, n, cols): (*mut f32, usize, usize),
        (add, bias): (bool, *const f32),
    ) {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let mut odd = [[_mm512_setzero_ps(); V]; R];
        let step = |acc: &mut [[__m512; V]; R], kk: usize| {
            let w_row = panel.add(kk * NR);
            let w: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(w_row.add(v * LANES)));
            let a_k = a.add(kk * cs);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rk = _mm512_set1_ps(*a_k.add(r * rs));
                for v in 0..V {
                    acc_r[v] = _mm512_fmadd_ps(a_rk, w[v], acc_r[v]);
                }
            }
        };
        let paired = if R * V <= 4 { kc / 2 } else { 0 };
        for kp in 0..paired {
            step(&mut acc, 2 * kp);
            step(&mut odd, 2 * kp + 1);
        }
        for kk in 2 * paired..kc {
            step(&mut acc, kk);
        }
        for (r, (acc_r, odd_r)) in acc.iter().zip(&odd).enumerate() {
            for v in 0..V {
                let first = v * LANES;
                if first >= cols {
                    break;
                }
                let live = (cols - first).min(LANES);
                let mask: __mmask16 = if live == LANES { !0 } else { (1 << live) - 1 };
                let out = y.add(r * n + first);
                let mut sum = _mm512_add_ps(acc_r[v], odd_r[v]);
                if add {
                    sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), sum);
                } else if !bias.is_null() {
                    sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, bias.add(first)), sum);
                }
                _mm512_mask_storeu_ps(out, mask, sum);
            }
        }
    }
    // ANCHOR_END: avx512_tile
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::FastReal;
    use crate::init::{rng, uniform};
    use ndarray::linalg::general_mat_mul;
    use ndarray::Array2;

    /// Shapes with full and partial panels, tiles and K blocks, K of 1 and M of 1; last
    /// panels of 1, 4, 6, 16 and 18 live columns (one register, or two, wide).
    const SHAPES: [(usize, usize, usize); 9] = [
        (6, 600, 70),
        (1, 100, 400),
        (4, 7, 64),
        (5, 33, 65),
        (9, 128, 384),
        (3, 1, 1),
        (17, 65, 100),
        (2, 40, 50),
        (3, 300, 20),
    ];

    #[test]
    fn portable_kernel_matches_the_general_multiply() {
        let mut r = rng(3);
        for (m, k, n) in SHAPES {
            let a = uniform::<f64>(m, k, 1.0, &mut r);
            let w = uniform::<f64>(k, n, 1.0, &mut r);
            let mut expected = uniform::<f64>(m, n, 1.0, &mut r);
            let mut got = expected.clone();
            general_mat_mul(1.0, &a, &w, 1.0, &mut expected);
            let mut panels = Panels::default();
            panels.pack(w.view());
            panels.times_add(a.view(), &mut got.view_mut());
            let err = (&got - &expected)
                .mapv(f64::abs)
                .fold(0.0, |m: f64, &v| m.max(v));
            assert!(err < 1e-12, "({m}, {k}, {n}): max error {err:e}");
        }
    }

    /// The float32 vector kernel (where this processor has one) against the portable one.
    #[test]
    fn vector_kernel_matches_the_portable_one() {
        let mut r = rng(4);
        for (m, k, n) in SHAPES {
            let a = uniform::<f32>(m, k, 1.0, &mut r);
            let w = uniform::<f32>(k, n, 1.0, &mut r);
            let mut expected = uniform::<f32>(m, n, 1.0, &mut r);
            let mut got = expected.clone();
            let mut strided = expected.clone();
            let mut panels = Panels::default();
            panels.pack(w.view());
            panels.times_add(a.view(), &mut expected.view_mut());
            if !f32::packed_product(&panels, a.view(), &mut got.view_mut(), Out::Add) {
                return; // no vector kernel on this processor: nothing to compare
            }
            let err = (&got - &expected)
                .mapv(f32::abs)
                .fold(0.0, |m: f32, &v| m.max(v));
            assert!(err < 1e-4 * k as f32, "({m}, {k}, {n}): max error {err:e}");
            // The same `a` read in place from its transpose, strides (1, M): the same sums
            // in the same order, so the same numbers.
            let a_t = a.t().to_owned(); // (K, M)
            f32::packed_product(&panels, a_t.t(), &mut strided.view_mut(), Out::Add);
            assert_eq!(strided, got, "({m}, {k}, {n}): a read transposed");
            // Written over: the old numbers of y (here NaN) are never read, in any block
            // of K, and the product is the one added above less what y held.
            let mut set = Array2::from_elem((m, n), f32::NAN);
            f32::packed_product(&panels, a.view(), &mut set.view_mut(), Out::Set);
            let mut zeros = Array2::zeros((m, n));
            f32::packed_product(&panels, a.view(), &mut zeros.view_mut(), Out::Add);
            assert_eq!(set, zeros, "({m}, {k}, {n}): y = a · W");
            // With a bias: the same sum as adding the product to rows holding the bias.
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.25 - 3.0).collect();
            let mut biased = Array2::from_elem((m, n), f32::NAN);
            f32::packed_product(&panels, a.view(), &mut biased.view_mut(), Out::Bias(&bias));
            let mut rows = Array2::from_shape_fn((m, n), |(_, j)| bias[j]);
            f32::packed_product(&panels, a.view(), &mut rows.view_mut(), Out::Add);
            assert_eq!(biased, rows, "({m}, {k}, {n}): y = b + a · W");
        }
    }

    #[test]
    fn packing_reads_any_layout_and_reuses_the_buffer() {
        let w = Array2::from_shape_fn((3, 70), |(i, j)| (i * 100 + j) as f32);
        let mut from_t = Panels::default();
        from_t.pack(w.t().to_owned().t());
        let mut direct = Panels::default();
        direct.pack(w.view());
        assert_eq!(from_t, direct);
        direct.pack(Array2::<f32>::ones((2, 5)).view());
        assert_eq!(direct.dim(), (2, 5));
        assert_eq!(direct.len(), 2 * NR);
    }

    #[test]
    fn packing_and_summing_gives_the_same_panels_and_the_column_sums() {
        let w = Array2::from_shape_fn((5, 70), |(i, j)| (i * 100 + j) as f64);
        let (mut plain, mut summed) = (Panels::default(), Panels::default());
        plain.pack(w.view());
        let mut sums = vec![7.0; 70];
        summed.pack_summing(w.view(), &mut sums);
        assert_eq!(plain, summed);
        assert_eq!(sums, w.sum_axis(ndarray::Axis(0)).to_vec());
    }

    #[test]
    #[should_panic(expected = "a has 3 columns, W has 2 rows")]
    fn a_product_of_the_wrong_shape_panics_with_both_sizes() {
        let mut panels = Panels::default();
        panels.pack(Array2::<f64>::ones((2, 5)).view());
        let a = Array2::<f64>::ones((1, 3));
        panels.times_add(a.view(), &mut Array2::zeros((1, 5)).view_mut());
    }
}
