//! The consumer context: rebalance callbacks feed the offset tracker, statistics feed the lag
//! gauge, client errors feed the health flag.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;

use crate::metrics::Metrics;
use crate::offsets::OffsetTracker;

#[derive(Debug)]
pub struct WorkerContext {
    pub tracker: Arc<Mutex<OffsetTracker>>,
    pub metrics: Arc<Metrics>,
    pub topic: String,
    /// Bumped on every assignment change, so a paused source re-pauses new partitions.
    pub assignment_epoch: AtomicU64,
}

impl ClientContext for WorkerContext {
    fn stats(&self, statistics: Statistics) {
        if let Some(topic) = statistics.topics.get(&self.topic) {
            let lag = topic
                .partitions
                .iter()
                .filter(|(p, part)| **p >= 0 && part.consumer_lag >= 0)
                .map(|(p, part)| (*p, part.consumer_lag))
                .collect();
            self.metrics.set_lag(lag);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        ) {
            self.metrics.kafka_healthy.store(false, Ordering::Relaxed);
        }
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            // Commit what ClickHouse already acknowledged before the partitions move on;
            // in-flight work for them is dropped (the next owner reprocesses it, harmlessly).
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "nothing to commit on revoke");
            }
            if let Ok(mut t) = self.tracker.lock() {
                for p in partitions.elements() {
                    t.revoke(p.partition());
                }
            }
            tracing::info!(partitions = partitions.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            if let Ok(mut t) = self.tracker.lock() {
                for p in partitions.elements() {
                    t.assign(p.partition());
                }
            }
            tracing::info!(partitions = partitions.count(), "partitions assigned");
        }
        self.assignment_epoch.fetch_add(1, Ordering::Relaxed);
    }
}
