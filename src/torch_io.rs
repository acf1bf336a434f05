//! Moving weights between PyTorch and this crate as a directory of `.npy` files.
//!
//! PyTorch's `nn.LSTM` and `nn.GRU` (one layer, one direction) name their parameters
//! `weight_ih_l0` (G·H, D), `weight_hh_l0` (G·H, H), `bias_ih_l0` (G·H) and `bias_hh_l0`
//! (G·H), with G = 4 gates for the LSTM (order i, f, g, o) and G = 3 for the GRU (order
//! r, z, n). [`crate::lstm::Lstm`] and [`crate::gru::Gru`] keep the same four tensors in the
//! same layout under the names `w_ih`, `w_hh`, `b_ih` and `b_hh`, so moving a layer across
//! is a matter of renaming: [`PYTORCH_NAMES`] is that map, and [`save_params`] /
//! [`load_params`] work for any [`Params`] implementor whose names it covers (pass your own
//! map to [`save_params_with`] / [`load_params_with`] for anything else).
//!
//! ## Exporting from PyTorch
//!
//! ```python
//! import os, numpy, torch
//!
//! lstm = torch.nn.LSTM(input_size=4, hidden_size=6)   # or nn.GRU; trained as you like
//! os.makedirs("my_lstm", exist_ok=True)
//! for name, p in lstm.named_parameters():              # weight_ih_l0, weight_hh_l0, ...
//!     numpy.save(f"my_lstm/{name}.npy", p.detach().numpy())   # float32 by default
//! ```
//!
//! Then in Rust, with a layer of the same sizes (the files' shapes are checked against it):
//!
//! ```no_run
//! use recurrent::lstm::{Lstm, LstmConfig};
//! use recurrent::torch_io;
//!
//! let config = LstmConfig { input_size: 4, hidden_size: 6, ..LstmConfig::default() };
//! let mut lstm = Lstm::<f32>::new(&config)?;
//! torch_io::load_params(&mut lstm, "my_lstm")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A model saved with `.double()` in PyTorch is float64 and loads into `Lstm::<f64>`; a
//! dtype that does not match the layer's is an error, never a silent conversion. Going the
//! other way, [`save_params`] writes files that `numpy.load` reads and that go back into
//! PyTorch with `p.copy_(torch.from_numpy(numpy.load(f"my_lstm/{name}.npy")))` under
//! `torch.no_grad()`.
//!
//! ## What is checked
//!
//! Every error names the file. A missing file, a shape that differs from the layer's, a
//! dtype that differs from `F`, a file that is not a valid `.npy` (a truncated download, a
//! header that promises more data than the file holds) and a NaN or infinity in a
//! parameter are each reported as a [`TorchIoError`]; [`load_params`] reads every file
//! before it changes the layer, so a failed load leaves the layer as it was.
//!
//! Saving writes each file under a temporary name in the same directory and renames it into
//! place only once every file is written and flushed to disk: a crash while saving leaves
//! the previous files whole (rename replaces a file in one step), never half a file.

use crate::params::intern;
use crate::{Params, Real};
use ndarray::{ArrayD, ArrayViewD, Dimension};
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewElement, ViewNpyError, ViewNpyExt};
use ndarray_npy::{WritableElement, WriteNpyExt};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A map from this crate's parameter names to PyTorch's: pairs `(ours, pytorch)`.
pub type NameMap = [(&'static str, &'static str)];

/// The names of a one-layer, one-direction `nn.LSTM` or `nn.GRU`: our `w_ih`, `w_hh`,
/// `b_ih`, `b_hh` are PyTorch's `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`, stored as `<name>.npy`.
pub const PYTORCH_NAMES: &NameMap = &[
    ("w_ih", "weight_ih_l0"),
    ("w_hh", "weight_hh_l0"),
    ("b_ih", "bias_ih_l0"),
    ("b_hh", "bias_hh_l0"),
];

