//! The benchmarked work: a character-level language-model step in float32. The input at
//! each step is a one-hot vector over a vocabulary of [`VOCAB`] symbols, the recurrent layer
//! runs over the whole sequence, a linear head gives logits over the same vocabulary at
//! every step, the loss is the mean softmax cross-entropy, and a training step adds full
//! BPTT and a plain SGD update. `scripts/pytorch/bench.py` does the same with `nn.LSTM` /
//! `nn.GRU`, `nn.Linear`, `F.cross_entropy` and `torch.optim.SGD`.

use ndarray::{Array1, Array2, Array3, ArrayView3, Axis, Zip};
use rand::Rng;
use recurrent::fast::{
    parts, product_split, run_parts, weight_grads, FastGru, FastGruBackward, FastGruCache,
    FastLstm, FastLstmBackward, FastLstmCache, FastReal, GradWorkspace, Panels,
};
use recurrent::gru::GruConfig;
use recurrent::init::{rng, uniform};
use recurrent::lstm::LstmConfig;
use recurrent::{Gru, Lstm, Params, Recurrent};

/// The vocabulary: 65 symbols, the size of the tiny-Shakespeare character set.
pub const VOCAB: usize = 65;

/// (B, T, H): the benchmark's batch sizes, sequence lengths and hidden sizes. A mid-sized
/// batch, a large one, and batch 1 (generation, online learning).
pub const CONFIGS: &[(usize, usize, usize)] = &[(32, 64, 128), (64, 100, 256), (1, 100, 100)];

/// The SGD step size; its value does not change the cost.
const LR: f32 = 0.01;

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Lstm,
    Gru,
}

impl Cell {
    pub fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
    /// Gate blocks: 4 for the LSTM, 3 for the GRU.
    pub fn blocks(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// A recurrent layer as the benchmark drives it: forward over a sequence from the zero
/// state, the outputs, backward given dL/dh_t, and an SGD update.
pub trait Layer {
    fn forward(&mut self, xs: ArrayView3<f32>);
    /// (T, B, H), contiguous.
    fn outputs(&self) -> ArrayView3<'_, f32>;
    fn backward(&mut self, dhs: ArrayView3<f32>);
    fn sgd(&mut self);
}

/// Any [`Recurrent`] layer through the trait: a fresh cache and fresh gradients at every
/// call, as [`recurrent::train`] uses them.
pub struct ThroughTrait<C: Recurrent<f32>> {
    cell: C,
    cache: Option<C::Cache>,
    grads: Option<C::Grads>,
}

impl<C: Recurrent<f32>> Layer for ThroughTrait<C> {
    fn forward(&mut self, xs: ArrayView3<f32>) {
        let s0 = self.cell.zero_state(xs.len_of(Axis(1)));
        self.cache = Some(self.cell.forward_seq(xs, &s0).expect("valid shapes"));
    }
    fn outputs(&self) -> ArrayView3<'_, f32> {
        self.cell.outputs(self.cache.as_ref().expect("forward ran"))
    }
    fn backward(&mut self, dhs: ArrayView3<f32>) {
        let cache = self.cache.as_ref().expect("forward ran");
        let back = self.cell.backward_seq(cache, dhs).expect("valid shapes");
        self.grads = Some(back.grads);
    }
    fn sgd(&mut self) {
        sgd(&mut self.cell, self.grads.as_ref().expect("backward ran"));
    }
}

/// The fast LSTM with its workspaces kept across steps.
pub struct LstmWorkspace {
    lstm: FastLstm<f32>,
    state: (Array2<f32>, Array2<f32>),
    cache: FastLstmCache<f32>,
    back: FastLstmBackward<f32>,
}

impl Layer for LstmWorkspace {
    fn forward(&mut self, xs: ArrayView3<f32>) {
        let (h0, c0) = &self.state;
        self.lstm
            .forward_into(xs, h0.view(), c0.view(), &mut self.cache)
            .expect("valid shapes");
    }
    fn outputs(&self) -> ArrayView3<'_, f32> {
        self.cache.hs()
    }
    fn backward(&mut self, dhs: ArrayView3<f32>) {
        self.lstm
            .backward_into(&self.cache, dhs, false, &mut self.back)
            .expect("valid shapes");
    }
    fn sgd(&mut self) {
        sgd(&mut self.lstm, &self.back.grads);
    }
}

/// The fast GRU with its workspaces kept across steps.
pub struct GruWorkspace {
    gru: FastGru<f32>,
    h0: Array2<f32>,
    cache: FastGruCache<f32>,
    back: FastGruBackward<f32>,
}

