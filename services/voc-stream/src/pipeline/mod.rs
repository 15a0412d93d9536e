//! `voc worker`: Kafka in, ClickHouse out, dead letters to the DLQ topic. One file per stage:
//!
//! ```text
//!  source ──jobs──▶ analysis (N threads) ──rows──────────▶ sink: batches → ClickHouse (retry)
//!  recv, lease,     parse, validate,      ──dead letters─▶ dead_letters: → DLQ topic (retry)
//!  pause when full  analyse
//!      │                 │                                   │              │
//!      └──received───────┴──dropped──▶ commits ◀──done───────┴──────────────┘
//!                                      (one owner of offsets: stored once acknowledged)
//! ```
//! Everything between the stages is bounded: at most `max_in_flight_*` messages or bytes are
//! received but unacknowledged; above that the source pauses its partitions and keeps polling,
//! so the group does not evict a worker whose sink is slow. An offset is stored (and committed by
//! librdkafka) only after every earlier offset of its partition was acknowledged, so a crash
//! replays, never skips; replays are harmless because storage collapses by interaction id.
//! Rows carry a small [`commits::Ticket`]; only dead letters carry the message bytes on.

mod analysis;
mod commits;
mod consumer;
pub mod dead_letters;
mod leases;
mod offsets;
mod sink;
mod source;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::FutureProducer;
use tokio::sync::{mpsc, watch};
use voc_core::Analyzer;
use voc_store::Store;
use voc_store::writer::BatchWriter;

use crate::config::{WorkerConfig, producer_config};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot create the Kafka {what} for {brokers}: {source}")]
    Kafka {
        what: &'static str,
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start analysis threads: {0}")]
    Threads(std::io::Error),
    #[error(
        "cannot reach the Kafka brokers at {brokers} within {seconds} s ({source}); check VOC_KAFKA_BROKERS and that the brokers are up"
    )]
    Unreachable {
        brokers: String,
        seconds: u64,
        source: rdkafka::error::KafkaError,
    },
    #[error(
        "topic `{topic}` does not exist on {brokers}; create it (e.g. kafka-topics.sh --create --topic {topic} --partitions 6) or set {variable}"
    )]
    MissingTopic {
        topic: String,
        brokers: String,
        variable: &'static str,
    },
    /// The sink stopped: ClickHouse refuses the rows for good, or the insert task failed.
    /// Unacknowledged messages are re-read by the next owner of their partitions.
    #[error("stopped writing to ClickHouse: {0}")]
    Sink(#[from] sink::SinkError),
    /// Every analysis thread ended before shutdown was asked for (a bug).
    #[error("the analysis threads stopped; exiting so the messages are re-read")]
    AnalysisStopped,
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub consumed: u64,
    pub rows_written: u64,
    pub dead_lettered: u64,
    /// The drain timeout passed before all in-flight work was acknowledged.
    pub drain_timed_out: bool,
}

