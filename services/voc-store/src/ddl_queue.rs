//! Waiting out an `ON CLUSTER` statement that outlived its `distributed_ddl_task_timeout`.
//!
//! ClickHouse then answers 159 TIMEOUT_EXCEEDED ("Watching task <path> is executing longer
//! than …") but keeps the statement queued in ZooKeeper: every server still runs it, in queue
//! order, and writes its outcome to `<path>/finished/<host:port>` as the error code, a newline
//! and the message (ClickHouse `DDLWorker`, `ExecutionStatus::serializeText`; 0 is success).
//! A migration must not record itself applied, nor start the next statement that builds on this
//! one, before every server has run it; a slow or restarting server is no reason to fail a
//! migration that will complete. [`Store::wait_for_ddl`] reads those nodes through
//! `system.zookeeper` until every host of the cluster has an outcome.

use std::time::{Duration, Instant};

use crate::client::{Store, StoreError};

/// How often the finished outcomes are read again.
const POLL: Duration = Duration::from_secs(2);

/// How often a wait says how far it got.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// One server's outcome of a queued statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutcome {
    /// `host:port` as the cluster's `remote_servers` names it (ZooKeeper's node name, unescaped).
    pub host: String,
    /// ClickHouse's error code; 0 when the statement succeeded there.
    pub code: u32,
    pub message: String,
}

/// The ZooKeeper path of the task a 159 answer is about, or `None` for any other message.
pub fn task_path(message: &str) -> Option<&str> {
    let rest = &message[message.find("Watching task ")? + "Watching task ".len()..];
    let path = rest.split_whitespace().next()?;
    path.starts_with('/').then_some(path)
}

/// One `finished` node: its name (`host%3Aport`, URL-escaped by ClickHouse) and value.
pub fn outcome(name: &str, value: &str) -> HostOutcome {
    let (code, message) = value.split_once('\n').unwrap_or((value, ""));
    HostOutcome {
        host: name.replace("%3A", ":").replace("%2E", "."),
        // An unreadable status is reported as a failure, never taken as success.
        code: code.trim().parse().unwrap_or(u32::MAX),
        message: message.trim().to_string(),
    }
}

impl Store {
    /// Waits until every server of the store's cluster has an outcome for the queued task at
    /// `task` (a path from [`task_path`]), at most `budget`, and returns the outcomes.
    ///
    /// # Errors
    /// [`StoreError::Query`] when `system.clusters` or `system.zookeeper` cannot be read;
    /// [`StoreError::Migration`] naming `what`, the servers still missing and that the statement
    /// stays queued, when `budget` runs out.
    pub async fn wait_for_ddl(
        &self,
        what: &str,
        task: &str,
        budget: Duration,
    ) -> Result<Vec<HostOutcome>, StoreError> {
        let cluster = self.cluster().unwrap_or_default().to_string();
        let hosts: u64 = self
            .server_client()
            .query("SELECT count() FROM system.clusters WHERE cluster = ?")
            .bind(&cluster)
            .fetch_one()
            .await
            .map_err(StoreError::query("read system.clusters"))?;
        let finished = format!("{task}/finished");
        let started = Instant::now();
        let mut reported = Instant::now();
        loop {
            let nodes: Vec<(String, String)> = self
                .server_client()
                .query("SELECT name, value FROM system.zookeeper WHERE path = ?")
                .bind(&finished)
                .fetch_all()
                .await
                .map_err(StoreError::query("read the DDL queue in system.zookeeper"))?;
            if nodes.len() as u64 >= hosts {
                return Ok(nodes.iter().map(|(n, v)| outcome(n, v)).collect());
            }
            if started.elapsed() >= budget {
                let done: Vec<String> = nodes.iter().map(|(n, v)| outcome(n, v).host).collect();
                return Err(StoreError::Migration {
                    name: what.to_string(),
                    message: format!(
                        "{} of {hosts} servers of cluster `{cluster}` ran it within {} s ({}); it \
                         stays queued at {task} and the others run it when they are back: run \
                         `voc migrate` again then",
                        nodes.len(),
                        budget.as_secs(),
                        if done.is_empty() {
                            "none".to_string()
                        } else {
                            done.join(", ")
                        }
                    ),
                });
            }
            if reported.elapsed() >= REPORT_EVERY || started.elapsed() < POLL {
                tracing::warn!(
                    what,
                    done = nodes.len(),
                    servers = hosts,
                    waited_s = started.elapsed().as_secs(),
                    "waiting for every ClickHouse server of the cluster to run the statement"
                );
                reported = Instant::now();
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_is_read_from_a_timeout_on_old_and_new_servers() {
        let old = "Code: 159, e.displayText() = DB::Exception: Watching task \
                   /clickhouse/task_queue/ddl/query-0000000021 is executing longer than \
                   distributed_ddl_task_timeout (=180) seconds. There are 1 unfinished hosts";
        assert_eq!(
            task_path(old),
            Some("/clickhouse/task_queue/ddl/query-0000000021")
        );
        let new = "Code: 159. DB::Exception: Watching task /ch/ddl/query-0000012162 is executing \
                   longer than distributed_ddl_task_timeout (=15) seconds. (TIMEOUT_EXCEEDED)";
        assert_eq!(task_path(new), Some("/ch/ddl/query-0000012162"));
        assert_eq!(task_path("Code: 159. Timeout exceeded: elapsed 180"), None);
    }

    #[test]
    fn an_outcome_is_its_code_and_message_and_unreadable_is_failure() {
        assert_eq!(
            outcome("127.0.0.1%3A9000", "0\n"),
            HostOutcome {
                host: "127.0.0.1:9000".into(),
                code: 0,
                message: String::new()
            }
        );
        let failed = outcome(
            "ch2%3A9000",
            "44\nCode: 44, e.displayText() = DB::Exception: Cannot add column team: column with this name already exists",
        );
        assert_eq!(failed.code, 44);
        assert!(failed.message.contains("already exists"));
        assert_eq!(outcome("h%3A1", "garbage").code, u32::MAX);
    }
}
