//! `[flags]`: when the flagger runs, what it compares, how surprising a count must be, and where
//! new flags are sent. The defaults are written here and nowhere else.

use serde::{Deserialize, Serialize, Serializer};
use time::Duration;

use crate::detect::{Recurrence, Thresholds};
use crate::themes::ThemeConfig;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlagConfig {
    /// Seconds between flagger runs.
    pub interval_s: u64,
    /// The recent window compared with the same hours of the baseline days (1–24).
    pub window_hours: i64,
    pub baseline_days: u32,
    /// A repeat contact is the same customer and topic again within this many days.
    pub repeat_days: u32,
    /// See [`Thresholds`]: minimum count, Poisson z-score and ratio to the expected count.
    pub min_count: u64,
    pub min_score: f64,
    pub min_ratio: f64,
    /// POST new flags here as JSON with a Slack-compatible `text` field.
    #[serde(serialize_with = "redact_opt")]
    pub webhook_url: Option<String>,
    /// Publish new flags to this Kafka topic as JSON.
    pub kafka_topic: Option<String>,
    /// The console's public URL: new-flag messages link to the flag there.
    pub console_url: Option<String>,
    /// `host:port` of the flagger's /metrics and /health; empty to disable. Loopback unless set
    /// otherwise.
    pub metrics_addr: String,
    /// A topic (or topic × product) is a recurring problem when its complaints reach
    /// `recurring_min_daily` with at least `recurring_negative_share` negative on
    /// `recurring_days` of the last `recurring_of_days` days.
    pub recurring_days: u32,
    pub recurring_of_days: u32,
    pub recurring_min_daily: u64,
    pub recurring_negative_share: f64,
    /// At most this many recurring problems, the strongest: a centre where every topic has daily
    /// complaints should see its worst few, not all of them.
    pub recurring_max: usize,
    /// `[flags.themes]`: discovered themes.
    pub themes: ThemeConfig,
}

impl Default for FlagConfig {
    fn default() -> Self {
        let t = Thresholds::default();
        Self {
            interval_s: 300,
            window_hours: 3,
            baseline_days: 7,
            repeat_days: 3,
            min_count: t.min_count,
            min_score: t.min_score,
            min_ratio: t.min_ratio,
            webhook_url: None,
            kafka_topic: None,
            console_url: None,
            metrics_addr: "127.0.0.1:9465".into(),
            recurring_days: 5,
            recurring_of_days: 7,
            recurring_min_daily: 3,
            recurring_negative_share: 0.5,
            recurring_max: 5,
            themes: ThemeConfig::default(),
        }
    }
}

impl FlagConfig {
    pub fn window(&self) -> Duration {
        Duration::hours(self.window_hours)
    }

    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            min_count: self.min_count,
            min_score: self.min_score,
            min_ratio: self.min_ratio,
            ..Thresholds::default()
        }
    }

    pub fn recurrence(&self) -> Recurrence {
        Recurrence {
            days: self.recurring_days,
            of_days: self.recurring_of_days,
            min_daily: self.recurring_min_daily,
            negative_share: self.recurring_negative_share,
        }
    }

    /// Checks serde cannot express; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=24).contains(&self.window_hours) || self.baseline_days == 0 {
            return Err("flags: window_hours must be 1..=24 and baseline_days at least 1".into());
        }
        if self.recurring_days == 0
            || self.recurring_days > self.recurring_of_days
            || !(0.0..=1.0).contains(&self.recurring_negative_share)
        {
            return Err("flags: recurring_days must be 1..=recurring_of_days and recurring_negative_share a share in 0..=1".into());
        }
        self.themes.validate()
    }
}

/// A webhook URL often carries a token: shown as set or not, never its value.
pub(crate) fn redact_opt<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("(set)"),
        None => s.serialize_none(),
    }
}