impl Layer for GruWorkspace {
    fn forward(&mut self, xs: ArrayView3<f32>) {
        self.gru
            .forward_into(xs, self.h0.view(), &mut self.cache)
            .expect("valid shapes");
    }
    fn outputs(&self) -> ArrayView3<'_, f32> {
        self.cache.hs()
    }
    fn backward(&mut self, dhs: ArrayView3<f32>) {
        self.gru
            .backward_into(&self.cache, dhs, false, &mut self.back)
            .expect("valid shapes");
    }
    fn sgd(&mut self) {
        sgd(&mut self.gru, &self.back.grads);
    }
}

/// p -= lr · g for every named tensor.
fn sgd(params: &mut impl Params<f32>, grads: &impl Params<f32>) {
    for ((_, mut p), (_, g)) in params.params_mut().into_iter().zip(grads.params()) {
        Zip::from(&mut p).and(&g).for_each(|p, &g| *p -= LR * g);
    }
}

/// Which implementation of the recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `recurrent::lstm` / `recurrent::gru` through the `Recurrent` trait.
    Readable,
    /// `recurrent::fast` through the `Recurrent` trait (buffers allocated per call).
    FastAllocating,
    /// `recurrent::fast` with workspaces reused across steps.
    Fast,
}

/// A recurrent layer of `cell` on `path`, with input size [`VOCAB`] and `h` units.
pub fn layer(cell: Cell, path: Path, batch: usize, h: usize) -> Box<dyn Layer> {
    let lstm = || {
        Lstm::<f32>::new(&LstmConfig {
            input_size: VOCAB,
            hidden_size: h,
            ..LstmConfig::default()
        })
        .expect("valid configuration")
    };
    let gru = || {
        Gru::<f32>::new(&GruConfig {
            input_size: VOCAB,
            hidden_size: h,
            ..GruConfig::default()
        })
        .expect("valid configuration")
    };
    let fast_lstm = || FastLstm::from_lstm(&lstm()).expect("standard LSTM");
    let fast_gru = || FastGru::from_gru(&gru()).expect("reset-after GRU");
    let zeros = || Array2::zeros((batch, h));
    match (cell, path) {
        (Cell::Lstm, Path::Readable) => Box::new(ThroughTrait {
            cell: lstm(),
            cache: None,
            grads: None,
        }),
        (Cell::Gru, Path::Readable) => Box::new(ThroughTrait {
            cell: gru(),
            cache: None,
            grads: None,
        }),
        (Cell::Lstm, Path::FastAllocating) => Box::new(ThroughTrait {
            cell: fast_lstm(),
            cache: None,
            grads: None,
        }),
        (Cell::Gru, Path::FastAllocating) => Box::new(ThroughTrait {
            cell: fast_gru(),
            cache: None,
            grads: None,
        }),
        (Cell::Lstm, Path::Fast) => Box::new(LstmWorkspace {
            lstm: fast_lstm(),
            state: (zeros(), zeros()),
            cache: FastLstmCache::default(),
            back: FastLstmBackward::default(),
        }),
        (Cell::Gru, Path::Fast) => Box::new(GruWorkspace {
            gru: fast_gru(),
            h0: zeros(),
            cache: FastGruCache::default(),
            back: FastGruBackward::default(),
        }),
    }
}

/// The model (a recurrent layer and the head), one batch of data, and the head's buffers.
pub struct Model {
    layer: Box<dyn Layer>,
    xs: Array3<f32>,       // (T, B, V)  one-hot inputs
    targets: Vec<usize>,   // (T·B,)  the next symbol at every step
    w: Array2<f32>,        // (V, H)  the head
    b: Array1<f32>,        // (V,)
    logits: Array2<f32>,   // (T·B, V), then dL/dlogits
    dw: Array2<f32>,       // (V, H)
    db: Array1<f32>,       // (V,)
    dhs: Array3<f32>,      // (T, B, H)  dL/dh_t from the head
    w_t: Panels<f32>,      // W^T (H, V), packed for the logits
    w_packed: Panels<f32>, // W (V, H), packed for dL/dh_t
    dw_ws: GradWorkspace<f32>,
}

impl Model {
    pub fn new(cell: Cell, path: Path, (b, t, h): (usize, usize, usize)) -> Self {
        let mut r = rng(1);
        let symbols: Vec<usize> = (0..(t + 1) * b).map(|_| r.random_range(0..VOCAB)).collect();
        let mut xs = Array3::zeros((t, b, VOCAB));
        for (k, &s) in symbols[..t * b].iter().enumerate() {
            xs[[k / b, k % b, s]] = 1.0;
        }
        Model {
            layer: layer(cell, path, b, h),
            xs,
            targets: symbols[b..].to_vec(),
            w: uniform(VOCAB, h, 1.0 / (h as f64).sqrt(), &mut r),
            b: Array1::zeros(VOCAB),
            logits: Array2::zeros((t * b, VOCAB)),
            dw: Array2::zeros((VOCAB, h)),
            db: Array1::zeros(VOCAB),
            dhs: Array3::zeros((t, b, h)),
            w_t: Panels::default(),
            w_packed: Panels::default(),
            dw_ws: GradWorkspace::default(),
        }
    }

