//! The re-tag engine behind `voc retag`: re-analyse stored interactions (their masked text) with
//! new rules, count what changes, and (unless a dry run) write them back and rebuild the affected
//! aggregate hours.
//!
//! Works hour by hour, oldest first, in chunks: every interaction of a chunk's hours is written
//! before those hours are rebuilt, so a rebuilt hour is final. A [`Checkpoint`] file records the
//! chunk in progress; an interrupted run resumes after the last finished chunk and rebuilds the
//! interrupted one. Interactions already tagged by the new rules are skipped when writing, so a
//! repeated run does nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_core::Analyzer;
use voc_core::message::Channel;
use voc_core::retag::{RetagReport, aggregates_differ};

use crate::history::{self, HistoryFilter, HourCount};
use crate::writer::BatchWriter;
use crate::{InteractionRow, Store, StoreError, aggregates};

#[derive(Debug, thiserror::Error)]
pub enum RetagError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "checkpoint {path} is unreadable ({reason}): delete it, then run `voc retag --rebuild-only` with the same --since/--until so the interrupted hours' aggregates are recomputed"
    )]
    BadCheckpoint { path: PathBuf, reason: String },
    #[error("cannot write checkpoint {path}: {source}")]
    CheckpointWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "checkpoint {path} belongs to another re-tag (rules {rules}, other dates or product); its interrupted hours are rebuilt. Finish that run (same command), or delete the file to start this one"
    )]
    OtherRun { path: PathBuf, rules: String },
    #[error("re-analysing {id}: {message}")]
    Analysis { id: String, message: String },
}

/// Where an interrupted run stands. Valid only for the same rules version and selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub rules_version: String,
    pub since: Option<u32>,
    pub until: Option<u32>,
    pub product: Option<String>,
    /// Every hour up to and including this one is written and rebuilt.
    pub done_through: Option<u32>,
    /// Hours of the chunk in progress: rebuilt first on resume.
    pub pending: Vec<u32>,
}

