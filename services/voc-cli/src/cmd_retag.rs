//! `voc retag`: re-analyse stored interactions (their masked text) with new rules, report what
//! changes, and (without `--dry-run`) write them back and rebuild the affected aggregate hours.
//!
//! Works hour by hour, oldest first, in chunks: every interaction of a chunk's hours is written
//! before those hours are rebuilt, so a rebuilt hour is final. A checkpoint file records the
//! chunk in progress; an interrupted run resumes after the last finished chunk and rebuilds the
//! interrupted one. Interactions already tagged by the new rules are skipped when writing, so a
//! repeated run does nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use voc_core::message::Channel;
use voc_core::retag::{RetagReport, aggregates_differ};
use voc_core::{Analyzer, RuleSet};
use voc_store::history::{self, HistoryFilter, HourCount};
use voc_store::writer::BatchWriter;
use voc_store::{InteractionRow, aggregates};

use crate::cmd_stream::connect;
use crate::cmd_tag;
use crate::settings::Settings;
use crate::setup;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct RetagArgs {
    /// `--rules NEW`; needed unless only rebuilding.
    pub new_rules: Option<PathBuf>,
    /// Rules to compare against on `--labeled` (the configured ones when unset).
    pub old_rules: Option<PathBuf>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub product: Option<String>,
    pub dry_run: bool,
    pub json: bool,
    pub labeled: Option<PathBuf>,
    pub examples: usize,
    /// Interactions per second at most.
    pub rate: f64,
    pub chunk_rows: u64,
    pub checkpoint: PathBuf,
    /// Only recompute the aggregate hours of the selection; re-tag nothing.
    pub rebuild_only: bool,
}

/// Where an interrupted run stands. Valid only for the same rules version and selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Checkpoint {
    rules_version: String,
    since: Option<u32>,
    until: Option<u32>,
    product: Option<String>,
    /// Every hour up to and including this one is written and rebuilt.
    done_through: Option<u32>,
    /// Hours of the chunk in progress: rebuilt first on resume.
    pending: Vec<u32>,
}

impl Checkpoint {
    fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "checkpoint {} is unreadable: delete it, then run `voc retag --rebuild-only` \
                     with the same --since/--until so the interrupted hours' aggregates are recomputed",
                    path.display()
                )
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a checkpoint.
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }

    fn same_run(&self, other: &Self) -> bool {
        self.rules_version == other.rules_version
            && self.since == other.since
            && self.until == other.until
            && self.product == other.product
    }
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time → ClickHouse seconds.
fn parse_time(flag: &str, s: &str) -> anyhow::Result<u32> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339))
        .with_context(|| format!("{flag} {s:?}: use a date (2026-11-01) or an RFC 3339 time"))?;
    Ok(voc_store::rows::epoch_seconds(t))
}

