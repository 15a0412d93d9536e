//! Schema migrations: the numbered files of `schemas/clickhouse/`, embedded in the binary.
//!
//! One schema for every server: placeholders are filled from the detected server version
//! (`${LC_STRING}` is `LowCardinality(String)` where that is production-ready, `${TTL_*}` a TTL
//! clause where TTL exists and retention is configured). Every statement is idempotent
//! (`IF NOT EXISTS`), so `voc migrate` is safe to run any number of times and from several hosts
//! at once; the ledger `schema_migrations` records what was applied, with a checksum.

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::refusal::Refusal;

/// A migration: its number, name and SQL (before templating).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "interactions",
        sql: include_str!("../../../schemas/clickhouse/0001_interactions.sql"),
    },
    Migration {
        version: 2,
        name: "topic_volume_hourly",
        sql: include_str!("../../../schemas/clickhouse/0002_topic_volume_hourly.sql"),
    },
    Migration {
        version: 3,
        name: "keyword_hourly",
        sql: include_str!("../../../schemas/clickhouse/0003_keyword_hourly.sql"),
    },
    Migration {
        version: 4,
        name: "topic_experience_daily",
        sql: include_str!("../../../schemas/clickhouse/0004_topic_experience_daily.sql"),
    },
    Migration {
        version: 5,
        name: "flags",
        sql: include_str!("../../../schemas/clickhouse/0005_flags.sql"),
    },
    Migration {
        version: 6,
        name: "themes",
        sql: include_str!("../../../schemas/clickhouse/0006_themes.sql"),
    },
    Migration {
        version: 7,
        name: "flag_events",
        sql: include_str!("../../../schemas/clickhouse/0007_flag_events.sql"),
    },
    Migration {
        version: 8,
        name: "flag_routing",
        sql: include_str!("../../../schemas/clickhouse/0008_flag_routing.sql"),
    },
    Migration {
        version: 9,
        name: "closed_aggregates",
        sql: include_str!("../../../schemas/clickhouse/0009_closed_aggregates.sql"),
    },
    Migration {
        version: 10,
        name: "keyword_topic_hourly",
        sql: include_str!("../../../schemas/clickhouse/0010_keyword_topic_hourly.sql"),
    },
    Migration {
        version: 11,
        name: "topic_experience_hourly",
        sql: include_str!("../../../schemas/clickhouse/0011_topic_experience_hourly.sql"),
    },
    Migration {
        version: 12,
        name: "keyword_monthly",
        sql: include_str!("../../../schemas/clickhouse/0012_keyword_monthly.sql"),
    },
    Migration {
        version: 13,
        name: "keyword_daily",
        sql: include_str!("../../../schemas/clickhouse/0013_keyword_daily.sql"),
    },
    Migration {
        version: 14,
        name: "interactions_open",
        sql: include_str!("../../../schemas/clickhouse/0014_interactions_open.sql"),
    },
    Migration {
        version: 15,
        name: "topic_experience_split",
        sql: include_str!("../../../schemas/clickhouse/0015_topic_experience_split.sql"),
    },
    Migration {
        version: 16,
        name: "topic_csat_daily",
        sql: include_str!("../../../schemas/clickhouse/0016_topic_csat_daily.sql"),
    },
];

/// What `migrate` did with each migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied { version: u32, name: &'static str },
    AlreadyApplied { version: u32, name: &'static str },
}

/// Fills the placeholders for this server and database; returns the statements.
pub fn render(
    sql: &str,
    database: &str,
    store_version: crate::ServerVersion,
    retention_days: Option<u32>,
) -> Vec<String> {
    let lc = if store_version.has_low_cardinality() {
        "LowCardinality(String)"
    } else {
        "String"
    };
    let ttl = |column: &str| match retention_days {
        Some(days) if store_version.has_ttl() => format!("TTL {column} + INTERVAL {days} DAY"),
        _ => String::new(),
    };
    let text: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("${DB}", &format!("`{database}`"))
        .replace("${LC_STRING}", lc)
        .replace("${TTL_OCCURRED_AT}", &ttl("occurred_at"))
        .replace("${TTL_HOUR}", &ttl("hour"))
        // A month's roll-up lives as long as its last day's hourly rows.
        .replace("${TTL_MONTH_END}", &ttl("month + INTERVAL 1 MONTH"))
        // And a day's as long as its hourly rows.
        .replace("${TTL_DAY_END}", &ttl("date + INTERVAL 1 DAY"))
        .replace("${TTL_LAST_SEEN}", &ttl("last_seen"));
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A stable checksum of a migration's source (FNV-1a), to notice edited migrations.
pub fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct Applied {
    version: u32,
    checksum: String,
}

/// Fails with [`StoreError::NotMigrated`] (saying to run `voc migrate`) when the database, its
/// ledger or any migration this version of voc knows is missing: the worker, the flagger and
/// the re-tag call it at start-up instead of retrying forever against a missing table.
pub async fn require_current(store: &Store) -> Result<(), StoreError> {
    let not_migrated = |what: String| StoreError::NotMigrated {
        database: store.database().to_string(),
        url: store.config().url.clone(),
        what,
    };
    let latest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Vec<u32> = match store
        .client()
        .query("SELECT version FROM schema_migrations FINAL")
        .fetch_all()
        .await
    {
        Ok(v) => v,
        Err(e)
            if matches!(
                Refusal::of(&e),
                Some(Refusal::MissingDatabase | Refusal::MissingTable)
            ) =>
        {
            return Err(not_migrated("has no voc schema".into()));
        }
        Err(source) => {
            return Err(StoreError::Query {
                what: "read the migration ledger".into(),
                source,
            });
        }
    };
    match MIGRATIONS.iter().find(|m| !applied.contains(&m.version)) {
        None => Ok(()),
        Some(m) => Err(not_migrated(format!(
            "lacks migration {:04}_{} (this voc needs up to {latest:04})",
            m.version, m.name
        ))),
    }
}

/// Where a migration statement runs: outside any database (CREATE DATABASE) or in the store's.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Server,
    Database,
}

