//! `voc worker`: Kafka in, ClickHouse out, dead letters to the DLQ topic.
//!
//! ```text
//!  source (async) ──jobs──▶ analysis pool (N threads) ──outcomes──▶ sink (async)
//!   recv, lease, count        parse, validate, analyse              batch → ClickHouse (retry)
//!   pause when full           (never on the reactor)                dead letters → DLQ (retry)
//!                                                                   offsets stored after ack
//! ```
//! Everything between the stages is bounded: at most `max_in_flight_*` messages or bytes are
//! received but unacknowledged; above that the source pauses its partitions and keeps polling,
//! so the group does not evict a worker whose sink is slow. An offset is stored (and committed by
//! librdkafka) only after every earlier offset of its partition was acknowledged, so a crash
//! replays, never skips; replays are harmless because storage collapses by interaction id.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use voc_core::{Analyzer, Limits, parse_message};
use voc_store::writer::BatchWriter;
use voc_store::{InteractionRow, Store};

use crate::config::{WorkerConfig, consumer_config, producer_config};
use crate::context::WorkerContext;
use crate::dlq::{self, Rejection, Source};
use crate::metrics::Metrics;
use crate::offsets::{Lease, OffsetTracker};

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
}

/// One message taken from Kafka, owned, on its way through the pipeline.
struct Job {
    lease: Lease,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

enum Verdict {
    Row(Box<InteractionRow>),
    Reject(Rejection),
    /// The partition was revoked before the job ran: nothing to do, nothing to commit.
    Dropped,
}

struct Outcome {
    job: Job,
    verdict: Verdict,
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

/// Counts of work received and not yet acknowledged, for backpressure.
#[derive(Default)]
struct InFlight {
    messages: AtomicUsize,
    bytes: AtomicUsize,
}

impl InFlight {
    fn add(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    fn release(&self, bytes: usize) {
        self.messages.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
    fn over(&self, c: &WorkerConfig, fraction: f64) -> bool {
        self.messages.load(Ordering::Relaxed) as f64 >= c.max_in_flight_messages as f64 * fraction
            || self.bytes.load(Ordering::Relaxed) as f64 >= c.max_in_flight_bytes as f64 * fraction
    }
}

/// Parses, validates and analyses one message: a row, or the reason it is rejected.
fn judge(analyzer: &Analyzer, limits: &Limits, payload: &[u8]) -> Verdict {
    let msg = match parse_message(payload, limits) {
        Ok(m) => m,
        Err(e) => {
            return Verdict::Reject(Rejection {
                code: e.code(),
                message: e.to_string(),
            });
        }
    };
    // Analysis must never take the worker down: an unexpected failure is a dead letter too.
    match std::panic::catch_unwind(AssertUnwindSafe(|| analyzer.analyze(&msg))) {
        Ok(Ok(analysis)) => Verdict::Row(Box::new(InteractionRow::new(
            &msg,
            &analysis,
            OffsetDateTime::now_utc(),
        ))),
        Ok(Err(e)) => Verdict::Reject(Rejection {
            code: "analysis_failed",
            message: e.to_string(),
        }),
        Err(_) => Verdict::Reject(Rejection {
            code: "analysis_panicked",
            message: "analysis panicked on this message".into(),
        }),
    }
}

/// Runs a worker until `shutdown` resolves, then drains within the configured timeout.
pub async fn run_worker(
    config: WorkerConfig,
    analyzer: Analyzer,
    store: Store,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<WorkerReport, WorkerError> {
    let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
    let context = WorkerContext {
        tracker: tracker.clone(),
        metrics: metrics.clone(),
        topic: config.input_topic.clone(),
        assignment_epoch: AtomicU64::new(0),
    };
    let consumer: Arc<StreamConsumer<WorkerContext>> = Arc::new(
        consumer_config(&config)
            .create_with_context(context)
            .map_err(|source| WorkerError::Kafka {
                what: "consumer",
                brokers: config.brokers.clone(),
                source,
            })?,
    );
    // A blocking metadata request (up to 15 s): off the async reactor.
    tokio::task::block_in_place(|| check_topics(consumer.as_ref(), &config))?;
    consumer
        .subscribe(&[&config.input_topic])
        .map_err(|source| WorkerError::Kafka {
            what: "subscription",
            brokers: config.brokers.clone(),
            source,
        })?;
    let producer: FutureProducer = producer_config(&config.brokers, &config.kafka_properties)
        .create()
        .map_err(|source| WorkerError::Kafka {
            what: "dead-letter producer",
            brokers: config.brokers.clone(),
            source,
        })?;

    let http =
        match &config.metrics_addr {
            Some(addr) => Some(crate::http::serve(addr, metrics.clone()).await.map_err(
                |source| WorkerError::Metrics {
                    addr: addr.clone(),
                    source,
                },
            )?),
            None => None,
        };
    if let Some((addr, _)) = &http {
        tracing::info!(%addr, "serving /metrics and /health");
    }

    let in_flight = Arc::new(InFlight::default());
    let (job_tx, job_rx) = mpsc::channel::<Job>(config.max_in_flight_messages.max(16) * 2);
    let (out_tx, out_rx) = mpsc::channel::<Outcome>(config.max_in_flight_messages.max(16));
    let (stop_tx, stop_rx) = watch::channel(false);

    // Analysis pool: plain threads, each with its own analyzer (tokenizer) clone.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut threads = Vec::new();
    for i in 0..config.analysis_threads.max(1) {
        let (job_rx, out_tx, analyzer, tracker) = (
            job_rx.clone(),
            out_tx.clone(),
            analyzer.clone(),
            tracker.clone(),
        );
        let limits = config.limits;
        let handle = std::thread::Builder::new()
            .name(format!("voc-analysis-{i}"))
            .spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(mut rx) => rx.blocking_recv(),
                        Err(_) => None,
                    };
                    let Some(job) = job else { break };
                    let current = tracker
                        .lock()
                        .map(|t| t.is_current(job.lease))
                        .unwrap_or(false);
                    let verdict = if current {
                        judge(&analyzer, &limits, &job.payload)
                    } else {
                        Verdict::Dropped
                    };
                    if out_tx.blocking_send(Outcome { job, verdict }).is_err() {
                        break;
                    }
                }
            })
            .map_err(WorkerError::Threads)?;
        threads.push(handle);
    }
    drop(out_tx);

