//! Closing days: exact counts for the UTC days no longer open to late messages, so that the
//! aggregates grow with their groups and not with every interaction id ever stored.
//!
//! Migration 0009 describes the tables. Closing a set of days, at server time `T`:
//! 1. each `*_closed` table gets the days' counts from `interactions FINAL` under a new version;
//! 2. `aggregate_closures` records (day, version, `T`): from then on readers take those counts;
//! 3. the days' id sets written before `T` are deleted (every interaction they hold was in the
//!    table when step 1 read it), and older versions of re-closed days too.
//!
//! A day is due when it is older than the open days and not closed, or when it is closed but has
//! id sets written at or after its closure's `T` (a late or replayed message; the materialised view
//! stamps every insert). Re-closing such a day recomputes it from `interactions FINAL`, so an
//! interaction seen before and again is counted once, and one seen only now is counted too.
//! Between its arrival and the next close, a late message is not yet in a closed day's counts: the
//! delay is one flagger interval (`flags.interval_s`), and `voc aggregates close` closes at once.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::history::sql_list;

/// Days per closing statement: `interactions FINAL` over a month at a time bounds the server's
/// memory on small machines.
const DAYS_PER_STATEMENT: usize = 31;

/// A count table for closed days, and the SELECT that fills it from `interactions FINAL`: the same
/// groups as the materialised view of its id sets, with `count()` where the view keeps the set.
#[derive(Debug, Clone, Copy)]
struct ClosedTable {
    table: &'static str,
    /// Columns up to (and without) `version`, computed from `interactions FINAL`.
    select: &'static str,
    group_by: &'static str,
}

/// `arrayDistinct`: a topic or keyword listed twice is one interaction, as in the id sets.
const CLOSED_TABLES: [ClosedTable; 4] = [
    ClosedTable {
        table: "topic_volume_hourly_closed",
        select: "toStartOfHour(occurred_at) AS hour, \
                 arrayJoin(arrayDistinct(if(empty(topics), ['(none)'], CAST(topics AS Array(String))))) AS topic, \
                 CAST(voice_type AS String) AS voice_type, ifNull(complaint_type, '') AS complaint_type, \
                 CAST(channel AS String) AS channel, CAST(product AS String) AS product, \
                 count() AS interactions, countIf(sentiment = 'negative') AS negative",
        group_by: "hour, topic, voice_type, complaint_type, channel, product",
    },
    ClosedTable {
        table: "keyword_hourly_closed",
        select: "toStartOfHour(occurred_at) AS hour, arrayJoin(arrayDistinct(keywords)) AS keyword, \
                 CAST(product AS String) AS product, CAST(channel AS String) AS channel, \
                 count() AS interactions, countIf(sentiment = 'negative') AS negative",
        group_by: "hour, keyword, product, channel",
    },
    ClosedTable {
        table: "keyword_topic_hourly_closed",
        select: "toStartOfHour(occurred_at) AS hour, arrayJoin(arrayDistinct(keywords)) AS keyword, \
                 arrayJoin(arrayPushFront(arrayDistinct(if(empty(topics), ['(none)'], CAST(topics AS Array(String)))), '(any)')) AS topic, \
                 CAST(voice_type AS String) AS voice_type, CAST(product AS String) AS product, \
                 CAST(channel AS String) AS channel, \
                 count() AS interactions, countIf(sentiment = 'negative') AS negative",
        group_by: "hour, keyword, topic, voice_type, product, channel",
    },
    ClosedTable {
        table: "volume_hourly_closed",
        select: "toStartOfHour(occurred_at) AS hour, CAST(voice_type AS String) AS voice_type, \
                 ifNull(complaint_type, '') AS complaint_type, CAST(channel AS String) AS channel, \
                 CAST(product AS String) AS product, \
                 count() AS interactions, countIf(sentiment = 'negative') AS negative",
        group_by: "hour, voice_type, complaint_type, channel, product",
    },
];

/// The id-set tables whose closed days are deleted once closed.
const STATE_TABLES: [&str; 3] = [
    "topic_volume_hourly_state",
    "keyword_hourly_state",
    "keyword_topic_hourly_state",
];

/// The UTC day number (days since 1970-01-01) of a Unix time in seconds.
pub fn utc_day(unix_s: u32) -> u32 {
    unix_s / 86_400
}

/// The first UTC day still open at `now` (seconds) when the last `open_days` days are open, today
/// counting as one.
pub fn first_open_day(now: u32, open_days: u32) -> u32 {
    utc_day(now).saturating_sub(open_days.max(1) - 1)
}