/// The longest `voc migrate` waits for the servers of a cluster to run one statement that
/// outlived [`crate::cluster::DDL_WAIT_S`]: a server restarting or catching up is waited for; one
/// away for longer fails the migration, which is safe to run again.
pub const CLUSTER_STATEMENT_BUDGET: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Runs one statement of a migration. On a cluster, an `ON CLUSTER` statement some servers have
/// not run within [`crate::cluster::DDL_WAIT_S`] is waited for until each has
/// ([`Store::wait_for_ddl`]), so the next statement and the ledger never run ahead of it; an
/// `ADD COLUMN` finding its column already there (18.16 has no `IF NOT EXISTS` for it) is done.
///
/// # Errors
/// [`StoreError::Query`] with `what` when ClickHouse refuses it; [`StoreError::Migration`] when a
/// server reports another error, or the servers do not all run it within
/// [`CLUSTER_STATEMENT_BUDGET`].
async fn run(store: &Store, scope: Scope, what: &str, statement: &str) -> Result<(), StoreError> {
    let adds_column = statement.starts_with("ALTER TABLE") && statement.contains("ADD COLUMN");
    let settings = match store.cluster() {
        None => vec![],
        Some(_) => vec![(
            "distributed_ddl_task_timeout",
            crate::cluster::DDL_WAIT_S.to_string(),
        )],
    };
    let done = match scope {
        Scope::Database => store.execute_with(what, statement, &settings).await,
        Scope::Server => store.server_execute_with(what, statement, &settings).await,
    };
    let source = match done {
        Ok(()) => return Ok(()),
        // A column added before (18.16 has no ADD COLUMN IF NOT EXISTS). On a cluster the
        // answer carries one server's error only, so another's different error in the same run
        // is not seen here (RELIABILITY.md).
        Err(StoreError::Query { source, .. })
            if adds_column && crate::refusal::column_exists(&source) =>
        {
            return Ok(());
        }
        Err(StoreError::Query { source, .. }) if crate::refusal::ddl_queued(&source) => source,
        Err(other) => return Err(other),
    };
    let task = match &source {
        clickhouse::error::Error::BadResponse(message) => crate::ddl_queue::task_path(message),
        _ => None,
    };
    let Some(task) = task else {
        return Err(StoreError::Query {
            what: what.to_string(),
            source,
        });
    };
    store
        .wait_for_ddl(what, task, CLUSTER_STATEMENT_BUDGET, |o| {
            o.code == 0
                || (adds_column && crate::refusal::column_exists_outcome(o.code, &o.message))
        })
        .await
}

/// The statements that carry out one rendered statement: itself on one server, its cluster form
/// on a cluster ([`crate::cluster::for_cluster`]).
fn placed(store: &Store, statement: &str) -> Result<Vec<String>, StoreError> {
    match store.cluster() {
        None => Ok(vec![statement.to_string()]),
        Some(c) => crate::cluster::for_cluster(statement, store.database(), c),
    }
}

/// Checks that `cluster` is one of the server's `remote_servers` and that the database is not
/// already a single-server schema, then returns the store set to migrate onto it.
pub async fn onto_cluster(store: Store, cluster: &str) -> Result<Store, StoreError> {
    let refuse = |message: String| StoreError::Migration {
        name: format!("--cluster {cluster}"),
        message,
    };
    if !crate::is_plain_name(cluster) {
        return Err(refuse(
            "a cluster name has letters, digits and _ only".into(),
        ));
    }
    let shards: u64 = store
        .server_client()
        .query("SELECT count() FROM system.clusters WHERE cluster = ?")
        .bind(cluster)
        .fetch_one()
        .await
        .map_err(StoreError::query("read system.clusters"))?;
    if shards == 0 {
        return Err(refuse(format!(
            "the server at {} has no cluster `{cluster}` in its remote_servers configuration",
            store.config().url
        )));
    }
    match store.cluster() {
        Some(c) if c == cluster => {}
        Some(other) => {
            return Err(refuse(format!(
                "database `{}` is already on cluster `{other}`",
                store.database()
            )));
        }
        None => {
            // On one server of every shard: a single-server schema anywhere would stay as it is
            // (every statement is IF NOT EXISTS).
            let plain: u64 = store
                .server_client()
                .query(&format!(
                    "SELECT count() FROM {} WHERE database = ? AND name = 'interactions'",
                    crate::cluster::on_every_shard(cluster, "tables")
                ))
                .bind(store.database())
                .fetch_one()
                .await
                .map_err(StoreError::query("read the shards' system.tables"))?;
            if plain > 0 {
                return Err(refuse(format!(
                    "database `{}` on the cluster was migrated without --cluster; migrate a new \
                     database on the cluster and copy the interactions into it (README, \"Cluster\")",
                    store.database()
                )));
            }
        }
    }
    Ok(store.on_cluster(cluster))
}