impl Checkpoint {
    /// A fresh checkpoint for these rules and this selection.
    pub fn new(rules_version: &str, filter: &HistoryFilter) -> Self {
        Self {
            rules_version: rules_version.to_string(),
            since: filter.since,
            until: filter.until,
            product: filter.product.clone(),
            done_through: None,
            pending: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Option<Self>, RetagError> {
        let bad = |reason: String| RetagError::BadCheckpoint {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| bad(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a checkpoint.
    pub fn save(&self, path: &Path) -> Result<(), RetagError> {
        let write = |p: &Path, r: std::io::Result<()>| {
            r.map_err(|source| RetagError::CheckpointWrite {
                path: p.to_path_buf(),
                source,
            })
        };
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        write(&tmp, std::fs::write(&tmp, json))?;
        write(path, std::fs::rename(&tmp, path))
    }

    /// Whether `self` (saved) is a run of the same rules over the same selection as `other`.
    pub fn same_run(&self, other: &Self) -> bool {
        self.rules_version == other.rules_version
            && self.since == other.since
            && self.until == other.until
            && self.product == other.product
    }
}

/// Consecutive hours grouped so each chunk holds about `rows` interactions (an hour is never split).
pub fn chunks(hours: &[HourCount], rows: u64) -> Vec<Vec<HourCount>> {
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

/// Keeps a steady pace of at most `rate` items per second (none when not finite or ≤ 0).
#[derive(Debug)]
pub struct Pace {
    rate: f64,
    started: Instant,
    done: u64,
}

impl Pace {
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            started: Instant::now(),
            done: 0,
        }
    }

    /// Records `n` more items, sleeping as long as the pace needs.
    pub async fn advance(&mut self, n: u64) {
        self.done += n;
        if self.rate.is_finite() && self.rate > 0.0 {
            let due = Duration::from_secs_f64(self.done as f64 / self.rate);
            if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Items per second so far.
    pub fn rate_so_far(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
    }
}

/// What to re-tag and how.
#[derive(Debug, Clone)]
pub struct RetagPlan {
    /// Occurred at or after / before (ClickHouse seconds), and the product.
    pub since: Option<u32>,
    pub until: Option<u32>,
    pub product: Option<String>,
    /// Only count what would change; write nothing.
    pub dry_run: bool,
    /// Examples kept per changed label.
    pub examples: usize,
    /// Interactions per second at most.
    pub rate: f64,
    /// Interactions per chunk (whole hours).
    pub chunk_rows: u64,
    pub checkpoint: PathBuf,
}

/// Told as the run advances (a progress bar, a log line).
pub trait RetagProgress {
    /// `total` interactions to look at.
    fn start(&mut self, total: u64);
    /// `n` more looked at; `changed` so far.
    fn advanced(&mut self, n: u64, changed: u64);
    /// A chunk is done through `hour`; `per_s` the pace so far.
    fn chunk_done(&mut self, hour: u32, per_s: f64);
}

/// What a run did.
#[derive(Debug)]
pub struct RetagOutcome {
    pub report: RetagReport,
    pub written: u64,
    pub rebuilt_hours: usize,
}

/// What a chunk will write: the re-tagged rows, the hours whose aggregates they change, the hours
/// they are written to, and the time they are tagged at.
struct ToWrite {
    rows: Vec<InteractionRow>,
    hours: BTreeSet<u32>,
    written: BTreeSet<u32>,
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
) -> Result<(), RetagError> {
    for row in rows {
        let channel = Channel::from_name(&row.channel).unwrap_or(Channel::Other);
        let analysis = new
            .analyze_stored(&row.interaction_id, channel, &row.customer_text)
            .map_err(|e| RetagError::Analysis {
                id: row.interaction_id.clone(),
                message: e.to_string(),
            })?;
        let old = row.stored_tags();
        report.add(
            &old,
            &analysis.tags,
            &crate::rows::rfc3339(row.occurred_at),
            &row.customer_text,
        );
        let Some(w) = write.as_deref_mut() else {
            continue;
        };
        // The server's hour start (its time zone may not be whole hours from UTC).
        if let Some(h) = chunk.iter().rev().find(|h| h.hour <= row.occurred_at) {
            w.written.insert(h.hour);
            if aggregates_differ(&old, &analysis.tags) {
                w.hours.insert(h.hour);
            }
        }
        w.rows.push(row.retagged(&analysis, w.at));
    }
    Ok(())
}

/// Recomputes the aggregate hours of a selection from `interactions FINAL`, re-tagging nothing
/// (after a lost checkpoint, or to check that the figures are exact). Returns the hours rebuilt.
pub async fn rebuild_only(
    store: &Store,
    filter: &HistoryFilter,
    chunk_rows: u64,
    progress: &mut impl RetagProgress,
) -> Result<usize, RetagError> {
    let hours = history::hour_counts(store, filter).await?;
    progress.start(hours.len() as u64);
    for chunk in chunks(&hours, chunk_rows.max(1)) {
        let list: Vec<u32> = chunk.iter().map(|h| h.hour).collect();
        aggregates::rebuild_hours(store, &list).await?;
        progress.advanced(list.len() as u64, 0);
    }
    Ok(hours.len())
}

/// Runs a re-tag with the `new` analyzer: resumes from the plan's checkpoint when it belongs to
/// the same run; fails with [`RetagError::OtherRun`] (after rebuilding its interrupted hours)
/// when it belongs to another.
pub async fn run(
    store: &Store,
    writer: &BatchWriter,
    new: &Analyzer,
    plan: &RetagPlan,
    progress: &mut impl RetagProgress,
) -> Result<RetagOutcome, RetagError> {
    let version = new.rules().version.clone();
    let filter = HistoryFilter {
        since: plan.since,
        until: plan.until,
        product: plan.product.clone(),
        // A dry run shows the whole selection; a write skips what the new rules already tagged.
        skip_rules_version: (!plan.dry_run).then(|| version.clone()),
    };
    let mut checkpoint = Checkpoint::new(&version, &filter);
    if !plan.dry_run
        && let Some(saved) = Checkpoint::load(&plan.checkpoint)?
    {
        if !saved.same_run(&checkpoint) {
            // Whatever happens to that run, the hours it left half-done are made exact now.
            aggregates::rebuild_hours(store, &saved.pending).await?;
            let mut rebuilt = saved.clone();
            rebuilt.pending.clear();
            rebuilt.save(&plan.checkpoint)?;
            return Err(RetagError::OtherRun {
                path: plan.checkpoint.clone(),
                rules: saved.rules_version,
            });
        }
        tracing::info!(
            checkpoint = %plan.checkpoint.display(),
            done_through = saved.done_through.map(crate::rows::rfc3339),
            "resuming an interrupted re-tag"
        );
        checkpoint = saved;
    }
    if !checkpoint.pending.is_empty() {
        tracing::info!(
            hours = checkpoint.pending.len(),
            "rebuilding the hours an interrupted run left"
        );
        aggregates::rebuild_hours(store, &checkpoint.pending).await?;
        checkpoint.pending.clear();
        checkpoint.save(&plan.checkpoint)?;
    }

    let hours: Vec<HourCount> = history::hour_counts(store, &filter)
        .await?
        .into_iter()
        .filter(|h| checkpoint.done_through.is_none_or(|d| h.hour > d))
        .collect();
    progress.start(hours.iter().map(|h| h.interactions).sum());
    let mut report = RetagReport::new(&version, plan.examples);
    let mut pace = Pace::new(plan.rate);
    let (mut written, mut rebuilt_hours) = (0u64, 0usize);
    for chunk in chunks(&hours, plan.chunk_rows.max(1)) {
        let Some(last) = chunk.last() else {
            continue;
        };
        let chunk_hours: Vec<u32> = chunk.iter().map(|h| h.hour).collect();
        if !plan.dry_run {
            checkpoint.pending = chunk_hours.clone();
            checkpoint.save(&plan.checkpoint)?;
        }
        let rows = history::rows_in_hours(store, &filter, &chunk_hours).await?;
        let mut to_write = (!plan.dry_run).then(|| ToWrite {
            rows: Vec::with_capacity(rows.len()),
            hours: BTreeSet::new(),
            written: BTreeSet::new(),
            at: OffsetDateTime::now_utc(),
        });
        for part in rows.chunks(100) {
            // Analysis is CPU work: off the async reactor.
            tokio::task::block_in_place(|| {
                retag_rows(new, part, &chunk, &mut report, to_write.as_mut())
            })?;
            progress.advanced(part.len() as u64, report.changed);
            pace.advance(part.len() as u64).await;
        }
        if let Some(w) = to_write {
            // Each batch waits out ClickHouse outages and stops at an error no retry fixes.
            for batch in w.rows.chunks(1000) {
                writer.write(batch).await?;
            }
            written += w.rows.len() as u64;
            let hours: Vec<u32> = w.hours.into_iter().collect();
            let written_hours: Vec<u32> = w.written.into_iter().collect();
            aggregates::rebuild_written_hours(store, &hours, &written_hours).await?;
            rebuilt_hours += hours.len();
            checkpoint.done_through = Some(last.hour);
            checkpoint.pending.clear();
            checkpoint.save(&plan.checkpoint)?;
        }
        progress.chunk_done(last.hour, pace.rate_so_far());
    }
    if !plan.dry_run {
        // Finished: a later run with the same rules finds nothing to do and needs no checkpoint.
        let _ = std::fs::remove_file(&plan.checkpoint);
    }
    report.finish();
    Ok(RetagOutcome {
        report,
        written,
        rebuilt_hours,
    })
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
    fn a_checkpoint_survives_a_round_trip_and_names_its_run() {
        let dir = std::env::temp_dir().join(format!("voc-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("retag.json");
        let filter = HistoryFilter {
            since: Some(3600),
            ..HistoryFilter::default()
        };
        let mut cp = Checkpoint::new("r@2", &filter);
        cp.done_through = Some(7200);
        cp.pending = vec![10800];
        cp.save(&path).expect("saved");
        let loaded = Checkpoint::load(&path).expect("readable").expect("present");
        assert_eq!(loaded, cp);
        assert!(loaded.same_run(&Checkpoint::new("r@2", &filter)));
        assert!(!loaded.same_run(&Checkpoint::new("r@3", &filter)));
        assert!(!loaded.same_run(&Checkpoint::new("r@2", &HistoryFilter::default())));
        std::fs::write(&path, b"{half").expect("write");
        let err = Checkpoint::load(&path).expect_err("unreadable").to_string();
        assert!(err.contains("--rebuild-only"), "{err}");
        std::fs::remove_file(&path).expect("rm");
        assert_eq!(Checkpoint::load(&path).expect("absent is fine"), None);
    }
}
