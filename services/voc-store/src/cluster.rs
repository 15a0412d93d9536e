//! Cluster mode: the same schema on a ClickHouse cluster of shards and replicas.
//!
//! `voc migrate --cluster NAME` renders every migration for the cluster `NAME` of the servers'
//! `remote_servers` (see [`for_cluster`]):
//! - a *sharded* table `T` becomes `T_local` on every server, a `Replicated*MergeTree` whose
//!   ZooKeeper (or ClickHouse Keeper) path holds the `{shard}` macro, plus a `Distributed` table
//!   `T` in front of it on every server. Readers and writers keep using `T`. Interactions and
//!   theme memberships are sharded by `interaction_id`, so a replay lands on the shard that already
//!   holds the interaction and `FINAL` collapses it there; flags by `flag_id`, themes by
//!   `theme_id`; aggregate rows at random (their readers sum).
//! - a table kept *everywhere* (the migration ledger, the closure ledger) is one replication
//!   group across all servers, with no `Distributed` table: a view's `IN (SELECT … FROM
//!   aggregate_closures)` is then answered by each shard from its own copy.
//! - materialised views are created on every server, from `interactions_local` into the local
//!   state tables: each shard aggregates the interactions it holds.
//! - views read the `Distributed` tables and are created on every server.
//!
//! At run time voc recognises a cluster by its `Distributed` `interactions` table
//! ([`detect`]), sends deletes to the local tables `ON CLUSTER`, inserts synchronously
//! (`insert_distributed_sync`) so that an acknowledged batch is on its shard, and joins co-sharded
//! tables shard by shard (`distributed_product_mode = 'local'`).

use crate::client::StoreError;

/// Settings of voc's own clients on a cluster:
/// - an acknowledged insert is on its shard, not queued on the server that took it;
/// - a retried insert is written again rather than dropped as a duplicate block: a dropped block
///   also skips the materialised views, and the first attempt may have stopped before them (a
///   killed replica); `FINAL` and the id sets make the second copy harmless;
/// - co-sharded tables (interactions, theme memberships) are joined shard by shard;
/// - every voc process, whichever server it talks to, reads and writes the first live replica
///   of each shard (in `remote_servers` order), so a close or a rebuild reads what was written.
pub const CLIENT_SETTINGS: &[(&str, &str)] = &[
    ("insert_distributed_sync", "1"),
    ("insert_deduplicate", "0"),
    ("distributed_product_mode", "local"),
    ("load_balancing", "in_order"),
    ("prefer_localhost_replica", "0"),
];

/// The suffix of a sharded table's per-server table.
pub const LOCAL_SUFFIX: &str = "_local";

/// Where a table's rows live on a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Spread over the shards by this expression, replicated within each shard.
    Sharded(&'static str),
    /// A full copy on every server.
    Everywhere,
}

/// The placement of every table voc creates; `None` for a table the migrations do not know.
pub fn placement(table: &str) -> Option<Placement> {
    use Placement::{Everywhere, Sharded};
    Some(match table {
        // The open copy lies beside its interactions: one shard collapses both.
        "interactions" | "interactions_open" | "theme_members" => {
            Sharded("cityHash64(interaction_id)")
        }
        "flags" | "flag_events" => Sharded("cityHash64(flag_id)"),
        "topic_volume_hourly_state"
        | "keyword_hourly_state"
        | "topic_volume_hourly_closed"
        | "keyword_hourly_closed"
        | "keyword_topic_hourly_closed"
        | "volume_hourly_closed"
        | "topic_experience_hourly_closed"
        | "keyword_monthly_closed"
        | "keyword_daily_closed"
        | "topic_csat_daily_closed" => Sharded("rand()"),
        // Small, and joined to the interactions of any shard (the theme panels).
        "themes"
        | "aggregate_closures"
        | "keyword_month_closures"
        | "keyword_day_closures"
        | "csat_day_closures"
        | "schema_migrations" => Everywhere,
        _ => return None,
    })
}

/// The table a delete of `table`'s rows must go to, `ON CLUSTER` when there is one:
/// `` `db`.t `` alone, or `` `db`.t_local ON CLUSTER `c` ``.
pub fn mutation_target(database: &str, table: &str, cluster: Option<&str>) -> String {
    match cluster {
        None => format!("`{database}`.{table}"),
        Some(c) => match placement(table) {
            Some(Placement::Sharded(_)) => {
                format!("`{database}`.{table}{LOCAL_SUFFIX} ON CLUSTER `{c}`")
            }
            _ => format!("`{database}`.{table} ON CLUSTER `{c}`"),
        },
    }
}

