//! Connecting to ClickHouse.

use std::path::PathBuf;
use std::time::Duration;

use clickhouse::Client;
use serde::{Deserialize, Serialize, Serializer};

/// `[clickhouse]`: where and as whom to connect, with its defaults. The password comes from the
/// environment or a file, never the repo, and is never shown.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub url: String,
    pub database: String,
    pub user: String,
    #[serde(serialize_with = "redact")]
    pub password: String,
    /// Read the password from this file instead (Docker/Kubernetes secrets); see
    /// [`StoreConfig::read_password_file`].
    pub password_file: Option<PathBuf>,
    /// Keep data this many days (TTL), where the server supports it; forever when unset.
    pub retention_days: Option<u32>,
    /// The last UTC days (today counts as one) whose aggregates stay open as id sets for late and
    /// replayed messages; older days are closed into exact counts ([`crate::closing`]). At least 1.
    pub aggregate_open_days: u32,
    /// A past month of `interactions` is merged into one part ([`crate::compaction`]) once none of
    /// its parts is newer than this many seconds: a replay still writing into it is waited for.
    pub compact_quiet_s: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "voc".into(),
            user: "default".into(),
            password: String::new(),
            password_file: None,
            retention_days: None,
            aggregate_open_days: 2,
            compact_quiet_s: 3600,
        }
    }
}

impl StoreConfig {
    /// Replaces `password` with the contents of `password_file` (without its final newline), if
    /// one is named. Errors name the file.
    pub fn read_password_file(&mut self) -> std::io::Result<()> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot read the ClickHouse password file {}: {e}",
                        path.display()
                    ),
                )
            })?;
            self.password = text.trim_end_matches(['\n', '\r']).to_string();
        }
        Ok(())
    }
}

/// Secrets are shown as set or not, never their value.
fn redact<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.is_empty() { "" } else { "(set)" })
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password_file", &self.password_file)
            .field("retention_days", &self.retention_days)
            .field("aggregate_open_days", &self.aggregate_open_days)
            .field("compact_quiet_s", &self.compact_quiet_s)
            .finish_non_exhaustive()
    }
}

impl StoreError {
    /// Maps a ClickHouse error to [`StoreError::Query`] saying what was being done:
    /// `.map_err(StoreError::query("list flags"))`.
    pub fn query(what: &str) -> impl FnOnce(clickhouse::error::Error) -> StoreError + '_ {
        move |source| StoreError::Query {
            what: what.to_string(),
            source,
        }
    }

    /// Whether this is a cluster read that found every replica of a shard too far behind
    /// ([`crate::refusal::replicas_stale`]).
    pub fn replicas_stale(&self) -> bool {
        matches!(self, StoreError::Query { source, .. } if crate::refusal::replicas_stale(source))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach ClickHouse at {url}: {source}")]
    Unreachable {
        url: String,
        source: clickhouse::error::Error,
    },
    #[error("ClickHouse query failed ({what}): {source}")]
    Query {
        what: String,
        source: clickhouse::error::Error,
    },
    #[error("database `{database}` at {url} {what}: run `voc migrate` first")]
    NotMigrated {
        database: String,
        url: String,
        what: String,
    },
    /// An error no retry fixes, with what to do about it.
    #[error("ClickHouse refused {what}: {hint} ({source})")]
    Refused {
        what: String,
        hint: &'static str,
        source: clickhouse::error::Error,
    },
    #[error("unexpected ClickHouse version string {0:?}")]
    Version(String),
    #[error("aggregate rebuild: {0}")]
    Rebuild(String),
    #[error("migration {name}: {message}")]
    Migration { name: String, message: String },
}

/// A server version, compared as (major, minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
}

