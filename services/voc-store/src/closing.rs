//! Closing days: exact counts for the UTC days no longer open to late messages, so that the
//! aggregates grow with their groups and not with every interaction id ever stored.
//!
//! Migration 0009 describes the tables. Closing a set of days, at server time `T`:
//! 1. each `*_closed` table gets the days' counts from `interactions FINAL` under a new version;
//! 2. `aggregate_closures` records (day, version, `T`): from then on readers take those counts;
//! 3. the days' id sets written before `T` are deleted (every interaction they hold was in the
//!    table when step 1 read it), and the days' counts under older versions too, and the days'
//!    rows of `interactions_open` (migration 0014), which only the open days need.
//!
//! Versions are ordered by `T` (the later close wins, and it read the table after everything an
//! earlier close deleted). On servers from 19.x the deletes stop a minute before `T`: a view's rows
//! may be stamped before the table's own part is visible there. The day of a row is the UTC day
//! of its hour, everywhere ([`HOUR_DAY`]).
//!
//! A day is due when it is older than the open days and not closed, or when it is closed but has
//! id sets written at or after its closure's `T` (a late or replayed message; the materialised view
//! stamps every insert). Re-closing such a day recomputes it from `interactions FINAL`, so an
//! interaction seen before and again is counted once, and one seen only now is counted too.
//! Between its arrival and the next close, a late message is not yet in a closed day's counts: the
//! delay is one flagger interval (`flags.interval_s`), and `voc aggregates close` closes at once.
//!
//! A day's repeat contacts (migration 0011) look back 7 days, so whatever closes a day again also
//! closes again the closed days among the 7 after it ([`crate::repeats::followers`]).
//!
//! With its counts, a close rolls up each day's keywords and CSAT ([`crate::days`], migrations
//! 0013 and 0016). Each close then rolls up again the UTC months of the days it closed, and any
//! complete month without a current roll-up ([`crate::months`], migration 0012).

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::cluster::{mutation_target, stale_backoff, waiting_for_fresh_replicas};
use crate::history::sql_list;

/// Days per closing statement: `interactions FINAL` over a month at a time bounds the server's
/// memory on small machines.
pub const DAYS_PER_STATEMENT: usize = 31;

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
const CLOSED_TABLES: [ClosedTable; 5] = [
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
    // Migration 0011. Its repeat contacts come from a statement of their own
    // ([`crate::repeats::statement`]).
    ClosedTable {
        table: "topic_experience_hourly_closed",
        select: "toStartOfHour(occurred_at) AS hour, \
                 arrayJoin(arrayDistinct(if(empty(topics), ['(none)'], CAST(topics AS Array(String))))) AS topic, \
                 CAST(voice_type AS String) AS voice_type, CAST(product AS String) AS product, \
                 CAST(channel AS String) AS channel, \
                 count() AS interactions, countIf(sentiment = 'negative') AS negative, \
                 sumIf(toFloat64(assumeNotNull(csat)), isNotNull(csat)) AS csat_sum, \
                 countIf(isNotNull(csat)) AS csat_responses, \
                 sumIf(toUInt64(assumeNotNull(resolved)), isNotNull(resolved)) AS resolved_contacts, \
                 countIf(isNotNull(resolved)) AS resolution_known, toUInt64(0) AS repeat_contacts",
        group_by: "hour, topic, voice_type, product, channel",
    },
];

/// The id-set tables whose closed days are deleted once closed.
const STATE_TABLES: [&str; 2] = ["topic_volume_hourly_state", "keyword_hourly_state"];

/// The open days' interactions sorted by hour (migration 0014), read by `keyword_topic_hourly`.
pub(crate) const OPEN_TABLE: &str = "interactions_open";

/// The day an aggregate row belongs to: the UTC day of its hour. Every reader (the views), every
/// delete and every close uses this one key, so that a server whose time zone is not a whole number
/// of hours from UTC (its hours start at :30) puts each hour in the same day everywhere.
pub(crate) const HOUR_DAY: &str = "intDiv(toUInt32(hour), 86400)";
/// [`HOUR_DAY`] of an interaction, for reading `interactions`.
const HOUR_DAY_OF_OCCURRED: &str = "intDiv(toUInt32(toStartOfHour(occurred_at)), 86400)";

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

