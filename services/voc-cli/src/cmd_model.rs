//! `voc model train`: fits the learned model beside the rules (`voc_core::model`) on labeled
//! sets, so a company can retrain it on its own labeled voices.
//!
//! The text is what the analysis reads (normalised, masked customer turns); the features are
//! fitted here (`voc_core::model::fit_vocabulary`), the logistic regressions by linfa-logistic
//! (L-BFGS on the L2-regularised log-loss). Only `dev` and `tune` sets are used by default: a
//! blind set the model was fitted on would no longer be blind.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use voc_core::eval::GoldLabels;
use voc_core::model::{self, HeadFile, HeadLabel, ModelFile, TextModel};
use voc_core::{Analyzer, Limits};

use crate::cmd_eval::DEFAULT_SETS;
use crate::cmd_tag;

/// The options of `voc model train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Labeled JSONL files (default: the `dev` and `tune` sets of `--sets`, never the blind ones).
    pub files: Vec<PathBuf>,
    /// The labeled sets' manifest, used when no file is given.
    #[arg(long, default_value = DEFAULT_SETS)]
    pub sets: PathBuf,
    /// Where to write the model (gzip-compressed JSON); name it in the rules' `[model] file`.
    #[arg(long)]
    pub out: PathBuf,
    /// The model's name, shown in evidence as `model:NAME`.
    #[arg(long)]
    pub name: String,
    /// L2 regularisation strength (linfa-logistic's alpha; scikit-learn's 1 / C). 0.25 (C = 4):
    /// 0.1 and 1.0 did worse on voices2-tune (data/eval/README.md).
    #[arg(long, default_value_t = 0.25)]
    pub alpha: f64,
    /// Keep only n-grams found in at least this many voices: an n-gram of one voice is noise,
    /// and may be a piece of that customer's words.
    #[arg(long, default_value_t = 2)]
    pub min_df: usize,
    /// Keep at most this many n-grams, those in most voices (6,000 scored as well as all of them
    /// on the evaluation sets; 8,000 leaves room).
    #[arg(long, default_value_t = 8000)]
    pub max_features: usize,
    /// L-BFGS iterations per head (300 reaches linfa's gradient tolerance on the bundled sets).
    #[arg(long, default_value_t = 300)]
    pub iterations: u64,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Warns about gold topics and complaint types the rules do not declare: the model is fitted for
/// the rules' labels only (`--rules` names a company's file), so those are left out.
fn warn_unknown_labels(analyzer: &Analyzer, docs: &[(String, GoldLabels)]) {
    let rules = analyzer.rules();
    let mut unknown: Vec<String> = docs
        .iter()
        .flat_map(|(_, g)| {
            let topics = g
                .topics
                .iter()
                .filter(|t| !rules.topics.iter().any(|(id, _)| id == *t))
                .map(|t| format!("topic {t}"));
            let ct = g
                .complaint_type
                .iter()
                .filter(|c| !rules.complaint_types.iter().any(|(id, _)| id == *c))
                .map(|c| format!("complaint type {c}"));
            topics.chain(ct).collect::<Vec<_>>()
        })
        .collect();
    unknown.sort();
    unknown.dedup();
    if !unknown.is_empty() {
        eprintln!(
            "warning: the rules ({}) do not declare {}: left out of the model (give the rules that do with --rules)",
            rules.version,
            unknown.join(", ")
        );
    }
}