/// Runs a worker until `shutdown` resolves, then drains within the configured timeout. Returns
/// early with [`WorkerError::Sink`] if ClickHouse refuses the rows for a reason no retry fixes.
pub async fn run_worker(
    config: WorkerConfig,
    analyzer: Analyzer,
    store: Store,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<WorkerReport, WorkerError> {
    let leases = Arc::new(leases::Leases::default());
    let in_flight = Arc::new(commits::InFlight::default());
    let (offsets_tx, offsets_rx) = mpsc::unbounded_channel();
    let consumer =
        consumer::subscribe(&config, leases.clone(), offsets_tx.clone(), metrics.clone())?;
    let producer: FutureProducer = producer_config(&config.kafka.brokers, &config.kafka.properties)
        .create()
        .map_err(|source| WorkerError::Kafka {
            what: "dead-letter producer",
            brokers: config.kafka.brokers.clone(),
            source,
        })?;
    let http = match config.worker.metrics_addr() {
        Some(addr) => Some(
            crate::http::serve(addr, metrics.clone() as Arc<dyn crate::http::Scrape>)
                .await
                .map_err(|source| WorkerError::Metrics {
                    addr: addr.to_string(),
                    source,
                })?,
        ),
        None => None,
    };
    if let Some((addr, _)) = &http {
        tracing::info!(%addr, "serving /metrics and /health");
    }

    let committer = tokio::spawn(commits::run(
        offsets_rx,
        in_flight.clone(),
        consumer::ConsumerOffsets {
            consumer: consumer.clone(),
            topic: config.kafka.input_topic.clone(),
        },
    ));
    let w = &config.worker;
    if w.max_in_flight_messages < 3 * w.batch_rows {
        // One batch inserting, one filling and a queue for the analysis threads: with less,
        // input pauses while a batch is written (BENCHMARKS.md §2, "Both cores").
        tracing::warn!(
            max_in_flight_messages = w.max_in_flight_messages,
            batch_rows = w.batch_rows,
            "worker.max_in_flight_messages is below three batches: the analysis threads will wait for each insert"
        );
    }
    let queue = config.worker.max_in_flight_messages.max(16);
    let (job_tx, job_rx) = mpsc::channel(queue * 2);
    let (row_tx, row_rx) = mpsc::channel(queue);
    let (letter_tx, letter_rx) = mpsc::channel(queue);
    let (stop_tx, stop_rx) = watch::channel(false);

    let threads = analysis::spawn(
        config.worker.threads(),
        &analyzer,
        config.limits,
        leases.clone(),
        job_rx,
        analysis::Outputs {
            rows: row_tx,
            dead_letters: letter_tx,
            offsets: offsets_tx.clone(),
        },
        metrics.clone(),
    )
    .map_err(WorkerError::Threads)?;
    let writer = BatchWriter::new(store, config.worker.retry())
        .with_health(metrics.clickhouse_healthy.clone())
        .with_retry_counter(metrics.insert_retries.clone());
    let limits = sink::BatchLimits {
        rows: config.worker.batch_rows,
        bytes: config.worker.batch_bytes,
        interval: config.worker.batch_interval(),
    };
    let mut sink = tokio::spawn(
        sink::Sink::new(
            writer,
            limits,
            leases.clone(),
            offsets_tx.clone(),
            metrics.clone(),
        )
        .run(row_rx),
    );
    let mut dead_letters = tokio::spawn(dead_letters::run(
        letter_rx,
        leases.clone(),
        producer,
        (
            config.kafka.input_topic.clone(),
            config.kafka.dlq_topic.clone(),
        ),
        config.worker.retry(),
        offsets_tx.clone(),
        metrics.clone(),
    ));
    let source = source::Source {
        consumer: consumer.clone(),
        offsets: offsets_tx.clone(),
        in_flight,
        bounds: source::Bounds {
            messages: config.worker.max_in_flight_messages,
            bytes: config.worker.max_in_flight_bytes,
        },
        metrics: metrics.clone(),
    };
    let source = tokio::spawn(source.run(job_tx, stop_rx));

    // Until asked to stop, or until the sink gives up (then there is nothing left to drain).
    let failed = tokio::select! {
        _ = shutdown => None,
        ended = &mut sink => Some(ended),
    };
    let _ = stop_tx.send(true);
    let _ = source.await;
    let mut drain_timed_out = false;
    let error = match failed {
        Some(ended) => {
            // Dead letters still queued are not acknowledged (re-read by the next owner), and no
            // analysis thread stays blocked sending to them.
            dead_letters.abort();
            let _ = (&mut dead_letters).await;
            Some(match ended {
                Ok(Ok(())) => WorkerError::AnalysisStopped,
                Ok(Err(e)) => e.into(),
                Err(e) => sink::SinkError::InsertTask(e.to_string()).into(),
            })
        }
        None => {
            tracing::info!(
                drain_timeout_s = config.worker.drain_timeout_s,
                "shutting down: no new input, draining in-flight work"
            );
            let drain = async {
                let ended = (&mut sink).await;
                let _ = (&mut dead_letters).await;
                ended
            };
            match tokio::time::timeout(config.worker.drain_timeout(), drain).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(e.into()),
                Ok(Err(e)) => Some(sink::SinkError::InsertTask(e.to_string()).into()),
                Err(_) => {
                    tracing::warn!(
                        "drain timeout reached; unacknowledged messages will be re-read by the next owner"
                    );
                    drain_timed_out = true;
                    sink.abort();
                    dead_letters.abort();
                    None
                }
            }
        }
    };
    // What was acknowledged is stored, then committed now rather than at the next auto-commit;
    // then the group is left while librdkafka still serves the revoke.
    commits::flush(&offsets_tx).await;
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final commit had nothing to commit");
    }
    consumer::leave(&consumer, Duration::from_secs(10)).await;
    // The committer holds the consumer too: end it here, so the consumer is closed and dropped
    // below, by this task, not later by the runtime's shutdown.
    committer.abort();
    let _ = committer.await;
    if !drain_timed_out {
        // Joining blocks until each thread ends its current message: off the async reactor.
        tokio::task::block_in_place(|| {
            for t in threads {
                let _ = t.join();
            }
        });
    }
    if let Some((_, task)) = http {
        task.abort();
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(WorkerReport {
        consumed: metrics.consumed.load(Ordering::Relaxed),
        rows_written: metrics.rows_written.load(Ordering::Relaxed),
        dead_lettered: metrics.dead_lettered.load(Ordering::Relaxed),
        drain_timed_out,
    })
}
