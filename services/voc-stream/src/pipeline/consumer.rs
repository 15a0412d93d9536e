//! The Kafka consumer: created, checked and subscribed at start-up; its context turns rebalances
//! into leases and offset events, statistics into the lag gauge, client errors into the health
//! flag.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;

use super::WorkerError;
use super::commits::{OffsetEvent, OffsetSender, StoreOffset};
use super::leases::Leases;
use crate::config::{WorkerConfig, consumer_config};
use crate::metrics::Metrics;

pub type VocConsumer = StreamConsumer<WorkerContext>;

#[derive(Debug)]
pub struct WorkerContext {
    pub leases: Arc<Leases>,
    offsets: OffsetSender,
    metrics: Arc<Metrics>,
    topic: String,
}

impl WorkerContext {
    fn count_rebalance(&self) {
        Metrics::add(&self.metrics.rebalances, 1);
        self.metrics
            .assigned_partitions
            .store(self.leases.held() as u64, Ordering::Relaxed);
    }
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
        match rebalance {
            Rebalance::Revoke(partitions) => self.revoking(consumer, partitions),
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
            Rebalance::Assign(_) => {}
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.assigned(partitions);
        }
    }
}

impl WorkerContext {
    /// Before partitions leave: store every acknowledgement still queued to the offset owner,
    /// then commit; in-flight work for them is dropped (the next owner reprocesses it,
    /// harmlessly) and can no longer move an offset.
    fn revoking(&self, consumer: &BaseConsumer<Self>, partitions: &TopicPartitionList) {
        flush_from_callback(&self.offsets);
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %e, "nothing to commit on revoke");
        }
        for p in partitions.elements() {
            self.leases.revoke(p.partition());
            let _ = self.offsets.send(OffsetEvent::Revoked(p.partition()));
        }
        self.count_rebalance();
        tracing::info!(partitions = partitions.count(), "partitions revoked");
    }

    /// After partitions arrive: a new lease for each.
    fn assigned(&self, partitions: &TopicPartitionList) {
        for p in partitions.elements() {
            let lease = self.leases.assign(p.partition());
            let _ = self.offsets.send(OffsetEvent::Assigned(lease));
        }
        self.count_rebalance();
        tracing::info!(partitions = partitions.count(), "partitions assigned");
    }
}

/// Waits, from librdkafka's callback, until the offset owner has stored what was acknowledged.
/// The callback runs inside the source task's poll; on the multi-threaded runtime the wait moves
/// that worker thread aside (`block_in_place`) so the owner keeps running. Elsewhere (no runtime,
/// a single-threaded one, or the owner already gone) it does not wait: the rest is re-read by
/// the next owner, harmlessly.
fn flush_from_callback(offsets: &OffsetSender) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if let Ok(handle) = Handle::try_current()
        && handle.runtime_flavor() == RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(|| handle.block_on(super::commits::flush(offsets)));
    }
}

/// Leaves the group while librdkafka still serves the rebalance: unsubscribes and polls until
/// the revoke has run (offsets committed, leases ended), at most `limit`. Dropping a consumer
/// that still holds partitions runs that revoke inside librdkafka's close instead, where its
/// requests to the group coordinator thread can wait forever (seen as a worker hanging after
/// "worker stopped"). Messages polled meanwhile are left for the next owner.
pub async fn leave(consumer: &VocConsumer, limit: Duration) {
    consumer.unsubscribe();
    let deadline = tokio::time::Instant::now() + limit;
    while consumer.assignment().is_ok_and(|a| a.count() > 0)
        && tokio::time::Instant::now() < deadline
    {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
}

/// The consumer's offset store, written by the offset owner.
pub struct ConsumerOffsets {
    pub consumer: Arc<VocConsumer>,
    pub topic: String,
}

impl StoreOffset for ConsumerOffsets {
    fn store(&self, partition: i32, offset: i64) {
        if let Err(e) = self.consumer.store_offset(&self.topic, partition, offset) {
            tracing::debug!(error = %e, partition, "offset not stored (partition moved)");
        }
    }
}

/// Creates the consumer, checks that both topics exist, and subscribes.
pub fn subscribe(
    config: &WorkerConfig,
    leases: Arc<Leases>,
    offsets: OffsetSender,
    metrics: Arc<Metrics>,
) -> Result<Arc<VocConsumer>, WorkerError> {
    let context = WorkerContext {
        leases,
        offsets,
        metrics,
        topic: config.kafka.input_topic.clone(),
    };
    let consumer: VocConsumer = consumer_config(config)
        .create_with_context(context)
        .map_err(|source| WorkerError::Kafka {
            what: "consumer",
            brokers: config.kafka.brokers.clone(),
            source,
        })?;
    // A blocking metadata request (up to 15 s): off the async reactor.
    tokio::task::block_in_place(|| check_topics(&consumer, config))?;
    consumer
        .subscribe(&[&config.kafka.input_topic])
        .map_err(|source| WorkerError::Kafka {
            what: "subscription",
            brokers: config.kafka.brokers.clone(),
            source,
        })?;
    Ok(Arc::new(consumer))
}

/// Fails fast, with what to do, when the brokers cannot be reached or a topic is missing: a worker
/// subscribed to a topic that does not exist would otherwise wait silently forever.
fn check_topics(consumer: &VocConsumer, config: &WorkerConfig) -> Result<(), WorkerError> {
    const SECONDS: u64 = 15;
    for (topic, variable) in [
        (&config.kafka.input_topic, "VOC_INPUT_TOPIC"),
        (&config.kafka.dlq_topic, "VOC_DLQ_TOPIC"),
    ] {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(SECONDS))
            .map_err(|source| WorkerError::Unreachable {
                brokers: config.kafka.brokers.clone(),
                seconds: SECONDS,
                source,
            })?;
        let present = metadata.topics().iter().any(|t| {
            t.name() == topic.as_str() && t.error().is_none() && !t.partitions().is_empty()
        });
        if !present {
            return Err(WorkerError::MissingTopic {
                topic: topic.clone(),
                brokers: config.kafka.brokers.clone(),
                variable,
            });
        }
    }
    Ok(())
}
