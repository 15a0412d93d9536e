//! The `[kafka]` and `[worker]` settings with their defaults (the one place they are written),
//! and the librdkafka client configurations built from them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize, Serializer};
use voc_core::Limits;

/// `[kafka]`: where the worker reads and where dead letters go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    pub brokers: String,
    pub input_topic: String,
    pub dlq_topic: String,
    pub group_id: String,
    /// Passed to librdkafka as is, for every client (SASL/TLS, client.id, …), after voc's own
    /// settings so they can override them.
    pub properties: Properties,
    /// Passed to the worker's consumer only (session.timeout.ms, fetch sizes, …).
    pub consumer_properties: Properties,
    /// Read `sasl.password` from this file (Docker/Kubernetes secrets).
    pub sasl_password_file: Option<PathBuf>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            input_topic: "voc.interactions".into(),
            dlq_topic: "voc.interactions.dlq".into(),
            group_id: "voc-worker".into(),
            properties: Properties::default(),
            consumer_properties: Properties::default(),
            sasl_password_file: None,
        }
    }
}

/// `[worker]`: threads, in-flight bounds, batching, shutdown and retries.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Analysis threads (each with its own tokenizer; the dictionary is shared); 0 means one per
    /// CPU core.
    pub analysis_threads: usize,
    /// Input pauses above these many messages or bytes received but not yet acknowledged, and
    /// resumes below half. The message bound must hold the batch being inserted, the batch
    /// filling and, on top, a queue that keeps the analysis threads busy: at 5,000 with batches
    /// of 2,000 input stayed paused until a batch's interval ran out, and the worker used 0.8
    /// of its 2 cores (BENCHMARKS.md §2, "Both cores").
    pub max_in_flight_messages: usize,
    pub max_in_flight_bytes: usize,
    /// A batch is written at this many rows or bytes, or this long after its first row.
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub batch_interval_ms: u64,
    /// On shutdown, how long to wait for in-flight work before exiting without it.
    pub drain_timeout_s: u64,
    /// `host:port` of /metrics and /health; empty to disable. Loopback unless set otherwise.
    pub metrics_addr: String,
    /// Retries of ClickHouse inserts and dead letters: exponential from the first delay, capped.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            analysis_threads: 0,
            max_in_flight_messages: 20_000,
            max_in_flight_bytes: 64 << 20,
            batch_rows: 2_000,
            batch_bytes: 8 << 20,
            batch_interval_ms: 500,
            drain_timeout_s: 30,
            metrics_addr: "127.0.0.1:9464".into(),
            retry_initial_ms: 200,
            retry_max_ms: 15_000,
        }
    }
}

impl WorkerSettings {
    /// The retry policy: delays doubling from `retry_initial_ms` up to `retry_max_ms`, forever
    /// (an outage is waited out, never turned into data loss).
    pub fn retry(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.retry_initial_ms))
            .with_max_delay(Duration::from_millis(self.retry_max_ms))
            .with_factor(2.0)
            .without_max_times()
    }

    /// Analysis threads, resolving 0 to the number of CPU cores.
    pub fn threads(&self) -> usize {
        match self.analysis_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.batch_interval_ms)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_s)
    }

    /// Where to serve /metrics and /health, if anywhere.
    pub fn metrics_addr(&self) -> Option<&str> {
        (!self.metrics_addr.is_empty()).then_some(self.metrics_addr.as_str())
    }
}

/// Everything `run_worker` needs besides the analyzer and the store.
#[derive(Debug, Clone, Default)]
pub struct WorkerConfig {
    pub kafka: KafkaSettings,
    pub worker: WorkerSettings,
    pub limits: Limits,
}

/// librdkafka properties. Shown (`voc config`, debug logs) with secret values redacted.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub BTreeMap<String, String>);

impl std::ops::Deref for Properties {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Keys whose values are credentials: sasl.password, ssl.key.password, ssl.key.pem,
/// sasl.oauthbearer.client.secret, sasl.jaas.config, …
fn is_secret_key(key: &str) -> bool {
    [
        "password",
        "secret",
        "key.pem",
        "jaas",
        "oauthbearer.config",
    ]
    .iter()
    .any(|s| key.contains(s))
}

impl Properties {
    fn shown(&self) -> BTreeMap<&str, &str> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_key(k) {
                    "(set)"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect()
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shown().fmt(f)
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
        .set("bootstrap.servers", &c.kafka.brokers)
        .set("group.id", &c.kafka.group_id)
        .set("client.id", "voc-worker")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "5000")
        // Bounds librdkafka's prefetch queue, part of the worker's memory ceiling.
        .set("queued.max.messages.kbytes", "16384")
        // Apache Kafka answers a fetch as soon as a message arrives; brokers that hold it for
        // the whole wait (librdkafka's mock) would add up to the default 500 ms to every
        // message's latency. An idle worker then sends ten fetches a second per broker.
        .set("fetch.wait.max.ms", "100")
        .set(
            "fetch.message.max.bytes",
            (c.limits.max_message_bytes + 1024).max(1 << 20).to_string(),
        );
    apply(
        apply(config, &c.kafka.properties),
        &c.kafka.consumer_properties,
    )
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
        // (a dead letter it refuses as too large is sent truncated, see `dead_letters`).
        .set("message.max.bytes", "16000000");
    apply(config, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_when_shown_but_passed_to_librdkafka() {
        let mut kafka = KafkaSettings::default();
        for (k, v) in [
            ("sasl.password", "hunter2"),
            ("ssl.key.password", "pw2"),
            ("security.protocol", "SASL_SSL"),
        ] {
            kafka.properties.0.insert(k.into(), v.into());
        }
        let shown = serde_json::to_string(&kafka).expect("json");
        let debug = format!("{kafka:?}");
        for text in [&shown, &debug] {
            assert!(!text.contains("hunter2") && !text.contains("pw2"), "{text}");
            assert!(text.contains("SASL_SSL"), "{text}");
        }
        let config = consumer_config(&WorkerConfig {
            kafka,
            ..Default::default()
        });
        assert_eq!(config.get("sasl.password"), Some("hunter2"));
    }

    #[test]
    fn retries_double_up_to_the_cap_and_never_give_up() {
        use backon::BackoffBuilder;
        let settings = WorkerSettings {
            retry_initial_ms: 100,
            retry_max_ms: 1000,
            ..Default::default()
        };
        let delays: Vec<u128> = settings
            .retry()
            .build()
            .take(50)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(delays[..6], [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(delays.len(), 50, "an outage is waited out");
    }
}
