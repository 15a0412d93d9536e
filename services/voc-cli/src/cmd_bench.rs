//! `voc bench analysis`: the cost of analysis measured against bare lindera segmentation of the
//! same texts, in the same process, single-threaded and then on every core.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use voc_core::message::Speaker;
use voc_core::{Analyzer, Limits, parse_message};

use crate::jsonl::{self, Line};

/// Runs `f` over the inputs `rounds` times and returns the best seconds (least disturbed by others).
fn best_of<T>(rounds: usize, inputs: &[T], mut f: impl FnMut(&T)) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let started = Instant::now();
        for x in inputs {
            f(x);
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    best
}

pub fn analysis(
    analyzer: &Analyzer,
    file: &Path,
    limit: Option<usize>,
    rounds: usize,
) -> anyhow::Result<()> {
    let reader = jsonl::open(Some(file))?;
    let limits = Limits::default();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for line in jsonl::Lines::new(reader, limits.max_message_bytes) {
        if let Line::Data { bytes, .. } = line.context("cannot read the corpus")? {
            messages.push(bytes);
        }
        if limit.is_some_and(|l| messages.len() >= l) {
            break;
        }
    }
    // The texts bare lindera gets: the customer's words, as the analysis sees them.
    let texts: Vec<String> = messages
        .iter()
        .filter_map(|m| parse_message(m, &limits).ok())
        .map(|m| {
            m.turns
                .iter()
                .filter(|t| t.speaker == Speaker::Customer)
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    // The same words as the analysis hands them to lindera: normalised (NFKC folds full-width
    // marks to ASCII, which IPADIC segments as unknown words, at a cost) and masked.
    let analysed: Vec<String> = messages
        .iter()
        .filter_map(|m| parse_message(m, &limits).ok())
        .map(|m| Analyzer::customer_document(&m).0)
        .collect();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let n = messages.len();
    anyhow::ensure!(
        n > 0 && chars > 0,
        "no interactions with customer text in {}",
        file.display()
    );

    let tokenizer = analyzer.tokenizer();
    let mut tokens = 0usize;
    let lindera_s = best_of(rounds, &texts, |t| {
        tokens += tokenizer.bare_segment(t).unwrap_or(0)
    });
    let lindera_analysed_s = best_of(rounds, &analysed, |t| {
        tokens += tokenizer.bare_segment(t).unwrap_or(0)
    });
    let mut tagged = 0usize;
    let analysis_s = best_of(rounds, &messages, |m| {
        if let Ok(msg) = parse_message(m, &limits) {
            tagged += analyzer.analyze(&msg).map(|_| 1).unwrap_or(0);
        }
    });

    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1);
    let parallel_s = {
        let mut best = f64::INFINITY;
        for _ in 0..rounds {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for chunk in messages.chunks(n.div_ceil(threads)) {
                    let a = analyzer.clone();
                    scope.spawn(move || {
                        for m in chunk {
                            if let Ok(msg) = parse_message(m, &limits) {
                                let _ = a.analyze(&msg);
                            }
                        }
                    });
                }
            });
            best = best.min(started.elapsed().as_secs_f64());
        }
        best
    };

    let per_s = |secs: f64| chars as f64 / secs;
    println!(
        "corpus: {} ({n} interactions, {chars} customer characters), best of {rounds} rounds",
        file.display()
    );
    println!("{:<44} {:>14} {:>16}", "", "chars/s", "interactions/s");
    println!(
        "{:<44} {:>14.0} {:>16}",
        "bare lindera segmentation (1 thread)",
        per_s(lindera_s),
        ""
    );
    println!(
        "{:<44} {:>14.0} {:>16}",
        "bare lindera on the analysed text (1 thread)",
        per_s(lindera_analysed_s),
        ""
    );
    println!(
        "{:<44} {:>14.0} {:>16.0}",
        "full analysis (1 thread)",
        per_s(analysis_s),
        n as f64 / analysis_s
    );
    println!(
        "{:<44} {:>14.0} {:>16.0}",
        format!("full analysis ({threads} threads)"),
        per_s(parallel_s),
        n as f64 / parallel_s
    );
    println!(
        "analysis / lindera (1 thread): {:.3}",
        lindera_s / analysis_s
    );
    println!(
        "{}",
        serde_json::json!({
            "chars": chars,
            "lindera_chars_per_s": per_s(lindera_s).round(),
            "lindera_analysed_text_chars_per_s": per_s(lindera_analysed_s).round(),
            "analysis_chars_per_s": per_s(analysis_s).round(),
            "ratio": ((lindera_s / analysis_s) * 1000.0).round() / 1000.0,
            "threads": 1,
            "parallel_threads": threads,
            "parallel_chars_per_s": per_s(parallel_s).round(),
            "interactions_per_s": (n as f64 / analysis_s).round(),
        })
    );
    Ok(())
}
