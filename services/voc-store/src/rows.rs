//! The `interactions` row: a domain analysis turned into what ClickHouse stores.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_core::mask::{mask_identifier, mask_key};
use voc_core::{Analysis, Interaction, Sentiment, Tags, VoiceType};

/// One row of `interactions` (column names as in `schemas/clickhouse/0001_interactions.sql`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct InteractionRow {
    pub interaction_id: String,
    /// Seconds since the epoch (ClickHouse `DateTime`).
    pub occurred_at: u32,
    pub ingested_at: u32,
    pub channel: String,
    pub product: String,
    pub queue: String,
    pub customer_id: String,
    pub agent_id: String,
    pub topics: Vec<String>,
    pub voice_type: VoiceType,
    pub complaint_type: Option<String>,
    pub sentiment: Sentiment,
    pub sentiment_score: f32,
    pub severity: u8,
    pub churn_risk: u8,
    pub keywords: Vec<String>,
    /// The evidence list as JSON.
    pub evidence: String,
    pub customer_text: String,
    pub pii_masked: u16,
    pub truncated: u8,
    pub csat: Option<f32>,
    pub nps: Option<f32>,
    pub ces: Option<f32>,
    pub resolved: Option<u8>,
    pub handle_time_s: Option<f32>,
    pub wait_time_s: Option<f32>,
    pub rules_version: String,
    /// Analysis time in milliseconds: the newest analysis of an interaction wins.
    pub version: u64,
}

/// ClickHouse `DateTime` seconds of a time (clamped to its range).
pub fn epoch_seconds(t: OffsetDateTime) -> u32 {
    u32::try_from(t.unix_timestamp().max(0)).unwrap_or(u32::MAX)
}

/// ClickHouse `DateTime` seconds as RFC 3339 (UTC); empty if out of range.
pub fn rfc3339(secs: u32) -> String {
    OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn version_of(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// Free-text identifiers are masked too: a producer may put a phone number where an id belongs.
fn masked(s: Option<&String>) -> String {
    s.map(|v| mask_identifier(v)).unwrap_or_default()
}

impl InteractionRow {
    pub fn new(msg: &Interaction, analysis: &Analysis, analysed_at: OffsetDateTime) -> Self {
        let m = &msg.metrics;
        let f = |v: Option<f64>| v.map(|x| x as f32);
        let mut row = Self {
            interaction_id: mask_key(&msg.interaction_id),
            occurred_at: epoch_seconds(msg.occurred_at),
            ingested_at: epoch_seconds(analysed_at),
            channel: msg.channel.as_str().to_string(),
            product: masked(msg.product.as_ref()),
            queue: masked(msg.queue.as_ref()),
            customer_id: masked(msg.customer_id.as_ref()),
            agent_id: masked(msg.agent_id.as_ref()),
            topics: Vec::new(),
            voice_type: VoiceType::Other,
            complaint_type: None,
            sentiment: Sentiment::Neutral,
            sentiment_score: 0.0,
            severity: 0,
            churn_risk: 0,
            keywords: Vec::new(),
            evidence: String::new(),
            customer_text: String::new(),
            pii_masked: 0,
            truncated: u8::from(msg.truncated),
            csat: f(m.csat),
            nps: f(m.nps),
            ces: f(m.ces),
            resolved: m.resolved.map(u8::from),
            handle_time_s: f(m.handle_time_s),
            wait_time_s: f(m.wait_time_s),
            rules_version: String::new(),
            version: version_of(analysed_at),
        };
        row.set_analysis(analysis);
        row.pii_masked = u16::try_from(analysis.pii_masked).unwrap_or(u16::MAX);
        row
    }

    fn set_analysis(&mut self, analysis: &Analysis) {
        let t = &analysis.tags;
        self.topics = t.topics.clone();
        self.voice_type = t.voice_type;
        self.complaint_type = t.complaint_type.clone();
        self.sentiment = t.sentiment;
        self.sentiment_score = t.sentiment_score as f32;
        self.severity = t.severity;
        self.churn_risk = u8::from(t.churn_risk);
        self.keywords = t.keywords.clone();
        self.evidence = serde_json::to_string(&t.evidence).unwrap_or_else(|_| "[]".into());
        self.customer_text = analysis.customer_text.clone();
        self.rules_version = t.rules_version.clone();
    }

    /// The same interaction with a new analysis of its stored text (`voc retag`): everything
    /// else is kept, and the version is newer than the stored one so it replaces it.
    pub fn retagged(&self, analysis: &Analysis, at: OffsetDateTime) -> Self {
        let mut row = self.clone();
        row.set_analysis(analysis);
        row.pii_masked = self
            .pii_masked
            .saturating_add(u16::try_from(analysis.pii_masked).unwrap_or(u16::MAX));
        row.version = version_of(at).max(self.version.saturating_add(1));
        row
    }

    /// The tags as stored, in the `voc tag` shape.
    pub fn stored_tags(&self) -> Tags {
        Tags {
            interaction_id: self.interaction_id.clone(),
            topics: self.topics.clone(),
            voice_type: self.voice_type,
            complaint_type: self.complaint_type.clone(),
            sentiment: self.sentiment,
            sentiment_score: f64::from(self.sentiment_score),
            severity: self.severity,
            churn_risk: self.churn_risk != 0,
            keywords: self.keywords.clone(),
            evidence: serde_json::from_str(&self.evidence).unwrap_or_default(),
            rules_version: self.rules_version.clone(),
        }
    }

    /// Rough size on the wire, for byte-bounded batches.
    pub fn approx_bytes(&self) -> usize {
        128 + self.interaction_id.len()
            + self.customer_text.len()
            + self.evidence.len()
            + self
                .topics
                .iter()
                .chain(&self.keywords)
                .map(|s| s.len() + 1)
                .sum::<usize>()
            + self.product.len()
            + self.customer_id.len()
    }
}
