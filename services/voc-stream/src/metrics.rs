//! Worker metrics, named `voc_<stage>_<thing>_<unit>`, with low-cardinality labels (reason codes
//! and partitions), rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use voc_core::RejectReason;

/// Bucket bounds (seconds) of the batch insert latency histogram.
const LATENCY_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Metrics {
    pub consumed: AtomicU64,
    pub consumed_bytes: AtomicU64,
    pub tagged: AtomicU64,
    pub rows_written: AtomicU64,
    pub batches_written: AtomicU64,
    /// Shared with the batch writer, which counts each failed attempt as it happens.
    pub insert_retries: std::sync::Arc<AtomicU64>,
    pub dead_lettered: AtomicU64,
    pub dlq_retries: AtomicU64,
    pub dropped_revoked: AtomicU64,
    /// Partitions this worker holds now, and rebalances that changed them.
    pub assigned_partitions: AtomicU64,
    pub rebalances: AtomicU64,
    pub paused: AtomicBool,
    pub clickhouse_healthy: std::sync::Arc<AtomicBool>,
    pub kafka_healthy: AtomicBool,
    rejected: Mutex<BTreeMap<RejectReason, u64>>,
    lag: Mutex<BTreeMap<i32, i64>>,
    latency: Mutex<(Vec<u64>, f64, u64)>,
}

impl Metrics {
    pub fn new() -> Self {
        let m = Self::default();
        m.clickhouse_healthy.store(true, Ordering::Relaxed);
        m.kafka_healthy.store(true, Ordering::Relaxed);
        m
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn rejected(&self, code: RejectReason) {
        if let Ok(mut r) = self.rejected.lock() {
            *r.entry(code).or_default() += 1;
        }
    }

    /// Messages rejected so far, by reason.
    pub fn rejected_by_reason(&self) -> BTreeMap<RejectReason, u64> {
        self.rejected.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.lock().map(|r| r.values().sum()).unwrap_or(0)
    }

    pub fn set_lag(&self, lag: BTreeMap<i32, i64>) {
        if let Ok(mut l) = self.lag.lock() {
            *l = lag;
        }
    }

    pub fn observe_batch_seconds(&self, seconds: f64) {
        if let Ok(mut h) = self.latency.lock() {
            if h.0.is_empty() {
                h.0 = vec![0; LATENCY_BUCKETS.len()];
            }
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.0[i] += 1;
                }
            }
            h.1 += seconds;
            h.2 += 1;
        }
    }

    pub fn healthy(&self) -> bool {
        self.clickhouse_healthy.load(Ordering::Relaxed)
            && self.kafka_healthy.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            "voc_source_messages_total",
            "Messages consumed from the input topic.",
            get(&self.consumed),
        );
        counter(
            "voc_source_bytes_total",
            "Bytes of message values consumed.",
            get(&self.consumed_bytes),
        );
        counter(
            "voc_analysis_tagged_total",
            "Interactions analysed and tagged.",
            get(&self.tagged),
        );
        counter(
            "voc_sink_rows_written_total",
            "Rows acknowledged by ClickHouse.",
            get(&self.rows_written),
        );
        counter(
            "voc_sink_batches_written_total",
            "Batches acknowledged by ClickHouse.",
            get(&self.batches_written),
        );
        counter(
            "voc_sink_insert_retries_total",
            "Failed insert attempts (each retried).",
            get(&self.insert_retries),
        );
        counter(
            "voc_dlq_messages_total",
            "Messages sent to the dead-letter topic.",
            get(&self.dead_lettered),
        );
        counter(
            "voc_dlq_retries_total",
            "Failed dead-letter deliveries (each retried).",
            get(&self.dlq_retries),
        );
        counter(
            "voc_source_revoked_dropped_total",
            "In-flight messages dropped because their partition was revoked.",
            get(&self.dropped_revoked),
        );
        counter(
            "voc_source_rebalances_total",
            "Rebalances that assigned or revoked partitions of this worker.",
            get(&self.rebalances),
        );
        let _ = writeln!(
            out,
            "# HELP voc_source_assigned_partitions Partitions of the input topic this worker holds.\n# TYPE voc_source_assigned_partitions gauge\nvoc_source_assigned_partitions {}",
            get(&self.assigned_partitions)
        );
        let _ = writeln!(
            out,
            "# HELP voc_source_rejected_total Messages rejected to the dead-letter topic, by reason.\n# TYPE voc_source_rejected_total counter"
        );
        if let Ok(r) = self.rejected.lock() {
            for (code, n) in r.iter() {
                let _ = writeln!(out, "voc_source_rejected_total{{reason=\"{code}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP voc_source_consumer_lag_messages Messages behind the end of each partition.\n# TYPE voc_source_consumer_lag_messages gauge"
        );
        if let Ok(l) = self.lag.lock() {
            for (p, lag) in l.iter() {
                let _ = writeln!(
                    out,
                    "voc_source_consumer_lag_messages{{partition=\"{p}\"}} {lag}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP voc_sink_batch_duration_seconds Time from first insert attempt to acknowledgement.\n# TYPE voc_sink_batch_duration_seconds histogram"
        );
        if let Ok(h) = self.latency.lock() {
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "voc_sink_batch_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                    h.0.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                out,
                "voc_sink_batch_duration_seconds_bucket{{le=\"+Inf\"}} {}\nvoc_sink_batch_duration_seconds_sum {}\nvoc_sink_batch_duration_seconds_count {}",
                h.2, h.1, h.2
            );
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: bool| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                u8::from(v)
            );
        };
        gauge(
            &mut out,
            "voc_source_paused",
            "1 while input is paused because the pipeline is full.",
            self.paused.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "voc_sink_clickhouse_up",
            "0 while ClickHouse refuses inserts.",
            self.clickhouse_healthy.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "voc_source_kafka_up",
            "0 while the broker cannot be reached.",
            self.kafka_healthy.load(Ordering::Relaxed),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_labels_and_histogram() {
        let m = Metrics::new();
        Metrics::add(&m.consumed, 3);
        m.rejected(RejectReason::InvalidJson);
        m.rejected(RejectReason::InvalidJson);
        m.set_lag([(0, 5), (1, 0)].into_iter().collect());
        m.observe_batch_seconds(0.2);
        let text = m.render();
        assert!(text.contains("voc_source_messages_total 3"));
        assert!(text.contains("voc_source_rejected_total{reason=\"invalid_json\"} 2"));
        assert!(text.contains("voc_source_consumer_lag_messages{partition=\"0\"} 5"));
        assert!(text.contains("voc_sink_batch_duration_seconds_bucket{le=\"0.25\"} 1"));
        assert!(text.contains("voc_sink_batch_duration_seconds_bucket{le=\"0.1\"} 0"));
        assert_eq!(m.rejected_total(), 2);
    }
}
