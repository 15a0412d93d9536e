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
use crate::refusal::Refusal;
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
    /// [`StoreError::Refused`] for an error no retry fixes ([`Refusal`]). Cancel it by
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
                Err(e) if Refusal::of(&e).is_some() => {
                    self.healthy.store(false, Ordering::Relaxed);
                    return Err(StoreError::Refused {
                        what: format!("insert {} rows into interactions", rows.len()),
                        hint: Refusal::of(&e).map_or("", Refusal::hint),
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