/// What one close did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseReport {
    /// Days closed for the first time.
    pub closed: Vec<u32>,
    /// Closed days computed again (late or replayed messages, or a re-tag).
    pub reclosed: Vec<u32>,
    /// The version the counts were written under.
    pub version: u64,
}

/// The statements that close `days` under `version` at server time `t`, in order, as (what,
/// SQL): the counts, the closure rows, then the deletes. `reclosed` are the days closed before, whose
/// older versions go. Pure, so a plan for another engine runs exactly these.
pub fn statements(
    database: &str,
    days: &[u32],
    reclosed: &[u32],
    version: u64,
    t: u32,
) -> Vec<(String, String)> {
    let db = format!("`{database}`");
    let mut out = Vec::new();
    for chunk in days.chunks(DAYS_PER_STATEMENT) {
        let list = sql_list(chunk);
        for c in CLOSED_TABLES {
            out.push((
                format!("close days in {}", c.table),
                format!(
                    "INSERT INTO {db}.{table} SELECT {select}, toUInt64({version}) AS version \
                     FROM {db}.interactions FINAL WHERE intDiv(toUInt32(occurred_at), 86400) IN ({list}) \
                     GROUP BY {group_by}",
                    table = c.table,
                    select = c.select,
                    group_by = c.group_by,
                ),
            ));
        }
    }
    if days.is_empty() {
        return out;
    }
    let rows: Vec<String> = days
        .iter()
        .map(|d| format!("({d}, {version}, toDateTime({t}))"))
        .collect();
    out.push((
        "record the closures".into(),
        format!(
            "INSERT INTO {db}.aggregate_closures (day, version, closed_at) VALUES {}",
            rows.join(", ")
        ),
    ));
    let list = sql_list(days);
    for table in STATE_TABLES {
        out.push((
            format!("delete the closed days' id sets from {table}"),
            format!(
                "ALTER TABLE {db}.{table} DELETE WHERE intDiv(toUInt32(hour), 86400) IN ({list}) \
                 AND finalizeAggregation(written) < toDateTime({t})"
            ),
        ));
    }
    if !reclosed.is_empty() {
        let list = sql_list(reclosed);
        for c in CLOSED_TABLES {
            out.push((
                format!("delete older versions of re-closed days from {}", c.table),
                format!(
                    "ALTER TABLE {db}.{table} DELETE WHERE intDiv(toUInt32(hour), 86400) IN ({list}) \
                     AND version < {version}",
                    table = c.table
                ),
            ));
        }
    }
    out
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct DueDay {
    day: u32,
    closed: u8,
}

/// Days due for closing at server time `now`: unclosed days before the open ones, and closed days
/// with id sets written since their closure.
async fn due(store: &Store, now: u32, open_days: u32) -> Result<Vec<DueDay>, StoreError> {
    let first_open = first_open_day(now, open_days);
    // Every id-set table: a migration may fill one of them alone (0010 did).
    let written = STATE_TABLES
        .iter()
        .map(|t| {
            format!(
                "SELECT intDiv(toUInt32(hour), 86400) AS day, max(finalizeAggregation(written)) AS written \
                 FROM {t} GROUP BY day"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    store
        .client()
        .query(&format!(
            "SELECT day, closed FROM (SELECT day, max(written) AS written FROM ({written}) GROUP BY day) \
             ANY LEFT JOIN (SELECT day, closed_at, toUInt8(1) AS closed FROM aggregate_closures FINAL) USING day \
             WHERE (closed = 0 AND day < ?) OR (closed = 1 AND written >= closed_at) \
             ORDER BY day"
        ))
        .bind(first_open)
        .fetch_all()
        .await
        .map_err(StoreError::query("find the days due for closing"))
}

/// The server's clock (`written` is stamped with it).
async fn server_now(store: &Store) -> Result<u32, StoreError> {
    store
        .client()
        .query("SELECT toUInt32(now())")
        .fetch_one()
        .await
        .map_err(StoreError::query("read the server clock"))
}

/// Waits until the server's clock has passed `after` (at most about a second), and returns it. The
/// stamps have whole seconds: an id set written in the second a close starts could be older or
/// newer than its counts, so it would have to stay; starting in a fresh second, every id set
/// written before the close began is older than the close's time and goes.
async fn next_second(store: &Store, after: u32) -> Result<u32, StoreError> {
    loop {
        let now = server_now(store).await?;
        if now > after {
            return Ok(now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A version above every closure so far: milliseconds of the wall clock, or one more than the
/// highest recorded when the clock is behind it.
async fn next_version(store: &Store) -> Result<u64, StoreError> {
    let highest: u64 = store
        .client()
        .query("SELECT max(version) FROM aggregate_closures")
        .fetch_one()
        .await
        .map_err(StoreError::query("read the latest closure version"))?;
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Ok(clock.max(highest + 1))
}

/// Closes every due day (see the module docs): the days older than the last `open_days` UTC days
/// (today counts as one), and closed days with late or replayed messages. Idempotent; safe next to
/// live workers and to another closer (the higher version wins, each complete).
pub async fn close_due(store: &Store, open_days: u32) -> Result<CloseReport, StoreError> {
    let now = server_now(store).await?;
    let due = due(store, now, open_days).await?;
    if due.is_empty() {
        return Ok(CloseReport::default());
    }
    let now = next_second(store, now).await?;
    let days: Vec<u32> = due.iter().map(|d| d.day).collect();
    let reclosed: Vec<u32> = due
        .iter()
        .filter(|d| d.closed == 1)
        .map(|d| d.day)
        .collect();
    close(store, &days, &reclosed, now).await
}

/// Closes `days` again now (after a re-tag wrote them); they must be closed days
/// ([`closed_among`]).
pub async fn reclose(store: &Store, days: &[u32]) -> Result<CloseReport, StoreError> {
    if days.is_empty() {
        return Ok(CloseReport::default());
    }
    let now = server_now(store).await?;
    let now = next_second(store, now).await?;
    close(store, days, days, now).await
}

/// Waits until the deletes of every close so far have run (closes never wait for them: readers
/// do not see a closed day's id sets). For measuring what the tables hold.
pub async fn settle(store: &Store) -> Result<(), StoreError> {
    let tables: Vec<&str> = STATE_TABLES
        .iter()
        .copied()
        .chain(CLOSED_TABLES.iter().map(|c| c.table))
        .collect();
    crate::aggregates::wait_for_mutations(store, &tables, 0).await
}

/// The closed days among `days`.
pub async fn closed_among(store: &Store, days: &[u32]) -> Result<Vec<u32>, StoreError> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    store
        .client()
        .query(&format!(
            "SELECT DISTINCT day FROM aggregate_closures WHERE day IN ({}) ORDER BY day",
            sql_list(days)
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("find the closed days"))
}

async fn close(
    store: &Store,
    days: &[u32],
    reclosed: &[u32],
    now: u32,
) -> Result<CloseReport, StoreError> {
    if days.is_empty() {
        return Ok(CloseReport::default());
    }
    let version = next_version(store).await?;
    for (what, sql) in statements(store.database(), days, reclosed, version, now) {
        store.execute(&what, &sql).await?;
    }
    Ok(CloseReport {
        closed: days
            .iter()
            .copied()
            .filter(|d| !reclosed.contains(d))
            .collect(),
        reclosed: reclosed.to_vec(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_before_the_closure_and_the_closure_before_any_delete() {
        let s = statements("voc", &[20_000, 20_001], &[20_000], 7, 1_728_000_000);
        let whats: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
        let closure = whats
            .iter()
            .position(|w| *w == "record the closures")
            .expect("closure row");
        assert!(
            whats[..closure]
                .iter()
                .all(|w| w.starts_with("close days in"))
        );
        assert_eq!(closure, CLOSED_TABLES.len());
        assert!(whats[closure + 1..].iter().all(|w| w.starts_with("delete")));
        // Only the re-closed day loses older versions; both days lose id sets written before T.
        let older: Vec<&String> = s
            .iter()
            .filter(|(w, _)| w.starts_with("delete older"))
            .map(|(_, q)| q)
            .collect();
        assert_eq!(older.len(), CLOSED_TABLES.len());
        assert!(
            older
                .iter()
                .all(|q| q.contains("IN (20000)") && q.contains("version < 7"))
        );
        assert!(
            s.iter()
                .filter(|(w, _)| w.contains("id sets"))
                .all(|(_, q)| q.contains("IN (20000,20001)")
                    && q.contains("< toDateTime(1728000000)"))
        );
    }

    #[test]
    fn today_counts_as_the_first_open_day() {
        let noon = 20_000 * 86_400 + 43_200;
        assert_eq!(first_open_day(noon, 1), 20_000);
        assert_eq!(first_open_day(noon, 2), 19_999);
        assert_eq!(first_open_day(noon, 0), 20_000, "at least today");
    }

    #[test]
    fn a_long_backlog_is_closed_a_month_at_a_time() {
        let days: Vec<u32> = (0..70).collect();
        let s = statements("voc", &days, &[], 1, 1);
        let inserts = s
            .iter()
            .filter(|(w, _)| w.starts_with("close days in"))
            .count();
        assert_eq!(inserts, 3 * CLOSED_TABLES.len());
        assert!(statements("voc", &[], &[], 1, 1).is_empty());
    }
}
