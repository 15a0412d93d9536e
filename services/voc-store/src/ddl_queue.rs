//! Waiting out an `ON CLUSTER` statement that outlived its `distributed_ddl_task_timeout`.
//!
//! ClickHouse then answers 159 TIMEOUT_EXCEEDED ("Watching task <path> is executing longer
//! than …" on 18.x, "Distributed DDL task <path> is not finished on N of M hosts …" on current
//! versions) but keeps the statement queued in ZooKeeper: every server still runs it, in queue
//! order. The task's node lists the servers it waits for (`hosts: ['host:port', …]`), and each
//! writes its outcome to `<path>/finished/<host:port>`: the error code, a newline and the
//! escaped message, 0 for success (ClickHouse `DDLWorker`, `ExecutionStatus::serializeText`).
//! Host names in both are escaped for file names (`127%2E0%2E0%2E1:9000`). A migration must not
//! record itself applied, nor start the next statement that builds on this one, before every
//! server has run it; a slow or restarting server is no reason to fail a migration that will
//! complete. [`Store::wait_for_ddl`] reads those nodes through `system.zookeeper`.

use std::time::{Duration, Instant};

use crate::client::{Store, StoreError};

/// How often the finished outcomes are read again.
const POLL: Duration = Duration::from_secs(2);

/// How often a wait says how far it got.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// One server's outcome of a queued statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutcome {
    /// `host:port`, unescaped.
    pub host: String,
    /// ClickHouse's error code; 0 when the statement succeeded there.
    pub code: u32,
    /// The error message, unescaped; empty on success.
    pub message: String,
}

/// The ZooKeeper path of the task a 159 answer is about (`/…/query-0000000021`), or `None`
/// for any other message.
pub fn task_path(message: &str) -> Option<&str> {
    message
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',', ':', ';']))
        .find(|w| w.starts_with('/') && w.contains("/query-"))
}