impl ServerVersion {
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let mut parts = s.trim().split('.').map(|p| p.parse::<u32>());
        match (parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor))) => Ok(Self { major, minor }),
            _ => Err(StoreError::Version(s.to_string())),
        }
    }

    /// LowCardinality is production-ready from 19.3 (experimental before).
    pub fn has_low_cardinality(self) -> bool {
        self >= Self {
            major: 19,
            minor: 3,
        }
    }

    /// Table TTL expressions arrived in 19.6.
    pub fn has_ttl(self) -> bool {
        self >= Self {
            major: 19,
            minor: 6,
        }
    }

    /// Filters reach into views only when `enable_optimize_predicate_expression` is on, which is
    /// the default from 19.x; 18.16 has it off, and then a filtered read of an aggregate view
    /// merges every id set before filtering.
    pub fn needs_predicate_pushdown_setting(self) -> bool {
        self.major < 19
    }

    /// 18.x writes a table's part before its materialised views run, so a view's rows are never
    /// stamped (`now()`) before the table's part is visible; later versions may stamp them first.
    pub fn writes_part_before_views(self) -> bool {
        self.major < 19
    }

    /// `do_not_merge_across_partitions_select_final` (20.10 and later): `FINAL` then collapses
    /// each partition apart and skips partitions outside a time filter. Without it, current
    /// servers read every month of `interactions` for a 24-hour panel. The answer is the same
    /// because an interaction stays in the month of its `occurred_at` (a replay repeats it).
    pub fn final_per_partition(self) -> bool {
        self >= Self {
            major: 21,
            minor: 0,
        }
    }

    /// The query settings voc's clients set on this server, by version: predicate pushdown on
    /// 18.x, `FINAL` per partition from 21.1. A read-only user may set none: the read-only
    /// profile of `deploy/clickhouse/users.d/voc-users.xml` carries those of current servers.
    pub fn read_settings(self) -> Vec<(&'static str, &'static str)> {
        let mut settings = Vec::new();
        if self.needs_predicate_pushdown_setting() {
            settings.push(("enable_optimize_predicate_expression", "1"));
        }
        if self.final_per_partition() {
            settings.push(("do_not_merge_across_partitions_select_final", "1"));
        }
        settings
    }

    /// The `clickhouse` crate validates rows with a `DESCRIBE` setting that old servers reject.
    pub fn supports_row_validation(self) -> bool {
        self >= Self {
            major: 22,
            minor: 0,
        }
    }
}

/// Whether `name` is a plain database name (letters, digits and `_`): one voc may put in SQL
/// unquoted and may drop.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A connected store: a client bound to the configured database, and the server's version.
#[derive(Clone)]
pub struct Store {
    client: Client,
    database: String,
    version: ServerVersion,
    config: StoreConfig,
    /// Set when `interactions` is a `Distributed` table over this cluster ([`crate::cluster`]).
    cluster: Option<String>,
}

/// The cluster of `database`'s `Distributed` tables, if it has them (any of them: a migration
/// that re-creates one, such as an added column, leaves the others in place meanwhile).
async fn detect(
    probe: &Client,
    database: &str,
) -> Result<Option<String>, clickhouse::error::Error> {
    let engines: Vec<String> = probe
        .query(
            "SELECT engine_full FROM system.tables WHERE database = ? AND engine = 'Distributed' \
             ORDER BY name = 'interactions' DESC, name LIMIT 1",
        )
        .bind(database)
        .fetch_all()
        .await?;
    Ok(engines
        .first()
        .and_then(|e| crate::cluster::distributed_cluster(e)))
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.database)
            .field("version", &self.version)
            .field("cluster", &self.cluster)
            .finish()
    }
}

fn base_client(config: &StoreConfig) -> Client {
    Client::default()
        .with_url(&config.url)
        .with_user(&config.user)
        .with_password(&config.password)
}

