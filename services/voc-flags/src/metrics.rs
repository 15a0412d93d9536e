//! The flagger's metrics, in the Prometheus text format: runs, failures, flags raised, and when
//! the last run ended. Health is the last run's outcome: a run that could not read or write
//! ClickHouse makes `/health` answer 503 until one succeeds.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct FlaggerMetrics {
    runs: AtomicU64,
    failures: AtomicU64,
    raised: AtomicU64,
    detections: AtomicU64,
    /// Seconds since the epoch when the last successful run ended, and how long it took.
    last_success: AtomicU64,
    last_duration_ms: AtomicU64,
    /// Why the last run failed, while it is the latest run.
    failing: Mutex<Option<String>>,
}

impl FlaggerMetrics {
    /// A run ended well at `at` (seconds since the epoch) after `duration_ms`.
    pub fn succeeded(&self, at: u64, duration_ms: u64, detections: u64, raised: u64) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.detections.fetch_add(detections, Ordering::Relaxed);
        self.raised.fetch_add(raised, Ordering::Relaxed);
        self.last_success.store(at, Ordering::Relaxed);
        self.last_duration_ms.store(duration_ms, Ordering::Relaxed);
        if let Ok(mut f) = self.failing.lock() {
            *f = None;
        }
    }

    /// A run failed; `reason` is shown by `/health` until the next success.
    pub fn failed(&self, reason: &str) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.failing.lock() {
            *f = Some(reason.to_string());
        }
    }

    /// `Err(reason)` while the latest run failed.
    pub fn health(&self) -> Result<(), String> {
        match self.failing.lock().ok().and_then(|f| f.clone()) {
            None => Ok(()),
            Some(reason) => Err(format!("unhealthy: the last flagger run failed: {reason}")),
        }
    }

    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        metric(
            "voc_flagger_runs_total",
            "counter",
            "Flagger runs, successful or not.",
            get(&self.runs).to_string(),
        );
        metric(
            "voc_flagger_run_failures_total",
            "counter",
            "Flagger runs that failed (ClickHouse unreachable or refusing).",
            get(&self.failures).to_string(),
        );
        metric(
            "voc_flagger_detections_total",
            "counter",
            "Detections made by successful runs.",
            get(&self.detections).to_string(),
        );
        metric(
            "voc_flagger_flags_raised_total",
            "counter",
            "New flags raised.",
            get(&self.raised).to_string(),
        );
        metric(
            "voc_flagger_last_success_timestamp_seconds",
            "gauge",
            "When the last successful run ended (0: none yet).",
            get(&self.last_success).to_string(),
        );
        metric(
            "voc_flagger_last_run_duration_seconds",
            "gauge",
            "How long the last successful run took.",
            format!("{:.3}", get(&self.last_duration_ms) as f64 / 1000.0),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_is_unhealthy_until_the_next_success() {
        let m = FlaggerMetrics::default();
        assert!(m.health().is_ok(), "healthy before the first run");
        m.failed("cannot reach ClickHouse");
        assert!(m.health().unwrap_err().contains("cannot reach ClickHouse"));
        m.succeeded(1_790_000_000, 250, 4, 1);
        assert!(m.health().is_ok());
        let text = m.render();
        assert!(text.contains("voc_flagger_runs_total 2"), "{text}");
        assert!(text.contains("voc_flagger_run_failures_total 1"), "{text}");
        assert!(text.contains("voc_flagger_flags_raised_total 1"), "{text}");
        assert!(
            text.contains("voc_flagger_last_run_duration_seconds 0.250"),
            "{text}"
        );
    }
}
