//! Checkpoints of a language model in training: every parameter, the vocabulary, the
//! model and training configuration, Adam's moments, the step, the streams' position and
//! the carried state, so that training resumed from a checkpoint takes exactly the steps
//! uninterrupted training would have taken.
//!
//! The file is a header and a payload:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | the magic `RNNLMCKP`: this is a checkpoint of this crate |
//! | 4 | the format version, little-endian (this code writes and reads version 1) |
//! | 8 | the payload's length in bytes |
//! | 4 | the CRC-32 of the payload |
//! | … | the payload: sizes as u64, reals as f64, strings as a length and UTF-8 |
//!
//! **Why CRC-32.** A checkpoint must survive accidents, not adversaries: a disk that flips
//! a bit, a copy cut short, a file from another program. CRC-32 (the checksum of zip,
//! gzip and PNG) catches every error burst up to 32 bits long and all but one in 2³² of
//! the rest, costs one table lookup per byte, and is twenty lines written here; a
//! cryptographic hash would add a dependency and guard against an attacker who could as
//! well replace the whole file. The length field tells a truncated file from a corrupt one.
//!
//! **Why atomic.** A checkpoint is written while training runs, and Ctrl-C or a power cut
//! can come at any moment. The bytes go to a temporary file in the same folder, are
//! flushed to the disk (`fsync`), and the file is renamed over the old checkpoint: a
//! rename within one file system is atomic, so the path always holds either the old
//! complete checkpoint or the new complete one, never half of each.
//!
//! Reals are stored as f64 whatever the model's float type: exact for f32 models, so
//! resuming reproduces their numbers bit for bit.

use crate::fast::FastReal;
use crate::lm::{LanguageModel, LmConfig, LmState, Trainer, TrainerConfig};
use crate::text::{CharVocab, Unknown};
use crate::vocab::WordVocab;
use crate::Params;
use ndarray::{ArrayD, IxDyn};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first eight bytes of every checkpoint.
pub const MAGIC: &[u8; 8] = b"RNNLMCKP";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 4;

/// The vocabulary a model was trained with, saved with it: ids mean nothing without it.
#[derive(Clone, Debug, PartialEq)]
pub enum Vocabulary {
    /// Characters.
    Chars(CharVocab),
    /// Words, with ⟨UNK⟩ and ⟨EOS⟩.
    Words(WordVocab),
}

impl Vocabulary {
    /// The number of ids.
    pub fn len(&self) -> usize {
        match self {
            Vocabulary::Chars(v) => v.len(),
            Vocabulary::Words(v) => v.len(),
        }
    }