/// The name of the table that holds `table`'s rows on each server (for `system.mutations`).
pub fn stored_table(table: &str, cluster: Option<&str>) -> String {
    match (cluster, placement(table)) {
        (Some(_), Some(Placement::Sharded(_))) => format!("{table}{LOCAL_SUFFIX}"),
        _ => table.to_string(),
    }
}

/// The cluster named in a `Distributed(cluster, database, table[, key])` engine, if it is one.
pub fn distributed_cluster(engine_full: &str) -> Option<String> {
    let args = engine_full.trim().strip_prefix("Distributed(")?;
    let first = args.split(',').next()?.trim();
    Some(first.trim_matches(|c| c == '\'' || c == '`').to_string())
}

/// `CREATE DATABASE` for a cluster.
pub fn create_database(database: &str, cluster: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS `{database}` ON CLUSTER `{cluster}`")
}

/// Rewrites one statement of a rendered migration (for one server) into the statements that do
/// the same on `cluster`. Errors name the statement the rewrite does not know how to place.
pub fn for_cluster(
    statement: &str,
    database: &str,
    cluster: &str,
) -> Result<Vec<String>, StoreError> {
    let s = statement.trim();
    let db = format!("`{database}`.");
    let on = format!(" ON CLUSTER `{cluster}`");
    let unknown = |why: &str| StoreError::Migration {
        name: first_line(s).to_string(),
        message: format!("cannot render for cluster {cluster}: {why}"),
    };
    let named = |prefix: &str| -> Option<(String, &str)> {
        let (name, rest) = split_name(s.strip_prefix(prefix)?.strip_prefix(db.as_str())?);
        Some((name.to_string(), rest))
    };

    if let Some((table, rest)) = named("CREATE TABLE IF NOT EXISTS ") {
        let place = placement(&table).ok_or_else(|| unknown("a table with no placement"))?;
        let stored = match place {
            Placement::Sharded(_) => format!("{table}{LOCAL_SUFFIX}"),
            Placement::Everywhere => table.clone(),
        };
        let replicated = replicated_engine(rest, cluster, database, &stored, place)
            .ok_or_else(|| unknown("no MergeTree engine"))?;
        let mut out = vec![format!(
            "CREATE TABLE IF NOT EXISTS {db}{stored}{on}{replicated}"
        )];
        if let Placement::Sharded(key) = place {
            out.push(distributed(database, cluster, &table, key));
        }
        return Ok(out);
    }
    if let Some((view, rest)) = named("CREATE MATERIALIZED VIEW IF NOT EXISTS ") {
        // Each server aggregates what it stores: its local source into its local state table.
        return Ok(vec![format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}{view}{on}{}",
            localise(rest, database)
        )]);
    }
    if let Some((view, rest)) = named("CREATE VIEW IF NOT EXISTS ") {
        // The closure ledger is read once, where the query starts, and shipped to every shard
        // (`GLOBAL`): shards whose copies lag would otherwise each judge the days differently.
        let ledger = format!(" IN (SELECT day, version FROM {db}aggregate_closures");
        let ledger_days = format!(" IN (SELECT day FROM {db}aggregate_closures");
        let months = format!(" IN (SELECT first_day, version FROM {db}keyword_months");
        let mut body = localise_joins(rest, database)
            .replace(&ledger, &format!(" GLOBAL{ledger}"))
            .replace(&months, &format!(" GLOBAL{months}"));
        for kind in crate::days::DailyRollup::ALL {
            let days = format!(
                " IN (SELECT day, version, rollup FROM {db}{}",
                kind.days_view()
            );
            body = body.replace(&days, &format!(" GLOBAL{days}"));
        }
        let body = body.replace(
            &format!(" NOT{ledger_days}"),
            &format!(" GLOBAL NOT{ledger_days}"),
        );
        return Ok(vec![format!(
            "CREATE VIEW IF NOT EXISTS {db}{view}{on}{body}"
        )]);
    }
    if let Some((table, rest)) = named("DROP TABLE IF EXISTS ") {
        let mut out = vec![format!("DROP TABLE IF EXISTS {db}{table}{on}{rest}")];
        if let Some(Placement::Sharded(_)) = placement(&table) {
            out.push(format!(
                "DROP TABLE IF EXISTS {db}{table}{LOCAL_SUFFIX}{on}{rest}"
            ));
        }
        return Ok(out);
    }
    if let Some((table, rest)) = named("ALTER TABLE ") {
        let Some(Placement::Sharded(key)) = placement(&table) else {
            // An ALTER of a table replicated on every server would run once per shard.
            return Err(unknown("ALTER of a table that is not sharded"));
        };
        if !rest.trim_start().starts_with("ADD COLUMN") {
            return Err(unknown("an ALTER other than ADD COLUMN"));
        }
        // 18.x refuses ALTER … ON CLUSTER of a Distributed table over replicated shards, and a
        // Distributed table holds no data with synchronous inserts: it is made again.
        return Ok(vec![
            format!("ALTER TABLE {db}{table}{LOCAL_SUFFIX}{on}{rest}"),
            format!("DROP TABLE IF EXISTS {db}{table}{on}"),
            distributed(database, cluster, &table, key),
        ]);
    }
    if s.starts_with("INSERT INTO ") {
        // Through the Distributed tables, as any writer.
        return Ok(vec![s.to_string()]);
    }
    Err(unknown("an unknown kind of statement"))
}

