//! Stage 3a: batch rows into ClickHouse and acknowledge their messages once ClickHouse has them.
//!
//! A batch is written at `rows` or `bytes`, or `interval` after its first row. One insert runs
//! while the next batch fills, so analysis never waits for ClickHouse; the next insert starts only
//! after the previous one is acknowledged, so acknowledgements leave in the order rows arrived.
//! Rows of partitions revoked meanwhile are dropped at the flush: their next owner reads them again.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use voc_store::InteractionRow;
use voc_store::writer::BatchWriter;

use super::analysis::Row;
use super::commits::{OffsetEvent, OffsetSender, Ticket};
use super::leases::Leases;
use crate::metrics::Metrics;

/// When a batch is written.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub rows: usize,
    pub bytes: usize,
    pub interval: Duration,
}

/// Why the sink stopped before its input ended.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// ClickHouse refuses the rows for a reason no retry fixes (credentials, missing table,
    /// schema drift).
    #[error("{0}")]
    Refused(String),
    /// The insert task died (a bug): its messages can be neither acknowledged nor retried here,
    /// so the worker stops and the group re-reads them from the last committed offset.
    #[error("the ClickHouse insert task failed: {0}")]
    InsertTask(String),
}

/// Inserts one batch: returns once ClickHouse acknowledged it (retrying outages meanwhile), or
/// with the reason it never will.
pub trait Insert: Clone + Send + Sync + 'static {
    fn insert(&self, rows: Vec<InteractionRow>) -> impl Future<Output = Result<(), String>> + Send;
}

