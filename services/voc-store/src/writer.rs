//! Batched inserts that wait out outages: a batch is retried with capped exponential backoff
//! until ClickHouse acknowledges it, so the caller can advance Kafka offsets only after success.
//! Re-sending a batch is harmless: `interactions` collapses by id and aggregates count distinct ids.
//! Errors no retry can fix (credentials, a missing database or table, schema drift) are returned
//! at once instead, so the worker stops with what to do rather than waiting like in an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::client::{Store, StoreError};
use crate::rows::InteractionRow;

/// Writes batches of interaction rows; `healthy` is false while ClickHouse refuses them.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    store: Store,
    retry: ExponentialBuilder,
    healthy: Arc<AtomicBool>,
    /// Failed attempts so far, counted as they happen (visible during an outage).
    retries: Arc<AtomicU64>,
}

impl BatchWriter {
    pub fn new(store: Store, retry: ExponentialBuilder) -> Self {
        Self {
            store,
            retry,
            healthy: Arc::new(AtomicBool::new(true)),
            retries: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Count failed attempts in `counter` (shared with the metrics endpoint).
    pub fn with_retry_counter(mut self, counter: Arc<AtomicU64>) -> Self {
        self.retries = counter;
        self
    }

    /// Use `flag` (shared with the health endpoint) as this writer's health.
    pub fn with_health(mut self, flag: Arc<AtomicBool>) -> Self {
        flag.store(self.healthy.load(Ordering::Relaxed), Ordering::Relaxed);
        self.healthy = flag;
        self
    }

    async fn insert_once(&self, rows: &[InteractionRow]) -> Result<(), clickhouse::error::Error> {
        // A hung server must not hold a batch forever: the retry loop decides what happens next.
        let mut insert = self
            .store
            .client()
            .insert::<InteractionRow>("interactions")
            .await?
            .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await
    }

    /// Inserts `rows`, retrying until acknowledged. Returns the number of failed attempts, or
    /// [`StoreError::Refused`] for an error no retry fixes ([`refusal_hint`]). Cancel it by
    /// dropping the future (e.g. at the end of a drain timeout): nothing is acknowledged then, so
    /// the caller must not advance offsets.
    pub async fn write(&self, rows: &[InteractionRow]) -> Result<u32, StoreError> {
        let mut delays = self.retry.build();
        let mut attempt = 0;
        loop {
            match self.insert_once(rows).await {
                Ok(()) => {
                    if !self.healthy.swap(true, Ordering::Relaxed) {
                        tracing::info!(attempts = attempt + 1, "ClickHouse accepts inserts again");
                    }
                    return Ok(attempt);
                }
                Err(e) if refusal_hint(&e).is_some() => {
                    self.healthy.store(false, Ordering::Relaxed);
                    let hint = refusal_hint(&e).unwrap_or_default();
                    return Err(StoreError::Refused {
                        what: format!("insert {} rows into interactions", rows.len()),
                        hint,
                        source: e,
                    });
                }
                Err(e) => {
                    self.healthy.store(false, Ordering::Relaxed);
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    // The policy retries forever; the fallback only guards a misconfigured one.
                    let delay = delays.next().unwrap_or(Duration::from_secs(1));
                    let err = StoreError::Query {
                        what: format!("insert {} rows into interactions", rows.len()),
                        source: e,
                    };
                    tracing::warn!(attempt, next_retry_ms = delay.as_millis() as u64, error = %err, "insert failed; will retry");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// What to do about an error that no retry fixes, or `None` for one worth retrying (network,
/// timeouts, a server starting or overloaded). ClickHouse error codes from its
/// `src/Common/ErrorCodes.cpp`; the message carries them as `Code: N` on every version.
pub fn refusal_hint(e: &clickhouse::error::Error) -> Option<&'static str> {
    use clickhouse::error::Error as E;
    match e {
        E::SchemaMismatch(_) => Some(
            "the table's columns differ from what this voc writes; run `voc migrate` with this version",
        ),
        E::BadResponse(message) => match error_code(message)? {
            81 => Some("the database does not exist; run `voc migrate`"),
            60 => Some("the table does not exist; run `voc migrate`"),
            16 | 47 => Some(
                "the table's columns differ from what this voc writes; run `voc migrate` with this version",
            ),
            192..=194 | 516 => Some(
                "ClickHouse refused the credentials; check VOC_CLICKHOUSE_USER and VOC_CLICKHOUSE_PASSWORD",
            ),
            497 => Some("the ClickHouse user may not insert into this table; grant INSERT"),
            _ => None,
        },
        _ => None,
    }
}

/// The `N` of `Code: N` in a ClickHouse error message.
fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_no_retry_fixes_are_told_apart_from_outages() {
        use clickhouse::error::Error as E;
        let refused = |m: &str| refusal_hint(&E::BadResponse(m.into()));
        // The forms of a current server and of 18.16.
        assert!(
            refused("Code: 60. DB::Exception: Table voc.interactions does not exist. (UNKNOWN_TABLE) (version 24.8.1)")
                .is_some_and(|h| h.contains("voc migrate"))
        );
        assert!(
            refused("Code: 516, e.displayText() = DB::Exception: default: Authentication failed")
                .is_some_and(|h| h.contains("VOC_CLICKHOUSE_PASSWORD"))
        );
        assert!(refused("Code: 81. DB::Exception: Database voc does not exist").is_some());
        assert_eq!(
            refused("Code: 202. DB::Exception: Too many simultaneous queries"),
            None
        );
        assert_eq!(
            refused("Code: 241. DB::Exception: Memory limit exceeded"),
            None
        );
        assert_eq!(refusal_hint(&E::TimedOut), None);
    }
}
