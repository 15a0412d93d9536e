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

/// The SELECTs of the materialised views in `schemas/clickhouse/0002…` and `0003…`, restricted
/// to some hours (the pipeline tests prove rebuilt hours equal `interactions FINAL`).
const TOPIC_VOLUME: &str = "INSERT INTO topic_volume_hourly_state \
    (hour, topic, voice_type, complaint_type, channel, product, interactions, negative) \
    SELECT toStartOfHour(occurred_at) AS hour, \
    arrayJoin(if(empty(topics), ['(none)'], CAST(topics AS Array(String)))) AS topic, \
    CAST(voice_type AS String) AS voice_type, ifNull(complaint_type, '') AS complaint_type, \
    CAST(channel AS String) AS channel, CAST(product AS String) AS product, \
    uniqExactState(interaction_id) AS interactions, \
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative \
    FROM interactions FINAL WHERE toUInt32(toStartOfHour(occurred_at)) IN ({hours}) \
    GROUP BY hour, topic, voice_type, complaint_type, channel, product";

const KEYWORDS: &str = "INSERT INTO keyword_hourly_state \
    (hour, keyword, product, channel, interactions, negative) \
    SELECT toStartOfHour(occurred_at) AS hour, arrayJoin(keywords) AS keyword, \
    CAST(product AS String) AS product, CAST(channel AS String) AS channel, \
    uniqExactState(interaction_id) AS interactions, \
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative \
    FROM interactions FINAL WHERE toUInt32(toStartOfHour(occurred_at)) IN ({hours}) \
    GROUP BY hour, keyword, product, channel";

const STATE_TABLES: [&str; 2] = ["topic_volume_hourly_state", "keyword_hourly_state"];

/// How long one delete mutation may take before the rebuild gives up (and can be resumed).
const MUTATION_TIMEOUT: Duration = Duration::from_secs(600);

/// Recomputes the aggregate states of `hours` (hour starts, seconds) from `interactions FINAL`.
pub async fn rebuild_hours(store: &Store, hours: &[u32]) -> Result<(), StoreError> {
    if hours.is_empty() {
        return Ok(());
    }
    let list = hours
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let since = server_now(store).await?;
    for table in STATE_TABLES {
        store
            .execute(
                &format!("delete re-tagged hours from {table}"),
                &format!("ALTER TABLE {table} DELETE WHERE toUInt32(hour) IN ({list})"),
            )
            .await?;
    }
    wait_for_mutations(store, since).await?;
    store
        .execute(
            "rebuild topic volume of re-tagged hours",
            &TOPIC_VOLUME.replace("{hours}", &list),
        )
        .await?;
    store
        .execute(
            "rebuild keyword frequency of re-tagged hours",
            &KEYWORDS.replace("{hours}", &list),
        )
        .await
}

/// The server's clock, so that only the mutations a rebuild created are waited for (another,
/// stuck mutation must not hold it up).
async fn server_now(store: &Store) -> Result<u32, StoreError> {
    store
        .client()
        .query("SELECT toUInt32(now())")
        .fetch_one()
        .await
        .map_err(|source| StoreError::Query {
            what: "read the server clock".into(),
            source,
        })
}

/// Waits until no mutation of the state tables that this rebuild created is pending. (Parts
/// inserted after a delete was created are never touched by it; the wait is so that, when a
/// rebuild returns, the old states are gone and the dashboards show the re-tagged hours only.)
async fn wait_for_mutations(store: &Store, since: u32) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        let pending: u64 = store
            .client()
            .query(
                "SELECT count() FROM system.mutations WHERE database = ? \
                 AND table IN ('topic_volume_hourly_state', 'keyword_hourly_state') AND is_done = 0 \
                 AND create_time >= toDateTime(?)",
            )
            .bind(store.database())
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