/// Runs `voc model train` and prints what was fitted.
pub fn train(analyzer: &Analyzer, limits: &Limits, args: &TrainArgs) -> anyhow::Result<()> {
    // Before reading and analysing every labeled voice, not after.
    anyhow::ensure!(
        args.force || !args.out.exists(),
        "{} exists: a refit under the name the rules already use would change tags without \
         changing the rules' version; write a new file and name it in `[model] file` (or --force)",
        args.out.display()
    );
    // Only sets meant for tuning: a set fitted on can no longer measure anything.
    let files = crate::cmd_eval::labeled_files(&args.files, &args.sets, |s| {
        matches!(s.role.as_str(), "dev" | "tune")
    })?;
    let mut docs: Vec<(String, GoldLabels)> = Vec::new();
    for (name, path) in &files {
        let rejected = cmd_tag::for_each_labeled(analyzer, limits, path, |analysis, gold| {
            docs.push((analysis.customer_text.clone(), gold));
        })
        .with_context(|| format!("reading {name}"))?;
        anyhow::ensure!(rejected == 0, "{name}: {rejected} lines rejected");
    }
    // Below a few dozen voices a fit is noise; 20 is where a head has two classes to tell apart.
    anyhow::ensure!(docs.len() >= 20, "too few labeled voices to fit a model");
    warn_unknown_labels(analyzer, &docs);
    let texts: Vec<&str> = docs.iter().map(|(t, _)| t.as_str()).collect();
    let (keys, idf) = model::fit_vocabulary(&texts, args.min_df, args.max_features);
    // The idf as the file stores it, so the fit sees exactly the features the analysis will.
    let idf: Vec<f32> = idf.iter().map(|w| (w * 1e4).round() / 1e4).collect();
    let vocab: foldhash::HashMap<u64, u32> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let mut x = Array2::<f64>::zeros((docs.len(), keys.len()));
    for (row, text) in texts.iter().enumerate() {
        for (id, v) in model::tfidf(text, &vocab, &idf) {
            x[[row, id as usize]] = f64::from(v);
        }
    }
    eprintln!(
        "fitting on {} voices from {} set(s), {} n-gram features",
        docs.len(),
        files.len(),
        keys.len()
    );
    let mut heads: Vec<HeadFile> = [
        multinomial(&x, args, HeadLabel::Voice, &docs, |g| {
            g.voice_type.as_str().into()
        })?,
        multinomial(&x, args, HeadLabel::Sentiment, &docs, |g| {
            g.sentiment.as_str().into()
        })?,
    ]
    .into_iter()
    .flatten()
    .collect();
    // The complaint type is fitted on complaints only: the decision asks it of complaints.
    let complaints: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].1.complaint_type.is_some())
        .collect();
    let xc = x.select(ndarray::Axis(0), &complaints);
    let dc: Vec<(String, GoldLabels)> = complaints.iter().map(|&i| docs[i].clone()).collect();
    heads.extend(multinomial(
        &xc,
        args,
        HeadLabel::ComplaintType,
        &dc,
        |g| g.complaint_type.clone().unwrap_or_default(),
    )?);
    let mut topics = HeadFile {
        label: HeadLabel::Topics,
        classes: Vec::new(),
        bias: Vec::new(),
        weights: Vec::new(),
    };
    for (topic, _) in &analyzer.rules().topics {
        let y: Array1<bool> = docs.iter().map(|(_, g)| g.topics.contains(topic)).collect();
        let positives = y.iter().filter(|p| **p).count();
        if positives < 2 || positives == y.len() {
            eprintln!("  topic {topic}: {positives} examples, left out");
            continue;
        }
        let fit = LogisticRegression::default()
            .alpha(args.alpha)
            .max_iterations(args.iterations)
            .fit(&Dataset::new(x.clone(), y))
            .with_context(|| format!("fitting topic {topic}"))?;
        // linfa's positive class is the larger one: flip the sign when that is "absent".
        let sign = if fit.labels().pos.class { 1.0 } else { -1.0 };
        topics.classes.push(topic.clone());
        topics.bias.push(round(sign * fit.intercept()));
        topics
            .weights
            .push(fit.params().iter().map(|w| round(sign * w)).collect());
    }
    heads.push(topics);
    let file = ModelFile {
        format: model::FORMAT,
        name: args.name.clone(),
        // Set names or file names only: a path could name a person's home directory.
        trained_on: files
            .iter()
            .map(|(n, p)| {
                if args.files.is_empty() {
                    n.clone()
                } else {
                    p.file_name()
                        .map_or_else(|| n.clone(), |f| f.to_string_lossy().into_owned())
                }
            })
            .collect(),
        items: docs.len(),
        alpha: args.alpha,
        features: keys
            .iter()
            .zip(&idf)
            .map(|(k, w)| (model::ngram_of(*k), *w))
            .collect(),
        heads,
    };
    // Read back before writing: what is written is a model the analysis can load.
    let loaded = TextModel::from_file(file.clone()).context("the fitted model is malformed")?;
    let json = serde_json::to_vec(&file)?;
    // Written beside and renamed into place: a worker starting meanwhile never reads half a file.
    let partial = args.out.with_extension("partial");
    let out = std::fs::File::create(&partial)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::best());
    gz.write_all(&json)?;
    gz.finish()?.sync_all()?;
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({} features; heads: {})",
        args.out.display(),
        loaded.feature_count(),
        loaded
            .heads()
            .map(|(h, c)| format!("{h:?} {}", c.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// A multinomial head over the gold `class` of each voice; none (with a note) when the voices
/// hold fewer than two classes.
fn multinomial(
    x: &Array2<f64>,
    args: &TrainArgs,
    label: HeadLabel,
    docs: &[(String, GoldLabels)],
    class: impl Fn(&GoldLabels) -> String,
) -> anyhow::Result<Option<HeadFile>> {
    let y: Array1<String> = docs.iter().map(|(_, g)| class(g)).collect();
    let mut classes: Vec<&String> = y.iter().collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        eprintln!("  {label:?}: fewer than two classes in the voices, left out");
        return Ok(None);
    }
    let fit = MultiLogisticRegression::default()
        .alpha(args.alpha)
        .max_iterations(args.iterations)
        .fit(&Dataset::new(x.clone(), y))
        .with_context(|| format!("fitting the {label:?} head"))?;
    let params = fit.params();
    Ok(Some(HeadFile {
        label,
        classes: fit.classes().iter().map(|c| c.to_string()).collect(),
        bias: fit.intercept().iter().map(|b| round(*b)).collect(),
        weights: (0..fit.classes().len())
            .map(|c| params.column(c).iter().map(|w| round(*w)).collect())
            .collect(),
    }))
}

/// Weights are stored with four decimals: the file stays small and diffs stay readable.
fn round(w: f64) -> f32 {
    ((w * 1e4).round() / 1e4) as f32
}
