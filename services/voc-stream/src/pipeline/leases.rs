//! Which partitions this worker holds right now. The rebalance callback writes it; the stages
//! read it to skip work for partitions already handed to another worker.
//!
//! Each assignment of a partition gets a new lease. Its `seq` is a counter local to this worker,
//! not Kafka's group generation: work started under an earlier lease (the partition was revoked,
//! maybe assigned back later) must never move the partition's committed offset.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// One assignment of a partition to this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub partition: i32,
    /// Local sequence number of the assignment, unique within this worker's life.
    pub seq: u64,
}

/// The current lease of every partition held; read-mostly (written only on rebalances).
#[derive(Debug, Default)]
pub struct Leases {
    current: RwLock<HashMap<i32, u64>>,
    last_seq: AtomicU64,
    /// Bumped on every rebalance, so a paused source knows to pause the new partitions too.
    changes: AtomicU64,
}

impl Leases {
    /// The partition is ours (again): a fresh lease.
    pub fn assign(&self, partition: i32) -> Lease {
        let seq = self.last_seq.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut current) = self.current.write() {
            current.insert(partition, seq);
        }
        self.changes.fetch_add(1, Ordering::Relaxed);
        Lease { partition, seq }
    }

    /// The partition moved to another worker: work under its lease no longer counts.
    pub fn revoke(&self, partition: i32) {
        if let Ok(mut current) = self.current.write() {
            current.remove(&partition);
        }
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The lease under which a message of `partition` is taken now, if we hold it.
    pub fn current(&self, partition: i32) -> Option<Lease> {
        let current = self.current.read().ok()?;
        current.get(&partition).map(|&seq| Lease { partition, seq })
    }

    /// Whether work under `lease` still counts.
    pub fn is_current(&self, lease: Lease) -> bool {
        self.current(lease.partition) == Some(lease)
    }

    /// How many partitions we hold.
    pub fn held(&self) -> usize {
        self.current.read().map(|c| c.len()).unwrap_or(0)
    }

    /// How many rebalances changed the assignment so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_assigned_again_gets_a_new_lease() {
        let leases = Leases::default();
        let first = leases.assign(3);
        assert!(leases.is_current(first));
        leases.revoke(3);
        assert!(!leases.is_current(first));
        assert_eq!(leases.current(3), None);
        let second = leases.assign(3);
        assert_ne!(first, second);
        assert!(!leases.is_current(first), "the old lease stays stale");
        assert!(leases.is_current(second));
        assert_eq!(leases.changes(), 3);
    }
}