/// The statements that close `days` (UTC day numbers) under `version`, in order, as (what, SQL):
/// the counts, the closure rows, then the deletes of the days' id sets stamped before `bound`
/// (server time, seconds since the epoch: see [`close_due`]), of the days' rows of
/// [`OPEN_TABLE`], and of the days' counts under older versions (a re-close's, or a closer's that
/// stopped half-way). On a cluster the deletes go to
/// every shard's local tables ([`crate::cluster::mutation_target`]). Pure, so a plan for another
/// engine runs exactly these.
pub fn statements(
    database: &str,
    cluster: Option<&str>,
    days: &[u32],
    version: u64,
    bound: u32,
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
                     FROM {db}.interactions FINAL WHERE {HOUR_DAY_OF_OCCURRED} IN ({list}) \
                     GROUP BY {group_by}",
                    table = c.table,
                    select = c.select,
                    group_by = c.group_by,
                ),
            ));
        }
        out.push((
            "close days in topic_experience_hourly_closed (repeat contacts)".into(),
            crate::repeats::statement(&db, chunk, version),
        ));
        // The days' keyword and CSAT roll-ups from the counts just written (0013, 0016).
        for kind in crate::days::DailyRollup::ALL {
            out.extend(crate::days::statements(
                kind, database, chunk, version, version,
            ));
        }
    }
    if days.is_empty() {
        return out;
    }
    let rows: Vec<String> = days
        .iter()
        .map(|d| format!("({d}, {version}, toDateTime({bound}))"))
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
                "ALTER TABLE {} DELETE WHERE {HOUR_DAY} IN ({list}) \
                 AND finalizeAggregation(written) < toDateTime({bound})",
                mutation_target(database, table, cluster)
            ),
        ));
    }
    // Rows of closed days are never read there; one a late message adds goes at its re-close.
    out.push((
        format!("delete the closed days' interactions from {OPEN_TABLE}"),
        format!(
            "ALTER TABLE {} DELETE WHERE {HOUR_DAY} IN ({list})",
            mutation_target(database, OPEN_TABLE, cluster)
        ),
    ));
    for c in CLOSED_TABLES {
        out.push((
            format!("delete older versions of the days from {}", c.table),
            format!(
                "ALTER TABLE {} DELETE WHERE {HOUR_DAY} IN ({list}) AND version < {version}",
                mutation_target(database, c.table, cluster)
            ),
        ));
    }
    for kind in crate::days::DailyRollup::ALL {
        out.push((
            format!("delete older versions of the days from {}", kind.table()),
            format!(
                "ALTER TABLE {} DELETE WHERE day IN ({list}) AND version < {version}",
                mutation_target(database, kind.table(), cluster)
            ),
        ));
    }
    // The months of the days, rolled up again from their closed days (migration 0012).
    out.extend(crate::months::statements(
        database,
        cluster,
        &crate::months::months_of(days),
        version,
    ));
    out
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct DueDay {
    day: u32,
    /// Closed before: this close is a re-close.
    closed: bool,
}

