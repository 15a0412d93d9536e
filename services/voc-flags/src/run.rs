//! One flagger run: refresh the themes, detect, merge with stored flags, write, notify about new
//! ones.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use time::OffsetDateTime;
use voc_store::{Store, StoreError};

use crate::config::FlagConfig;
use crate::detect::{self, Detection, FlagKind, WindowCounts};
use crate::store::{self, Flag, FlagStatus};
use crate::theme_store;

/// Where new flags are announced. Failures are retried and logged; they never block detection.
#[derive(Default)]
pub struct Notifier {
    /// A URL receiving a JSON POST with a Slack-compatible `text` field and the flag.
    pub webhook: Option<String>,
    /// A Kafka topic receiving each new flag as JSON.
    pub kafka: Option<(FutureProducer, String)>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("webhook", &self.webhook.is_some())
            .field("kafka", &self.kafka.as_ref().map(|k| &k.1))
            .finish()
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub detected: usize,
    pub raised: usize,
    pub updated: usize,
}

/// A one-line Japanese title for a detection; topic ids are shown with their display names.
pub fn title(d: &Detection, names: &HashMap<String, String>) -> String {
    let name = |id: &str| {
        names
            .get(id)
            .map(|n| format!("{n} ({id})"))
            .unwrap_or_else(|| id.to_string())
    };
    match d.kind {
        FlagKind::Spike => {
            let mut parts = d.key.split('/');
            let topic = name(parts.next().unwrap_or(""));
            let rest: Vec<&str> = parts.collect();
            let detail = if rest.is_empty() {
                String::new()
            } else {
                format!(" [{}]", rest.join(" / "))
            };
            let terms = if d.terms.is_empty() {
                String::new()
            } else {
                format!(" — 主な語: {}", d.terms.join(" + "))
            };
            format!(
                "急増: {topic}{detail} — {}件 (平常 {:.1}件){terms}",
                d.count, d.baseline
            )
        }
        FlagKind::Emerging => format!(
            "新しい問題の兆し: {} — {}件 (平常 {:.1}件)",
            d.key.replace('+', " + "),
            d.count,
            d.baseline
        ),
        FlagKind::RepeatContact => {
            let (customer, topic) = d.key.split_once('/').unwrap_or((&d.key, ""));
            format!(
                "再問い合わせ: {customer} が {} について {}回",
                name(topic),
                d.count
            )
        }
        FlagKind::Escalation => format!("エスカレーション (上司・外部・公開の示唆): {}", d.key),
        FlagKind::NewTheme => format!(
            "新しいテーマ (ルールの話題外): {} — {}件 (平常 {:.1}件) [{}]",
            theme_label(&d.terms),
            d.count,
            d.baseline,
            d.key
        ),
        FlagKind::Recurring => {
            let (topic, product) = d.key.split_once('/').unwrap_or((&d.key, ""));
            let product = if product.is_empty() {
                String::new()
            } else {
                format!(" [{product}]")
            };
            format!(
                "繰り返す問題: {}{product} — 苦情 {}件、否定的な日が{}日続く",
                name(topic),
                d.count,
                d.baseline
            )
        }
    }
}

/// Up to three top terms joined with `・`, as theme labels are.
fn theme_label(terms: &[String]) -> String {
    terms.iter().take(3).cloned().collect::<Vec<_>>().join("・")
}

/// Detects with the window ending at `now` (the injectable clock), updates the flags table and
/// announces new flags.
pub async fn run_once(
    store: &Store,
    now: OffsetDateTime,
    config: &FlagConfig,
    notifier: &Notifier,
    names: &HashMap<String, String>,
) -> Result<RunReport, StoreError> {
    let themes = theme_store::refresh(store, now, config).await?;
    let mut detections = store::detect_all(store, now, config).await?;
    let windows: Vec<WindowCounts> = themes
        .iter()
        .filter(|t| t.theme.covered_by.is_empty())
        .map(|t| WindowCounts {
            key: t.theme.theme_id.clone(),
            ..t.counts.clone()
        })
        .collect();
    let terms: BTreeMap<String, Vec<String>> = themes
        .iter()
        .map(|t| (t.theme.theme_id.clone(), t.theme.terms.clone()))
        .collect();
    let appear = detect::Thresholds {
        min_ratio: config.themes.new_min_ratio,
        ..config.thresholds()
    };
    let mut fresh = detect::new_themes(&windows, &terms, &appear);
    for d in &mut fresh {
        if let Some(t) = themes.iter().find(|t| t.theme.theme_id == d.key) {
            d.sample_ids = t.latest.clone();
        }
    }
    let (emerging, mut rest): (Vec<Detection>, Vec<Detection>) = detections
        .drain(..)
        .partition(|d| d.kind == FlagKind::Emerging);
    let spikes: Vec<Detection> = rest
        .iter()
        .filter(|d| d.kind == FlagKind::Spike)
        .cloned()
        .collect();
    let existing = store::list(store, None).await?;
    let active_spike = |key: &str| {
        existing
            .iter()
            .any(|f| f.kind == FlagKind::Spike && f.key == key && f.status != FlagStatus::Resolved)
    };
    let (fresh, dropped, emerging) = detect::dedupe_themes(&spikes, fresh, emerging, active_spike);
    rest.retain(|d| !(d.kind == FlagKind::Spike && dropped.contains(&d.key)));
    rest.extend(emerging);
    rest.extend(fresh);
    let detections = rest;
    let (written, raised) = store::merge(&existing, &detections, now, config.window(), |d| {
        title(d, names)
    });
    store::write(store, &written).await?;
    notify(notifier, &raised).await;
    Ok(RunReport {
        detected: detections.len(),
        raised: raised.len(),
        updated: written.len() - raised.len(),
    })
}

/// POSTs a JSON payload to a chat webhook, three attempts with a growing pause; whether it was
/// delivered. Failures are logged (without the URL, which may carry a token).
pub async fn post_webhook(url: &str, payload: String) -> bool {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        for attempt in 0..3u64 {
            let result = ureq::post(&url)
                .config()
                .timeout_global(Some(Duration::from_secs(5)))
                .build()
                .header("Content-Type", "application/json")
                .send(&payload);
            match result {
                Ok(_) => return true,
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "webhook failed");
                    std::thread::sleep(Duration::from_millis(500 * (attempt + 1)));
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

async fn notify(notifier: &Notifier, flags: &[Flag]) {
    for flag in flags {
        let body = serde_json::json!({"text": format!("[voc] {}", flag.title), "flag": flag});
        if let Some(url) = &notifier.webhook
            && !post_webhook(url, body.to_string()).await
        {
            tracing::warn!(flag = %flag.flag_id, "flag webhook gave up; the flag is stored and listed all the same");
        }
        if let Some((producer, topic)) = &notifier.kafka {
            let payload = body.to_string();
            let record = FutureRecord::to(topic)
                .key(flag.flag_id.as_str())
                .payload(&payload);
            if let Err((e, _)) = producer.send(record, Duration::from_secs(10)).await {
                tracing::warn!(error = %e, flag = %flag.flag_id, "flag event not delivered to Kafka");
            }
        }
    }
}
