//! `voc aggregates close`, and the close the flagger runs before each detection.

use voc_store::closing::CloseReport;
use voc_store::compaction::CompactReport;
use voc_store::{Store, StoreError};

use crate::cmd_stream::connect_migrated;
use crate::settings::Settings;

/// Closes the aggregate days that are due (`voc_store::closing`), logging what it closed, then
/// merges up to `merge_months` past months of `interactions` (`voc_store::compaction`); on a
/// cluster it waits as `stale` says for replicas that are too far behind.
pub async fn close_due(
    store: &Store,
    open_days: u32,
    stale: voc_store::cluster::StaleWait,
    merge_months: usize,
) -> Result<(CloseReport, CompactReport), StoreError> {
    let report = voc_store::closing::close_due(store, open_days, stale).await?;
    if !report.closed.is_empty() || !report.reclosed.is_empty() {
        tracing::info!(
            closed = report.closed.len(),
            reclosed = report.reclosed.len(),
            version = report.version,
            "closed aggregate days into exact counts"
        );
    }
    // The days are closed whatever happens here: a month left in several parts reads the same,
    // only slower, and the next close tries again.
    let compacted = match voc_store::compaction::compact_past_months(
        store,
        open_days,
        store.config().compact_quiet_s,
        merge_months,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "merging past months of interactions failed; retried at the next close");
            CompactReport::default()
        }
    };
    if !compacted.months.is_empty() || compacted.left > 0 {
        // `left` says how far behind a flagger that merges one month per run is.
        tracing::info!(
            merged = ?compacted.months,
            failed = ?compacted.failed,
            still_due = compacted.left,
            "merged past months of interactions into one part"
        );
    }
    Ok((report, compacted))
}

/// `voc aggregates close`: closes the due days and merges every past month due now, and prints
/// how many.
pub async fn close(settings: &Settings) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let (report, compacted) = close_due(
        &store,
        settings.clickhouse.aggregate_open_days,
        voc_store::cluster::stale_backoff(),
        usize::MAX,
    )
    .await?;
    println!(
        "closed {} day(s), re-closed {} (version {}); asked to merge {} past month(s) of interactions, {} failed",
        report.closed.len(),
        report.reclosed.len(),
        report.version,
        compacted.months.len(),
        compacted.failed.len()
    );
    Ok(())
}