/// Seconds an `ON CLUSTER` delete waits for every server before leaving itself queued for those
/// still away ([`crate::Store::execute_delete`]).
pub const DDL_WAIT_S: u32 = 15;

/// The most the clocks of the shards may differ, in seconds, for a close: the materialised views
/// stamp id sets with their own server's clock, the close deletes by its server's, and its margin
/// (60 s) less the replica lag it tolerates (`MAX_READ_LAG_S`) is what covers the difference.
pub const MAX_CLOCK_SKEW_S: u32 = 10;

/// The longest a replica may lag behind its shard and still be read by a close or a rebuild, in
/// seconds: those reads go to fresher replicas or fail (and are retried by the next run).
///
/// Why not quorum inserts (`insert_quorum`), ClickHouse's own read-your-writes: on 18.x, parts
/// inserted with a quorum are never mutated, and closing and re-tagging delete by mutation. voc's
/// clients read and write the first live replica of each shard instead (`load_balancing =
/// in_order`), so a close or rebuild reads what the same client wrote, and closes spare the id
/// sets of their last minute.
pub const MAX_READ_LAG_S: u32 = 30;

/// Settings for reads that must see everything acknowledged more than [`MAX_READ_LAG_S`] ago, on
/// a cluster; none on one server.
pub fn fresh_reads(cluster: Option<&str>) -> Vec<(&'static str, String)> {
    if cluster.is_none() {
        return Vec::new();
    }
    vec![
        (
            "max_replica_delay_for_distributed_queries",
            MAX_READ_LAG_S.to_string(),
        ),
        (
            "fallback_to_stale_replicas_for_distributed_queries",
            "0".into(),
        ),
    ]
}

/// How long a close or a rebuild pauses, in all, for a shard to have a replica fresh enough for
/// [`fresh_reads`], in seconds (the attempts' own time comes on top). A replica that was stopped
/// needs to fetch what it missed, and the one that stayed up may first fetch parts only the
/// stopped one held: both can lag [`MAX_READ_LAG_S`] for a minute or two after a restart.
pub const STALE_WAIT_S: u64 = 300;

/// How a close or rebuild waits for stale replicas: [`stale_backoff`] or [`no_stale_wait`].
pub type StaleWait = backon::ExponentialBuilder;

/// The pauses between attempts while replicas are stale: from 1 s, doubling up to 15 s, at most
/// [`STALE_WAIT_S`] of pauses in all.
pub fn stale_backoff() -> StaleWait {
    backon::ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_secs(1))
        .with_max_delay(std::time::Duration::from_secs(15))
        .with_total_delay(Some(std::time::Duration::from_secs(STALE_WAIT_S)))
        .without_max_times()
}

/// No wait: a stale replica fails the attempt at once (for a caller that runs again anyway).
pub fn no_stale_wait() -> StaleWait {
    backon::ExponentialBuilder::default().with_max_times(0)
}

