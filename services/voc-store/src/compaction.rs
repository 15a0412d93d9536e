//! Merging each past month of `interactions` into one part, so that `FINAL` reads it without
//! collapsing rows.
//!
//! The panels that list or count interactions (escalations, verbatims, the churn-risk trend) read
//! `interactions FINAL`. On a server that collapses each partition apart
//! ([`crate::ServerVersion::final_per_partition`]), a partition of a single merged part is read
//! as it is, without the merge `FINAL` otherwise does across its parts (ClickHouse skips it
//! for one part above level 0). At 30 M interactions a year that merge was most of those panels'
//! time over 365 days (BENCHMARKS.md, "Past months in one part").
//!
//! A month is merged (`OPTIMIZE … PARTITION … FINAL`) once all its days, and one more to spare,
//! are older than the open days (partitions are the server's local months, days are UTC: the
//! spare day covers any time zone), when it has more than one part (or one never merged) on some
//! server, and when no part of it is newer than `clickhouse.compact_quiet_s`: a replay still
//! writing into an old month is left alone until it has finished, so a trickle of late messages
//! does not rewrite a month at every close. At most `max_months` months per call, so that the
//! flagger's detection does not wait for a backlog of merges. The merge changes no answer: it is
//! the collapse `FINAL` does at read time, done once.
//!
//! Servers before 21.1 read `FINAL` across partitions whatever their parts, so there the merge
//! only leaves fewer parts; the gain was measured on current servers.

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::closing::first_open_day;
use crate::cluster::mutation_target;
use crate::months::Month;

/// The table merged: the only one voc reads with `FINAL` over months.
pub const TABLE: &str = "interactions";

/// One month's parts of [`TABLE`] on one server (on a cluster, the shard with the most).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct MonthParts {
    /// The partition, `YYYYMM` (`toYYYYMM(occurred_at)`).
    pub partition: String,
    /// Active parts.
    pub parts: u64,
    /// The highest merge level among them (0: a part as inserted, never merged).
    pub max_level: u32,
    /// When its newest part was written, Unix seconds.
    pub newest: u32,
}

