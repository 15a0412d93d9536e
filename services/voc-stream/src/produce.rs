//! `voc produce`: publishes interaction JSONL to the input topic, keyed by interaction_id.
//! Lines that break the message contract are reported and not sent.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use voc_core::{Limits, parse_message};

use crate::config::producer_config;

/// How long `voc produce` waits for the brokers before saying they cannot be reached.
const CONNECT_SECONDS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("cannot create a Kafka producer for {brokers}: {source}")]
    Kafka { brokers: String, source: KafkaError },
    #[error(
        "cannot reach the Kafka brokers at {brokers} within {seconds} s; check VOC_KAFKA_BROKERS and that the brokers are up"
    )]
    Unreachable { brokers: String, seconds: u64 },
    #[error(
        "topic `{topic}` does not exist on {brokers}; create it, or set VOC_INPUT_TOPIC to the topic the workers read"
    )]
    MissingTopic { topic: String, brokers: String },
}

/// librdkafka's own log lines and client errors at debug level: while the brokers are down they
/// repeat every second, and [`produce`] reports that once, in one line, itself.
struct QuietContext;

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(?level, fac, message, "librdkafka");
    }
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "kafka client error");
    }
}

/// Fails fast when the brokers cannot be reached or the topic is missing: a typo in the topic
/// must not feed a topic no worker reads (brokers may create topics on first use).
fn check_topic(
    producer: &FutureProducer<QuietContext>,
    brokers: &str,
    topic: &str,
) -> Result<(), ProduceError> {
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(CONNECT_SECONDS))
        .map_err(|_| ProduceError::Unreachable {
            brokers: brokers.to_string(),
            seconds: CONNECT_SECONDS,
        })?;
    let present = metadata
        .topics()
        .iter()
        .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    if present {
        Ok(())
    } else {
        Err(ProduceError::MissingTopic {
            topic: topic.to_string(),
            brokers: brokers.to_string(),
        })
    }
}

/// What happened to the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceReport {
    pub sent: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// One input line for [`produce`].
#[derive(Debug)]
pub enum Input {
    Line { number: usize, bytes: Vec<u8> },
    TooLong { number: usize, bytes: usize },
}

/// Callbacks for progress and rejected lines.
pub trait Progress {
    fn sent(&mut self, total: u64);
    fn rejected(&mut self, line: usize, reason: &str);
}

/// Sends every valid line; at most `rate` messages a second when set. Waits for every delivery.
/// Fails before sending anything when the brokers cannot be reached within 10 s or the topic
/// does not exist.
pub async fn produce(
    brokers: &str,
    topic: &str,
    properties: &BTreeMap<String, String>,
    input: impl Iterator<Item = std::io::Result<Input>>,
    limits: &Limits,
    rate: Option<f64>,
    progress: &mut dyn Progress,
) -> Result<ProduceReport, ProduceError> {
    let producer: FutureProducer<QuietContext> = producer_config(brokers, properties)
        .set(
            "message.max.bytes",
            (limits.max_message_bytes + 4096).to_string(),
        )
        // Automatic topic creation would turn a typo into a topic nobody reads.
        .set("allow.auto.create.topics", "false")
        .create_with_context(QuietContext)
        .map_err(|source| ProduceError::Kafka {
            brokers: brokers.to_string(),
            source,
        })?;
    // A blocking metadata request: off the async reactor.
    tokio::task::block_in_place(|| check_topic(&producer, brokers, topic))?;
    let mut report = ProduceReport::default();
    let started = Instant::now();
    let mut pending = FuturesUnordered::new();
    for (i, line) in input.enumerate() {
        let (number, bytes) = match line {
            Ok(Input::Line { number, bytes }) => (number, bytes),
            Ok(Input::TooLong { number, bytes }) => {
                report.rejected += 1;
                progress.rejected(
                    number,
                    &format!(
                        "line is {bytes} bytes, over the limit of {}",
                        limits.max_message_bytes
                    ),
                );
                continue;
            }
            Err(e) => {
                progress.rejected(0, &format!("cannot read input: {e}"));
                break;
            }
        };
        let id = match parse_message(&bytes, limits) {
            Ok(m) => m.interaction_id,
            Err(e) => {
                report.rejected += 1;
                progress.rejected(number, &e.to_string());
                continue;
            }
        };
        if let Some(rate) = rate.filter(|r| *r > 0.0) {
            let due = Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let producer = producer.clone();
        let topic = topic.to_string();
        pending.push(async move {
            let record = FutureRecord::to(&topic).key(id.as_bytes()).payload(&bytes);
            producer
                .send(record, Duration::from_secs(60))
                .await
                .map(|_| ())
                .map_err(|(e, _)| e)
        });
        // Bounded: at most this many deliveries awaited at once.
        while pending.len() >= 1000 {
            count(pending.next().await, &mut report, progress);
        }
    }
    while let Some(result) = pending.next().await {
        count(Some(result), &mut report, progress);
    }
    Ok(report)
}

fn count(
    result: Option<Result<(), rdkafka::error::KafkaError>>,
    report: &mut ProduceReport,
    progress: &mut dyn Progress,
) {
    match result {
        Some(Ok(())) => {
            report.sent += 1;
            progress.sent(report.sent);
        }
        Some(Err(e)) => {
            report.failed += 1;
            tracing::warn!(error = %e, "message not delivered");
        }
        None => {}
    }
}