/// Runs `attempt` until it does not fail on stale replicas (ClickHouse code 369), pausing as
/// `backoff` says, and returns its last result: an outage of a replica makes a close or rebuild
/// wait, not fail. Each attempt must be safe to run again after a half-way failure (a close takes
/// a new version; id sets merge without counting anyone twice).
pub async fn waiting_for_fresh_replicas<T, F, Fut>(
    what: &str,
    backoff: StaleWait,
    attempt: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    use backon::Retryable;
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(StoreError::replicas_stale)
        .notify(|e, pause| {
            tracing::warn!(what, error = %e, next_try_ms = pause.as_millis() as u64, "replicas behind; waiting");
        })
        .await
}

/// A `system` table read from one replica of every shard of the store's cluster, as a table
/// expression (`cluster('name', system, table)`, with the credentials of `remote_servers`, so no
/// password goes into a query).
pub fn on_every_shard(cluster: &str, system_table: &str) -> String {
    format!("cluster('{cluster}', system, {system_table})")
}

/// A table name at the start of `s` (letters, digits, `_`), and what follows it.
fn split_name(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.split_at(end)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The `Distributed` table `table` in front of `table_local` on every server.
fn distributed(database: &str, cluster: &str, table: &str, key: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{database}`.{table} ON CLUSTER `{cluster}` \
         AS `{database}`.{table}{LOCAL_SUFFIX} \
         ENGINE = Distributed('{cluster}', '{database}', '{table}{LOCAL_SUFFIX}', {key})"
    )
}

/// The rest of a `CREATE TABLE` (columns, engine, keys) with its `…MergeTree(args)` engine made
/// `Replicated…MergeTree('/clickhouse/CLUSTER/tables/{shard}/db/table', '{replica}', args)`.
fn replicated_engine(
    rest: &str,
    cluster: &str,
    database: &str,
    stored: &str,
    place: Placement,
) -> Option<String> {
    const ENGINE: &str = "ENGINE = ";
    let at = rest.find(ENGINE)? + ENGINE.len();
    let open = at + rest[at..].find('(')?;
    let engine = &rest[at..open];
    if !engine.ends_with("MergeTree") || engine.starts_with("Replicated") {
        return None;
    }
    let close = open + rest[open..].find(')')?;
    let args = rest[open + 1..close].trim();
    // A table on every server is one replication group across shards, so its replica names join
    // the shard to the replica (replica macros need only be unique within a shard).
    let (group, replica) = match place {
        Placement::Sharded(_) => ("{shard}", "{replica}"),
        Placement::Everywhere => ("all", "{shard}-{replica}"),
    };
    let path = format!("'/clickhouse/{cluster}/tables/{group}/{database}/{stored}', '{replica}'");
    let args = if args.is_empty() {
        path
    } else {
        format!("{path}, {args}")
    };
    Some(format!(
        "{}{ENGINE}Replicated{engine}({args}){}",
        &rest[..at - ENGINE.len()],
        &rest[close + 1..]
    ))
}

/// A view's `JOIN (subquery)`s read the local tables of sharded tables: the view's main table is
/// `Distributed`, so each shard runs the join, and the tables voc joins are co-sharded by
/// `interaction_id` (a `Distributed` table there would be refused, or read every shard from every
/// shard). Whatever the reader's `distributed_product_mode`, the view works.
fn localise_joins(sql: &str, database: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(at) = rest.find("JOIN") {
        let after = &rest[at + 4..];
        let trimmed = after.trim_start();
        if !trimmed.starts_with('(') {
            out.push_str(&rest[..at + 4]);
            rest = after;
            continue;
        }
        let open = at + 4 + (after.len() - trimmed.len());
        let mut depth = 0usize;
        let mut close = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&rest[..open]);
        out.push_str(&localise(&rest[open..close], database));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// A materialised view's `TO` target and sources, made the local tables of sharded tables.
fn localise(sql: &str, database: &str) -> String {
    let db = format!("`{database}`.");
    let mut out = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(at) = rest.find(&db) {
        let (name, after) = split_name(&rest[at + db.len()..]);
        out.push_str(&rest[..at + db.len()]);
        out.push_str(name);
        if let Some(Placement::Sharded(_)) = placement(name) {
            out.push_str(LOCAL_SUFFIX);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerVersion;
    use crate::migrate::{MIGRATIONS, render};

    fn failure(message: &str) -> StoreError {
        StoreError::Query {
            what: "rebuild".into(),
            source: clickhouse::error::Error::BadResponse(message.into()),
        }
    }

    const STALE: &str = "Code: 369, e.displayText() = DB::Exception: Could not find enough connections to up-to-date replicas. Got: 0, needed: 1";

    fn quick() -> StaleWait {
        backon::ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_millis(1))
            .with_max_delay(std::time::Duration::from_millis(2))
            .with_total_delay(Some(std::time::Duration::from_millis(50)))
            .without_max_times()
    }

    #[tokio::test]
    async fn stale_replicas_are_waited_for_and_other_errors_are_not() {
        let tries = std::cell::Cell::new(0);
        let twice_stale = || async {
            tries.set(tries.get() + 1);
            if tries.get() <= 2 {
                Err(failure(STALE))
            } else {
                Ok(tries.get())
            }
        };
        let out = waiting_for_fresh_replicas("rebuild", quick(), twice_stale).await;
        assert_eq!(out.ok(), Some(3));
        tries.set(0);
        let missing_table = || async {
            tries.set(tries.get() + 1);
            Err::<(), _>(failure(
                "Code: 60. DB::Exception: Table voc.x does not exist",
            ))
        };
        let out = waiting_for_fresh_replicas("rebuild", quick(), missing_table).await;
        assert!(out.is_err());
        assert_eq!(tries.get(), 1, "a refusal is not retried");
        // Stale for ever: gives up after the total wait, with the error.
        let always_stale = || async { Err::<(), _>(failure(STALE)) };
        let out = waiting_for_fresh_replicas("rebuild", quick(), always_stale).await;
        assert!(out.is_err_and(|e| e.replicas_stale()));
        // The flagger's close: one try.
        tries.set(0);
        let out = waiting_for_fresh_replicas("close", no_stale_wait(), twice_stale).await;
        assert!(out.is_err());
        assert_eq!(tries.get(), 1);
    }

    fn rendered() -> Vec<String> {
        let v = ServerVersion {
            major: 18,
            minor: 16,
        };
        MIGRATIONS
            .iter()
            .flat_map(|m| render(m.sql, "voc", v, Some(30)))
            .collect()
    }

    /// The cluster form of the latest rendered statement that starts with `start`.
    fn cluster_form(start: &str) -> Vec<String> {
        let all = rendered();
        let statement = all
            .iter()
            .rfind(|s| s.starts_with(start))
            .unwrap_or_else(|| panic!("no statement starts with {start:?}"));
        for_cluster(statement, "voc", "c1").expect("renders")
    }

    #[test]
    fn every_statement_of_every_migration_renders_for_a_cluster() {
        for s in rendered() {
            let out = for_cluster(&s, "voc", "c1").unwrap_or_else(|e| panic!("{e}: {s}"));
            for o in &out {
                if !o.starts_with("INSERT") {
                    assert!(o.contains(" ON CLUSTER `c1`"), "{o}");
                }
            }
        }
    }

    #[test]
    fn sharded_tables_are_replicated_per_shard_behind_a_distributed_table() {
        let out = cluster_form("CREATE TABLE IF NOT EXISTS `voc`.interactions\n");
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].starts_with(
                "CREATE TABLE IF NOT EXISTS `voc`.interactions_local ON CLUSTER `c1`\n("
            )
        );
        assert!(
            out[0].contains(
                "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/c1/tables/{shard}/voc/interactions_local', '{replica}', version)"
            ),
            "{}",
            out[0]
        );
        assert!(out[0].contains("ORDER BY interaction_id"));
        assert!(out[1].contains(
            "ENGINE = Distributed('c1', 'voc', 'interactions_local', cityHash64(interaction_id))"
        ));
    }

    #[test]
    fn ledgers_live_on_every_server_and_views_read_them_once() {
        let out = cluster_form("CREATE TABLE IF NOT EXISTS `voc`.aggregate_closures\n");
        assert_eq!(out.len(), 1, "no Distributed table in front: {out:?}");
        assert!(
            out[0].contains(
                "'/clickhouse/c1/tables/all/voc/aggregate_closures', '{shard}-{replica}'"
            )
        );
        let out = cluster_form("CREATE VIEW IF NOT EXISTS `voc`.topic_volume_hourly\n");
        assert!(
            out[0].contains("FROM `voc`.topic_volume_hourly_state\n"),
            "{}",
            out[0]
        );
        assert!(
            !out[0].contains("_local"),
            "views read the Distributed tables"
        );
        // Every read of the closure ledger is computed once and shipped to the shards: directly,
        // or through `keyword_months` and the daily roll-ups' `*_days`, which only `GLOBAL IN`
        // reads (their own tables are kept on every server, so they read no Distributed table).
        for view in rendered().iter().filter(|s| s.starts_with("CREATE VIEW")) {
            let out = for_cluster(view, "voc", "c1").expect("renders").join("\n");
            if view.contains("`voc`.keyword_months\n") {
                continue;
            }
            for kind in crate::days::DailyRollup::ALL {
                let view = format!("`voc`.{}", kind.days_view());
                assert_eq!(
                    out.matches(&format!("FROM {view}")).count(),
                    out.matches(&format!(
                        "GLOBAL IN (SELECT day, version, rollup FROM {view}"
                    ))
                    .count(),
                    "{out}"
                );
            }
            assert_eq!(
                out.matches("FROM `voc`.keyword_months").count(),
                out.matches("GLOBAL IN (SELECT first_day, version FROM `voc`.keyword_months")
                    .count(),
                "{out}"
            );
            let reads = out.matches("FROM `voc`.aggregate_closures").count();
            let global = out
                .matches("GLOBAL IN (SELECT day, version FROM `voc`.aggregate_closures")
                .count()
                + out
                    .matches("GLOBAL NOT IN (SELECT day FROM `voc`.aggregate_closures")
                    .count();
            let scalar = out
                .matches("(SELECT max(day) FROM `voc`.aggregate_closures)")
                .count();
            assert_eq!(reads, global + scalar, "{out}");
        }
    }

    #[test]
    fn materialised_views_aggregate_each_servers_own_rows() {
        let out = cluster_form("CREATE MATERIALIZED VIEW IF NOT EXISTS `voc`.keyword_hourly_mv2");
        assert!(
            out[0].contains("TO `voc`.keyword_hourly_state_local\n"),
            "{}",
            out[0]
        );
        assert!(
            out[0].contains("FROM `voc`.interactions_local\n"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn joined_subqueries_of_views_read_each_shards_own_rows() {
        let out = cluster_form("CREATE VIEW IF NOT EXISTS `voc`.theme_volume_hourly\n");
        assert!(
            out[0].contains("FROM `voc`.interactions FINAL\n"),
            "{}",
            out[0]
        );
        assert!(
            out[0].contains("FROM `voc`.theme_members_local FINAL"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn added_columns_reach_the_local_tables_and_a_new_distributed_table() {
        let out = for_cluster(
            "ALTER TABLE `voc`.flags ADD COLUMN team String DEFAULT ''",
            "voc",
            "c1",
        )
        .expect("renders");
        assert_eq!(
            out[0],
            "ALTER TABLE `voc`.flags_local ON CLUSTER `c1` ADD COLUMN team String DEFAULT ''"
        );
        assert!(out[1].starts_with("DROP TABLE IF EXISTS `voc`.flags ON CLUSTER"));
        assert!(out[2].contains("Distributed('c1', 'voc', 'flags_local', cityHash64(flag_id))"));
        assert!(
            for_cluster(
                "ALTER TABLE `voc`.aggregate_closures ADD COLUMN x UInt8",
                "voc",
                "c1"
            )
            .is_err()
        );
        assert!(for_cluster("CREATE TABLE IF NOT EXISTS `voc`.unknown (x UInt8) ENGINE = MergeTree() ORDER BY x", "voc", "c1").is_err());
    }

    #[test]
    fn deletes_go_to_the_local_tables_on_the_cluster() {
        assert_eq!(
            mutation_target("voc", "keyword_hourly_state", Some("c1")),
            "`voc`.keyword_hourly_state_local ON CLUSTER `c1`"
        );
        assert_eq!(
            mutation_target("voc", "keyword_hourly_state", None),
            "`voc`.keyword_hourly_state"
        );
        assert_eq!(
            stored_table("keyword_hourly_state", Some("c1")),
            "keyword_hourly_state_local"
        );
        assert_eq!(
            distributed_cluster(
                "Distributed('c1', 'voc', 'interactions_local', cityHash64(interaction_id))"
            ),
            Some("c1".into())
        );
        assert_eq!(
            distributed_cluster("Distributed(c1, voc, interactions_local)"),
            Some("c1".into())
        );
        assert_eq!(
            distributed_cluster("ReplacingMergeTree(version) ORDER BY x"),
            None
        );
    }
}
