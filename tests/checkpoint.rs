//! Checkpoints: a round trip restores everything; resumed training equals uninterrupted
//! training bit for bit; and every way a file can be wrong (not a checkpoint, another
//! version, truncated, corrupt, malformed, of another model or vocabulary, a tensor of the
//! wrong shape) is an error that says so.

use recurrent::checkpoint::{crc32, load, save, CheckpointError, Saved, Vocabulary, MAGIC};
use recurrent::lm::{LanguageModel, LmConfig, Trainer, TrainerConfig};
use recurrent::text::{CharVocab, Unknown};
use recurrent::vocab::WordVocab;
use recurrent::Params;
use std::path::{Path, PathBuf};

const TEXT: &str = "now is the winter of our discontent made glorious summer by this sun of york; \
                    and all the clouds that lour'd upon our house in the deep bosom of the ocean buried.";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recurrent-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn setup() -> (Trainer<f32>, Vocabulary, Vec<usize>) {
    let vocab = CharVocab::new(TEXT, Unknown::Reject).unwrap();
    let ids = vocab.encode(TEXT).unwrap();
    let model = LanguageModel::<f32>::new(&LmConfig {
        vocab_size: vocab.len(),
        embed_size: 6,
        hidden_size: 10,
        layers: 2,
        seed: 4,
        ..LmConfig::default()
    })
    .unwrap();
    let config = TrainerConfig {
        batch: 3,
        seq_len: 7,
        decay_steps: 20,
        ..TrainerConfig::default()
    };
    let trainer = Trainer::new(model, ids.clone(), config).unwrap();
    (trainer, Vocabulary::Chars(vocab), ids)
}

fn params(t: &Trainer<f32>) -> Vec<Vec<f32>> {
    t.model
        .params()
        .iter()
        .map(|(_, p)| p.iter().copied().collect())
        .collect()
}

/// Rewrites `path` with `edit` applied to its payload and a fresh, valid header.
fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let bytes = std::fs::read(path).unwrap();
    let mut payload = bytes[24..].to_vec();
    edit(&mut payload);
    let mut out = bytes[..12].to_vec();
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    std::fs::write(path, out).unwrap();
}

#[test]
fn crc32_matches_the_standard_check_value() {
    // The check value of every CRC-32 (IEEE) implementation: CRC of "123456789".
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn resumed_training_equals_uninterrupted_training() {
    let d = dir("resume");
    let (mut straight, vocab, ids) = setup();
    let (mut first, _, _) = setup();
    // 3 slices of 54 characters hold 7 windows of 7, so the eighth step wraps around and
    // resets the state: the resumed run must do so at the same step.
    for _ in 0..12 {
        straight.train_step().unwrap();
    }
    for _ in 0..5 {
        first.train_step().unwrap();
    }
    let path = d.join("lm.ckpt");
    save(&path, &first, &vocab).unwrap();
    let saved: Saved<f32> = load(&path).unwrap();
    assert_eq!(saved.vocab, vocab);
    assert_eq!(saved.step, 5);
    let mut resumed = saved.resume(ids).unwrap();
    assert_eq!(params(&resumed), params(&first));
    for _ in 0..7 {
        resumed.train_step().unwrap();
    }
    assert_eq!(resumed.step, straight.step);
    assert_eq!(params(&resumed), params(&straight), "bit for bit");
    assert_eq!(resumed.state, straight.state);
    // No temporary file is left beside the checkpoint, and saving again replaces it.
    save(&path, &resumed, &vocab).unwrap();
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("lm.ckpt")]);
    assert_eq!(load::<f32>(&path).unwrap().step, 12);
}