impl Store {
    /// Connects (one `SELECT version()`); the database need not exist yet.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let probe = base_client(config).with_validation(false);
        let version: String = tokio::time::timeout(
            Duration::from_secs(15),
            probe.query("SELECT version()").fetch_one(),
        )
        .await
        .map_err(|_| StoreError::Unreachable {
            url: config.url.clone(),
            source: clickhouse::error::Error::Custom("timed out after 15 s".into()),
        })?
        .map_err(|source| StoreError::Unreachable {
            url: config.url.clone(),
            source,
        })?;
        let version = ServerVersion::parse(&version)?;
        let mut client = base_client(config)
            .with_database(&config.database)
            .with_validation(version.supports_row_validation());
        let unreachable = |source| StoreError::Unreachable {
            url: config.url.clone(),
            source,
        };
        let cluster = detect(&probe, &config.database)
            .await
            .map_err(unreachable)?;
        let mut settings = version.read_settings();
        if cluster.is_some() {
            settings.extend_from_slice(crate::cluster::CLIENT_SETTINGS);
        }
        if !settings.is_empty() {
            // A user with `readonly = 1` may not change any setting, and every query asking to
            // would be refused: such a reader relies on its profile (README, "Cluster").
            let readonly: String = probe
                .query("SELECT value FROM system.settings WHERE name = 'readonly'")
                .fetch_one()
                .await
                .map_err(unreachable)?;
            if readonly.trim() != "1" {
                for (name, value) in settings {
                    client = client.with_setting(name, value);
                }
            }
        }
        Ok(Self {
            client,
            database: config.database.clone(),
            version,
            config: config.clone(),
            cluster,
        })
    }

    /// The cluster the database was migrated onto (`voc migrate --cluster`), if any.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    /// The same store, treated as being on `cluster` (for `voc migrate --cluster` before the
    /// tables exist): a client with the cluster's settings.
    pub fn on_cluster(mut self, cluster: &str) -> Self {
        if self.cluster.is_none() {
            for (name, value) in crate::cluster::CLIENT_SETTINGS {
                self.client = self.client.with_setting(*name, *value);
            }
        }
        self.cluster = Some(cluster.to_string());
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn version(&self) -> ServerVersion {
        self.version
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// A client without a default database (for `CREATE DATABASE`).
    pub(crate) fn server_client(&self) -> Client {
        base_client(&self.config).with_validation(false)
    }

    /// Runs one statement outside any database (CREATE/DROP DATABASE).
    pub async fn server_client_execute(&self, sql: &str) -> Result<(), StoreError> {
        self.server_execute_with(sql, sql, &[]).await
    }

    /// Runs one statement outside any database (CREATE DATABASE) with extra settings, naming it
    /// in the error.
    pub async fn server_execute_with(
        &self,
        what: &str,
        sql: &str,
        settings: &[(&str, String)],
    ) -> Result<(), StoreError> {
        execute_on(&self.server_client(), what, sql, settings).await
    }

    /// The server's clock, seconds since the epoch (the materialised views stamp id sets with it,
    /// and mutations are dated by it).
    pub async fn server_now(&self) -> Result<u32, StoreError> {
        self.client
            .query("SELECT toUInt32(now())")
            .fetch_one()
            .await
            .map_err(StoreError::query("read the server clock"))
    }

    /// Runs a delete (`ALTER TABLE … DELETE`). On a cluster it is `ON CLUSTER`: a server that is
    /// down must not hold it (the DDL queue waits 180 s per server by default), so it waits
    /// [`crate::cluster::DDL_WAIT_S`] and leaves the statement queued for servers still away. A
    /// replicated delete needs only one replica of each shard; the others follow through ZooKeeper.
    pub async fn execute_delete(&self, what: &str, sql: &str) -> Result<(), StoreError> {
        if self.cluster.is_none() {
            return self.execute(what, sql).await;
        }
        let wait = crate::cluster::DDL_WAIT_S.to_string();
        match self
            .execute_with(what, sql, &[("distributed_ddl_task_timeout", wait)])
            .await
        {
            Err(StoreError::Query { source, .. }) if crate::refusal::ddl_queued(&source) => {
                tracing::warn!(
                    what,
                    "some ClickHouse servers are away; the delete stays queued for them"
                );
                Ok(())
            }
            other => other,
        }
    }

    /// Runs one statement with extra settings, naming it in the error.
    pub async fn execute_with(
        &self,
        what: &str,
        sql: &str,
        settings: &[(&str, String)],
    ) -> Result<(), StoreError> {
        execute_on(&self.client, what, sql, settings).await
    }

    /// Runs one statement, naming it in the error.
    pub async fn execute(&self, what: &str, sql: &str) -> Result<(), StoreError> {
        self.execute_with(what, sql, &[]).await
    }
}

/// Runs one statement on `client` with extra settings, naming it in the error.
async fn execute_on(
    client: &Client,
    what: &str,
    sql: &str,
    settings: &[(&str, String)],
) -> Result<(), StoreError> {
    let mut query = client.query(sql);
    for (name, value) in settings {
        query = query.with_setting(*name, value.clone());
    }
    query.execute().await.map_err(|source| StoreError::Query {
        what: what.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_gate_features() {
        let old = ServerVersion::parse("18.16.1").expect("version");
        assert!(!old.has_low_cardinality() && !old.has_ttl() && !old.supports_row_validation());
        let new = ServerVersion::parse("25.8.2.29").expect("version");
        assert!(new.has_low_cardinality() && new.has_ttl() && new.supports_row_validation());
        assert!(ServerVersion::parse("garbage").is_err());
    }
}