impl Insert for BatchWriter {
    async fn insert(&self, rows: Vec<InteractionRow>) -> Result<(), String> {
        self.write(&rows)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A finished insert: its tickets, how long it took in seconds, and its outcome.
type Written = (Vec<Ticket>, f64, Result<(), String>);

pub struct Sink<W: Insert> {
    writer: W,
    limits: BatchLimits,
    leases: Arc<Leases>,
    offsets: OffsetSender,
    metrics: Arc<Metrics>,
    batch: Vec<Row>,
    batch_bytes: usize,
    batch_started: Option<Instant>,
    /// The batch being inserted.
    writing: Option<JoinHandle<Written>>,
}

impl<W: Insert> Sink<W> {
    pub fn new(
        writer: W,
        limits: BatchLimits,
        leases: Arc<Leases>,
        offsets: OffsetSender,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            writer,
            limits,
            leases,
            offsets,
            metrics,
            batch: Vec::new(),
            batch_bytes: 0,
            batch_started: None,
            writing: None,
        }
    }

    fn flush_due(&self) -> bool {
        self.batch.len() >= self.limits.rows
            || self.batch_bytes >= self.limits.bytes
            || self
                .batch_started
                .is_some_and(|t| t.elapsed() >= self.limits.interval)
    }

    fn add(&mut self, row: Row) {
        Metrics::add(&self.metrics.tagged, 1);
        self.batch_bytes += row.row.approx_bytes();
        self.batch_started.get_or_insert_with(Instant::now);
        self.batch.push(row);
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.batch_bytes = 0;
        self.batch_started = None;
        let (keep, stale): (Vec<Row>, Vec<Row>) = self
            .batch
            .drain(..)
            .partition(|r| self.leases.is_current(r.ticket.lease));
        for r in stale {
            Metrics::add(&self.metrics.dropped_revoked, 1);
            let _ = self.offsets.send(OffsetEvent::Dropped(r.ticket));
        }
        if keep.is_empty() {
            return Ok(());
        }
        self.finish_writing().await?;
        let (tickets, rows): (Vec<Ticket>, Vec<InteractionRow>) =
            keep.into_iter().map(|r| (r.ticket, *r.row)).unzip();
        let writer = self.writer.clone();
        self.writing = Some(tokio::spawn(async move {
            let started = Instant::now();
            let outcome = writer.insert(rows).await;
            (tickets, started.elapsed().as_secs_f64(), outcome)
        }));
        Ok(())
    }

    /// Waits for the batch being inserted, then acknowledges its messages in order.
    async fn finish_writing(&mut self) -> Result<(), SinkError> {
        let Some(handle) = self.writing.take() else {
            return Ok(());
        };
        let (tickets, seconds, outcome) = handle
            .await
            .map_err(|e| SinkError::InsertTask(e.to_string()))?;
        outcome.map_err(SinkError::Refused)?;
        self.metrics.observe_batch_seconds(seconds);
        Metrics::add(&self.metrics.rows_written, tickets.len() as u64);
        Metrics::add(&self.metrics.batches_written, 1);
        let _ = self.offsets.send(OffsetEvent::Done(tickets));
        Ok(())
    }

    /// Runs until the pool closes the row channel, then writes what is left.
    pub async fn run(mut self, mut rows: mpsc::Receiver<Row>) -> Result<(), SinkError> {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            if self.writing.as_ref().is_some_and(|w| w.is_finished()) {
                self.finish_writing().await?;
            }
            if self.flush_due() {
                self.flush().await?;
            }
            tokio::select! {
                next = rows.recv() => match next {
                    Some(row) => self.add(row),
                    None => break,
                },
                _ = tick.tick() => {}
            }
        }
        self.flush().await?;
        self.finish_writing().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::leases::Lease;
    use std::sync::Mutex;
    use tokio::sync::Semaphore;

    /// Records batches; each insert waits for a permit so a test decides when ClickHouse answers.
    #[derive(Clone)]
    struct FakeClickHouse {
        /// Inserts begun (waiting for a permit or done).
        started: Arc<std::sync::atomic::AtomicUsize>,
        batches: Arc<Mutex<Vec<Vec<String>>>>,
        permits: Arc<Semaphore>,
        refuse: Option<String>,
    }

    impl FakeClickHouse {
        fn new(open: bool) -> Self {
            Self {
                started: Arc::default(),
                batches: Arc::default(),
                permits: Arc::new(Semaphore::new(if open { 1 << 20 } else { 0 })),
                refuse: None,
            }
        }
        fn batches(&self) -> Vec<Vec<String>> {
            self.batches.lock().unwrap().clone()
        }
    }

    impl Insert for FakeClickHouse {
        async fn insert(&self, rows: Vec<InteractionRow>) -> Result<(), String> {
            self.started
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.permits.acquire().await.unwrap().forget();
            if let Some(reason) = &self.refuse {
                return Err(reason.clone());
            }
            let ids = rows.iter().map(|r| r.interaction_id.clone()).collect();
            self.batches.lock().unwrap().push(ids);
            Ok(())
        }
    }

    fn row(lease: Lease, offset: i64) -> Row {
        let row = InteractionRow {
            interaction_id: format!("p{}-o{offset}", lease.partition),
            occurred_at: 0,
            ingested_at: 0,
            channel: "chat".into(),
            product: String::new(),
            queue: String::new(),
            customer_id: String::new(),
            agent_id: String::new(),
            topics: vec![],
            voice_type: voc_core::VoiceType::Complaint,
            complaint_type: None,
            sentiment: voc_core::Sentiment::Negative,
            sentiment_score: -1.0,
            severity: 1,
            churn_risk: 0,
            keywords: vec![],
            evidence: "[]".into(),
            customer_text: "届きません".into(),
            pii_masked: 0,
            truncated: 0,
            csat: None,
            nps: None,
            ces: None,
            resolved: None,
            handle_time_s: None,
            wait_time_s: None,
            rules_version: "test".into(),
            version: 0,
        };
        Row {
            ticket: Ticket {
                lease,
                offset,
                bytes: 100,
            },
            row: Box::new(row),
        }
    }

    struct Harness {
        rows: mpsc::Sender<Row>,
        acks: mpsc::UnboundedReceiver<OffsetEvent>,
        leases: Arc<Leases>,
        sink: JoinHandle<Result<(), SinkError>>,
    }

    fn start(writer: FakeClickHouse, limits: BatchLimits) -> Harness {
        let (rows_tx, rows_rx) = mpsc::channel(64);
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let leases = Arc::new(Leases::default());
        let sink = Sink::new(
            writer,
            limits,
            leases.clone(),
            ack_tx,
            Arc::new(Metrics::new()),
        );
        Harness {
            rows: rows_tx,
            acks,
            leases,
            sink: tokio::spawn(sink.run(rows_rx)),
        }
    }

    fn drain(acks: &mut mpsc::UnboundedReceiver<OffsetEvent>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(event) = acks.try_recv() {
            seen.push(match event {
                OffsetEvent::Done(ts) => {
                    seen.extend(ts.iter().map(|t| format!("done {}", t.offset)));
                    continue;
                }
                OffsetEvent::Dropped(t) => format!("dropped {}", t.offset),
                other => format!("{other:?}"),
            });
        }
        seen
    }

    const BY_COUNT: BatchLimits = BatchLimits {
        rows: 3,
        bytes: usize::MAX,
        interval: Duration::from_secs(3600),
    };

    #[tokio::test]
    async fn batches_by_row_count_and_acknowledges_only_after_the_insert() {
        let ch = FakeClickHouse::new(false);
        let mut h = start(ch.clone(), BY_COUNT);
        let lease = h.leases.assign(0);
        for o in 0..7 {
            h.rows.send(row(lease, o)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = || ch.started.load(std::sync::atomic::Ordering::SeqCst);
        assert!(ch.batches().is_empty());
        assert_eq!(
            started(),
            1,
            "two batches are full, but one insert at a time"
        );
        assert_eq!(
            drain(&mut h.acks),
            Vec::<String>::new(),
            "nothing acknowledged before ClickHouse answers"
        );
        ch.permits.add_permits(1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(ch.batches(), vec![vec!["p0-o0", "p0-o1", "p0-o2"]]);
        assert_eq!(
            started(),
            2,
            "the next insert starts once the first is acknowledged"
        );
        assert_eq!(drain(&mut h.acks), ["done 0", "done 1", "done 2"]);
        ch.permits.add_permits(10);
        drop(h.rows);
        h.sink.await.unwrap().unwrap();
        assert_eq!(
            ch.batches(),
            vec![
                vec!["p0-o0", "p0-o1", "p0-o2"],
                vec!["p0-o3", "p0-o4", "p0-o5"],
                vec!["p0-o6"]
            ],
            "the last, partial batch is written at the end of input"
        );
        let acks = drain(&mut h.acks);
        let expected: Vec<String> = (3..7).map(|o| format!("done {o}")).collect();
        assert_eq!(acks, expected, "acknowledged once each, in arrival order");
    }

    #[tokio::test]
    async fn a_partial_batch_is_written_when_its_interval_passes() {
        let ch = FakeClickHouse::new(true);
        let limits = BatchLimits {
            rows: 1000,
            bytes: usize::MAX,
            interval: Duration::from_millis(100),
        };
        let mut h = start(ch.clone(), limits);
        let lease = h.leases.assign(1);
        h.rows.send(row(lease, 42)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(ch.batches(), vec![vec!["p1-o42"]]);
        assert_eq!(drain(&mut h.acks), vec!["done 42"]);
        drop(h.rows);
        h.sink.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn rows_of_a_revoked_partition_are_dropped_not_written() {
        let ch = FakeClickHouse::new(true);
        let mut h = start(ch.clone(), BY_COUNT);
        let kept = h.leases.assign(0);
        let revoked = h.leases.assign(1);
        h.rows.send(row(kept, 1)).await.unwrap();
        h.rows.send(row(revoked, 2)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.leases.revoke(1);
        h.rows.send(row(kept, 3)).await.unwrap();
        drop(h.rows);
        h.sink.await.unwrap().unwrap();
        assert_eq!(ch.batches(), vec![vec!["p0-o1", "p0-o3"]]);
        assert_eq!(drain(&mut h.acks), vec!["dropped 2", "done 1", "done 3"]);
    }

    #[tokio::test]
    async fn a_refused_insert_stops_the_sink_with_the_reason_and_acknowledges_nothing() {
        let mut ch = FakeClickHouse::new(true);
        ch.refuse = Some("table voc.interactions does not exist; run `voc migrate`".into());
        let mut h = start(ch.clone(), BY_COUNT);
        let lease = h.leases.assign(0);
        for o in 0..3 {
            h.rows.send(row(lease, o)).await.unwrap();
        }
        let err = h.sink.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("voc migrate"), "{err}");
        assert!(drain(&mut h.acks).is_empty());
    }
}
