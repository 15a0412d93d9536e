//! The console's reads from ClickHouse (through the read-only user), beyond the flags and themes
//! the flagger's crate already reads.

use serde::{Deserialize, Serialize};
use voc_store::{Store, StoreError};

/// One stored interaction as the console shows it: masked text and its evidence.
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct Verbatim {
    pub interaction_id: String,
    /// Seconds since the epoch.
    pub occurred_at: u32,
    pub channel: String,
    pub product: String,
    pub topics: Vec<String>,
    pub voice_type: String,
    pub sentiment: String,
    pub severity: u8,
    /// The evidence list as JSON.
    pub evidence: String,
    /// Masked customer text: the only text ever stored.
    pub customer_text: String,
}

const VERBATIM: &str = "SELECT interaction_id, toUInt32(occurred_at) AS occurred_at, CAST(channel AS String) AS channel, \
     CAST(product AS String) AS product, CAST(topics AS Array(String)) AS topics, CAST(voice_type AS String) AS voice_type, \
     CAST(sentiment AS String) AS sentiment, severity, evidence, customer_text FROM interactions FINAL";

/// The interactions with these ids, in the given order.
pub async fn verbatims(store: &Store, ids: &[String]) -> Result<Vec<Verbatim>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Verbatim> = store
        .client()
        .query(&format!("{VERBATIM} WHERE has(?, interaction_id)"))
        .bind(ids)
        .fetch_all()
        .await
        .map_err(StoreError::query("sample interactions"))?;
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|r| &r.interaction_id == id).cloned())
        .collect())
}

/// Matches interactions of a topic (any when empty; `(none)`: those without one), binding the topic
/// three times.
const HAS_TOPIC: &str = "(? = '' OR has(topics, ?) OR (? = '(none)' AND empty(topics)))";

/// The complaints about a product (any when empty) and topic (any when empty) in [`since`,
/// `until`), most severe first, then newest.
pub async fn recent_complaints(
    store: &Store,
    product: &str,
    topic: &str,
    since: u32,
    until: u32,
    limit: u32,
) -> Result<Vec<Verbatim>, StoreError> {
    store
        .client()
        .query(&format!(
            "{VERBATIM} WHERE voice_type = 'complaint' AND (? = '' OR product = ?) AND {HAS_TOPIC} AND occurred_at >= toDateTime({since}) AND occurred_at < toDateTime({until}) \
             ORDER BY severity DESC, occurred_at DESC, interaction_id LIMIT {limit}"
        ))
        .bind(product)
        .bind(product)
        .bind(topic)
        .bind(topic)
        .bind(topic)
        .fetch_all()
        .await
        .map_err(StoreError::query("recent complaints"))
}

/// Products seen, by name.
pub async fn products(store: &Store) -> Result<Vec<String>, StoreError> {
    store
        .client()
        // The names in the closed days' counts and the open days' id sets, without merging sets.
        .query(
            "SELECT DISTINCT product FROM (SELECT product FROM volume_hourly_closed UNION ALL SELECT product FROM topic_volume_hourly_state) \
             WHERE product != '' ORDER BY product LIMIT 1000",
        )
        .fetch_all()
        .await
        .map_err(StoreError::query("products"))
}

/// Per local day and topic: interactions and negative ones.
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct TopicDay {
    /// `YYYY-MM-DD`, local.
    pub day: String,
    pub topic: String,
    pub interactions: u64,
    pub negative: u64,
}

/// `offset_s`: the console's offset from UTC, so days are local calendar days whatever the
/// server's time zone.
pub async fn topic_days(
    store: &Store,
    product: &str,
    topic: &str,
    since: u32,
    until: u32,
    offset_s: i64,
) -> Result<Vec<TopicDay>, StoreError> {
    store
        .client()
        .query(&format!(
            "SELECT toString(toDate(intDiv(toInt64(toUInt32(hour)) + {offset_s}, 86400))) AS day, topic, \
             sum(interactions) AS interactions, sum(negative) AS negative \
             FROM topic_volume_hourly WHERE hour >= toDateTime({since}) AND hour < toDateTime({until}) AND (? = '' OR product = ?) AND (? = '' OR topic = ?) \
             GROUP BY day, topic ORDER BY day, topic"
        ))
        .bind(product)
        .bind(product)
        .bind(topic)
        .bind(topic)
        .fetch_all()
        .await
        .map_err(StoreError::query("volume by day and topic"))
}

/// The experience figures of a group of collapsed interactions, named as [`ExperienceDay`] and
/// [`TopicExperience`] name them; averages are NULL where nobody answered.
const EXPERIENCE: &str = "count() AS interactions, countIf(sentiment = 'negative') AS negative, \
     countIf(isNotNull(csat)) AS csat_responses, \
     if(csat_responses = 0, NULL, avgIf(toFloat64(assumeNotNull(csat)), isNotNull(csat))) AS avg_csat, \
     countIf(isNotNull(resolved)) AS resolution_known, \
     if(resolution_known = 0, NULL, avgIf(toFloat64(assumeNotNull(resolved)), isNotNull(resolved))) AS resolution_rate";