    let writer = BatchWriter::new(store, config.backoff)
        .with_health(metrics.clickhouse_healthy.clone())
        .with_retry_counter(metrics.insert_retries.clone());
    let sink = Sink {
        config: config.clone(),
        consumer: consumer.clone(),
        producer,
        writer,
        tracker: tracker.clone(),
        in_flight: in_flight.clone(),
        metrics: metrics.clone(),
        batch: Vec::new(),
        batch_bytes: 0,
        batch_started: None,
        writing: None,
    };
    let sink = tokio::spawn(sink.run(out_rx));
    let source = tokio::spawn(source_loop(
        config.clone(),
        consumer.clone(),
        job_tx,
        tracker,
        in_flight,
        metrics.clone(),
        stop_rx,
    ));

    shutdown.await;
    tracing::info!(
        drain_timeout_s = config.drain_timeout.as_secs(),
        "shutting down: no new input, draining in-flight work"
    );
    let _ = stop_tx.send(true);
    let _ = source.await;
    let drained = tokio::time::timeout(config.drain_timeout, sink).await;
    let drain_timed_out = drained.is_err();
    if drain_timed_out {
        tracing::warn!(
            "drain timeout reached; unacknowledged messages will be re-read by the next owner"
        );
    }
    // What was acknowledged is committed now rather than at the next auto-commit tick.
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final commit had nothing to commit");
    }
    if !drain_timed_out {
        for t in threads {
            let _ = t.join();
        }
    }
    if let Some((_, task)) = http {
        task.abort();
    }
    Ok(WorkerReport {
        consumed: metrics.consumed.load(Ordering::Relaxed),
        rows_written: metrics.rows_written.load(Ordering::Relaxed),
        dead_lettered: metrics.dead_lettered.load(Ordering::Relaxed),
        drain_timed_out,
    })
}

