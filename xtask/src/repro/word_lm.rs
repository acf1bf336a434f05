//! `cargo xtask repro word-lm`: a word-level LSTM language model on Shakespeare, with a
//! vocabulary of the most frequent words plus ⟨UNK⟩ and ⟨EOS⟩: held-out perplexity beside
//! the uniform and unigram baselines, the probability of sentences as the product of the
//! model's conditionals, next-word predictions, and samples that stop at ⟨EOS⟩.
//!
//! Writes `word-lm.md` / `.csv` (perplexities), `word-lm-sentences.md` (sentence
//! probabilities), `word-lm-next.md` (next-word predictions), `word-lm-samples.md` and
//! `word-lm-setup.md`. `--quick` trains on the paragraph of the character experiment.

use anyhow::Result;
use recurrent::init::rng;
use recurrent::lm::{perplexity, LanguageModel, LmConfig, Trainer, TrainerConfig};
use recurrent::sampling::SamplingConfig;
use recurrent::text::unigram_cross_entropy;
use recurrent::vocab::{WordVocab, EOS, UNK};

use super::char_lm::{load_average, thread_cpu_seconds, QUICK_TEXT};
use super::{Ctx, Table};

/// Sentences whose probability the chapter shows, each with its words shuffled: the
/// model should prefer Shakespeare's order.
const SENTENCES: [(&str, &str); 4] = [
    ("to be or not to be", "be to not or be to"),
    ("i pray you tell me", "me you tell pray i"),
    ("my lord the king is dead", "dead the is lord king my"),
    ("what say you to this", "this to you say what"),
];

/// Contexts for next-word prediction, read after an ⟨EOS⟩.
const CONTEXTS: [&str; 4] = ["good", "i pray", "my lord", "what is"];