fn rfc3339(secs: u32) -> String {
    OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Consecutive hours grouped so each chunk holds about `rows` interactions (an hour is never split).
fn chunks(hours: &[HourCount], rows: u64) -> Vec<Vec<HourCount>> {
    let mut out: Vec<Vec<HourCount>> = Vec::new();
    let mut size = 0;
    for h in hours {
        if out.is_empty() || size >= rows {
            out.push(Vec::new());
            size = 0;
        }
        size += h.interactions;
        if let Some(last) = out.last_mut() {
            last.push(*h);
        }
    }
    out
}

/// Keeps a steady pace of at most `rate` items per second.
struct Pace {
    rate: f64,
    started: Instant,
    done: u64,
}

impl Pace {
    async fn advance(&mut self, n: u64) {
        self.done += n;
        if self.rate.is_finite() && self.rate > 0.0 {
            let due = Duration::from_secs_f64(self.done as f64 / self.rate);
            if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// `--since` / `--until` as a filter on the time interactions occurred.
fn period(args: &RetagArgs) -> anyhow::Result<HistoryFilter> {
    let at = |flag: &str, v: &Option<String>| v.as_deref().map(|s| parse_time(flag, s)).transpose();
    Ok(HistoryFilter {
        since: at("--since", &args.since)?,
        until: at("--until", &args.until)?,
        ..HistoryFilter::default()
    })
}

/// `--rebuild-only`: recompute the aggregate hours of the selection from `interactions FINAL`,
/// re-tagging nothing (after a lost checkpoint, or to check that the figures are exact).
async fn rebuild_only(settings: &Settings, args: &RetagArgs) -> anyhow::Result<()> {
    let store = connect(settings).await?;
    let filter = period(args)?;
    let hours = history::hour_counts(&store, &filter).await?;
    let bar = progress_bar(hours.len() as u64);
    for chunk in chunks(&hours, args.chunk_rows.max(1)) {
        let list: Vec<u32> = chunk.iter().map(|h| h.hour).collect();
        aggregates::rebuild_hours(&store, &list).await?;
        bar.inc(list.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "rebuilt {} aggregate hours from interactions FINAL",
        hours.len()
    );
    Ok(())
}

pub async fn retag(settings: &Settings, args: RetagArgs) -> anyhow::Result<()> {
    if args.rebuild_only {
        return rebuild_only(settings, &args).await;
    }
    let Some(new_rules) = &args.new_rules else {
        anyhow::bail!("voc retag needs the new rules: voc retag --rules NEW.toml --dry-run");
    };
    let started = Instant::now();
    let mut analysis = settings.analysis.clone();
    analysis.rules = Some(new_rules.clone());
    let new = setup::analyzer(&analysis)?;
    let version = new.rules().version.clone();

    let labeled = match &args.labeled {
        Some(file) => Some(compare_on_labeled(settings, &args, &new, file)?),
        None => None,
    };

    let store = connect(settings).await?;
    let filter = HistoryFilter {
        product: args.product.clone(),
        // A dry run shows the whole selection; a write skips what the new rules already tagged.
        skip_rules_version: (!args.dry_run).then(|| version.clone()),
        ..period(&args)?
    };
    let mut checkpoint = Checkpoint {
        rules_version: version.clone(),
        since: filter.since,
        until: filter.until,
        product: filter.product.clone(),
        done_through: None,
        pending: Vec::new(),
    };
    if !args.dry_run
        && let Some(saved) = Checkpoint::load(&args.checkpoint)?
    {
        if saved.same_run(&checkpoint) {
            tracing::info!(
                checkpoint = %args.checkpoint.display(),
                done_through = saved.done_through.map(rfc3339),
                "resuming an interrupted re-tag"
            );
            checkpoint = saved;
        } else {
            // Whatever happens to that run, the hours it left half-done are made exact now.
            aggregates::rebuild_hours(&store, &saved.pending).await?;
            let mut rebuilt = saved.clone();
            rebuilt.pending.clear();
            rebuilt.save(&args.checkpoint)?;
            anyhow::bail!(
                "checkpoint {} belongs to another re-tag (rules {}, other dates or product); its \
                 interrupted hours are rebuilt. Finish that run (same command), or delete the \
                 file to start this one",
                args.checkpoint.display(),
                saved.rules_version
            );
        }
    }
    if !checkpoint.pending.is_empty() {
        tracing::info!(
            hours = checkpoint.pending.len(),
            "rebuilding the hours an interrupted run left"
        );
        aggregates::rebuild_hours(&store, &checkpoint.pending).await?;
        checkpoint.pending.clear();
        checkpoint.save(&args.checkpoint)?;
    }

    let hours: Vec<HourCount> = history::hour_counts(&store, &filter)
        .await?
        .into_iter()
        .filter(|h| checkpoint.done_through.is_none_or(|d| h.hour > d))
        .collect();
    let total: u64 = hours.iter().map(|h| h.interactions).sum();
    let bar = progress_bar(total);
    let writer = BatchWriter::new(store.clone(), settings.worker.retry());
    let mut report = RetagReport::new(&version, args.examples);
    let mut pace = Pace {
        rate: args.rate,
        started: Instant::now(),
        done: 0,
    };
    let (mut written, mut rebuilt) = (0u64, 0usize);
    for chunk in chunks(&hours, args.chunk_rows.max(1)) {
        let Some(last) = chunk.last() else {
            continue;
        };
        if !args.dry_run {
            checkpoint.pending = chunk.iter().map(|h| h.hour).collect();
            checkpoint.save(&args.checkpoint)?;
        }
        let chunk_hours: Vec<u32> = chunk.iter().map(|h| h.hour).collect();
        let rows = history::rows_in_hours(&store, &filter, &chunk_hours).await?;
        let mut to_write = (!args.dry_run).then(|| ToWrite {
            rows: Vec::with_capacity(rows.len()),
            hours: BTreeSet::new(),
            at: OffsetDateTime::now_utc(),
        });
        for part in rows.chunks(100) {
            // Analysis is CPU work: off the async reactor.
            tokio::task::block_in_place(|| {
                retag_rows(&new, part, &chunk, &mut report, to_write.as_mut())
            })?;
            bar.inc(part.len() as u64);
            bar.set_message(format!("{} changed", report.changed));
            pace.advance(part.len() as u64).await;
        }
        if let Some(w) = to_write {
            write_all(&writer, &w.rows).await?;
            written += w.rows.len() as u64;
            let hours: Vec<u32> = w.hours.into_iter().collect();
            aggregates::rebuild_hours(&store, &hours).await?;
            rebuilt += hours.len();
            checkpoint.done_through = Some(last.hour);
            checkpoint.pending.clear();
            checkpoint.save(&args.checkpoint)?;
        }
        log_progress(&bar, total, &pace, last.hour);
    }
    bar.finish_and_clear();
    if !args.dry_run {
        // Finished: a later run with the same rules finds nothing to do and needs no checkpoint.
        let _ = std::fs::remove_file(&args.checkpoint);
    }
    report.finish();
    print_report(&args, &report, labeled, written, rebuilt, started.elapsed())
}

/// What a chunk will write: the re-tagged rows, the hours whose aggregates they change, and the
/// time they are tagged at.
struct ToWrite {
    rows: Vec<InteractionRow>,
    hours: BTreeSet<u32>,
    at: OffsetDateTime,
}

/// Re-analyses stored rows with the new rules and counts the diff; with `write`, also collects
/// the rows to store and the hours (of `chunk`) whose aggregates change.
fn retag_rows(
    new: &Analyzer,
    rows: &[InteractionRow],
    chunk: &[HourCount],
    report: &mut RetagReport,
    mut write: Option<&mut ToWrite>,
) -> anyhow::Result<()> {
    for row in rows {
        let channel = Channel::from_name(&row.channel).unwrap_or(Channel::Other);
        let analysis = new
            .analyze_stored(&row.interaction_id, channel, &row.customer_text)
            .with_context(|| format!("re-analysing {}", row.interaction_id))?;
        let old = row.stored_tags();
        report.add(
            &old,
            &analysis.tags,
            &rfc3339(row.occurred_at),
            &row.customer_text,
        );
        let Some(w) = write.as_deref_mut() else {
            continue;
        };
        // The server's hour start (its time zone may not be whole hours from UTC).
        if aggregates_differ(&old, &analysis.tags)
            && let Some(h) = chunk.iter().rev().find(|h| h.hour <= row.occurred_at)
        {
            w.hours.insert(h.hour);
        }
        w.rows.push(row.retagged(&analysis, w.at));
    }
    Ok(())
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} interactions ({per_sec}, ETA {eta}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

/// The same figures as the bar, as a log line: the bar is invisible when stderr is not a terminal.
fn log_progress(bar: &indicatif::ProgressBar, total: u64, pace: &Pace, hour: u32) {
    let done = bar.position();
    let secs = pace.started.elapsed().as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let eta = if rate > 0.0 {
        (total.saturating_sub(done)) as f64 / rate
    } else {
        0.0
    };
    bar.suspend(|| {
        tracing::info!(
            done,
            total,
            per_s = rate.round(),
            eta_s = eta.round(),
            through = %rfc3339(hour),
            "re-tag progress"
        );
    });
}

/// Inserts in batches; each waits out ClickHouse outages (the writer retries until acknowledged)
/// and stops at an error no retry fixes.
async fn write_all(writer: &BatchWriter, rows: &[InteractionRow]) -> anyhow::Result<()> {
    for batch in rows.chunks(1000) {
        writer.write(batch).await?;
    }
    Ok(())
}

/// `voc eval` figures for the old and the new rules on a labeled file.
fn compare_on_labeled(
    settings: &Settings,
    args: &RetagArgs,
    new: &Analyzer,
    file: &Path,
) -> anyhow::Result<serde_json::Value> {
    let old_rules = match &args.old_rules {
        Some(path) => RuleSet::load(path)?,
        None => setup::load_rules(&settings.analysis)?,
    };
    let old = Analyzer::new(Arc::new(old_rules), *new.tokenizer());
    let before = cmd_tag::evaluate(&old, &settings.limits, file, false)?.report;
    let after = cmd_tag::evaluate(new, &settings.limits, file, false)?.report;
    let rows: Vec<serde_json::Value> = before
        .headline()
        .into_iter()
        .zip(after.headline())
        .map(|((name, o), (_, n))| serde_json::json!({"metric": name, "old": o, "new": n}))
        .collect();
    Ok(serde_json::json!({
        "file": file.display().to_string(),
        "items": after.items,
        "old_rules": old.rules().version,
        "new_rules": new.rules().version,
        "figures": rows,
    }))
}

fn print_report(
    args: &RetagArgs,
    report: &RetagReport,
    labeled: Option<serde_json::Value>,
    written: u64,
    rebuilt: usize,
    elapsed: Duration,
) -> anyhow::Result<()> {
    if args.json {
        let out = serde_json::json!({
            "dry_run": args.dry_run,
            "report": report,
            "labeled": labeled,
            "written": written,
            "rebuilt_hours": rebuilt,
            "elapsed_s": elapsed.as_secs_f64(),
        });
        println!("{out}");
        return Ok(());
    }
    print!("{}", report.render());
    if let Some(l) = labeled {
        println!(
            "\nvoc eval on {} ({} labeled):\n  {:<26} {:>8} {:>8}",
            l["file"].as_str().unwrap_or_default(),
            l["items"],
            "figure",
            "old",
            "new"
        );
        for f in l["figures"].as_array().into_iter().flatten() {
            println!(
                "  {:<26} {:>8.3} {:>8.3}",
                f["metric"].as_str().unwrap_or_default(),
                f["old"].as_f64().unwrap_or(f64::NAN),
                f["new"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    if args.dry_run {
        println!(
            "\ndry run: nothing written. Apply with the same command without --dry-run ({:.1} s).",
            elapsed.as_secs_f64()
        );
    } else {
        println!(
            "\nwritten: {written} interactions with rules {}; {rebuilt} aggregate hours rebuilt ({:.1} s).",
            report.new_rules_version,
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hour: u32, n: u64) -> HourCount {
        HourCount {
            hour,
            interactions: n,
        }
    }

    #[test]
    fn chunks_fill_up_to_the_row_budget_without_splitting_hours() {
        let hours = [h(0, 3), h(3600, 3), h(7200, 10), h(10800, 1)];
        let sizes: Vec<usize> = chunks(&hours, 5).iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1, 1]);
        assert!(chunks(&[], 5).is_empty());
    }

    #[test]
    fn times_parse_as_dates_or_rfc3339() {
        assert_eq!(
            parse_time("--since", "2026-11-01").expect("date"),
            1_793_491_200
        );
        assert_eq!(
            parse_time("--since", "2026-11-01T09:00:00+09:00").expect("time"),
            1_793_491_200
        );
        assert!(parse_time("--since", "yesterday").is_err());
    }
}
