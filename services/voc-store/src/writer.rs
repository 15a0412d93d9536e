//! Batched inserts that wait out outages: a batch is retried with capped exponential backoff
//! until ClickHouse acknowledges it, so the caller can advance Kafka offsets only after success.
//! Re-sending a batch is harmless: `interactions` collapses by id and aggregates count distinct ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::client::{Store, StoreError};
use crate::rows::InteractionRow;

/// Backoff between attempts: doubles from `initial` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(15),
        }
    }
}

impl Backoff {
    /// The delay before attempt `n` (0-based: no delay before the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(attempt - 1);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Writes batches of interaction rows; `healthy` is false while ClickHouse refuses them.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    store: Store,
    backoff: Backoff,
    healthy: Arc<AtomicBool>,
    /// Failed attempts so far, counted as they happen (visible during an outage).
    retries: Arc<AtomicU64>,
}

impl BatchWriter {
    pub fn new(store: Store, backoff: Backoff) -> Self {
        Self {
            store,
            backoff,
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

    /// Inserts `rows`, retrying until acknowledged. Returns the number of failed attempts.
    /// Cancel it by dropping the future (e.g. at the end of a drain timeout): nothing is
    /// acknowledged then, so the caller must not advance offsets.
    pub async fn write(&self, rows: &[InteractionRow]) -> u32 {
        let mut attempt = 0;
        loop {
            tokio::time::sleep(self.backoff.delay(attempt)).await;
            match self.insert_once(rows).await {
                Ok(()) => {
                    if !self.healthy.swap(true, Ordering::Relaxed) {
                        tracing::info!(attempts = attempt + 1, "ClickHouse accepts inserts again");
                    }
                    return attempt;
                }
                Err(e) => {
                    self.healthy.store(false, Ordering::Relaxed);
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    let err = StoreError::Query {
                        what: format!("insert {} rows into interactions", rows.len()),
                        source: e,
                    };
                    tracing::warn!(attempt, next_retry_ms = self.backoff.delay(attempt).as_millis() as u64, error = %err, "insert failed; will retry");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (0..7).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [0, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }
}
