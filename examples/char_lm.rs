//! Recreates: a character-level LSTM language model in the style of Karpathy's char-rnn
//! (2015), trained by truncated BPTT on any text file, with checkpoints you can stop and
//! resume. The chapter "Language models and sampling" explains every part.
//!
//! ```text
//! cargo run --release --example char_lm -- [--text PATH] [--seconds N] [--steps N]
//!     [--checkpoint PATH] [--resume PATH] [--hidden H] [--layers L] [--embed E]
//!     [--batch B] [--seq-len T] [--lr LR] [--temperature TAU]
//! ```
//!
//! - `--text`: the corpus (default: the Shakespeare corpus of `cargo xtask data
//!   shakespeare`, if it has been fetched; otherwise a short built-in paragraph).
//! - `--seconds`, `--steps`: stop after whichever comes first (default 120 s, 100 000 steps).
//! - `--checkpoint`: where to save (default `char_lm.ckpt`), every 200 steps, at the end,
//!   and when you press Ctrl-C.
//! - `--resume`: continue from a checkpoint; the model and training settings come from it,
//!   and the text must have the same characters.
//!
//! The last 10% of the text is held out; the end prints its loss in bits per character
//! and a sample.

use indicatif::{ProgressBar, ProgressStyle};
use recurrent::checkpoint::{self, Vocabulary};
use recurrent::init::rng;
use recurrent::lm::{bits, LanguageModel, LmConfig, Trainer, TrainerConfig};
use recurrent::sampling::SamplingConfig;
use recurrent::text::{CharVocab, Unknown};
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUILT_IN: &str = "Shall I compare thee to a summer's day? Thou art more lovely and \
more temperate: rough winds do shake the darling buds of May, and summer's lease hath all too \
short a date.\n";

/// Save every this many steps, so that even a killed run loses little.
const SAVE_EVERY: usize = 200;

struct Args {
    text: Option<PathBuf>,
    seconds: f64,
    steps: usize,
    checkpoint: PathBuf,
    resume: Option<PathBuf>,
    model: LmConfig,
    trainer: TrainerConfig,
    temperature: f64,
}

fn parse() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        text: None,
        seconds: 120.0,
        steps: 100_000,
        checkpoint: "char_lm.ckpt".into(),
        resume: None,
        model: LmConfig::default(),
        trainer: TrainerConfig::default(),
        temperature: 0.8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--text" => a.text = Some(value()?.into()),
            "--seconds" => a.seconds = value()?.parse()?,
            "--steps" => a.steps = value()?.parse()?,
            "--checkpoint" => a.checkpoint = value()?.into(),
            "--resume" => a.resume = Some(value()?.into()),
            "--hidden" => a.model.hidden_size = value()?.parse()?,
            "--layers" => a.model.layers = value()?.parse()?,
            "--embed" => a.model.embed_size = value()?.parse()?,
            "--batch" => a.trainer.batch = value()?.parse()?,
            "--seq-len" => a.trainer.seq_len = value()?.parse()?,
            "--lr" => a.trainer.lr = value()?.parse()?,
            "--temperature" => a.temperature = value()?.parse()?,
            _ => {
                return Err(format!(
                    "unknown argument {flag:?} (see the top of examples/char_lm.rs)"
                )
                .into())
            }
        }
    }
    Ok(a)
}

fn corpus(path: Option<&PathBuf>) -> Result<String, Box<dyn Error>> {
    if let Some(p) = path {
        return Ok(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    let cached =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/recurrent/shakespeare.txt"));
    match cached.and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => Ok(text),
        None => {
            println!("no --text and no Shakespeare cache: training on a built-in paragraph");
            Ok(BUILT_IN.repeat(40))
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = parse()?;
    let text = corpus(args.text.as_ref())?;
    let vocab = CharVocab::new(&text, Unknown::Reject)?;
    let ids = vocab.encode(&text)?;
    let cut = ids.len() - ids.len() / 10;
    let (train_ids, valid_ids) = (ids[..cut].to_vec(), &ids[cut..]);
    let vocabulary = Vocabulary::Chars(vocab.clone());

    let mut trainer: Trainer<f32> = match &args.resume {
        Some(path) => {
            let saved = checkpoint::load(path)?;
            let config = saved.model.config().clone();
            saved.check_matches(&config, &vocabulary)?;
            println!("resuming {} at step {}", path.display(), saved.step);
            saved.resume(train_ids)?
        }
        None => {
            args.model.vocab_size = vocab.len();
            let model = LanguageModel::new(&args.model)?;
            args.trainer.decay_steps = args.steps.min(args.trainer.decay_steps.max(1));
            Trainer::new(model, train_ids, args.trainer.clone())?
        }
    };

    // Ctrl-C only raises a flag; the loop sees it between steps, saves, and exits.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))?;

    let bar = ProgressBar::new(args.steps as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] step {pos}/{len} {msg}",
    )?);
    bar.set_position(trainer.step as u64);
    let started = Instant::now();
    let budget = Duration::from_secs_f64(args.seconds);
    let mut smoothed = None;
    while trainer.step < args.steps && started.elapsed() < budget {
        if stop.load(Ordering::SeqCst) {
            bar.println("Ctrl-C: saving a checkpoint before exiting");
            break;
        }
        let loss = trainer.train_step()?;
        let s = smoothed.map_or(loss, |s: f64| 0.98 * s + 0.02 * loss);
        smoothed = Some(s);
        bar.set_position(trainer.step as u64);
        bar.set_message(format!("loss {s:.3} nats/char ({:.2} bits)", bits(s)));
        if trainer.step.is_multiple_of(SAVE_EVERY) {
            checkpoint::save(&args.checkpoint, &trainer, &vocabulary)?;
        }
    }
    bar.finish();
    checkpoint::save(&args.checkpoint, &trainer, &vocabulary)?;
    println!(
        "saved {} at step {} (resume with --resume {0})",
        args.checkpoint.display(),
        trainer.step
    );
    if stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    let held_out =
        trainer
            .model
            .evaluate(valid_ids, 16.min(valid_ids.len() / 2).max(1), 256, None)?;
    println!(
        "held-out loss: {held_out:.3} nats/char = {:.3} bits/char",
        bits(held_out)
    );
    let prompt = vocab.encode(&text[..1])?;
    let config = SamplingConfig {
        temperature: args.temperature,
        max_len: 400,
        ..SamplingConfig::default()
    };
    let drawn = trainer.model.sample(&prompt, &config, &mut rng(0))?;
    println!(
        "sample at temperature {}:\n{}{}",
        args.temperature,
        vocab.decode(&prompt)?,
        vocab.decode(&drawn)?
    );
    Ok(())
}
