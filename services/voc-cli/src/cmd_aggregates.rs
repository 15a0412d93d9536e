//! `voc aggregates close`, and the close the flagger runs before each detection.

use voc_store::closing::CloseReport;
use voc_store::{Store, StoreError};

use crate::cmd_stream::connect_migrated;
use crate::settings::Settings;

/// Closes the aggregate days that are due (`voc_store::closing`), logging what it closed; on a
/// cluster it waits as `stale` says for replicas that are too far behind.
pub async fn close_due(
    store: &Store,
    open_days: u32,
    stale: voc_store::cluster::StaleWait,
) -> Result<CloseReport, StoreError> {
    let report = voc_store::closing::close_due(store, open_days, stale).await?;
    if !report.closed.is_empty() || !report.reclosed.is_empty() {
        tracing::info!(
            closed = report.closed.len(),
            reclosed = report.reclosed.len(),
            version = report.version,
            "closed aggregate days into exact counts"
        );
    }
    Ok(report)
}

/// `voc aggregates close`: closes the due days now and prints how many.
pub async fn close(settings: &Settings) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let report = close_due(
        &store,
        settings.clickhouse.aggregate_open_days,
        voc_store::cluster::stale_backoff(),
    )
    .await?;
    println!(
        "closed {} day(s), re-closed {} (version {})",
        report.closed.len(),
        report.reclosed.len(),
        report.version
    );
    Ok(())
}