/// The servers a task waits for, as its node lists them (escaped `host:port`, in order); empty
/// when the entry has no `hosts:` line.
pub fn task_hosts(entry: &str) -> Vec<String> {
    let Some(line) = entry.lines().find_map(|l| l.strip_prefix("hosts: ")) else {
        return Vec::new();
    };
    // Quoted names, escaped for file names, so no quote inside one.
    line.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `%XX` escapes decoded (ClickHouse `escapeForFileName`).
fn unescape_file_name(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A message written with ClickHouse's escaping (`\n`, `\t`, `\'`, `\\`), unescaped.
fn unescape_message(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// One `finished` node: its name (an escaped `host:port`) and value.
pub fn outcome(name: &str, value: &str) -> HostOutcome {
    let (code, message) = value.split_once('\n').unwrap_or((value, ""));
    HostOutcome {
        host: unescape_file_name(name),
        // An unreadable status is reported as a failure, never taken as success.
        code: code.trim().parse().unwrap_or(u32::MAX),
        message: unescape_message(message.trim()),
    }
}

impl Store {
    /// Waits until every server the queued task at `task` (a path from [`task_path`]) lists
    /// has run it, at most `budget`. Each outcome must pass `accept` (success, or an error the
    /// caller takes as done); the first that does not ends the wait at once.
    ///
    /// # Errors
    /// [`StoreError::Query`] when `system.zookeeper` cannot be read (the outcomes: not within
    /// `budget`); [`StoreError::Migration`]
    /// naming `what` when the task lists no servers, when a server's outcome is not accepted
    /// (its host and message), or when `budget` runs out (the servers still missing, and that
    /// the statement stays queued for them).
    pub async fn wait_for_ddl(
        &self,
        what: &str,
        task: &str,
        budget: Duration,
        accept: impl Fn(&HostOutcome) -> bool,
    ) -> Result<(), StoreError> {
        let fail = |message: String| StoreError::Migration {
            name: what.to_string(),
            message,
        };
        let (parent, node) = task.rsplit_once('/').unwrap_or(("", task));
        let entries: Vec<String> = self
            .server_client()
            .query("SELECT value FROM system.zookeeper WHERE path = ? AND name = ?")
            .bind(if parent.is_empty() { "/" } else { parent })
            .bind(node)
            .fetch_all()
            .await
            .map_err(StoreError::query("read the DDL task in system.zookeeper"))?;
        let hosts = entries.first().map(|e| task_hosts(e)).unwrap_or_default();
        if hosts.is_empty() {
            return Err(fail(format!(
                "ClickHouse timed out waiting for the servers, and the DDL task {task} lists no \
                 servers to wait for; check system.zookeeper, then run `voc migrate` again"
            )));
        }
        let finished = format!("{task}/finished");
        let started = Instant::now();
        let mut reported = Instant::now();
        loop {
            let read = self
                .server_client()
                .query("SELECT name, value FROM system.zookeeper WHERE path = ?")
                .bind(&finished)
                .fetch_all::<(String, String)>()
                .await;
            // A read that fails (this server restarting, its ZooKeeper session lost) is tried
            // again within the budget: it says nothing about the statement.
            let nodes = match read {
                Ok(nodes) => nodes,
                Err(e) if started.elapsed() < budget => {
                    tracing::warn!(what, error = %e, "cannot read the DDL queue yet; trying again");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Err(source) => {
                    return Err(StoreError::Query {
                        what: "read the DDL queue in system.zookeeper".into(),
                        source,
                    });
                }
            };
            if let Some(refused) = nodes
                .iter()
                .map(|(n, v)| outcome(n, v))
                .find(|o| !accept(o))
            {
                return Err(fail(format!(
                    "server {} failed it: {}",
                    refused.host, refused.message
                )));
            }
            let missing: Vec<String> = hosts
                .iter()
                .filter(|h| !nodes.iter().any(|(n, _)| n == *h))
                .map(|h| unescape_file_name(h))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= budget {
                return Err(fail(format!(
                    "{} of {} servers did not run it within {} s: {}. Check that they are up and \
                     reach ZooKeeper; the statement stays queued for them, and `voc migrate` can \
                     be run again once they have run it",
                    missing.len(),
                    hosts.len(),
                    budget.as_secs(),
                    missing.join(", ")
                )));
            }
            if reported.elapsed() >= REPORT_EVERY || started.elapsed() < POLL {
                tracing::warn!(
                    what,
                    waiting_for = %missing.join(", "),
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
    fn the_task_is_read_from_a_timeout_on_old_and_current_servers() {
        let old = "Code: 159, e.displayText() = DB::Exception: Watching task \
                   /clickhouse/task_queue/ddl/query-0000000021 is executing longer than \
                   distributed_ddl_task_timeout (=180) seconds. There are 1 unfinished hosts";
        assert_eq!(
            task_path(old),
            Some("/clickhouse/task_queue/ddl/query-0000000021")
        );
        // ClickHouse's DDLOnClusterQueryStatusSource::handleTimeoutExceeded, current versions.
        let current = "Code: 159. DB::Exception: Distributed DDL task \
                       /clickhouse/task_queue/ddl/query-0000012162 is not finished on 1 of 4 hosts \
                       (0 of them are currently executing the task, 1 are inactive). They are going \
                       to execute the query in background. Was waiting for 15.0 seconds, which is \
                       longer than distributed_ddl_task_timeout. (TIMEOUT_EXCEEDED)";
        assert_eq!(
            task_path(current),
            Some("/clickhouse/task_queue/ddl/query-0000012162")
        );
        assert_eq!(task_path("Code: 159. Timeout exceeded: elapsed 180"), None);
    }

    #[test]
    fn a_task_lists_its_servers_escaped_for_file_names() {
        let entry = "version: 1\nquery: CREATE DATABASE IF NOT EXISTS `voc` ON CLUSTER voc\n\
                     hosts: ['127%2E0%2E0%2E1:9000','clickhouse%2Ds1r2:9000']\ninitiator: x\n";
        assert_eq!(
            task_hosts(entry),
            ["127%2E0%2E0%2E1:9000", "clickhouse%2Ds1r2:9000"]
        );
        assert!(task_hosts("version: 1\nquery: x\n").is_empty());
    }

    #[test]
    fn an_outcome_is_its_host_code_and_message_and_unreadable_is_failure() {
        assert_eq!(
            outcome("127%2E0%2E0%2E1:9000", "0\n"),
            HostOutcome {
                host: "127.0.0.1:9000".into(),
                code: 0,
                message: String::new()
            }
        );
        let failed = outcome(
            "clickhouse%2Ds1r2:9000",
            "15\nCode: 15. DB::Exception: Cannot add column `team`: column with this name already exists\\nStack trace: \\'x\\'",
        );
        assert_eq!(failed.host, "clickhouse-s1r2:9000");
        assert_eq!(failed.code, 15);
        assert!(
            failed.message.contains("already exists\nStack trace: 'x'"),
            "{failed:?}"
        );
        assert_eq!(outcome("h:1", "garbage").code, u32::MAX);
    }
}
