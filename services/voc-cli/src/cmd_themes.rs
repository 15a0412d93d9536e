//! `voc themes list|show`: the themes the flagger discovered; `voc themes eval`: how well themes
//! recover the gold topics of labeled sets, with the topic labels hidden from the clustering, and
//! how many complaints a rule topic or a theme covers.

use std::path::PathBuf;

use serde::Serialize;
use voc_core::{Analyzer, Limits, VoiceType};
use voc_flags::theme_store::{self, Theme, ThemeStatus};
use voc_flags::themes::{self, Agreement, Corpus, ThemeConfig};

use crate::cmd_eval::DEFAULT_SETS;
use crate::cmd_stream::connect_migrated;
use crate::cmd_tag;
use crate::settings::Settings;

/// The options of `voc themes eval`.
#[derive(Debug, clap::Args)]
pub struct ThemesEvalArgs {
    /// Labeled files; none: every set of `--sets`, one after the other and all pooled.
    pub files: Vec<PathBuf>,
    #[arg(long, default_value = DEFAULT_SETS)]
    pub sets: PathBuf,
    /// Print the figures as JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// The figures of one corpus.
#[derive(Debug, Clone, Serialize)]
pub struct ThemeFigures {
    pub name: String,
    pub interactions: usize,
    pub themes: usize,
    /// Share of interactions in a theme.
    pub clustered: f64,
    /// Against each interaction's first gold topic.
    pub agreement: Agreement,
    /// Share of gold complaints with a rule topic (as tagged) or a theme.
    pub complaint_coverage: f64,
    /// Share of gold complaints with a rule topic only.
    pub complaint_topic_coverage: f64,
    /// The largest themes' labels with their sizes.
    pub largest: Vec<(String, usize)>,
}

struct Voice {
    id: String,
    keywords: Vec<String>,
    topics: Vec<String>,
    gold_topic: Option<String>,
    gold_complaint: bool,
}

/// Runs `voc themes eval`; returns the figures of every set and of all sets pooled (last).
pub fn eval(
    analyzer: &Analyzer,
    limits: &Limits,
    config: &ThemeConfig,
    args: &ThemesEvalArgs,
) -> anyhow::Result<Vec<ThemeFigures>> {
    let files = crate::cmd_eval::labeled_files(&args.files, &args.sets, |_| true)?;
    let mut all: Vec<Voice> = Vec::new();
    let mut figures = Vec::new();
    for (name, path) in &files {
        let mut voices = Vec::new();
        cmd_tag::for_each_labeled(analyzer, limits, path, |a, gold| {
            voices.push(Voice {
                id: format!("{name}/{}", a.tags.interaction_id),
                keywords: a.tags.keywords.clone(),
                topics: a.tags.topics.clone(),
                gold_topic: gold.topics.first().cloned(),
                gold_complaint: gold.voice_type == VoiceType::Complaint,
            });
        })?;
        figures.push(measure(name, &voices, config));
        all.extend(voices);
    }
    if files.len() > 1 {
        figures.push(measure("(all pooled)", &all, config));
    }
    for f in &figures {
        if args.json {
            println!("{}", serde_json::to_string(f)?);
        } else {
            println!(
                "{:<22} {:>5} voices {:>3} themes  clustered {:.3}  purity {:.3}  NMI {:.3}  complaints covered {:.3} (topics alone {:.3})",
                f.name,
                f.interactions,
                f.themes,
                f.clustered,
                f.agreement.purity,
                f.agreement.nmi,
                f.complaint_coverage,
                f.complaint_topic_coverage
            );
        }
    }
    if let (false, Some(last)) = (args.json, figures.last()) {
        println!("largest themes of {}:", last.name);
        for (label, size) in &last.largest {
            println!("  {size:>4}  {label}");
        }
    }
    Ok(figures)
}

fn measure(name: &str, voices: &[Voice], config: &ThemeConfig) -> ThemeFigures {
    let mut corpus = Corpus::default();
    for v in voices {
        corpus.push(
            &v.id,
            0,
            v.keywords.iter().map(String::as_str),
            v.topics.clone(),
        );
    }
    let found = themes::discover(&corpus, config);
    let mut theme_of: Vec<Option<usize>> = vec![None; voices.len()];
    for (k, t) in found.iter().enumerate() {
        for &d in &t.members {
            theme_of[d] = Some(k);
        }
    }
    let pairs: Vec<(usize, &str)> = voices
        .iter()
        .zip(&theme_of)
        .filter_map(|(v, t)| Some(((*t)?, v.gold_topic.as_deref()?)))
        .collect();
    let complaints: Vec<usize> = (0..voices.len())
        .filter(|&d| voices[d].gold_complaint)
        .collect();
    let share = |hit: &dyn Fn(usize) -> bool| {
        complaints.iter().filter(|&&d| hit(d)).count() as f64 / complaints.len().max(1) as f64
    };
    ThemeFigures {
        name: name.to_string(),
        interactions: voices.len(),
        themes: found.len(),
        clustered: theme_of.iter().flatten().count() as f64 / voices.len().max(1) as f64,
        agreement: themes::agreement(&pairs),
        complaint_coverage: share(&|d| !voices[d].topics.is_empty() || theme_of[d].is_some()),
        complaint_topic_coverage: share(&|d| !voices[d].topics.is_empty()),
        largest: found
            .iter()
            .take(8)
            .map(|t| (t.label(), t.members.len()))
            .collect(),
    }
}

/// `voc themes list`: themes as the last flagger run left them, largest first.
pub async fn list(
    settings: &Settings,
    json: bool,
    all: bool,
    since: Option<&str>,
    product: Option<&str>,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let mut found = theme_store::list(&store).await?;
    if !all {
        found.retain(|t| t.status == ThemeStatus::Active);
    }
    if let Some(since) = since {
        let at = voc_store::rows::epoch_seconds(crate::cmd_flags::now_or(Some(since))?);
        found.retain(|t| t.last_seen >= at);
    }
    if let Some(p) = product {
        let window = voc_flags::theme_store::lookback_s(&settings.flags);
        let since = voc_store::rows::epoch_seconds(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(window),
        );
        let ids = theme_store::themes_of_product(&store, p, since).await?;
        found.retain(|t| ids.contains(&t.theme_id));
    }
    if json {
        for t in &found {
            println!("{}", serde_json::to_string(&theme_json(t))?);
        }
        return Ok(());
    }
    if found.is_empty() {
        println!("no themes (the flagger computes them at every run: `voc flagger --once`)");
        return Ok(());
    }
    println!(
        "{:<12} {:<7} {:>5}  {:<26} LABEL",
        "THEME", "STATUS", "SIZE", "RULE TOPIC"
    );
    for t in &found {
        println!(
            "{:<12} {:<7} {:>5}  {:<26} {}",
            t.theme_id,
            t.status,
            t.size,
            t.coverage(),
            t.label
        );
    }
    Ok(())
}

/// `voc themes show ID`: terms, trend, overlapping topics and masked samples; `--members` lists
/// every member interaction instead.
pub async fn show(settings: &Settings, id: &str, json: bool, members: bool) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let theme = &theme_store::find(&store, id)
        .await?
        .map_err(anyhow::Error::msg)?;
    if members {
        for m in theme_store::members(&store, &theme.theme_id).await? {
            println!("{m}");
        }
        return Ok(());
    }
    let trend = theme_store::trend(
        &store,
        &theme.theme_id,
        i64::from(settings.console.utc_offset_hours) * 3600,
    )
    .await?;
    let samples = theme_store::masked_texts(&store, &theme.sample_ids).await?;
    if json {
        let mut v = theme_json(theme);
        v["trend"] = serde_json::to_value(&trend)?;
        v["samples"] = samples
            .iter()
            .map(|(id, text)| serde_json::json!({"interaction_id": id, "text": text}))
            .collect();
        println!("{v}");
        return Ok(());
    }
    println!(
        "{}  {}  ({}, {} interactions)",
        theme.theme_id, theme.label, theme.status, theme.size
    );
    if !theme.merged_into.is_empty() {
        println!("merged into {}", theme.merged_into);
    }
    if !theme.split_from.is_empty() {
        println!("split from {}", theme.split_from);
    }
    let pairs = |names: &[String], counts: &[u64]| {
        names
            .iter()
            .zip(counts)
            .map(|(n, c)| format!("{n} ({c})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("terms:  {}", pairs(&theme.terms, &theme.term_counts));
    println!(
        "topics: {}  — {}",
        if theme.topics.is_empty() {
            "(none)".to_string()
        } else {
            pairs(&theme.topics, &theme.topic_counts)
        },
        theme.coverage()
    );
    println!("trend (day, interactions, negative, complaints):");
    for d in &trend {
        println!(
            "  {}  {:>5} {:>5} {:>5}",
            d.day, d.interactions, d.negative, d.complaints
        );
    }
    println!("samples (masked):");
    for (id, text) in &samples {
        let short: String = text.chars().take(120).collect();
        println!("  {id}: {}", short.replace('\n', " / "));
    }
    Ok(())
}

/// The JSON form of a theme: times as RFC 3339.
fn theme_json(t: &Theme) -> serde_json::Value {
    let at = voc_store::rows::rfc3339;
    serde_json::json!({
        "theme_id": t.theme_id, "label": t.label, "status": t.status, "size": t.size,
        "terms": t.terms, "term_counts": t.term_counts, "topics": t.topics, "topic_counts": t.topic_counts,
        "covered_by": t.covered_by, "sample_ids": t.sample_ids, "merged_into": t.merged_into,
        "split_from": t.split_from, "first_seen": at(t.first_seen), "last_seen": at(t.last_seen),
    })
}
