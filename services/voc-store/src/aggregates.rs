//! Rebuilding the aggregate tables for some hours from `interactions FINAL`.
//!
//! The materialised views add every inserted row's interaction id to its groups. That is exact
//! under replays (the same id in the same group counts once) but not when an interaction's tags
//! change: a re-tag would leave the id in its old groups too. So after a re-tag writes an hour's
//! interactions, that hour is deleted from the state tables and recomputed from the truth.
//!
//! Safe next to live workers: a delete mutation only touches parts that existed when it was
//! created, so states the views add meanwhile survive, and the recomputation reads them again
//! from `interactions FINAL`; sets of ids merge without counting anyone twice.

use std::time::{Duration, Instant};

use crate::client::{Store, StoreError};
use crate::closing;
use crate::history::sql_list;
use crate::migrate::{MIGRATIONS, render};

/// How long one delete mutation may take before the rebuild gives up (and can be resumed).
const MUTATION_TIMEOUT: Duration = Duration::from_secs(600);

/// An aggregate state table and the SELECT that fills it, taken from its materialised view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Aggregation {
    /// The state table, database-qualified as the migration names it.
    pub(crate) table: String,
    /// The view's SELECT, reading `interactions` (one placeholder: where `FROM … interactions` was).
    pub(crate) select: String,
}

const SOURCE_MARK: &str = "\u{0}SOURCE\u{0}";

/// Every materialised view of the migrations, as (state table, SELECT): the one definition of
/// what the aggregates hold, so a rebuild can never drift from what the views insert.
fn aggregations(store: &Store) -> Result<Vec<Aggregation>, StoreError> {
    views(MIGRATIONS, store.database(), store.version())
}

pub(crate) fn views(
    migrations: &[crate::migrate::Migration],
    db: &str,
    version: crate::ServerVersion,
) -> Result<Vec<Aggregation>, StoreError> {
    let source = format!("FROM `{db}`.interactions");
    let bad =
        |m: &str| StoreError::Rebuild(format!("unexpected materialised view in migration {m}"));
    let mut out = Vec::new();
    for m in migrations {
        for stmt in render(m.sql, db, version, None) {
            if !stmt.starts_with("CREATE MATERIALIZED VIEW") {
                continue;
            }
            let (head, select) = stmt.split_once("AS SELECT").ok_or_else(|| bad(m.name))?;
            let table = head
                .split_once("\nTO ")
                .map(|(_, t)| t.trim().to_string())
                .ok_or_else(|| bad(m.name))?;
            if select.matches(&source).count() != 1 {
                return Err(bad(m.name));
            }
            // A later migration that replaces a table's view replaces its definition here too.
            out.retain(|a: &Aggregation| a.table != table);
            out.push(Aggregation {
                table,
                select: format!("SELECT{}", select.replacen(&source, SOURCE_MARK, 1)),
            });
        }
    }
    Ok(out)
}

/// Recomputes the aggregates of `hours` (hour starts, seconds) from `interactions FINAL`: the
/// id sets of open days, and the counts of closed days (re-closed, see [`crate::closing`]).
pub async fn rebuild_hours(store: &Store, hours: &[u32]) -> Result<(), StoreError> {
    rebuild_written_hours(store, hours, hours).await
}