/// Per local day: interactions, negative ones, and CSAT and resolution where anyone answered
/// (`None` on days nobody did, so a chart shows a gap, not a zero).
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct ExperienceDay {
    /// `YYYY-MM-DD`, local.
    pub day: String,
    pub interactions: u64,
    pub negative: u64,
    pub csat_responses: u64,
    /// Mean CSAT (1–5).
    pub avg_csat: Option<f64>,
    pub resolution_known: u64,
    /// Share resolved (0–1).
    pub resolution_rate: Option<f64>,
}

/// Experience per local day for a product and topic (all when empty) in [`since`, `until`), from
/// the collapsed interactions (exact after replays). `offset_s` as in [`topic_days`].
pub async fn experience_days(
    store: &Store,
    product: &str,
    topic: &str,
    since: u32,
    until: u32,
    offset_s: i64,
) -> Result<Vec<ExperienceDay>, StoreError> {
    store
        .client()
        .query(&format!(
            "SELECT toString(toDate(intDiv(toInt64(toUInt32(occurred_at)) + {offset_s}, 86400))) AS day, {EXPERIENCE} \
             FROM interactions FINAL WHERE occurred_at >= toDateTime({since}) AND occurred_at < toDateTime({until}) \
             AND (? = '' OR product = ?) AND {HAS_TOPIC} GROUP BY day ORDER BY day"
        ))
        .bind(product)
        .bind(product)
        .bind(topic)
        .bind(topic)
        .bind(topic)
        .fetch_all()
        .await
        .map_err(StoreError::query("experience by day"))
}

/// Per topic over the period: experience figures. Averages are `None` where nobody answered.
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct TopicExperience {
    pub topic: String,
    pub interactions: u64,
    pub negative: u64,
    pub csat_responses: u64,
    pub avg_csat: Option<f64>,
    pub resolution_known: u64,
    pub resolution_rate: Option<f64>,
}

pub async fn topic_experience(
    store: &Store,
    product: &str,
    since: u32,
    until: u32,
) -> Result<Vec<TopicExperience>, StoreError> {
    // From `topic_csat_hourly` (closed days' sums, open days' collapsed interactions), not
    // a year of `interactions FINAL`. By hour, as `topic_days`: `since` is a local midnight, a
    // whole UTC hour, so the period is exact, except on a server whose zone is :30 off UTC, where
    // its hours and so the period's edges move by half an hour.
    store
        .client()
        .query(&format!(
            "SELECT topic, sum(interactions) AS interactions, sum(negative) AS negative, \
             sum(csat_responses) AS csat_responses, \
             if(csat_responses = 0, NULL, sum(csat_sum) / csat_responses) AS avg_csat, \
             sum(resolution_known) AS resolution_known, \
             if(resolution_known = 0, NULL, sum(resolved_contacts) / resolution_known) AS resolution_rate \
             FROM topic_csat_hourly \
             WHERE hour >= toDateTime({since}) AND hour < toDateTime({until}) AND (? = '' OR product = ?) \
             GROUP BY topic HAVING interactions > 0 ORDER BY interactions DESC, topic"
        ))
        .bind(product)
        .bind(product)
        .fetch_all()
        .await
        .map_err(StoreError::query("experience by topic"))
}

/// Keywords rising in the last day against the days before, in complaints-or-not alike.
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct Rising {
    pub keyword: String,
    pub last_day: u64,
    pub before_per_day: f64,
}

pub async fn rising_keywords(
    store: &Store,
    product: &str,
    end: u32,
    days: u32,
) -> Result<Vec<Rising>, StoreError> {
    let start = end.saturating_sub(days.max(2).saturating_mul(86_400));
    let day = end.saturating_sub(86_400);
    store
        .client()
        .query(&format!(
            "SELECT keyword, sumIf(interactions, hour >= toDateTime({day})) AS last_day, \
             sumIf(interactions, hour < toDateTime({day})) / {before} AS before_per_day \
             FROM keyword_hourly WHERE hour >= toDateTime({start}) AND hour < toDateTime({end}) AND (? = '' OR product = ?) \
             GROUP BY keyword HAVING last_day >= 3 AND last_day >= 2 * before_per_day \
             ORDER BY last_day - before_per_day DESC, keyword LIMIT 15",
            before = days.max(2) - 1
        ))
        .bind(product)
        .bind(product)
        .fetch_all()
        .await
        .map_err(StoreError::query("rising keywords"))
}
