//! Per-partition offset tracking between "received from Kafka" and "acknowledged by ClickHouse
//! (or the dead-letter topic)". Work completes out of order (a thread pool, batches, dead
//! letters), but a partition's committable offset is the last one whose predecessors are all done,
//! and it only moves forward.
//!
//! Every assignment of a partition gets a new generation. Work from an earlier generation (a
//! partition revoked in a rebalance, maybe re-assigned later) can finish, but never moves the
//! offset: another worker may own the partition by then.

use std::collections::{BTreeMap, HashMap};

/// A partition's assignment: which partition, and which time we got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub partition: i32,
    pub generation: u64,
}

#[derive(Debug, Default)]
struct PartitionState {
    generation: u64,
    /// Received offsets not yet committable: offset → done?
    pending: BTreeMap<i64, bool>,
    /// Last offset whose predecessors (as received) are all done.
    watermark: Option<i64>,
}

/// Offsets of one topic, all partitions this worker holds.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, PartitionState>,
    next_generation: u64,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition is ours (again): a fresh generation, nothing pending.
    pub fn assign(&mut self, partition: i32) -> Lease {
        self.next_generation += 1;
        let generation = self.next_generation;
        self.partitions.insert(
            partition,
            PartitionState {
                generation,
                ..Default::default()
            },
        );
        Lease {
            partition,
            generation,
        }
    }

    /// The partition is no longer ours: its pending work will not move any offset.
    pub fn revoke(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// The current lease of a partition, if we hold it.
    pub fn lease(&self, partition: i32) -> Option<Lease> {
        self.partitions.get(&partition).map(|p| Lease {
            partition,
            generation: p.generation,
        })
    }

    /// Whether work under `lease` still counts.
    pub fn is_current(&self, lease: Lease) -> bool {
        self.lease(lease.partition) == Some(lease)
    }

    /// A message was received under `lease`. Returns false (and records nothing) if the lease is
    /// stale. Offsets must be received in increasing order per lease.
    pub fn received(&mut self, lease: Lease, offset: i64) -> bool {
        match self.partitions.get_mut(&lease.partition) {
            Some(p) if p.generation == lease.generation => {
                p.pending.insert(offset, false);
                true
            }
            _ => false,
        }
    }

    /// The work for `offset` is acknowledged. Returns the new committable offset of the
    /// partition if it moved (the last offset processed, not the next one to read).
    pub fn done(&mut self, lease: Lease, offset: i64) -> Option<i64> {
        let p = self
            .partitions
            .get_mut(&lease.partition)
            .filter(|p| p.generation == lease.generation)?;
        if let Some(flag) = p.pending.get_mut(&offset) {
            *flag = true;
        }
        let before = p.watermark;
        while let Some((&first, &is_done)) = p.pending.iter().next() {
            if !is_done {
                break;
            }
            p.pending.remove(&first);
            p.watermark = Some(first);
        }
        (p.watermark != before).then_some(p.watermark).flatten()
    }

    /// Offsets received under current leases and not yet done.
    pub fn pending(&self) -> usize {
        self.partitions
            .values()
            .map(|p| p.pending.values().filter(|d| !**d).count())
            .sum()
    }

    /// The committable offset of a partition, if any work completed.
    pub fn watermark(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition).and_then(|p| p.watermark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn watermark_waits_for_the_oldest_unfinished_offset() {
        let mut t = OffsetTracker::new();
        let l = t.assign(0);
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
        let old = t.assign(3);
        t.received(old, 100);
        t.revoke(3);
        assert_eq!(t.done(old, 100), None);
        let new = t.assign(3);
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
        /// However completions are ordered, the watermark only moves forward, never passes an
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
            let lease = t.assign(0);
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