/// Runs the experiment.
pub fn run(ctx: &Ctx) -> Result<()> {
    let text = if ctx.quick {
        QUICK_TEXT.repeat(8)
    } else {
        crate::data::shakespeare()?
    };
    // The vocabulary comes from the training part only: held-out words it lacks are ⟨UNK⟩,
    // as they would be for any new text.
    let cut = text.len() - text.len() / 10;
    let cut = (cut..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    let (train_text, valid_text) = text.split_at(cut);
    // 3000 words: the head's cost grows with V, and on one core a larger vocabulary would
    // leave too little time for training (the ⟨UNK⟩ rate in the setup says what it costs).
    let max_words = ctx.pick(3000, 50);
    let vocab = WordVocab::new(train_text, max_words, 2)?;
    let train_ids = vocab.encode(train_text);
    let valid_ids = vocab.encode(valid_text);
    let v = vocab.len();
    let steps = ctx.pick(600, 60);
    let model_config = LmConfig {
        vocab_size: v,
        embed_size: ctx.pick(64, 16),
        hidden_size: ctx.pick(128, 32),
        layers: 1,
        forget_bias: 1.0,
        seed: 2,
    };
    let trainer_config = TrainerConfig {
        batch: ctx.pick(32, 4),
        seq_len: ctx.pick(32, 8),
        lr: 3e-3,
        final_lr_fraction: 0.1,
        decay_steps: steps,
        clip_norm: 5.0,
    };
    let model = LanguageModel::<f32>::new(&model_config)?;
    let mut trainer = Trainer::new(model, train_ids.clone(), trainer_config.clone())?;
    let load_before = load_average();
    let bar = ctx.progress(steps, "word-lm: training");
    let cpu_start = thread_cpu_seconds();
    let wall = std::time::Instant::now();
    while trainer.step < steps {
        let loss = trainer.train_step()?;
        bar.inc(1);
        bar.set_prefix(format!("ppl {:.0}", perplexity(loss)));
    }
    bar.finish_and_clear();
    let cpu = match (cpu_start, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall.elapsed().as_secs_f64(),
    };
    let wall = wall.elapsed().as_secs_f64();
    let model = &trainer.model;
    let streams = ctx.pick(64, 2);
    let held_out = model.evaluate(&valid_ids, streams, 256, None)?;
    let train_est = model.evaluate(&train_ids, streams, 256, Some(ctx.pick(2000, 50)))?;
    let unigram = unigram_cross_entropy(&train_ids, &valid_ids, v)?;

    let mut table = Table::new(&["model", "held-out cross-entropy (nats/word)", "perplexity"]);
    for (name, nats) in [
        ("uniform over the vocabulary", (v as f64).ln()),
        ("unigram (training counts, add-one)", unigram),
        ("LSTM", held_out),
    ] {
        table.row(vec![
            name.into(),
            format!("{nats:.3}"),
            format!("{:.1}", perplexity(nats)),
        ]);
    }
    ctx.write_table("word-lm", &table)?;
    ctx.write_text(
        "word-lm-setup",
        &format!(
            "Vocabulary: the {} most frequent words of the training text seen at least twice, \
             plus ⟨UNK⟩ and ⟨EOS⟩ ({v} ids); {} training and {} held-out tokens; ⟨UNK⟩ is \
             {:.1}% of the training tokens and {:.1}% of the held-out ones. Model: embedding \
             {} → LSTM {} → linear head, float32; truncated BPTT over {} streams of {} words, \
             Adam at {:.0e} decaying to {:.0e} over {steps} steps ({} words read, {:.2} passes over \
             the training text) in {cpu:.0} CPU seconds ({wall:.0} s wall on the shared \
             machine; load average {load_before}, then {}). The training loss at the end, \
             estimated on the training text the same way: perplexity {:.0}.",
            v - 2,
            train_ids.len(),
            valid_ids.len(),
            100.0 * WordVocab::unk_rate(&train_ids),
            100.0 * WordVocab::unk_rate(&valid_ids),
            model_config.embed_size,
            model_config.hidden_size,
            trainer_config.batch,
            trainer_config.seq_len,
            trainer_config.lr,
            trainer_config.lr * trainer_config.final_lr_fraction,
            steps * trainer_config.batch * trainer_config.seq_len,
            (steps * trainer_config.batch * trainer_config.seq_len) as f64 / train_ids.len() as f64,
            load_average(),
            perplexity(train_est),
        ),
    )?;

    let mut sentences = Table::new(&[
        "sentence (then ⟨EOS⟩)",
        "log p (nats)",
        "p",
        "shuffled",
        "log p shuffled",
    ]);
    for (sentence, shuffled) in SENTENCES {
        let score = |s: &str| -> Result<f64> {
            let mut ids = vocab.encode(s);
            ids.push(EOS);
            Ok(model.log_prob(EOS, &ids)?)
        };
        let (a, b) = (score(sentence)?, score(shuffled)?);
        sentences.row(vec![
            format!("*{sentence}*"),
            format!("{a:.2}"),
            format!("{:.1e}", a.exp()),
            format!("*{shuffled}*"),
            format!("{b:.2}"),
        ]);
    }
    ctx.write_table("word-lm-sentences", &sentences)?;

    // Tokens go in code spans: Markdown would read `<eos>` as an HTML tag and drop it.
    let mut next = Table::new(&["after", "the model's five most likely next words"]);
    for context in CONTEXTS {
        let mut ids = vec![EOS];
        ids.extend(vocab.encode(context));
        let top = model.predict_next(&ids, 5)?;
        let words: Vec<String> = top
            .iter()
            .map(|&(w, p)| Ok(format!("`{}` ({p:.3})", vocab.decode(&[w])?)))
            .collect::<Result<_>>()?;
        next.row(vec![format!("*{context}*"), words.join(", ")]);
    }
    ctx.write_table("word-lm-next", &next)?;

    let mut samples = String::new();
    for (k, (temperature, banned)) in [(0.8, vec![UNK]), (1.0, vec![UNK]), (1.0, vec![])]
        .into_iter()
        .enumerate()
    {
        let config = SamplingConfig {
            temperature,
            max_len: 60,
            stop: Some(EOS),
            banned: banned.clone(),
            ..SamplingConfig::default()
        };
        samples.push_str(&format!(
            "**Temperature {temperature}, ⟨UNK⟩ {}** (seed {}):\n\n",
            if banned.is_empty() { "kept" } else { "banned" },
            20 + k
        ));
        for s in 0..3u64 {
            let drawn = model.sample(&[EOS], &config, &mut rng(20 + k as u64 * 10 + s))?;
            samples.push_str(&format!("- `{}`\n", vocab.decode(&drawn)?));
        }
        samples.push('\n');
    }
    ctx.write_text("word-lm-samples", &samples)?;
    println!(
        "repro word-lm: {steps} steps, {cpu:.0} CPU s ({wall:.0} wall s); held-out perplexity {:.1} (unigram {:.1}, uniform {v})",
        perplexity(held_out),
        perplexity(unigram)
    );
    Ok(())
}