#[test]
fn damaged_files_are_errors_that_say_what_is_wrong() {
    let d = dir("damaged");
    let (mut trainer, vocab, _) = setup();
    trainer.train_step().unwrap();
    let path = d.join("lm.ckpt");
    save(&path, &trainer, &vocab).unwrap();
    let good = std::fs::read(&path).unwrap();
    let bad = d.join("bad.ckpt");

    std::fs::write(&bad, b"{\"weights\": []}").unwrap();
    let e = load::<f32>(&bad).unwrap_err();
    assert!(matches!(e, CheckpointError::NotACheckpoint { .. }), "{e}");
    assert!(e.to_string().contains("not a checkpoint"));

    let mut v2 = good.clone();
    v2[8] = 2;
    std::fs::write(&bad, &v2).unwrap();
    let e = load::<f32>(&bad).unwrap_err();
    assert!(
        matches!(e, CheckpointError::Version { found: 2, .. }),
        "{e}"
    );

    std::fs::write(&bad, &good[..good.len() - 100]).unwrap();
    let e = load::<f32>(&bad).unwrap_err();
    assert!(matches!(e, CheckpointError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("truncated"));
    std::fs::write(&bad, &good[..10]).unwrap();
    assert!(matches!(
        load::<f32>(&bad).unwrap_err(),
        CheckpointError::Truncated { .. }
    ));

    let mut flipped = good.clone();
    let k = flipped.len() - 40;
    flipped[k] ^= 0x10;
    std::fs::write(&bad, &flipped).unwrap();
    let e = load::<f32>(&bad).unwrap_err();
    assert!(matches!(e, CheckpointError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("CRC-32"));

    // Valid checksums over wrong contents: trailing bytes, an unknown vocabulary kind.
    std::fs::write(&bad, &good).unwrap();
    rewrite(&bad, |p| p.extend_from_slice(&[0; 8]));
    let e = load::<f32>(&bad).unwrap_err();
    assert!(matches!(e, CheckpointError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("left after the last field"));
    std::fs::write(&bad, &good).unwrap();
    // Config: 4 sizes, forget bias, seed; trainer: 6 fields; step, position; then the kind.
    rewrite(&bad, |p| p[14 * 8] = 7);
    let e = load::<f32>(&bad).unwrap_err();
    assert!(e.to_string().contains("unknown vocabulary kind 7"), "{e}");

    // A hidden size that disagrees with the stored tensors names the first tensor.
    std::fs::write(&bad, &good).unwrap();
    rewrite(&bad, |p| p[2 * 8] = 11);
    let e = load::<f32>(&bad).unwrap_err();
    assert!(matches!(e, CheckpointError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("l0.w_ih"), "{e}");

    let e = load::<f32>(&d.join("missing.ckpt")).unwrap_err();
    assert!(matches!(e, CheckpointError::Io { .. }), "{e}");
    let e = save(&d.join("no/such/folder/lm.ckpt"), &trainer, &vocab).unwrap_err();
    assert!(matches!(e, CheckpointError::Io { .. }), "{e}");
    assert!(good.starts_with(MAGIC));
}

#[test]
fn a_checkpoint_of_another_model_or_vocabulary_is_refused() {
    let d = dir("mismatch");
    let (trainer, vocab, _) = setup();
    let path = d.join("lm.ckpt");
    save(&path, &trainer, &vocab).unwrap();
    let saved: Saved<f32> = load(&path).unwrap();
    let config = trainer.model.config().clone();
    saved.check_matches(&config, &vocab).unwrap();
    let wider = LmConfig {
        hidden_size: 12,
        ..config.clone()
    };
    let e = saved.check_matches(&wider, &vocab).unwrap_err();
    assert!(
        e.to_string()
            .contains("hidden_size is 10 in the checkpoint but 12"),
        "{e}"
    );
    let other = Vocabulary::Chars(CharVocab::new("abc", Unknown::Reject).unwrap());
    let e = saved.check_matches(&config, &other).unwrap_err();
    assert!(e.to_string().contains("vocabulary"), "{e}");

    // A word model round-trips its vocabulary, ⟨UNK⟩ and ⟨EOS⟩ included.
    let words = WordVocab::new(TEXT, 20, 1).unwrap();
    let model = LanguageModel::<f64>::new(&LmConfig {
        vocab_size: words.len(),
        embed_size: 4,
        hidden_size: 5,
        ..LmConfig::default()
    })
    .unwrap();
    let ids = words.encode(&TEXT.repeat(3));
    let t = Trainer::new(
        model,
        ids,
        TrainerConfig {
            batch: 2,
            seq_len: 5,
            ..TrainerConfig::default()
        },
    )
    .unwrap();
    let wpath = d.join("words.ckpt");
    save(&wpath, &t, &Vocabulary::Words(words.clone())).unwrap();
    let back: Saved<f64> = load(&wpath).unwrap();
    assert_eq!(back.vocab, Vocabulary::Words(words));
    assert_eq!(back.model, t.model);
}