/// [`rebuild_hours`] of the `changed` hours after rows were written to the `written` ones (a
/// superset): every closed day written to is re-closed too, figures changed or not, since a row
/// written there stamps its id sets after the closure and so leaves the day due for closing
/// ([`crate::closing::close_due`]). Open hours whose figures did not change need nothing.
pub async fn rebuild_written_hours(
    store: &Store,
    changed: &[u32],
    written: &[u32],
) -> Result<(), StoreError> {
    let mut days: Vec<u32> = changed
        .iter()
        .chain(written)
        .map(|h| closing::utc_day(*h))
        .collect();
    days.sort_unstable();
    days.dedup();
    let closed = closing::closed_among(store, &days).await?;
    closing::reclose(store, &closed).await?;
    let hours: Vec<u32> = changed
        .iter()
        .copied()
        .filter(|h| !closed.contains(&closing::utc_day(*h)))
        .collect();
    if hours.is_empty() {
        return Ok(());
    }
    let list = sql_list(&hours);
    let aggregations = aggregations(store)?;
    let since = store.server_now().await?;
    let tables: Vec<&str> = aggregations
        .iter()
        .filter_map(|a| a.table.rsplit('.').next())
        .map(|t| t.trim_matches('`'))
        .collect();
    for table in &tables {
        store
            .execute_delete(
                &format!("delete re-tagged hours from {table}"),
                &format!(
                    "ALTER TABLE {} DELETE WHERE toUInt32(hour) IN ({list})",
                    crate::cluster::mutation_target(store.database(), table, store.cluster())
                ),
            )
            .await?;
    }
    wait_for_mutations(store, &tables, since).await?;
    let only_these_hours = format!(
        "FROM `{}`.interactions FINAL WHERE toUInt32(toStartOfHour(occurred_at)) IN ({list})",
        store.database()
    );
    let settings = crate::cluster::fresh_reads(store.cluster());
    for a in &aggregations {
        let what = format!("rebuild re-tagged hours of {}", a.table);
        let sql = format!(
            "INSERT INTO {} {}",
            a.table,
            a.select.replace(SOURCE_MARK, &only_these_hours)
        );
        // Id sets merge: a try stopped half-way adds nobody twice when run again.
        crate::cluster::waiting_for_fresh_replicas(&what, crate::cluster::stale_backoff(), || {
            store.execute_with(&what, &sql, &settings)
        })
        .await?;
    }
    Ok(())
}

/// Waits until no mutation of the state tables that this rebuild created is pending. (Parts
/// inserted after a delete was created are never touched by it; the wait is so that, when a
/// rebuild returns, the old states are gone and the dashboards show the re-tagged hours only.)
pub(crate) async fn wait_for_mutations(
    store: &Store,
    tables: &[&str],
    since: u32,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    // On a cluster: the local tables, on every shard.
    let tables: Vec<String> = tables
        .iter()
        .map(|t| crate::cluster::stored_table(t, store.cluster()))
        .collect();
    let mutations = match store.cluster() {
        None => "system.mutations".to_string(),
        Some(c) => crate::cluster::on_every_shard(c, "mutations"),
    };
    loop {
        let pending: u64 = store
            .client()
            .query(&format!(
                "SELECT count() FROM {mutations} WHERE database = ? \
                 AND has(?, table) AND is_done = 0 AND create_time >= toDateTime(?)"
            ))
            .bind(store.database())
            .bind(&tables)
            .bind(since)
            .fetch_one()
            .await
            .map_err(|source| StoreError::Query {
                what: "check pending mutations".into(),
                source,
            })?;
        if pending == 0 {
            return Ok(());
        }
        if started.elapsed() > MUTATION_TIMEOUT {
            return Err(StoreError::Rebuild(format!(
                "{pending} delete mutations still pending after {} s (see system.mutations)",
                MUTATION_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ServerVersion;

    #[test]
    fn every_view_yields_its_state_table_and_a_select_over_the_marked_source() {
        for version in ["18.16.1", "25.8.2"] {
            let v = ServerVersion::parse(version).expect("version");
            let found = views(MIGRATIONS, "voc", v).expect("views parse");
            let tables: Vec<&str> = found.iter().map(|a| a.table.as_str()).collect();
            assert_eq!(
                tables,
                [
                    "`voc`.topic_volume_hourly_state",
                    "`voc`.keyword_hourly_state",
                    "`voc`.interactions_open"
                ]
            );
            for a in &found {
                assert!(a.select.starts_with("SELECT"), "{}", a.select);
                assert_eq!(a.select.matches(SOURCE_MARK).count(), 1);
                assert!(!a.select.contains("interactions\n"), "{}", a.select);
                if a.table.ends_with(crate::closing::OPEN_TABLE) {
                    // A copy by hour, collapsed by FINAL: rebuilt hours hold the latest rows.
                    assert!(a.select.contains("toStartOfHour(occurred_at) AS hour"));
                    continue;
                }
                assert!(a.select.contains("GROUP BY"));
                // The current views stamp each insert, which closing relies on.
                assert!(
                    a.select.contains("maxState(now()) AS written"),
                    "{}",
                    a.select
                );
            }
        }
    }
}