    /// Always false: both vocabularies hold at least one token.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What can go wrong with a checkpoint. Each says what is wrong and with which file.
#[derive(Debug)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file does not start with [`MAGIC`]: not a checkpoint.
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a format version this code does not read.
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
    /// The file is shorter than its header says: a copy or a write was cut short.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The bytes the header promises (header included).
        expected: u64,
        /// The bytes there are.
        found: u64,
    },
    /// The payload's CRC-32 differs from the header's: the bytes were changed.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
    /// The payload is well formed as bytes but not as a checkpoint (a field out of range).
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint is valid but does not fit what it is loaded into.
    Mismatch {
        /// What differs: a configuration field, the vocabulary, or a tensor.
        what: String,
        /// Its value in the checkpoint.
        saved: String,
        /// The value expected.
        expected: String,
    },
    /// The crate rejected a value (a configuration, a shape).
    Model(crate::Error),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CheckpointError::NotACheckpoint { path } => write!(
                f,
                "{} is not a checkpoint: it does not start with {:?}",
                path.display(),
                String::from_utf8_lossy(MAGIC)
            ),
            CheckpointError::Version { path, found } => write!(
                f,
                "{} is a checkpoint of format version {found}; this code reads version {VERSION}",
                path.display()
            ),
            CheckpointError::Truncated {
                path,
                expected,
                found,
            } => write!(
                f,
                "{} is truncated: its header promises {expected} bytes, the file has {found}",
                path.display()
            ),
            CheckpointError::Corrupt {
                path,
                stored,
                computed,
            } => write!(
                f,
                "{} is corrupt: the payload's CRC-32 is {computed:08x}, the header says \
                 {stored:08x}",
                path.display()
            ),
            CheckpointError::Malformed { path, reason } => {
                write!(f, "{} is malformed: {reason}", path.display())
            }
            CheckpointError::Mismatch {
                what,
                saved,
                expected,
            } => write!(
                f,
                "the checkpoint does not match: {what} is {saved} in the checkpoint but \
                 {expected} here"
            ),
            CheckpointError::Model(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<crate::Error> for CheckpointError {
    fn from(e: crate::Error) -> Self {
        CheckpointError::Model(e)
    }
}

/// A checkpoint's result type.
pub type Result<T> = std::result::Result<T, CheckpointError>;

// ANCHOR: crc32
/// CRC-32 (IEEE 802.3, the polynomial of zip and PNG, reflected: 0xEDB88320) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}
// ANCHOR_END: crc32

/// Everything a checkpoint holds, loaded.
#[derive(Clone, Debug)]
pub struct Saved<F> {
    /// The model, parameters restored.
    pub model: LanguageModel<F>,
    /// Its vocabulary.
    pub vocab: Vocabulary,
    /// How it was being trained.
    pub trainer: TrainerConfig,
    /// Steps taken.
    pub step: usize,
    /// Where the streams stood.
    pub position: usize,
    /// The state carried into the next window.
    pub state: LmState<F>,
    /// Adam's update count and moments.
    pub adam: (u64, Vec<ArrayD<F>>, Vec<ArrayD<F>>),
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn usize(&mut self, x: usize) {
        self.u64(x as u64);
    }
    fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.usize(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn tensor<F: FastReal>(&mut self, name: &str, t: ndarray::ArrayViewD<F>) {
        self.str(name);
        self.usize(t.ndim());
        t.shape().iter().for_each(|&d| self.usize(d));
        t.iter().for_each(|x| self.f64(x.as_f64()));
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl Reader<'_> {
    fn malformed(&self, reason: String) -> CheckpointError {
        CheckpointError::Malformed {
            path: self.path.to_path_buf(),
            reason,
        }
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        if self.bytes.len() - self.at < n {
            return Err(self.malformed(format!("the payload ends inside {what}")));
        }
        self.at += n;
        Ok(&self.bytes[self.at - n..self.at])
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn usize(&mut self, what: &str) -> Result<usize> {
        let x = self.u64(what)?;
        usize::try_from(x).map_err(|_| self.malformed(format!("{what} = {x} is too large")))
    }
    fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(f64::from_bits(self.u64(what)?))
    }
    fn str(&mut self, what: &str) -> Result<String> {
        let n = self.usize(what)?;
        let b = self.take(n, what)?.to_vec();
        String::from_utf8(b).map_err(|_| self.malformed(format!("{what} is not UTF-8")))
    }
    fn tensor<F: FastReal>(&mut self, what: &str) -> Result<(String, ArrayD<F>)> {
        let name = self.str(what)?;
        let ndim = self.usize(what)?;
        if ndim > 4 {
            return Err(self.malformed(format!("{what} {name:?} has {ndim} axes")));
        }
        let shape = (0..ndim)
            .map(|_| self.usize(what))
            .collect::<Result<Vec<_>>>()?;
        let len = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let len = match len {
            Some(n) if n <= (self.bytes.len() - self.at) / 8 => n,
            _ => {
                return Err(self.malformed(format!(
                    "{what} {name:?} of shape {shape:?} does not fit in the payload"
                )))
            }
        };
        let data = (0..len)
            .map(|_| self.f64(what).map(F::cast))
            .collect::<Result<Vec<F>>>()?;
        let t = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("length checked");
        Ok((name, t))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ANCHOR: save
/// Writes `trainer` (model, Adam, step, streams' position, carried state) and `vocab` to
/// `path`, atomically: a temporary file in the same folder, flushed to disk, renamed.
pub fn save<F: FastReal>(path: &Path, trainer: &Trainer<F>, vocab: &Vocabulary) -> Result<()> {
    let payload = encode(trainer, vocab);
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or("checkpoint".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    if let Err(e) = write_synced(&tmp, &bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    // The rename is durable once the folder's entry is on disk too.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}
// ANCHOR_END: save

/// Writes `bytes` to a new file at `path` and waits until they are on the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn encode<F: FastReal>(trainer: &Trainer<F>, vocab: &Vocabulary) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    let c = trainer.model.config();
    for x in [c.vocab_size, c.embed_size, c.hidden_size, c.layers] {
        w.usize(x);
    }
    w.f64(c.forget_bias);
    w.u64(c.seed);
    let t = &trainer.config;
    w.usize(t.batch);
    w.usize(t.seq_len);
    w.f64(t.lr);
    w.f64(t.final_lr_fraction);
    w.usize(t.decay_steps);
    w.f64(t.clip_norm);
    w.usize(trainer.step);
    w.usize(trainer.streams.position());
    match vocab {
        Vocabulary::Chars(v) => {
            w.u64(0);
            w.u64(u64::from(v.unk_id().is_some()));
            w.str(&v.chars().iter().collect::<String>());
        }
        Vocabulary::Words(v) => {
            w.u64(1);
            w.usize(v.len());
            v.words().iter().for_each(|s| w.str(s));
        }
    }
    let params = trainer.model.params();
    w.usize(params.len());
    for (name, p) in params {
        w.tensor(name, p);
    }
    for (h, c) in trainer.state.h.iter().zip(&trainer.state.c) {
        w.tensor("h", h.view().into_dyn());
        w.tensor("c", c.view().into_dyn());
    }
    let (steps, m, v) = trainer.adam.state();
    w.u64(steps);
    w.usize(m.len());
    for (m, v) in m.iter().zip(v) {
        w.tensor("m", m.view());
        w.tensor("v", v.view());
    }
    w.0
}

/// Reads and verifies the checkpoint at `path`: magic, version, length, checksum, then
/// every field; each tensor must have the shape the saved configuration gives it.
pub fn load<F: FastReal>(path: &Path) -> Result<Saved<F>> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CheckpointError::NotACheckpoint {
            path: path.to_path_buf(),
        });
    }
    if bytes.len() < HEADER {
        return Err(CheckpointError::Truncated {
            path: path.to_path_buf(),
            expected: HEADER as u64,
            found: bytes.len() as u64,
        });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let stored = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let found = bytes.len() as u64;
    if found != HEADER as u64 + len {
        return Err(CheckpointError::Truncated {
            path: path.to_path_buf(),
            expected: HEADER as u64 + len,
            found,
        });
    }
    let payload = &bytes[HEADER..];
    let computed = crc32(payload);
    if computed != stored {
        return Err(CheckpointError::Corrupt {
            path: path.to_path_buf(),
            stored,
            computed,
        });
    }
    decode(Reader {
        bytes: payload,
        at: 0,
        path,
    })
}

fn decode<F: FastReal>(mut r: Reader) -> Result<Saved<F>> {
    let config = LmConfig {
        vocab_size: r.usize("vocab_size")?,
        embed_size: r.usize("embed_size")?,
        hidden_size: r.usize("hidden_size")?,
        layers: r.usize("layers")?,
        forget_bias: r.f64("forget_bias")?,
        seed: r.u64("seed")?,
    };
    let trainer = TrainerConfig {
        batch: r.usize("batch")?,
        seq_len: r.usize("seq_len")?,
        lr: r.f64("lr")?,
        final_lr_fraction: r.f64("final_lr_fraction")?,
        decay_steps: r.usize("decay_steps")?,
        clip_norm: r.f64("clip_norm")?,
    };
    let step = r.usize("step")?;
    let position = r.usize("position")?;
    let vocab = match r.u64("vocabulary kind")? {
        0 => {
            let unknown = if r.u64("unknown policy")? == 1 {
                Unknown::Unk
            } else {
                Unknown::Reject
            };
            Vocabulary::Chars(CharVocab::new(&r.str("characters")?, unknown)?)
        }
        1 => {
            let n = r.usize("word count")?;
            if n > r.bytes.len() / 8 {
                return Err(r.malformed(format!("{n} words do not fit in the payload")));
            }
            let words = (0..n).map(|_| r.str("word")).collect::<Result<Vec<_>>>()?;
            Vocabulary::Words(WordVocab::from_list(words)?)
        }
        k => return Err(r.malformed(format!("unknown vocabulary kind {k}"))),
    };
    if vocab.len() != config.vocab_size {
        return Err(r.malformed(format!(
            "the vocabulary has {} tokens but the model's vocab_size is {}",
            vocab.len(),
            config.vocab_size
        )));
    }
    let mut model = LanguageModel::<F>::new(&config)?;
    let count = r.usize("parameter count")?;
    let expected = model.params().len();
    if count != expected {
        return Err(r.malformed(format!(
            "{count} parameter tensors for a model that has {expected}"
        )));
    }
    for (name, mut p) in model.params_mut() {
        let (saved, t) = r.tensor::<F>("parameter")?;
        check_tensor(&saved, t.shape(), name, p.shape())?;
        p.assign(&t);
    }
    let (batch, h) = (trainer.batch, config.hidden_size);
    let mut state = model.zero_state(batch);
    for l in 0..config.layers {
        for (what, slot) in [("h", &mut state.h[l]), ("c", &mut state.c[l])] {
            let (saved, t) = r.tensor::<F>("state")?;
            check_tensor(&saved, t.shape(), what, &[batch, h])?;
            *slot = t
                .into_dimensionality::<ndarray::Ix2>()
                .expect("shape checked");
        }
    }
    let adam_steps = r.u64("Adam's step count")?;
    let moments = r.usize("Adam's moment count")?;
    if moments != 0 && moments != expected {
        return Err(r.malformed(format!(
            "{moments} Adam moments for a model of {expected} tensors"
        )));
    }
    let (mut m, mut v) = (Vec::new(), Vec::new());
    for (name, p) in model.params().into_iter().take(moments) {
        for (what, list) in [("m", &mut m), ("v", &mut v)] {
            let (saved, t) = r.tensor::<F>("Adam moment")?;
            check_tensor(&saved, t.shape(), what, p.shape()).map_err(|_| {
                r.malformed(format!(
                    "Adam's {what} of {name} has shape {:?}, the parameter {:?}",
                    t.shape(),
                    p.shape()
                ))
            })?;
            list.push(t);
        }
    }
    if r.at != r.bytes.len() {
        return Err(r.malformed(format!(
            "{} bytes are left after the last field",
            r.bytes.len() - r.at
        )));
    }
    Ok(Saved {
        model,
        vocab,
        trainer,
        step,
        position,
        state,
        adam: (adam_steps, m, v),
    })
}

fn check_tensor(saved: &str, shape: &[usize], name: &str, expected: &[usize]) -> Result<()> {
    if saved != name || shape != expected {
        return Err(CheckpointError::Mismatch {
            what: format!("tensor {name}"),
            saved: format!("{saved:?} of shape {shape:?}"),
            expected: format!("{name:?} of shape {expected:?}"),
        });
    }
    Ok(())
}

fn mismatch(what: &str, saved: impl fmt::Debug, expected: impl fmt::Debug) -> CheckpointError {
    CheckpointError::Mismatch {
        what: what.into(),
        saved: format!("{saved:?}"),
        expected: format!("{expected:?}"),
    }
}

impl<F: FastReal> Saved<F> {
    /// Checks that the checkpoint is of a model configured as `config` with vocabulary
    /// `vocab` (a resume with other settings would silently train something else); the
    /// error names the first field that differs, with both values.
    pub fn check_matches(&self, config: &LmConfig, vocab: &Vocabulary) -> Result<()> {
        let c = self.model.config();
        let fields = [
            ("vocab_size", c.vocab_size, config.vocab_size),
            ("embed_size", c.embed_size, config.embed_size),
            ("hidden_size", c.hidden_size, config.hidden_size),
            ("layers", c.layers, config.layers),
        ];
        if let Some((what, s, e)) = fields.into_iter().find(|(_, s, e)| s != e) {
            return Err(mismatch(what, s, e));
        }
        if self.vocab != *vocab {
            let show = |v: &Vocabulary| match v {
                Vocabulary::Chars(c) => format!("{} characters", c.len()),
                Vocabulary::Words(w) => format!("{} words", w.len()),
            };
            return Err(CheckpointError::Mismatch {
                what: "the vocabulary".into(),
                saved: show(&self.vocab),
                expected: format!("{} (different tokens or ids)", show(vocab)),
            });
        }
        Ok(())
    }

    // ANCHOR: resume
    /// A trainer on `ids` that continues where the checkpoint stopped: same parameters,
    /// Adam moments, step, streams' position and carried state.
    pub fn resume(self, ids: Vec<usize>) -> Result<Trainer<F>> {
        let mut trainer = Trainer::new(self.model, ids, self.trainer)?;
        trainer.streams.set_position(self.position)?;
        let (t, m, v) = self.adam;
        trainer.adam.restore(t, m, v)?;
        trainer.state = self.state;
        trainer.step = self.step;
        Ok(trainer)
    }
    // ANCHOR_END: resume
}
