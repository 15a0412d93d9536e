//! Stage 2: a pool of plain threads (never on the async reactor) that parse, validate and
//! analyse each message. A row goes on to the ClickHouse sink; a rejected message, with its
//! bytes, to the dead-letter stage; work for a partition revoked meanwhile is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::mpsc;
use voc_core::{Analyzer, Limits, RejectReason, parse_message};
use voc_store::InteractionRow;

use super::commits::{OffsetEvent, OffsetSender, Ticket};
use super::dead_letters::{DeadLetter, Rejection};
use super::leases::Leases;
use super::source::Job;
use crate::metrics::Metrics;

/// A tagged interaction on its way to ClickHouse.
pub struct Row {
    pub ticket: Ticket,
    pub row: Box<InteractionRow>,
}

/// Where the pool sends its results.
#[derive(Clone)]
pub struct Outputs {
    pub rows: mpsc::Sender<Row>,
    pub dead_letters: mpsc::Sender<DeadLetter>,
    pub offsets: OffsetSender,
}

/// Parses, validates and analyses one message: a row, or the reason it is rejected.
pub fn judge(
    analyzer: &Analyzer,
    limits: &Limits,
    payload: &[u8],
) -> Result<InteractionRow, Rejection> {
    let msg = parse_message(payload, limits).map_err(|e| Rejection {
        code: e.code(),
        message: e.to_string(),
    })?;
    // Analysis must never take the worker down: an unexpected failure is a dead letter too.
    match std::panic::catch_unwind(AssertUnwindSafe(|| analyzer.analyze(&msg))) {
        Ok(Ok(analysis)) => Ok(InteractionRow::new(
            &msg,
            &analysis,
            OffsetDateTime::now_utc(),
        )),
        Ok(Err(e)) => Err(Rejection {
            code: RejectReason::AnalysisFailed,
            message: e.to_string(),
        }),
        Err(_) => Err(Rejection {
            code: RejectReason::AnalysisPanicked,
            message: "analysis panicked on this message".into(),
        }),
    }
}

/// Starts `threads` analysis threads, each with its own analyzer (tokenizer) clone. They stop
/// when the job channel closes or a downstream stage is gone.
pub fn spawn(
    threads: usize,
    analyzer: &Analyzer,
    limits: Limits,
    leases: Arc<Leases>,
    jobs: mpsc::Receiver<Job>,
    outputs: Outputs,
    metrics: Arc<Metrics>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let jobs = Arc::new(Mutex::new(jobs));
    (0..threads.max(1))
        .map(|i| {
            let (jobs, outputs, analyzer, leases, metrics) = (
                jobs.clone(),
                outputs.clone(),
                analyzer.clone(),
                leases.clone(),
                metrics.clone(),
            );
            std::thread::Builder::new()
                .name(format!("voc-analysis-{i}"))
                .spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(mut rx) => rx.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some(job) = job else { break };
                        if !leases.is_current(job.ticket.lease) {
                            Metrics::add(&metrics.dropped_revoked, 1);
                            let _ = outputs.offsets.send(OffsetEvent::Dropped(job.ticket));
                            continue;
                        }
                        let sent = match judge(&analyzer, &limits, &job.payload) {
                            Ok(row) => outputs
                                .rows
                                .blocking_send(Row {
                                    ticket: job.ticket,
                                    row: Box::new(row),
                                })
                                .is_ok(),
                            Err(rejection) => outputs
                                .dead_letters
                                .blocking_send(DeadLetter {
                                    ticket: job.ticket,
                                    key: job.key,
                                    payload: job.payload,
                                    rejection,
                                })
                                .is_ok(),
                        };
                        if !sent {
                            break;
                        }
                    }
                })
        })
        .collect()
}