/// Fails fast, with what to do, when the brokers cannot be reached or a topic is missing: a worker
/// subscribed to a topic that does not exist would otherwise wait silently forever.
fn check_topics(
    consumer: &StreamConsumer<WorkerContext>,
    config: &WorkerConfig,
) -> Result<(), WorkerError> {
    const SECONDS: u64 = 15;
    for (topic, variable) in [
        (&config.input_topic, "VOC_INPUT_TOPIC"),
        (&config.dlq_topic, "VOC_DLQ_TOPIC"),
    ] {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(SECONDS))
            .map_err(|source| WorkerError::Unreachable {
                brokers: config.brokers.clone(),
                seconds: SECONDS,
                source,
            })?;
        let present = metadata.topics().iter().any(|t| {
            t.name() == topic.as_str() && t.error().is_none() && !t.partitions().is_empty()
        });
        if !present {
            return Err(WorkerError::MissingTopic {
                topic: topic.clone(),
                brokers: config.brokers.clone(),
                variable,
            });
        }
    }
    Ok(())
}

/// Receives messages and hands them to the pool; pauses input while too much is in flight.
async fn source_loop(
    config: WorkerConfig,
    consumer: Arc<StreamConsumer<WorkerContext>>,
    jobs: mpsc::Sender<Job>,
    tracker: Arc<Mutex<OffsetTracker>>,
    in_flight: Arc<InFlight>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut paused_epoch: Option<u64> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        let epoch = consumer.context().assignment_epoch.load(Ordering::Relaxed);
        if in_flight.over(&config, 1.0) && paused_epoch != Some(epoch) {
            // (Re-)pause everything we hold, including partitions assigned since the last pause.
            if let Ok(assignment) = consumer.assignment()
                && consumer.pause(&assignment).is_ok()
            {
                paused_epoch = Some(epoch);
                metrics.paused.store(true, Ordering::Relaxed);
            }
        } else if paused_epoch.is_some()
            && !in_flight.over(&config, 0.5)
            && let Ok(assignment) = consumer.assignment()
            && consumer.resume(&assignment).is_ok()
        {
            paused_epoch = None;
            metrics.paused.store(false, Ordering::Relaxed);
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            received = consumer.recv() => match received {
                Err(e) => {
                    tracing::warn!(error = %e, "kafka receive failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(m) => {
                    metrics.kafka_healthy.store(true, Ordering::Relaxed);
                    let lease = tracker.lock().ok().and_then(|t| t.lease(m.partition()));
                    let Some(lease) = lease else {
                        // Not (or no longer) ours: leave it for the owner; nothing is stored.
                        continue;
                    };
                    let payload = m.payload().unwrap_or_default().to_vec();
                    if let Ok(mut t) = tracker.lock() {
                        t.received(lease, m.offset());
                    }
                    in_flight.add(payload.len());
                    Metrics::add(&metrics.consumed, 1);
                    Metrics::add(&metrics.consumed_bytes, payload.len() as u64);
                    let job = Job { lease, offset: m.offset(), key: m.key().map(<[u8]>::to_vec), payload };
                    if jobs.send(job).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// Batches rows into ClickHouse, sends dead letters, and stores offsets once acknowledged.
struct Sink {
    config: WorkerConfig,
    consumer: Arc<StreamConsumer<WorkerContext>>,
    producer: FutureProducer,
    writer: BatchWriter,
    tracker: Arc<Mutex<OffsetTracker>>,
    in_flight: Arc<InFlight>,
    metrics: Arc<Metrics>,
    batch: Vec<(Job, InteractionRow)>,
    batch_bytes: usize,
    batch_started: Option<Instant>,
    /// The batch being inserted while the next one fills, so analysis never waits for
    /// ClickHouse: its jobs, and how long the insert took.
    writing: Option<tokio::task::JoinHandle<(Vec<Job>, f64)>>,
}

impl Sink {
    /// Acknowledged: release its in-flight share and store the partition's offset if it moved.
    fn complete(&self, job: &Job) {
        self.in_flight.release(job.payload.len());
        let advanced = self
            .tracker
            .lock()
            .ok()
            .and_then(|mut t| t.done(job.lease, job.offset));
        if let Some(offset) = advanced
            && let Err(e) =
                self.consumer
                    .store_offset(&self.config.input_topic, job.lease.partition, offset)
        {
            tracing::debug!(error = %e, partition = job.lease.partition, "offset not stored (partition moved)");
        }
    }

    fn flush_due(&self) -> bool {
        self.batch.len() >= self.config.batch_rows
            || self.batch_bytes >= self.config.batch_bytes
            || self
                .batch_started
                .is_some_and(|t| t.elapsed() >= self.config.batch_interval)
    }

    async fn handle(&mut self, Outcome { job, verdict }: Outcome) {
        match verdict {
            Verdict::Row(row) => {
                Metrics::add(&self.metrics.tagged, 1);
                self.batch_bytes += row.approx_bytes();
                self.batch_started.get_or_insert_with(Instant::now);
                self.batch.push((job, *row));
            }
            Verdict::Reject(rejection) => {
                self.metrics.rejected(rejection.code);
                let source = Source {
                    topic: &self.config.input_topic,
                    partition: job.lease.partition,
                    offset: job.offset,
                };
                let failures = dlq::send(
                    &self.producer,
                    &self.config.dlq_topic,
                    job.key.as_deref(),
                    &job.payload,
                    source,
                    &rejection,
                    self.config.backoff,
                )
                .await;
                Metrics::add(&self.metrics.dlq_retries, u64::from(failures));
                Metrics::add(&self.metrics.dead_lettered, 1);
                self.complete(&job);
            }
            Verdict::Dropped => {
                Metrics::add(&self.metrics.dropped_revoked, 1);
                self.in_flight.release(job.payload.len());
            }
        }
    }

    async fn flush(&mut self) {
        self.batch_bytes = 0;
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        // Rows of partitions revoked meanwhile are dropped: their next owner re-reads them.
        let (keep, stale): (Vec<_>, Vec<_>) = {
            let t = self.tracker.lock().ok();
            self.batch
                .drain(..)
                .partition(|(job, _)| t.as_ref().is_some_and(|t| t.is_current(job.lease)))
        };
        for (job, _) in &stale {
            Metrics::add(&self.metrics.dropped_revoked, 1);
            self.in_flight.release(job.payload.len());
        }
        if keep.is_empty() {
            return;
        }
        // One insert at a time: the previous batch must be acknowledged first.
        self.finish_writing().await;
        let (jobs, rows): (Vec<Job>, Vec<InteractionRow>) = keep.into_iter().unzip();
        let writer = self.writer.clone();
        self.writing = Some(tokio::spawn(async move {
            let started = Instant::now();
            writer.write(&rows).await;
            (jobs, started.elapsed().as_secs_f64())
        }));
    }

    /// Waits for the batch being inserted, then acknowledges its messages.
    async fn finish_writing(&mut self) {
        let Some(handle) = self.writing.take() else {
            return;
        };
        // A write only ends when ClickHouse acknowledged it. If the task itself died (a bug),
        // its messages can be neither acknowledged nor retried here: exit, so that the group
        // hands the partitions over and they are re-read from the last committed offset.
        let (jobs, seconds) = match handle.await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "the ClickHouse insert task failed; exiting so the messages are re-read");
                std::process::exit(70);
            }
        };
        self.metrics.observe_batch_seconds(seconds);
        Metrics::add(&self.metrics.rows_written, jobs.len() as u64);
        Metrics::add(&self.metrics.batches_written, 1);
        for job in &jobs {
            self.complete(job);
        }
    }

    /// Runs until the pool closes the outcome channel, then writes what is left.
    async fn run(mut self, mut outcomes: mpsc::Receiver<Outcome>) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            if self.writing.as_ref().is_some_and(|w| w.is_finished()) {
                self.finish_writing().await;
            }
            if self.flush_due() {
                self.flush().await;
            }
            tokio::select! {
                next = outcomes.recv() => match next {
                    Some(outcome) => self.handle(outcome).await,
                    None => break,
                },
                _ = tick.tick() => {}
            }
        }
        self.flush().await;
        self.finish_writing().await;
    }
}