/// The names of a multi-layer, possibly bidirectional `nn.LSTM` or `nn.GRU`
/// (`num_layers = layers`), for a [`crate::stacked::Stacked`] of `layers` cells, each a
/// [`crate::bidirectional::Bidirectional`] one if `bidirectional`: our `l{k}.w_ih` is
/// PyTorch's `weight_ih_l{k}`, and `l{k}.w_ih_reverse` is `weight_ih_l{k}_reverse`.
pub fn stacked_pytorch_names(
    layers: usize,
    bidirectional: bool,
) -> Vec<(&'static str, &'static str)> {
    let directions: &[&str] = if bidirectional {
        &["", "_reverse"]
    } else {
        &[""]
    };
    let mut map = Vec::new();
    for k in 0..layers {
        for suffix in directions {
            for (ours, theirs) in PYTORCH_NAMES {
                let stem = theirs.trim_end_matches("_l0");
                map.push((
                    intern(format!("l{k}.{ours}{suffix}")),
                    intern(format!("{stem}_l{k}{suffix}")),
                ));
            }
        }
    }
    map
}

/// A float type that can be stored in a `.npy` file: `f32` (numpy's `float32`, `'<f4'`)
/// or `f64` (`float64`, `'<f8'`).
pub trait NpyFloat: Real + ReadableElement + WritableElement + ViewElement {
    /// numpy's name of the dtype: `"float32"` or `"float64"`.
    const DTYPE: &'static str;
}

impl NpyFloat for f32 {
    const DTYPE: &'static str = "float32";
}

impl NpyFloat for f64 {
    const DTYPE: &'static str = "float64";
}

/// Everything that can go wrong reading or writing `.npy` files. Each variant names the
/// file; display it for a message that also says what was expected and what was found.
#[derive(Debug)]
pub enum TorchIoError {
    /// The file does not exist.
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file holds an array of another shape than the layer's parameter.
    Shape {
        /// The file.
        path: PathBuf,
        /// The shape the layer needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The file holds another element type than the one asked for.
    Dtype {
        /// The file.
        path: PathBuf,
        /// The dtype asked for (`float32` or `float64`).
        expected: &'static str,
        /// The dtype in the file (numpy's descriptor, with its name when it is a float).
        found: String,
    },
    /// The file is not a valid `.npy` file: truncated, bad header, trailing bytes.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser found wrong.
        reason: String,
    },
    /// A parameter holds a NaN or an infinity.
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The index of the first non-finite entry.
        index: Vec<usize>,
        /// That entry.
        value: f64,
    },
    /// A parameter of the layer has no entry in the name map, so there is no file for it
    /// (a peephole LSTM's extra weights, for example, have no PyTorch counterpart).
    Unmapped {
        /// Our name of the parameter.
        name: &'static str,
    },
    /// Any other I/O error (permissions, a full disk, ...).
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl fmt::Display for TorchIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TorchIoError::Missing { path } => write!(f, "{}: file not found", path.display()),
            TorchIoError::Shape {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: wrong shape: expected {expected:?}, found {found:?}",
                path.display()
            ),
            TorchIoError::Dtype {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: wrong dtype: expected {expected}, found {found}",
                path.display()
            ),
            TorchIoError::Corrupt { path, reason } => {
                write!(f, "{}: not a valid .npy file: {reason}", path.display())
            }
            TorchIoError::NonFinite { path, index, value } => write!(
                f,
                "{}: non-finite value {value} at index {index:?}",
                path.display()
            ),
            TorchIoError::Unmapped { name } => {
                write!(f, "parameter `{name}` has no PyTorch name in the name map")
            }
            TorchIoError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for TorchIoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TorchIoError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The result type of this module.
pub type Result<T> = std::result::Result<T, TorchIoError>;