/// Creates the database and ledger if needed, then applies every migration not yet recorded. On a
/// cluster ([`onto_cluster`]), every statement runs `ON CLUSTER` in its cluster form.
pub async fn migrate(store: &Store) -> Result<Vec<Outcome>, StoreError> {
    let db = store.database();
    let create = match store.cluster() {
        None => format!("CREATE DATABASE IF NOT EXISTS `{db}`"),
        Some(c) => crate::cluster::create_database(db, c),
    };
    run(
        store,
        Scope::Server,
        &format!("create database {db}"),
        &create,
    )
    .await?;
    let ledger = format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime) \
         ENGINE = ReplacingMergeTree() ORDER BY version"
    );
    for statement in placed(store, &ledger)? {
        run(
            store,
            Scope::Database,
            "create the migration ledger",
            &statement,
        )
        .await?;
    }
    let applied: Vec<Applied> = store
        .client()
        .query("SELECT version, checksum FROM schema_migrations FINAL")
        .fetch_all()
        .await
        .map_err(|source| StoreError::Query {
            what: "read the migration ledger".into(),
            source,
        })?;

    let mut outcomes = Vec::new();
    for m in MIGRATIONS {
        let sum = checksum(m.sql);
        if let Some(done) = applied.iter().find(|a| a.version == m.version) {
            if done.checksum != sum {
                // Statements are idempotent, so re-running is safe; the warning says the file
                // changed after it was applied, which a new numbered migration should have done.
                tracing::warn!(
                    version = m.version,
                    name = m.name,
                    "migration changed since it was applied; re-applying its idempotent statements"
                );
            } else {
                outcomes.push(Outcome::AlreadyApplied {
                    version: m.version,
                    name: m.name,
                });
                continue;
            }
        }
        let mut statements = Vec::new();
        for statement in render(m.sql, db, store.version(), store.config().retention_days) {
            statements.extend(placed(store, &statement)?);
        }
        for (i, statement) in statements.iter().enumerate() {
            let what = format!("migration {:04}_{} statement {}", m.version, m.name, i + 1);
            run(store, Scope::Database, &what, statement).await?;
        }
        store
            .client()
            .query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, now())")
            .bind(m.version)
            .bind(m.name)
            .bind(&sum)
            .execute()
            .await
            .map_err(|source| StoreError::Query { what: format!("record migration {}", m.version), source })?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        outcomes.push(Outcome::Applied {
            version: m.version,
            name: m.name,
        });
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerVersion;

    #[test]
    fn old_servers_get_plain_strings_and_no_ttl() {
        let old = ServerVersion {
            major: 18,
            minor: 16,
        };
        let sql = render(MIGRATIONS[0].sql, "voc", old, Some(30)).join("\n");
        assert!(
            !sql.contains("LowCardinality") && !sql.contains("TTL"),
            "{sql}"
        );
        assert!(sql.contains("`voc`.interactions"));
        assert!(!sql.contains("${"), "unfilled placeholder: {sql}");
    }

    #[test]
    fn new_servers_get_low_cardinality_and_ttl_when_asked() {
        let new = ServerVersion {
            major: 25,
            minor: 8,
        };
        let sql = render(MIGRATIONS[0].sql, "voc", new, Some(30)).join("\n");
        assert!(
            sql.contains("LowCardinality(String)")
                && sql.contains("TTL occurred_at + INTERVAL 30 DAY"),
            "{sql}"
        );
        let without = render(MIGRATIONS[0].sql, "voc", new, None).join("\n");
        assert!(!without.contains("TTL"));
    }

    #[test]
    fn every_schema_file_is_a_numbered_migration() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/clickhouse");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("schemas/clickhouse")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, listed,
            "every file in schemas/clickhouse must be listed in MIGRATIONS, in order"
        );
    }

    #[test]
    fn every_migration_renders_to_statements_without_placeholders() {
        for m in MIGRATIONS {
            for s in render(
                m.sql,
                "voc",
                ServerVersion {
                    major: 18,
                    minor: 16,
                },
                Some(7),
            ) {
                assert!(!s.contains("${"), "{}: {s}", m.name);
            }
        }
        assert_ne!(checksum("a"), checksum("b"));
    }
}