/// Days due for closing at server time `now`: unclosed days before the open ones, and closed days
/// with id sets written since their closure.
async fn due(store: &Store, now: u32, open_days: u32) -> Result<Vec<DueDay>, StoreError> {
    let first_open = first_open_day(now, open_days);
    // Every id-set table: a migration may mark days in one of them alone (0010 does).
    let written = STATE_TABLES
        .iter()
        .map(|t| {
            format!(
                "SELECT {HOUR_DAY} AS day, max(finalizeAggregation(written)) AS written \
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

/// Waits until the server's clock has passed `after` (at most about a second), and returns it. The
/// stamps have whole seconds: an id set written in the second a close starts could be older or
/// newer than its counts, so it would have to stay; starting in a fresh second, every id set
/// written before the close began is older than the close's time and goes.
async fn next_second(store: &Store, after: u32) -> Result<u32, StoreError> {
    loop {
        let now = store.server_now().await?;
        if now > after {
            return Ok(now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// An even version above every closure so far, ordered by the server time `t` of the close: the later
/// close wins, and it read `interactions FINAL` after every id set an earlier close deleted was
/// written. The low 32 bits tell apart two closes in the same second (they must never share a
/// version, or the views would add both).
async fn next_version(store: &Store, t: u32) -> Result<u64, StoreError> {
    use std::hash::BuildHasher;
    // Month roll-ups of their own (`roll_up_missing`) take versions too.
    let highest: u64 = store
        .client()
        .query(
            "SELECT greatest((SELECT max(version) FROM aggregate_closures), \
             (SELECT max(version) FROM keyword_month_closures))",
        )
        .fetch_one()
        .await
        .map_err(StoreError::query("read the latest closure version"))?;
    let tie = std::collections::hash_map::RandomState::new().hash_one(std::process::id()) as u32;
    // Even: a month's roll-up is made current under its version + 1 (`keyword_month_closures`).
    let version = ((u64::from(t) << 32) | u64::from(tie)).max(highest + 1);
    Ok(version + (version & 1))
}

/// Seconds before a close's time that its id-set deletes stop, so that the last moments stay as
/// marks for the next close: servers from 19.x may stamp a view's rows before the table's own part
/// is visible, and on a cluster a replica may fetch a part later than its shard acknowledged it
/// (the close reads no replica more than `MAX_READ_LAG_S` behind).
fn stamp_margin_s(store: &Store) -> u32 {
    if store.cluster().is_none() && store.version().writes_part_before_views() {
        0
    } else {
        60
    }
}

/// Closes every due day (see the module docs): the days older than the last `open_days` UTC days
/// (today counts as one), and closed days with late or replayed messages. Idempotent; safe next to
/// live workers and to another closer (the higher version wins, each complete).
///
/// On a cluster, while every replica of a shard is too far behind, it waits as `stale` says
/// ([`crate::cluster::stale_backoff`]; the flagger waits for nobody: its next run tries again).
pub async fn close_due(
    store: &Store,
    open_days: u32,
    stale: crate::cluster::StaleWait,
) -> Result<CloseReport, StoreError> {
    let now = store.server_now().await?;
    let due = due(store, now, open_days).await?;
    let report = if due.is_empty() {
        CloseReport::default()
    } else {
        let days: Vec<u32> = due.iter().map(|d| d.day).collect();
        let reclosed: Vec<u32> = due.iter().filter(|d| d.closed).map(|d| d.day).collect();
        waiting_for_fresh_replicas("close days", stale, || async {
            let now = next_second(store, now).await?;
            close(store, &days, &reclosed, now).await
        })
        .await?
    };
    // The days are closed whatever happens here: a day or month left without a roll-up reads
    // from the hourly rows, and the next close tries again.
    for kind in crate::days::DailyRollup::ALL {
        if let Err(e) = roll_up_missing_days(store, kind).await {
            tracing::warn!(error = %e, rollup = kind.what(), "daily roll-up failed; retried at the next close");
        }
    }
    if let Err(e) = roll_up_missing(store).await {
        tracing::warn!(error = %e, "monthly keyword roll-up failed; retried at the next close");
    }
    Ok(report)
}

/// Rolls up the closed days whose current version has no `kind` roll-up
/// ([`crate::days::missing`]), from their closed hourly rows under that version.
async fn roll_up_missing_days(
    store: &Store,
    kind: crate::days::DailyRollup,
) -> Result<(), StoreError> {
    let missing = crate::days::missing(store, kind, DAYS_PER_STATEMENT).await?;
    if missing.is_empty() {
        return Ok(());
    }
    // An id of this attempt's own, as unique as a close's version (see there).
    let now = store.server_now().await?;
    let rollup = next_version(store, now).await?;
    for (version, days) in missing {
        run(
            store,
            crate::days::statements(kind, store.database(), &days, version, rollup),
        )
        .await?;
    }
    Ok(())
}

/// Rolls up the complete months that have no current roll-up ([`crate::months::missing`]).
async fn roll_up_missing(store: &Store) -> Result<(), StoreError> {
    let months = crate::months::missing(store).await?;
    if months.is_empty() {
        return Ok(());
    }
    let now = store.server_now().await?;
    let version = next_version(store, now).await?;
    let statements = crate::months::statements(store.database(), store.cluster(), &months, version);
    run(store, statements).await
}

/// Runs closing statements in order: deletes as mutations, the rest reading no stale replica.
async fn run(store: &Store, statements: Vec<(String, String)>) -> Result<(), StoreError> {
    // On a cluster the counts are read from no replica more than `MAX_READ_LAG_S` behind (the
    // deletes spare the last minute, `stamp_margin_s`).
    let settings = crate::cluster::fresh_reads(store.cluster());
    for (what, sql) in statements {
        if sql.starts_with("ALTER") {
            store.execute_delete(&what, &sql).await?;
        } else {
            store.execute_with(&what, &sql, &settings).await?;
        }
    }
    Ok(())
}

/// Closes `days` again now (after a re-tag wrote them); they must be closed days
/// ([`closed_among`]).
pub async fn reclose(store: &Store, days: &[u32]) -> Result<CloseReport, StoreError> {
    if days.is_empty() {
        return Ok(CloseReport::default());
    }
    // Each try is a close of its own, under a new version: one stopped half-way is never read.
    waiting_for_fresh_replicas("re-close days", stale_backoff(), || async {
        let now = store.server_now().await?;
        let now = next_second(store, now).await?;
        close(store, days, days, now).await
    })
    .await
}

/// Waits until the deletes of every close so far have run (closes never wait for them: readers
/// do not see a closed day's id sets). For measuring what the tables hold.
pub async fn settle(store: &Store) -> Result<(), StoreError> {
    let tables: Vec<&str> = STATE_TABLES
        .iter()
        .copied()
        .chain(CLOSED_TABLES.iter().map(|c| c.table))
        .chain(crate::days::DailyRollup::ALL.map(|k| k.table()))
        .chain([crate::months::TABLE, OPEN_TABLE])
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

/// Refuses to close when the shards' clocks differ by more than
/// [`crate::cluster::MAX_CLOCK_SKEW_S`] (see there): the close could delete an id set written
/// after it read the interactions. Nothing is lost by not closing; the days stay open.
async fn check_clocks(store: &Store, cluster: &str) -> Result<(), StoreError> {
    let spread: u32 = store
        .client()
        .query(&format!(
            "SELECT toUInt32(max(t) - min(t)) FROM \
             (SELECT toUInt32(now()) AS t FROM {})",
            crate::cluster::on_every_shard(cluster, "one")
        ))
        .fetch_one()
        .await
        .map_err(StoreError::query("compare the shards' clocks"))?;
    if spread > crate::cluster::MAX_CLOCK_SKEW_S {
        return Err(StoreError::Rebuild(format!(
            "the clocks of cluster {cluster}'s servers differ by {spread} s (more than {} s): \
             not closing days until they agree (run NTP on every server)",
            crate::cluster::MAX_CLOCK_SKEW_S
        )));
    }
    Ok(())
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
    // Whatever computes a day again changes the repeat contacts of the closed days after it.
    let followers = closed_among(store, &crate::repeats::followers(days)).await?;
    let with_followers = |list: &[u32]| {
        let mut all: Vec<u32> = list.iter().chain(&followers).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let (days, reclosed) = (with_followers(days), with_followers(reclosed));
    let version = next_version(store, now).await?;
    let bound = now.saturating_sub(stamp_margin_s(store));
    if let Some(c) = store.cluster() {
        check_clocks(store, c).await?;
    }
    run(
        store,
        statements(store.database(), store.cluster(), &days, version, bound),
    )
    .await?;
    Ok(CloseReport {
        closed: days
            .iter()
            .copied()
            .filter(|d| !reclosed.contains(d))
            .collect(),
        reclosed,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_before_the_closure_and_the_closure_before_any_delete() {
        let s = statements("voc", None, &[20_000, 20_001], 7, 1_728_000_000);
        let whats: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
        let closure = whats
            .iter()
            .position(|w| *w == "record the closures")
            .expect("closure row");
        // The counts, then the days' keyword and CSAT roll-ups from them (crate::days).
        let days: Vec<(String, String)> = crate::days::DailyRollup::ALL
            .into_iter()
            .flat_map(|k| crate::days::statements(k, "voc", &[20_000, 20_001], 7, 7))
            .collect();
        let counts = CLOSED_TABLES.len() + 1;
        assert_eq!(closure, counts + days.len(), "with the repeat contacts");
        assert!(
            whats[..counts]
                .iter()
                .all(|w| w.starts_with("close days in"))
        );
        assert_eq!(
            whats[counts..closure],
            days.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>()
        );
        // Then the day deletes, and last the months' roll-ups (crate::months).
        let months =
            crate::months::statements("voc", None, &crate::months::months_of(&[20_000]), 7);
        let (deletes_of_days, roll_ups) =
            whats[closure + 1..].split_at(whats.len() - closure - 1 - months.len());
        assert!(deletes_of_days.iter().all(|w| w.starts_with("delete")));
        assert_eq!(
            roll_ups,
            months.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>()
        );
        let deletes = |what: &str| -> Vec<&String> {
            s.iter()
                .filter(|(w, _)| w.contains(what))
                .map(|(_, q)| q)
                .collect()
        };
        let older = deletes("older versions");
        assert_eq!(
            older.len(),
            CLOSED_TABLES.len() + crate::days::DailyRollup::ALL.len(),
            "and the days' roll-ups"
        );
        assert!(
            older
                .iter()
                .all(|q| q.contains("IN (20000,20001)") && q.contains("version < 7"))
        );
        let id_sets = deletes("id sets");
        assert_eq!(id_sets.len(), STATE_TABLES.len());
        assert!(
            id_sets
                .iter()
                .all(|q| q.contains("IN (20000,20001)") && q.contains("< toDateTime(1728000000)"))
        );
    }

    #[test]
    fn counts_read_interactions_by_the_day_of_their_hour_as_the_views_do() {
        let s = statements("voc", None, &[20_000], 7, 1);
        for (what, q) in &s {
            if what.ends_with("(repeat contacts)") {
                let of_contact = HOUR_DAY_OF_OCCURRED.replace("occurred_at", "tupleElement(c, 1)");
                assert!(q.contains(&of_contact), "{q}");
            } else if what.starts_with("close days in") {
                assert!(q.contains(HOUR_DAY_OF_OCCURRED), "{q}");
            } else if what.starts_with("delete")
                && !q.contains(crate::months::TABLE)
                && !crate::days::DailyRollup::ALL
                    .iter()
                    .any(|k| q.contains(k.table()))
            {
                assert!(q.contains(HOUR_DAY), "{q}");
            }
        }
        let m0009 = include_str!("../../../schemas/clickhouse/0009_closed_aggregates.sql");
        let m0010 = include_str!("../../../schemas/clickhouse/0010_keyword_topic_hourly.sql");
        let m0011 = include_str!("../../../schemas/clickhouse/0011_topic_experience_hourly.sql");
        for sql in [m0009, m0010, m0011] {
            assert!(sql.contains(&format!("WHERE ({HOUR_DAY}, version) IN")));
        }
        assert!(m0009.contains(&format!("WHERE {HOUR_DAY} NOT IN")));
        for sql in [m0010, m0011] {
            assert!(sql.contains(&format!("{HOUR_DAY_OF_OCCURRED} NOT IN")));
        }
        // 0014 redefines 0010's view over the open days' copy, and adds the rows to sum.
        let m0014 = include_str!("../../../schemas/clickhouse/0014_interactions_open.sql");
        assert_eq!(
            m0014
                .matches(&format!("WHERE ({HOUR_DAY}, version) IN"))
                .count(),
            2
        );
        assert!(m0014.contains(&format!("AND {HOUR_DAY} NOT IN")));
        assert!(m0014.contains(&format!("{HOUR_DAY_OF_OCCURRED} NOT IN")));
    }

    #[test]
    fn every_id_set_table_has_counts_over_the_same_groups() {
        let v = crate::ServerVersion::parse("18.16.1").expect("version");
        let views = crate::aggregates::views(crate::migrate::MIGRATIONS, "voc", v).expect("views");
        assert_eq!(views.len(), STATE_TABLES.len() + 1, "and {OPEN_TABLE}");
        for crate::aggregates::Aggregation { table, select } in views {
            let state = table.trim_start_matches("`voc`.");
            if state == OPEN_TABLE {
                continue;
            }
            assert!(STATE_TABLES.contains(&state), "{state}");
            let groups = select
                .rsplit_once("GROUP BY")
                .map(|g| g.1.trim().to_string())
                .expect("GROUP BY");
            let counted = state.replace("_state", "_closed");
            let closed = CLOSED_TABLES
                .iter()
                .find(|c| c.table == counted)
                .unwrap_or_else(|| panic!("no counts for {state}"));
            assert_eq!(closed.group_by, groups, "{state}");
        }
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
        let s = statements("voc", None, &days, 1, 1);
        let inserts = s
            .iter()
            .filter(|(w, _)| w.starts_with("close days in"))
            .count();
        assert_eq!(inserts, 3 * (CLOSED_TABLES.len() + 1));
        assert!(statements("voc", None, &[], 1, 1).is_empty());
    }
}
