//! Worker settings and the librdkafka client configurations built from them.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use voc_core::Limits;
use voc_store::writer::Backoff;

/// Everything `run_worker` needs besides the analyzer and the store.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub brokers: String,
    pub input_topic: String,
    pub dlq_topic: String,
    pub group_id: String,
    /// Passed to librdkafka unchanged, after voc's own settings (so they can override them):
    /// `security.protocol`, `sasl.*`, `ssl.*`, `client.id`, `fetch.max.bytes`, ….
    pub kafka_properties: BTreeMap<String, String>,
    /// Passed to the consumer only (`session.timeout.ms`, `max.poll.interval.ms`, …).
    pub consumer_properties: BTreeMap<String, String>,
    /// CPU threads for analysis (each with its own tokenizer; the dictionary is shared).
    pub analysis_threads: usize,
    /// Input pauses above these many messages or bytes received but not yet acknowledged.
    pub max_in_flight_messages: usize,
    pub max_in_flight_bytes: usize,
    /// A batch is written at this many rows or bytes, or this long after its first row.
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub batch_interval: Duration,
    /// On shutdown, how long to wait for in-flight work before exiting without it.
    pub drain_timeout: Duration,
    /// `host:port` for /metrics and /health; none to disable.
    pub metrics_addr: Option<String>,
    pub limits: Limits,
    pub backoff: Backoff,
}

impl WorkerConfig {
    pub fn with_defaults(
        brokers: &str,
        input_topic: &str,
        dlq_topic: &str,
        group_id: &str,
    ) -> Self {
        Self {
            brokers: brokers.into(),
            input_topic: input_topic.into(),
            dlq_topic: dlq_topic.into(),
            group_id: group_id.into(),
            kafka_properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            analysis_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            max_in_flight_messages: 5_000,
            max_in_flight_bytes: 64 << 20,
            batch_rows: 2_000,
            batch_bytes: 8 << 20,
            batch_interval: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(30),
            metrics_addr: Some("127.0.0.1:9464".into()),
            limits: Limits::default(),
            backoff: Backoff::default(),
        }
    }
}

fn apply(mut config: ClientConfig, extra: &BTreeMap<String, String>) -> ClientConfig {
    for (k, v) in extra {
        config.set(k, v);
    }
    config
}

/// The consumer: at-least-once with offsets stored only after acknowledgement and committed by
/// librdkafka in the background (and synchronously on revoke and shutdown).
pub fn consumer_config(c: &WorkerConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &c.brokers)
        .set("group.id", &c.group_id)
        .set("client.id", "voc-worker")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "5000")
        // Bounds librdkafka's prefetch queue, part of the worker's memory ceiling.
        .set("queued.max.messages.kbytes", "16384")
        .set(
            "fetch.message.max.bytes",
            (c.limits.max_message_bytes + 1024).max(1 << 20).to_string(),
        );
    apply(apply(config, &c.kafka_properties), &c.consumer_properties)
}

/// The producer of dead letters (and of `voc produce`): idempotent, acks from all replicas.
pub fn producer_config(brokers: &str, extra: &BTreeMap<String, String>) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "voc-producer")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "60000")
        .set("compression.type", "lz4")
        // Rejected messages can be larger than accepted ones; the broker has the last word
        // (a dead letter it refuses as too large is sent truncated, see `dlq`).
        .set("message.max.bytes", "16000000");
    apply(config, extra)
}
