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

/// Where new and assigned flags are announced. Failures are retried and logged; they never block
/// detection or the action.
#[derive(Default)]
pub struct Notifier {
    /// A URL receiving a JSON POST with a Slack-compatible `text` field and the flag.
    pub webhook: Option<String>,
    /// A Kafka topic receiving each new flag as JSON.
    pub kafka_topic: Option<String>,
    /// The producer for `kafka_topic` and the teams' topics (none when no topic is set).
    pub producer: Option<FutureProducer>,
    /// Owning teams (`[teams]`): a new flag also goes to the webhook and Kafka topic of every team
    /// that owns its topic, product or theme; an assigned flag to its new team's.
    pub teams: BTreeMap<String, crate::digest::Team>,
    /// The console's public URL (`flags.console_url`), for a link to the flag in the message.
    pub console_url: Option<String>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("webhook", &self.webhook.is_some())
            .field("kafka_topic", &self.kafka_topic)
            .field("teams", &self.teams.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Notifier {
    /// Whether any team or the flagger itself publishes to Kafka (so a producer is needed).
    pub fn wants_kafka(
        kafka_topic: Option<&str>,
        teams: &BTreeMap<String, crate::digest::Team>,
    ) -> bool {
        kafka_topic.is_some() || teams.values().any(|t| t.kafka_topic.is_some())
    }

    /// Sends one flag message to the general channels (when `general`) and to each named team's
    /// webhook and Kafka topic. The JSON carries `text`, the flag and, per team, `team`.
    pub async fn deliver(&self, flag: &Flag, text: &str, general: bool, teams: &[&str]) {
        let body = serde_json::json!({"text": text, "flag": flag});
        let mut targets: Vec<(&str, Option<&str>, Option<&str>)> = Vec::new();
        if general {
            targets.push(("", self.webhook.as_deref(), self.kafka_topic.as_deref()));
        }
        for team in teams {
            let Some(t) = self.teams.get(*team) else {
                continue;
            };
            // A team without its own webhook hears on the general one (as its digest does),
            // unless this message already went there.
            let url = t
                .webhook_url
                .as_deref()
                .or(self.webhook.as_deref().filter(|_| !general));
            if url.is_none() && t.kafka_topic.is_none() && !general {
                tracing::warn!(flag = %flag.flag_id, team, "the team has no webhook_url or kafka_topic, and flags.webhook_url is unset: nobody was told");
            }
            targets.push((team, url, t.kafka_topic.as_deref()));
        }
        for (team, url, topic) in targets {
            let mut body = body.clone();
            if !team.is_empty() {
                body["team"] = (*team).into();
            }
            let payload = body.to_string();
            if let Some(url) = url
                && !post_webhook(url, payload.clone()).await
            {
                tracing::warn!(flag = %flag.flag_id, team, "flag webhook gave up; the flag is stored and listed all the same");
            }
            if let (Some(topic), Some(producer)) = (topic, &self.producer) {
                let record = FutureRecord::to(topic)
                    .key(flag.flag_id.as_str())
                    .payload(&payload);
                if let Err((e, _)) = producer.send(record, Duration::from_secs(10)).await {
                    tracing::warn!(error = %e, flag = %flag.flag_id, team, "flag event not delivered to Kafka");
                }
            }
        }
    }

    /// Tells `flag.team` that `by` assigned the flag to it.
    pub async fn assigned(&self, store: &Store, flag: &Flag, by: &str) {
        let sample = sample_sentences(store, std::slice::from_ref(flag)).await;
        let first = flag.sample_ids.first().and_then(|id| sample.get(id));
        let text = format!(
            "[voc] → {} ({by})\n{}",
            flag.team,
            message(flag, first.map(String::as_str), self.console_url.as_deref())
        );
        self.deliver(flag, &text, false, &[flag.team.as_str()])
            .await;
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
    let topic_share = |theme_id: &str, topic: &str| {
        themes
            .iter()
            .find(|t| t.theme.theme_id == theme_id)
            .map_or(0.0, |t| t.theme.topic_share(topic))
    };
    let (fresh, dropped, emerging) =
        detect::dedupe_themes(&spikes, fresh, emerging, active_spike, topic_share);
    rest.retain(|d| !(d.kind == FlagKind::Spike && dropped.contains(&d.key)));
    rest.extend(emerging);
    rest.extend(fresh);
    let detections = rest;
    let theme_topic: HashMap<String, String> = themes
        .iter()
        .filter_map(|t| Some((t.theme.theme_id.clone(), t.theme.topics.first()?.clone())))
        .collect();
    let sample_ids: Vec<String> = detections
        .iter()
        .flat_map(|d| d.sample_ids.iter().cloned())
        .collect();
    let channels = store::channels_of(store, &sample_ids).await?;
    let (written, raised) = store::merge(
        &existing,
        &detections,
        now,
        config.window(),
        |d| title(d, names),
        |d| {
            crate::digest::sole_owner(d.kind, &d.key, &theme_topic, &notifier.teams)
                .unwrap_or_default()
                .to_string()
        },
        &channels,
    );
    store::write(store, &written).await?;
    let first_sentences = sample_sentences(store, &raised).await;
    notify(notifier, &raised, &theme_topic, &first_sentences).await;
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

/// The first sentence (at most 60 characters) of each new flag's first sample, masked as stored.
async fn sample_sentences(store: &Store, flags: &[Flag]) -> HashMap<String, String> {
    let ids: Vec<String> = flags
        .iter()
        .filter_map(|f| f.sample_ids.first().cloned())
        .collect();
    let texts = crate::theme_store::masked_texts(store, &ids)
        .await
        .unwrap_or_default();
    texts
        .into_iter()
        .map(|(id, text)| {
            let end = text.find(['。', '\n', '!', '?']).map_or(text.len(), |i| {
                i + text[i..].chars().next().map_or(0, char::len_utf8)
            });
            (id, text[..end].chars().take(60).collect())
        })
        .collect()
}

/// The chat text of a new flag: its title, id, product, one masked sample sentence and a link.
pub fn message(flag: &Flag, sample: Option<&str>, console_url: Option<&str>) -> String {
    let mut text = format!("[voc] {} ({})", flag.title, flag.flag_id);
    if let Some(product) = flag
        .key
        .split('/')
        .nth(if flag.kind == FlagKind::Spike { 2 } else { 1 })
        .filter(|_| matches!(flag.kind, FlagKind::Spike | FlagKind::Recurring))
    {
        text.push_str(&format!(" product: {product}"));
    }
    if let Some(s) = sample.filter(|s| !s.is_empty()) {
        text.push_str(&format!("\n> {s}"));
    }
    if let Some(url) = console_url {
        text.push_str(&format!(
            "\n{}/flags/{}",
            url.trim_end_matches('/'),
            flag.flag_id
        ));
    }
    text
}

async fn notify(
    notifier: &Notifier,
    flags: &[Flag],
    theme_topic: &HashMap<String, String>,
    samples: &HashMap<String, String>,
) {
    for flag in flags {
        let sample = flag
            .sample_ids
            .first()
            .and_then(|id| samples.get(id))
            .map(String::as_str);
        let text = message(flag, sample, notifier.console_url.as_deref());
        let owners = crate::digest::owners(flag.kind, &flag.key, theme_topic, &notifier.teams);
        notifier.deliver(flag, &text, true, &owners).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_flag_its_product_a_masked_sentence_and_the_console_link() {
        let flag = Flag {
            flag_id: "spike-1".into(),
            kind: FlagKind::Spike,
            key: "account_login/quality/mobile-app".into(),
            status: crate::store::FlagStatus::Open,
            title: "急増".into(),
            score: 5.0,
            window_start: 0,
            window_end: 0,
            count: 9,
            baseline: 1.0,
            sample_ids: vec![],
            created_at: 0,
            updated_at: 0,
            acked_by: String::new(),
            note: String::new(),
            version: 1,
            team: String::new(),
            channels: vec![],
        };
        let text = message(
            &flag,
            Some("認証コードが届きません。"),
            Some("https://voc.example/"),
        );
        assert!(
            text.contains("spike-1") && text.contains("product: mobile-app"),
            "{text}"
        );
        assert!(text.contains("> 認証コードが届きません。"));
        assert!(text.ends_with("https://voc.example/flags/spike-1"));
    }
}
