//! Per-partition offset tracking between "received from Kafka" and "acknowledged by ClickHouse
//! (or the dead-letter topic)". Work completes out of order (a thread pool, batches, dead
//! letters), but a partition's committable offset is the last one whose predecessors are all done,
//! and it only moves forward. Pure bookkeeping: the task in [`super::commits`] owns the one tracker.
//!
//! Work under an earlier [`Lease`] (a partition revoked in a rebalance, maybe assigned back
//! later) can finish, but never moves the offset: another worker may own the partition by then.

use std::collections::{BTreeMap, HashMap};

use super::leases::Lease;

#[derive(Debug)]
struct PartitionState {
    seq: u64,
    /// Received offsets not yet committable: offset → done?
    pending: BTreeMap<i64, bool>,
    /// Last offset whose predecessors (as received) are all done.
    committable: Option<i64>,
}

/// Offsets of one topic, all partitions this worker holds.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, PartitionState>,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition is ours under `lease`: nothing pending yet.
    pub fn assign(&mut self, lease: Lease) {
        self.partitions.insert(
            lease.partition,
            PartitionState {
                seq: lease.seq,
                pending: BTreeMap::new(),
                committable: None,
            },
        );
    }

    /// The partition is no longer ours: its pending work will not move any offset.
    pub fn revoke(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    fn state(&mut self, lease: Lease) -> Option<&mut PartitionState> {
        self.partitions
            .get_mut(&lease.partition)
            .filter(|p| p.seq == lease.seq)
    }

    /// A message was received under `lease`. Returns false (and records nothing) if the lease is
    /// stale. Offsets must be received in increasing order per lease.
    pub fn received(&mut self, lease: Lease, offset: i64) -> bool {
        match self.state(lease) {
            Some(p) => {
                p.pending.insert(offset, false);
                true
            }
            None => false,
        }
    }

    /// The work for `offset` is acknowledged. Returns the new committable offset of the
    /// partition if it moved (the last offset processed, not the next one to read).
    pub fn done(&mut self, lease: Lease, offset: i64) -> Option<i64> {
        let p = self.state(lease)?;
        if let Some(flag) = p.pending.get_mut(&offset) {
            *flag = true;
        }
        let before = p.committable;
        while let Some((&first, &is_done)) = p.pending.iter().next() {
            if !is_done {
                break;
            }
            p.pending.remove(&first);
            p.committable = Some(first);
        }
        (p.committable != before).then_some(p.committable).flatten()
    }

    /// Offsets received under current leases and not yet done.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.partitions
            .values()
            .map(|p| p.pending.values().filter(|d| !**d).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn committable_offset_waits_for_the_oldest_unfinished_offset() {
        let mut t = OffsetTracker::new();
        let l = Lease {
            partition: 0,
            seq: 1,
        };
        t.assign(l);
        for o in 10..15 {
            assert!(t.received(l, o));
        }
        assert_eq!(t.done(l, 12), None);
        assert_eq!(t.done(l, 10), Some(10));
        assert_eq!(t.done(l, 11), Some(12));
        assert_eq!(t.pending(), 2);
        assert_eq!(t.done(l, 14), None);
        assert_eq!(t.done(l, 13), Some(14));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn work_from_a_revoked_lease_never_moves_the_offset() {
        let mut t = OffsetTracker::new();
        let old = Lease {
            partition: 3,
            seq: 1,
        };
        t.assign(old);
        t.received(old, 100);
        t.revoke(3);
        assert_eq!(t.done(old, 100), None);
        let new = Lease {
            partition: 3,
            seq: 2,
        };
        t.assign(new);
        assert_ne!(old, new);
        assert!(!t.received(old, 101));
        assert!(t.received(new, 100));
        assert_eq!(
            t.done(old, 100),
            None,
            "the old lease is stale even for the same offset"
        );
        assert_eq!(t.done(new, 100), Some(100));
    }

    proptest! {
        /// However completions are ordered, the committable offset only moves forward, never passes an
        /// offset that is not done, and ends at the last offset once everything is done.
        #[test]
        fn offsets_only_move_forward(
            count in 1usize..60,
            gaps in proptest::collection::vec(1i64..4, 60),
            order in Just(()).prop_perturb(|_, mut rng| {
                let mut v: Vec<usize> = (0..60).collect();
                for i in (1..v.len()).rev() {
                    let j = rng.random_range(0..=i);
                    v.swap(i, j);
                }
                v
            }),
        ) {
            let mut t = OffsetTracker::new();
            let lease = Lease { partition: 0, seq: 1 };
            t.assign(lease);
            let mut offsets = Vec::new();
            let mut o = 1000;
            for g in gaps.iter().take(count) {
                o += g;
                offsets.push(o);
                t.received(lease, o);
            }
            let mut done = std::collections::BTreeSet::new();
            let mut last = None;
            for idx in order.into_iter().filter(|i| *i < count) {
                let off = offsets[idx];
                done.insert(off);
                if let Some(w) = t.done(lease, off) {
                    prop_assert!(last.is_none_or(|l| w > l), "moved backwards: {last:?} → {w}");
                    prop_assert!(offsets.iter().filter(|x| **x <= w).all(|x| done.contains(x)), "passed an unfinished offset");
                    last = Some(w);
                }
            }
            prop_assert_eq!(last, offsets.last().copied());
            prop_assert_eq!(t.pending(), 0);
        }
    }
}