    /// Forward through the layer and the head; returns the mean cross-entropy and leaves
    /// dL/dlogits in `self.logits`. The head's products run on the crate's packed
    /// micro-kernel where it has one, as the recurrent layer's do, and its exponentials
    /// are the fast layers' vectorisable ones.
    pub fn forward(&mut self) -> f32 {
        self.layer.forward(self.xs.view());
        let hs = self.layer.outputs();
        let (t, b, h) = hs.dim();
        let hs = hs.into_shape_with_order((t * b, h)).expect("contiguous"); // (T·B, H)
        self.w_t.pack(self.w.t());
        product_split(
            hs,
            self.w.t(),
            &self.w_t,
            Some(self.b.view()),
            self.logits.view_mut(),
        );
        let n = (t * b) as f32;
        // The softmax and its gradient, row by row, the rows split across the threads as
        // the products are (PyTorch's runs on all its threads too).
        let parts = parts(t * b, (t * b * VOCAB * 20) as f64);
        let rows = (t * b).div_ceil(parts);
        let mut losses = vec![0.0f32; parts];
        let jobs: Vec<_> = self
            .logits
            .axis_chunks_iter_mut(Axis(0), rows)
            .zip(self.targets.chunks(rows))
            .zip(losses.iter_mut())
            .collect();
        run_parts(jobs, |((mut logits, targets), loss)| {
            for (row, &y) in logits.rows_mut().into_iter().zip(targets) {
                let row = row.into_slice().expect("rows of the logits are contiguous");
                // Eight partial maxima and sums, so that no step waits on the one before
                // and the loops compile to vector instructions.
                let mut maxima = [f32::NEG_INFINITY; 8];
                for chunk in row.chunks(8) {
                    for (&v, m) in chunk.iter().zip(&mut maxima) {
                        *m = m.max(v);
                    }
                }
                let max = maxima.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let mut sums = [0.0f32; 8];
                for chunk in row.chunks_mut(8) {
                    for (e, s) in chunk.iter_mut().zip(&mut sums) {
                        *e = (*e - max).fast_exp();
                        *s += *e;
                    }
                }
                let sum: f32 = sums.iter().sum();
                *loss += sum.ln() - row[y].ln();
                // dL/dlogit = (softmax - onehot) / N
                let scale = 1.0 / (sum * n);
                row.iter_mut().for_each(|e| *e *= scale);
                row[y] -= 1.0 / n;
            }
        });
        losses.iter().sum::<f32>() / n
    }

    /// A whole training step: forward, loss, backward through the head and BPTT, SGD.
    pub fn train_step(&mut self) -> f32 {
        let loss = self.forward();
        {
            let hs = self.layer.outputs();
            let (t, b, h) = hs.dim();
            let hs = hs.into_shape_with_order((t * b, h)).expect("contiguous"); // (T·B, H)
            weight_grads(
                self.logits.view(),
                &mut [(hs, self.dw.view_mut())],
                self.db.view_mut(),
                &mut self.dw_ws,
            );
            let dhs = self
                .dhs
                .view_mut()
                .into_shape_with_order((t * b, h))
                .expect("contiguous"); // (T·B, H)
            self.w_packed.pack(self.w.view());
            product_split(self.logits.view(), self.w.view(), &self.w_packed, None, dhs);
        }
        self.layer.backward(self.dhs.view());
        self.layer.sgd();
        self.w.scaled_add(-LR, &self.dw);
        self.b.scaled_add(-LR, &self.db);
        loss
    }
}

/// Floating-point operations of the matrix products of a step (the element-wise work is
/// not counted, as is usual): the input projection, the recurrent product and the head,
/// forward; and for training their backward products too (no gradient of the one-hot
/// inputs).
pub fn flops(cell: Cell, train: bool, (b, t, h): (usize, usize, usize)) -> f64 {
    let (n, g, v) = ((b * t) as f64, (cell.blocks() * h) as f64, VOCAB as f64);
    let h = h as f64;
    let forward = 2.0 * n * g * (v + h) + 2.0 * n * h * v;
    if train {
        // dW_ih, dW_hh, dh_{t-1}; head: dW and dh.
        forward + 2.0 * n * g * (v + 2.0 * h) + 4.0 * n * h * v
    } else {
        forward
    }
}