fn io_error(path: &Path, source: io::Error) -> TorchIoError {
    if source.kind() == io::ErrorKind::NotFound {
        TorchIoError::Missing {
            path: path.to_path_buf(),
        }
    } else {
        TorchIoError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// numpy's descriptor with the dtype's name, for messages: `'<f4'` becomes
/// `float32 ('<f4')`.
fn describe_dtype(descr: &str) -> String {
    let code = descr.trim_matches('\'');
    let name = match code.trim_start_matches(['<', '>', '=', '|']) {
        "f2" => "float16",
        "f4" => "float32",
        "f8" => "float64",
        "i4" => "int32",
        "i8" => "int64",
        _ => return descr.to_string(),
    };
    format!("{name} ({descr})")
}

// ANCHOR: read
/// Reads the array stored in the `.npy` file at `path`, of any shape, as `F`.
///
/// The file's dtype must be `F`'s (see [`NpyFloat`]); its shape is whatever the file says.
/// The data must be exactly as long as the header promises: a truncated file or one with
/// trailing bytes is [`TorchIoError::Corrupt`]. Nothing is allocated for the array before
/// its length has been checked against the file, so a damaged header cannot ask for
/// terabytes.
pub fn read_array<F: NpyFloat>(path: impl AsRef<Path>) -> Result<ArrayD<F>> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    // `view_npy` reinterprets the bytes in place, so they must be aligned for `F`; the
    // header of a `.npy` file is padded so that the data starts at a multiple of 16 bytes
    // from the start of the file, and the start is aligned here.
    let mut aligned = vec![0u8; bytes.len() + 16];
    let offset = aligned.as_ptr().align_offset(16);
    let buf = &mut aligned[offset..offset + bytes.len()];
    buf.copy_from_slice(&bytes);
    let corrupt = |reason: String| TorchIoError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    match ArrayViewD::<F>::view_npy(buf) {
        Ok(view) => Ok(view.to_owned()),
        Err(ViewNpyError::WrongDescriptor(descr)) => Err(TorchIoError::Dtype {
            path: path.to_path_buf(),
            expected: F::DTYPE,
            found: describe_dtype(&descr.to_string()),
        }),
        // Big-endian data, or a header from an old writer that did not pad to 16 bytes:
        // the length has been checked by now, so the copying reader is safe to use.
        Err(ViewNpyError::NonNativeEndian | ViewNpyError::MisalignedData) => {
            ArrayD::<F>::read_npy(&bytes[..]).map_err(|e| corrupt(e.to_string()))
        }
        Err(ViewNpyError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Err(corrupt(
            format!("the file ends inside the header ({} bytes)", bytes.len()),
        )),
        Err(e) => Err(corrupt(e.to_string())),
    }
}
// ANCHOR_END: read

/// Reads the array in the `.npy` file at `path` and checks that its shape is `expected`.
pub fn read_array_shaped<F: NpyFloat>(
    path: impl AsRef<Path>,
    expected: &[usize],
) -> Result<ArrayD<F>> {
    let path = path.as_ref();
    let a = read_array::<F>(path)?;
    if a.shape() != expected {
        return Err(TorchIoError::Shape {
            path: path.to_path_buf(),
            expected: expected.to_vec(),
            found: a.shape().to_vec(),
        });
    }
    Ok(a)
}

/// Writes `array` to the `.npy` file at `path`, atomically: the data goes to a temporary
/// file in the same directory, is flushed to disk, and is renamed over `path`.
pub fn write_array<F: NpyFloat>(path: impl AsRef<Path>, array: ArrayViewD<'_, F>) -> Result<()> {
    let path = path.as_ref();
    let tmp = write_temp(path, array)?;
    commit(&[(tmp, path.to_path_buf())])
}

/// Writes `array` to a fresh temporary file beside `path` and returns its name.
fn write_temp<F: NpyFloat>(path: &Path, array: ArrayViewD<'_, F>) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = File::create_new(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut w = BufWriter::new(file);
        array.write_npy(&mut w).map_err(|e| TorchIoError::Io {
            path: tmp.clone(),
            source: io::Error::other(e.to_string()),
        })?;
        w.flush().map_err(|e| io_error(&tmp, e))?;
        let file = w.into_inner().map_err(|e| io_error(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Renames every temporary file into place, then flushes the directory entries. On an
/// error the temporary files not yet renamed are removed.
fn commit(renames: &[(PathBuf, PathBuf)]) -> Result<()> {
    for (i, (tmp, dest)) in renames.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, dest) {
            for (rest, _) in &renames[i..] {
                let _ = fs::remove_file(rest);
            }
            return Err(io_error(dest, e));
        }
    }
    // Make the renames themselves durable (Unix; elsewhere opening a directory fails and
    // there is nothing to do).
    let dirs: Vec<&Path> = renames.iter().filter_map(|(_, d)| d.parent()).collect();
    if let Some(dir) = dirs.first() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn torch_name(map: &NameMap, ours: &'static str) -> Result<&'static str> {
    map.iter()
        .find(|(o, _)| *o == ours)
        .map(|(_, t)| *t)
        .ok_or(TorchIoError::Unmapped { name: ours })
}

/// The file that holds the parameter PyTorch calls `torch_name`: `dir/<torch_name>.npy`.
pub fn param_path(dir: impl AsRef<Path>, torch_name: &str) -> PathBuf {
    dir.as_ref().join(format!("{torch_name}.npy"))
}

/// Saves every parameter of `layer` into `dir` under PyTorch's names ([`PYTORCH_NAMES`]),
/// creating `dir` if needed and replacing files already there.
pub fn save_params<F: NpyFloat, P: Params<F> + ?Sized>(
    layer: &P,
    dir: impl AsRef<Path>,
) -> Result<()> {
    save_params_with(layer, dir, PYTORCH_NAMES)
}

/// Saves every parameter of `layer` into `dir` as `<pytorch name>.npy`, the names given by
/// `map`. Every file is written under a temporary name first; only when all of them are
/// written are they renamed into place.
pub fn save_params_with<F: NpyFloat, P: Params<F> + ?Sized>(
    layer: &P,
    dir: impl AsRef<Path>,
    map: &NameMap,
) -> Result<()> {
    let dir = dir.as_ref();
    let params = layer.params();
    let names = params
        .iter()
        .map(|(ours, _)| torch_name(map, ours))
        .collect::<Result<Vec<_>>>()?;
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut renames = Vec::with_capacity(params.len());
    for ((_, p), name) in params.iter().zip(&names) {
        let dest = param_path(dir, name);
        match write_temp(&dest, p.view()) {
            Ok(tmp) => renames.push((tmp, dest)),
            Err(e) => {
                for (tmp, _) in &renames {
                    let _ = fs::remove_file(tmp);
                }
                return Err(e);
            }
        }
    }
    commit(&renames)
}

/// Loads every parameter of `layer` from `dir`, named as PyTorch names them
/// ([`PYTORCH_NAMES`]). Each file's shape must be the layer's and its dtype `F`; all files
/// are read and checked before the layer changes.
pub fn load_params<F: NpyFloat, P: Params<F> + ?Sized>(
    layer: &mut P,
    dir: impl AsRef<Path>,
) -> Result<()> {
    load_params_with(layer, dir, PYTORCH_NAMES)
}

/// Loads every parameter of `layer` from `dir/<pytorch name>.npy`, the names given by
/// `map`; see [`load_params`].
pub fn load_params_with<F: NpyFloat, P: Params<F> + ?Sized>(
    layer: &mut P,
    dir: impl AsRef<Path>,
    map: &NameMap,
) -> Result<()> {
    let dir = dir.as_ref();
    let mut loaded = Vec::new();
    for (ours, p) in layer.params() {
        let path = param_path(dir, torch_name(map, ours)?);
        let a = read_array_shaped::<F>(&path, p.shape())?;
        if let Some((index, value)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TorchIoError::NonFinite {
                path,
                index: index.slice().to_vec(),
                value: value.as_f64(),
            });
        }
        loaded.push(a);
    }
    for ((_, mut p), a) in layer.params_mut().into_iter().zip(loaded) {
        p.assign(&a);
    }
    Ok(())
}
