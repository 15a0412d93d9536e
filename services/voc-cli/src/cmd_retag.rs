//! `voc retag`: the command line around the re-tag engine (`voc_store::retag`): arguments, the
//! new analyzer, an optional before/after on labeled data, a progress bar and the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use voc_core::retag::RetagReport;
use voc_core::{Analyzer, RuleSet};
use voc_store::history::HistoryFilter;
use voc_store::retag::{self, RetagPlan, RetagProgress};
use voc_store::rows::rfc3339;
use voc_store::writer::BatchWriter;

use crate::cmd_stream::connect_migrated;
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

/// `2026-11-01` (midnight UTC) or an RFC 3339 time → ClickHouse seconds.
fn parse_time(flag: &str, s: &str) -> anyhow::Result<u32> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339))
        .with_context(|| format!("{flag} {s:?}: use a date (2026-11-01) or an RFC 3339 time"))?;
    Ok(voc_store::rows::epoch_seconds(t))
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

/// A progress bar on a terminal, and a log line per chunk (the bar is invisible otherwise).
struct Bar {
    bar: indicatif::ProgressBar,
}

impl RetagProgress for Bar {
    fn start(&mut self, total: u64) {
        self.bar.set_length(total);
    }
    fn advanced(&mut self, n: u64, changed: u64) {
        self.bar.inc(n);
        self.bar.set_message(format!("{changed} changed"));
    }
    fn chunk_done(&mut self, hour: u32, per_s: f64) {
        let done = self.bar.position();
        let total = self.bar.length().unwrap_or(done);
        let eta = if per_s > 0.0 {
            total.saturating_sub(done) as f64 / per_s
        } else {
            0.0
        };
        self.bar.suspend(|| {
            tracing::info!(
                done,
                total,
                per_s = per_s.round(),
                eta_s = eta.round(),
                through = %rfc3339(hour),
                "re-tag progress"
            );
        });
    }
}

fn progress_bar() -> Bar {
    Bar {
        bar: indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} ({per_sec}, ETA {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
    }
}

pub async fn retag(settings: &Settings, args: RetagArgs) -> anyhow::Result<()> {
    let filter = period(&args)?;
    if args.rebuild_only {
        let store = connect_migrated(settings).await?;
        let mut bar = progress_bar();
        let hours = retag::rebuild_only(&store, &filter, args.chunk_rows, &mut bar).await?;
        bar.bar.finish_and_clear();
        println!("rebuilt {hours} aggregate hours from interactions FINAL");
        return Ok(());
    }
    let Some(new_rules) = &args.new_rules else {
        anyhow::bail!("voc retag needs the new rules: voc retag --rules NEW.toml --dry-run");
    };
    let started = Instant::now();
    let mut analysis = settings.analysis.clone();
    analysis.rules = Some(new_rules.clone());
    let new = setup::analyzer(&analysis)?;
    let labeled = match &args.labeled {
        Some(file) => Some(compare_on_labeled(settings, &args, &new, file)?),
        None => None,
    };
    let store = connect_migrated(settings).await?;
    let writer = BatchWriter::new(store.clone(), settings.worker.retry());
    let plan = RetagPlan {
        since: filter.since,
        until: filter.until,
        product: args.product.clone(),
        dry_run: args.dry_run,
        examples: args.examples,
        rate: args.rate,
        chunk_rows: args.chunk_rows,
        checkpoint: args.checkpoint.clone(),
    };
    let mut bar = progress_bar();
    let outcome = retag::run(&store, &writer, &new, &plan, &mut bar).await?;
    bar.bar.finish_and_clear();
    print_report(
        &args,
        &outcome.report,
        labeled,
        outcome.written,
        outcome.rebuilt_hours,
        started.elapsed(),
    )
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
