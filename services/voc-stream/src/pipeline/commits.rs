//! The one owner of offsets. Every stage reports what happened to a message on one channel
//! (received, acknowledged, dropped; partitions assigned and revoked); this task alone keeps the
//! [`OffsetTracker`], stores offsets for librdkafka's next commit, and releases the in-flight
//! share. The same pattern as Vector's Kafka source and Quickwit's checkpoints: no lock shared by
//! the source, the analysis threads, the sink and the rebalance callback.
//!
//! Events from different stages arrive in causal order on the channel: a message is reported
//! received before it is handed on, so its acknowledgement always comes after; a partition is
//! reported assigned (from the rebalance callback, inside the source's poll) before any of its
//! messages is received.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::leases::Lease;
use super::offsets::OffsetTracker;

/// What travels with each message instead of its bytes: whose it is, where, and how big.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub lease: Lease,
    pub offset: i64,
    /// Payload size, for the in-flight byte bound.
    pub bytes: usize,
}

/// One event for the offset owner.
#[derive(Debug)]
pub enum OffsetEvent {
    Assigned(Lease),
    Revoked(i32),
    Received(Ticket),
    /// Stored in ClickHouse (a batch, in order) or delivered to the dead-letter topic (one):
    /// each partition's offset is stored once for them.
    Done(Vec<Ticket>),
    /// Skipped because its partition was revoked: the next owner reads it again.
    Dropped(Ticket),
    /// Answered once every earlier event was applied and its offsets stored.
    Flush(oneshot::Sender<()>),
}

/// Sends events to the owner; cheap to clone, usable from threads and callbacks.
pub type OffsetSender = mpsc::UnboundedSender<OffsetEvent>;

/// Where committable offsets go (the consumer's offset store; a recorder in tests).
pub trait StoreOffset: Send + 'static {
    /// `offset` is the last processed offset of `partition`.
    fn store(&self, partition: i32, offset: i64);
}

/// Counts of work received and not yet acknowledged, for backpressure.
#[derive(Debug, Default)]
pub struct InFlight {
    messages: AtomicUsize,
    bytes: AtomicUsize,
}

impl InFlight {
    pub fn add(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn release(&self, bytes: usize) {
        self.messages.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Whether at least `fraction` of either bound is in use.
    pub fn over(&self, max_messages: usize, max_bytes: usize, fraction: f64) -> bool {
        self.messages.load(Ordering::Relaxed) as f64 >= max_messages as f64 * fraction
            || self.bytes.load(Ordering::Relaxed) as f64 >= max_bytes as f64 * fraction
    }
}

/// Applies events until every sender is gone.
pub async fn run<S: StoreOffset>(
    mut events: mpsc::UnboundedReceiver<OffsetEvent>,
    in_flight: Arc<InFlight>,
    offsets: S,
) {
    let mut tracker = OffsetTracker::new();
    while let Some(event) = events.recv().await {
        match event {
            OffsetEvent::Assigned(lease) => tracker.assign(lease),
            OffsetEvent::Revoked(partition) => tracker.revoke(partition),
            OffsetEvent::Received(ticket) => {
                tracker.received(ticket.lease, ticket.offset);
            }
            OffsetEvent::Done(tickets) => {
                // The last advance of each partition (offsets only move forward).
                let mut advanced: Vec<(i32, i64)> = Vec::new();
                for ticket in tickets {
                    in_flight.release(ticket.bytes);
                    if let Some(offset) = tracker.done(ticket.lease, ticket.offset) {
                        match advanced
                            .iter_mut()
                            .find(|(p, _)| *p == ticket.lease.partition)
                        {
                            Some(entry) => entry.1 = offset,
                            None => advanced.push((ticket.lease.partition, offset)),
                        }
                    }
                }
                for (partition, offset) in advanced {
                    offsets.store(partition, offset);
                }
            }
            OffsetEvent::Dropped(ticket) => in_flight.release(ticket.bytes),
            OffsetEvent::Flush(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

/// Waits until the owner applied everything sent before this call.
pub async fn flush(sender: &OffsetSender) {
    let (reply, done) = oneshot::channel();
    if sender.send(OffsetEvent::Flush(reply)).is_ok() {
        let _ = done.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<(i32, i64)>>>);

    impl StoreOffset for Recorder {
        fn store(&self, partition: i32, offset: i64) {
            self.0.lock().unwrap().push((partition, offset));
        }
    }

    fn ticket(lease: Lease, offset: i64) -> Ticket {
        Ticket {
            lease,
            offset,
            bytes: 10,
        }
    }

    #[tokio::test]
    async fn offsets_are_stored_in_order_and_never_for_a_revoked_lease() {
        let (tx, rx) = mpsc::unbounded_channel();
        let in_flight = Arc::new(InFlight::default());
        let stored = Recorder::default();
        let owner = tokio::spawn(run(rx, in_flight.clone(), stored.clone()));
        let old = Lease {
            partition: 0,
            seq: 1,
        };
        tx.send(OffsetEvent::Assigned(old)).unwrap();
        for o in 5..8 {
            in_flight.add(10);
            tx.send(OffsetEvent::Received(ticket(old, o))).unwrap();
        }
        tx.send(OffsetEvent::Done(vec![ticket(old, 6)])).unwrap();
        tx.send(OffsetEvent::Done(vec![ticket(old, 5)])).unwrap();
        tx.send(OffsetEvent::Revoked(0)).unwrap();
        // Acknowledged after the partition moved on: must not be stored.
        tx.send(OffsetEvent::Done(vec![ticket(old, 7)])).unwrap();
        let new = Lease {
            partition: 0,
            seq: 2,
        };
        tx.send(OffsetEvent::Assigned(new)).unwrap();
        in_flight.add(10);
        tx.send(OffsetEvent::Received(ticket(new, 7))).unwrap();
        flush(&tx).await;
        assert_eq!(*stored.0.lock().unwrap(), vec![(0, 6)]);
        assert!(
            in_flight.over(1, usize::MAX, 1.0),
            "new lease's message still in flight"
        );
        tx.send(OffsetEvent::Done(vec![ticket(new, 7)])).unwrap();
        flush(&tx).await;
        assert_eq!(*stored.0.lock().unwrap(), vec![(0, 6), (0, 7)]);
        assert!(!in_flight.over(1, 1, 1.0 / 1e9), "everything released");
        // A batch acknowledged at once stores each partition's offset once, at its end.
        let other = Lease {
            partition: 1,
            seq: 3,
        };
        tx.send(OffsetEvent::Assigned(other)).unwrap();
        let batch: Vec<Ticket> = [(new, 8), (other, 0), (new, 9), (other, 1)]
            .into_iter()
            .map(|(l, o)| ticket(l, o))
            .collect();
        for t in &batch {
            in_flight.add(t.bytes);
            tx.send(OffsetEvent::Received(*t)).unwrap();
        }
        tx.send(OffsetEvent::Done(batch)).unwrap();
        flush(&tx).await;
        assert_eq!(
            *stored.0.lock().unwrap(),
            vec![(0, 6), (0, 7), (0, 9), (1, 1)]
        );
        assert!(
            !in_flight.over(1, 1, 1.0 / 1e9),
            "the batch released its share"
        );
        drop(tx);
        owner.await.unwrap();
    }
}