/// The months (`YYYYMM`) to merge now, in order: those ending at least a day before the first
/// open day, with more than one part or a single part never merged, and no part written in the
/// last `quiet_s` seconds. Pure.
pub fn due(parts: &[MonthParts], now: u32, open_days: u32, quiet_s: u32) -> Vec<u32> {
    // A day to spare: a server's local month may end up to 14 hours after the UTC one.
    let first_open = first_open_day(now, open_days).saturating_sub(1);
    let mut out: Vec<u32> = parts
        .iter()
        .filter(|p| p.parts > 1 || p.max_level == 0)
        .filter(|p| now.saturating_sub(p.newest) >= quiet_s)
        .filter_map(|p| {
            let yyyymm: u32 = p.partition.parse().ok()?;
            let month = Month::of_yyyymm(yyyymm)?;
            (month.end_day <= first_open).then_some(yyyymm)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The months (`YYYYMM`) of `days` that end on or before `first_open`, in order: those a close
/// leaves to merge once they are quiet (for a plan that runs the statements elsewhere). Pure.
pub fn past_months(days: &[u32], first_open: u32) -> Vec<u32> {
    crate::months::months_of(days)
        .into_iter()
        .filter(|m| m.end_day <= first_open)
        .map(|m| m.yyyymm())
        .collect()
}

/// The statement that merges one month (`ON CLUSTER` on the local tables of a cluster). From 21.1
/// a month already in one merged part is not rewritten (`optimize_skip_merged_partitions`),
/// whatever [`due`] was told.
pub fn statement(
    database: &str,
    cluster: Option<&str>,
    yyyymm: u32,
    version: crate::ServerVersion,
) -> String {
    let skip_merged = if version.final_per_partition() {
        " SETTINGS optimize_skip_merged_partitions = 1"
    } else {
        ""
    };
    format!(
        "OPTIMIZE TABLE {} PARTITION {yyyymm} FINAL{skip_merged}",
        mutation_target(database, TABLE, cluster)
    )
}

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// The months asked to merge, `YYYYMM` (a server may have found nothing left to do).
    pub months: Vec<u32>,
    /// The months whose merge failed, `YYYYMM`; the next close tries them again.
    pub failed: Vec<u32>,
    /// Months still due after this call's `max_months`.
    pub left: usize,
}

/// Merges up to `max_months` of the months [`due`] now, one statement each, oldest first. A month
/// that fails is logged and reported, and the next is tried: a month left in several parts reads
/// the same, only slower, and the next close tries again.
pub async fn compact_past_months(
    store: &Store,
    open_days: u32,
    quiet_s: u32,
    max_months: usize,
) -> Result<CompactReport, StoreError> {
    let parts_table = match store.cluster() {
        None => "system.parts".to_string(),
        Some(c) => crate::cluster::on_every_shard(c, "parts"),
    };
    let stored = crate::cluster::stored_table(TABLE, store.cluster());
    // Per server first (the replica read of each shard), so that a month counts the parts of
    // its fullest shard and the least merged one. Servers that share a host name (all on one
    // machine) add up: a merged month then looks due again, which from 21.1 is a no-op
    // ([`statement`]) and before that rewrites one part.
    let parts: Vec<MonthParts> = store
        .client()
        .query(&format!(
            "SELECT partition, max(parts) AS parts, min(max_level) AS max_level, \
                    max(newest) AS newest \
             FROM (SELECT hostName() AS host, partition, count() AS parts, \
                          max(level) AS max_level, toUInt32(max(modification_time)) AS newest \
                   FROM {parts_table} WHERE database = ? AND table = ? AND active \
                   GROUP BY host, partition) \
             GROUP BY partition"
        ))
        .bind(store.database())
        .bind(&stored)
        .fetch_all()
        .await
        .map_err(StoreError::query("list the parts of interactions"))?;
    let now = store.server_now().await?;
    let due = due(&parts, now, open_days, quiet_s);
    let mut report = CompactReport {
        left: due.len().saturating_sub(max_months),
        ..CompactReport::default()
    };
    for &month in due.iter().take(max_months) {
        let started = std::time::Instant::now();
        let sql = statement(store.database(), store.cluster(), month, store.version());
        // On a cluster it waits for servers that are away, or slow, as a delete does, and
        // leaves the statement queued for them.
        match store
            .execute_delete(&format!("merge month {month} of interactions"), &sql)
            .await
        {
            Ok(()) => {
                tracing::info!(
                    month,
                    seconds = started.elapsed().as_secs_f64(),
                    "asked to merge a past month of interactions into one part"
                );
                report.months.push(month);
            }
            Err(e) => {
                tracing::warn!(month, error = %e, "merging a past month of interactions failed; retried at the next close");
                report.failed.push(month);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(partition: &str, parts: u64, max_level: u32, newest: u32) -> MonthParts {
        MonthParts {
            partition: partition.into(),
            parts,
            max_level,
            newest,
        }
    }

    // 2026-03-03 12:00 UTC: with two open days, 2026-03-02 is the first open day, and February
    // ended a day before it.
    const NOW: u32 = 1_772_539_200;

    #[test]
    fn only_past_months_in_several_parts_or_never_merged() {
        let old = NOW - 86_400 * 10;
        let parts = [
            month("202601", 5, 3, old),
            month("202602", 1, 0, old), // one part as inserted: may hold duplicates
            month("202512", 1, 4, old), // merged already
            month("202603", 3, 1, old), // open days
            month("garbage", 3, 1, old), // not a month
        ];
        assert_eq!(due(&parts, NOW, 2, 3600), vec![202601, 202602]);
    }

    #[test]
    fn a_month_is_due_a_day_after_its_last_day_is_closed() {
        // 2026-03-01 00:00 UTC with two open days: 2026-02-28 is still open.
        let now = 1_772_323_200;
        let parts = [month("202602", 2, 1, now - 86_400 * 5)];
        assert!(due(&parts, now, 2, 0).is_empty());
        // 2026-03-02: 2026-02-28 is closed, but a server east of UTC may still write it.
        assert!(due(&parts, now + 86_400, 2, 0).is_empty());
        assert_eq!(due(&parts, now + 2 * 86_400, 2, 0), vec![202602]);
    }

    #[test]
    fn a_month_still_written_waits_until_quiet() {
        let parts = [month("202601", 2, 1, NOW - 600)];
        assert!(due(&parts, NOW, 2, 3600).is_empty());
        assert_eq!(due(&parts, NOW, 2, 600), vec![202601]);
    }

    #[test]
    fn past_months_of_days_round_trip() {
        let feb = Month::of_yyyymm(202602).expect("a month");
        let mar = Month::of_yyyymm(202603).expect("a month");
        let days: Vec<u32> = (feb.first_day - 3..mar.first_day + 2).collect();
        assert_eq!(past_months(&days, mar.first_day), vec![202601, 202602]);
        assert_eq!(past_months(&days, mar.first_day - 1), vec![202601]);
    }

    #[test]
    fn the_statement_names_the_local_table_and_skips_merged_months_where_it_can() {
        let old = crate::ServerVersion::parse("18.16.1").expect("version");
        let new = crate::ServerVersion::parse("25.8.2").expect("version");
        assert_eq!(
            statement("voc", None, 202601, old),
            "OPTIMIZE TABLE `voc`.interactions PARTITION 202601 FINAL"
        );
        assert_eq!(
            statement("voc", Some("c"), 202601, new),
            "OPTIMIZE TABLE `voc`.interactions_local ON CLUSTER `c` PARTITION 202601 FINAL \
             SETTINGS optimize_skip_merged_partitions = 1"
        );
    }
}
