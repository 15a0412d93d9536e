//! Stage 1: receive messages, take them under the partition's current lease, hand them to the
//! analysis pool. Pauses the assigned partitions while too much is in flight and keeps polling,
//! so the group does not evict a worker whose sink is slow.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::Consumer;
use tokio::sync::{mpsc, watch};

use super::commits::{InFlight, OffsetEvent, OffsetSender, Ticket};
use super::consumer::VocConsumer;
use crate::metrics::Metrics;

/// A message on its way to analysis: its ticket, and the bytes analysis needs.
pub struct Job {
    pub ticket: Ticket,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// The in-flight bounds above which input pauses (it resumes below half of them).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub messages: usize,
    pub bytes: usize,
}

pub struct Source {
    pub consumer: Arc<VocConsumer>,
    pub offsets: OffsetSender,
    pub in_flight: Arc<InFlight>,
    pub bounds: Bounds,
    pub metrics: Arc<Metrics>,
}

impl Source {
    fn over(&self, fraction: f64) -> bool {
        self.in_flight
            .over(self.bounds.messages, self.bounds.bytes, fraction)
    }

    /// Runs until `stop` turns true or the pool is gone.
    pub async fn run(self, jobs: mpsc::Sender<Job>, mut stop: watch::Receiver<bool>) {
        let leases = self.consumer.context().leases.clone();
        // The assignment (by its change count) that was paused last, if input is paused.
        let mut paused_at: Option<u64> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            let changes = leases.changes();
            if self.over(1.0) && paused_at != Some(changes) {
                // (Re-)pause everything we hold, including partitions assigned since the last pause.
                if let Ok(assignment) = self.consumer.assignment()
                    && self.consumer.pause(&assignment).is_ok()
                {
                    paused_at = Some(changes);
                    self.metrics.paused.store(true, Ordering::Relaxed);
                }
            } else if paused_at.is_some()
                && !self.over(0.5)
                && let Ok(assignment) = self.consumer.assignment()
                && self.consumer.resume(&assignment).is_ok()
            {
                paused_at = None;
                self.metrics.paused.store(false, Ordering::Relaxed);
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                received = self.consumer.recv() => match received {
                    Err(e) => {
                        tracing::warn!(error = %e, "kafka receive failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Ok(m) => {
                        self.metrics.kafka_healthy.store(true, Ordering::Relaxed);
                        let Some(lease) = leases.current(m.partition()) else {
                            // Not (or no longer) ours: leave it for the owner; nothing is stored.
                            continue;
                        };
                        let payload = m.payload().unwrap_or_default().to_vec();
                        let ticket = Ticket { lease, offset: m.offset(), bytes: payload.len() };
                        self.in_flight.add(ticket.bytes);
                        let _ = self.offsets.send(OffsetEvent::Received(ticket));
                        Metrics::add(&self.metrics.consumed, 1);
                        Metrics::add(&self.metrics.consumed_bytes, ticket.bytes as u64);
                        let job = Job { ticket, key: m.key().map(<[u8]>::to_vec), payload };
                        if jobs.send(job).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    }
}
