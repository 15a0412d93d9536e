//! Stage 3b: dead letters. A rejected message goes to the DLQ topic with its original key and
//! bytes, and headers naming the reason and where it came from. Delivery is retried until the
//! broker takes it, so a bad message is never dropped; only then is its offset acknowledged.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::mpsc;
use voc_core::RejectReason;

use super::commits::{OffsetEvent, OffsetSender, Ticket};
use super::leases::Leases;
use crate::metrics::Metrics;

/// Header names on every dead letter.
pub const HEADER_REASON: &str = "voc.reason";
pub const HEADER_ERROR: &str = "voc.error";
pub const HEADER_TOPIC: &str = "voc.source.topic";
pub const HEADER_PARTITION: &str = "voc.source.partition";
pub const HEADER_OFFSET: &str = "voc.source.offset";
/// Set to "true" when the payload had to be cut to fit the dead-letter topic.
pub const HEADER_TRUNCATED: &str = "voc.truncated";
pub const HEADER_ORIGINAL_BYTES: &str = "voc.original_bytes";

/// A payload this size always fits the default Kafka message limit (1 MB) with headers.
pub const FALLBACK_PAYLOAD_BYTES: usize = 900 * 1024;

/// Why a message was rejected: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectReason,
    pub message: String,
}

/// Where a rejected message came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// A rejected message, with the bytes the dead-letter topic keeps.
#[derive(Debug)]
pub struct DeadLetter {
    pub ticket: Ticket,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub rejection: Rejection,
}

/// Sends dead letters one by one until the pool is gone, acknowledging each once delivered.
/// A letter whose partition moved to another worker meanwhile is dropped: that worker sends it.
pub async fn run(
    mut letters: mpsc::Receiver<DeadLetter>,
    leases: Arc<Leases>,
    producer: FutureProducer,
    topics: (String, String),
    retry: ExponentialBuilder,
    offsets: OffsetSender,
    metrics: Arc<Metrics>,
) {
    let (input_topic, dlq_topic) = topics;
    while let Some(letter) = letters.recv().await {
        if !leases.is_current(letter.ticket.lease) {
            Metrics::add(&metrics.dropped_revoked, 1);
            let _ = offsets.send(OffsetEvent::Dropped(letter.ticket));
            continue;
        }
        metrics.rejected(letter.rejection.code);
        let source = Source {
            topic: &input_topic,
            partition: letter.ticket.lease.partition,
            offset: letter.ticket.offset,
        };
        let failures = send(
            &producer,
            &dlq_topic,
            letter.key.as_deref(),
            &letter.payload,
            source,
            &letter.rejection,
            retry,
        )
        .await;
        Metrics::add(&metrics.dlq_retries, u64::from(failures));
        Metrics::add(&metrics.dead_lettered, 1);
        let _ = offsets.send(OffsetEvent::Done(vec![letter.ticket]));
    }
}

/// Errors that no retry can fix: the message is too large for the broker or the topic.
fn is_too_large(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::MessageSizeTooLarge | C::InvalidMessageSize)
    )
}

/// Sends one dead letter, retrying with backoff until the broker acknowledges it. A message too
/// large for the dead-letter topic is sent with its first [`FALLBACK_PAYLOAD_BYTES`] bytes and
/// headers saying so, rather than retried forever. Returns the number of failed attempts.
pub async fn send(
    producer: &FutureProducer,
    dlq_topic: &str,
    key: Option<&[u8]>,
    payload: &[u8],
    source: Source<'_>,
    rejection: &Rejection,
    retry: ExponentialBuilder,
) -> u32 {
    let partition = source.partition.to_string();
    let offset = source.offset.to_string();
    // Keep the header readable: the error text is bounded (the payload keeps everything).
    let error: String = rejection.message.chars().take(1000).collect();
    let original_bytes = payload.len().to_string();
    let mut body = payload;
    let mut truncated = false;
    let mut delays = retry.build();
    let mut attempt = 0;
    loop {
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: HEADER_REASON,
                value: Some(rejection.code.as_str()),
            })
            .insert(Header {
                key: HEADER_ERROR,
                value: Some(error.as_str()),
            })
            .insert(Header {
                key: HEADER_TOPIC,
                value: Some(source.topic),
            })
            .insert(Header {
                key: HEADER_PARTITION,
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: HEADER_OFFSET,
                value: Some(offset.as_str()),
            });
        if truncated {
            headers = headers
                .insert(Header {
                    key: HEADER_TRUNCATED,
                    value: Some("true"),
                })
                .insert(Header {
                    key: HEADER_ORIGINAL_BYTES,
                    value: Some(original_bytes.as_str()),
                });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(dlq_topic).payload(body).headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        match producer.send(record, Duration::from_secs(30)).await {
            Ok(_) => return attempt,
            Err((e, _)) if is_too_large(&e) && !truncated => {
                tracing::warn!(
                    bytes = payload.len(),
                    topic = dlq_topic,
                    "dead letter too large for the topic; sending its first part"
                );
                body = &payload[..payload.len().min(FALLBACK_PAYLOAD_BYTES)];
                truncated = true;
                attempt = 0;
                delays = retry.build();
            }
            Err((e, _)) => {
                attempt += 1;
                // The policy retries forever; the fallback only guards a misconfigured one.
                let delay = delays.next().unwrap_or(Duration::from_secs(1));
                tracing::warn!(attempt, next_retry_ms = delay.as_millis() as u64, error = %e, topic = dlq_topic, "dead letter not delivered; will retry");
                tokio::time::sleep(delay).await;
            }
        }
    }
}
