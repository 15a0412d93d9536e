//! Reading stored interactions back for a re-tag: which hours hold how many, and the rows of a
//! range of hours, as `interactions FINAL` sees them (the newest analysis of each interaction).

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::rows::InteractionRow;

/// Which stored interactions to read. Times are ClickHouse `DateTime` seconds.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Occurred at or after.
    pub since: Option<u32>,
    /// Occurred before.
    pub until: Option<u32>,
    pub product: Option<String>,
    /// Leave out interactions already tagged by these rules (a resumed or repeated re-tag).
    pub skip_rules_version: Option<String>,
}

impl HistoryFilter {
    /// The conditions, with `?` for the values [`Self::bind`] supplies in the same order.
    fn conditions(&self) -> String {
        let mut c = vec!["1".to_string()];
        if self.since.is_some() {
            c.push("occurred_at >= toDateTime(?)".into());
        }
        if self.until.is_some() {
            c.push("occurred_at < toDateTime(?)".into());
        }
        if self.product.is_some() {
            c.push("product = ?".into());
        }
        if self.skip_rules_version.is_some() {
            c.push("rules_version != ?".into());
        }
        c.join(" AND ")
    }

    fn bind(&self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        if let Some(t) = self.since {
            q = q.bind(t);
        }
        if let Some(t) = self.until {
            q = q.bind(t);
        }
        if let Some(p) = &self.product {
            q = q.bind(p.as_str());
        }
        if let Some(v) = &self.skip_rules_version {
            q = q.bind(v.as_str());
        }
        q
    }
}

/// Numbers as the inside of an SQL `IN (…)` list.
pub(crate) fn sql_list(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Interactions stored in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct HourCount {
    /// Start of the hour, seconds since the epoch.
    pub hour: u32,
    pub interactions: u64,
}

/// The hours holding matching interactions, oldest first, with how many each holds.
pub async fn hour_counts(
    store: &Store,
    filter: &HistoryFilter,
) -> Result<Vec<HourCount>, StoreError> {
    let sql = format!(
        "SELECT toUInt32(toStartOfHour(occurred_at)) AS hour, count() AS interactions \
         FROM interactions FINAL WHERE {} GROUP BY hour ORDER BY hour",
        filter.conditions()
    );
    filter
        .bind(store.client().query(&sql))
        .fetch_all()
        .await
        .map_err(|source| StoreError::Query {
            what: "count stored interactions per hour".into(),
            source,
        })
}

/// Every column of `interactions`; LowCardinality cast to String so old and new servers send the
/// same row format.
const COLUMNS: &str = "interaction_id, occurred_at, ingested_at, CAST(channel AS String) AS channel, \
    CAST(product AS String) AS product, CAST(queue AS String) AS queue, customer_id, agent_id, \
    CAST(topics AS Array(String)) AS topics, CAST(voice_type AS String) AS voice_type, complaint_type, \
    CAST(sentiment AS String) AS sentiment, sentiment_score, severity, churn_risk, keywords, evidence, \
    customer_text, pii_masked, truncated, csat, nps, ces, resolved, handle_time_s, wait_time_s, \
    CAST(rules_version AS String) AS rules_version, version";

/// The matching interactions that occurred in the given hours (hour starts as the server
/// computes them), oldest first. Only those hours: data that arrived since they were counted in
/// an hour between them belongs to another chunk.
pub async fn rows_in_hours(
    store: &Store,
    filter: &HistoryFilter,
    hours: &[u32],
) -> Result<Vec<InteractionRow>, StoreError> {
    let (Some(from), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(Vec::new());
    };
    let list = sql_list(hours);
    let sql = format!(
        "SELECT {COLUMNS} FROM interactions FINAL \
         WHERE occurred_at >= toDateTime(?) AND occurred_at < toDateTime(?) \
         AND toUInt32(toStartOfHour(occurred_at)) IN ({list}) AND {} \
         ORDER BY occurred_at, interaction_id",
        filter.conditions()
    );
    filter
        .bind(
            store
                .client()
                .query(&sql)
                .bind(*from)
                .bind(last.saturating_add(3600)),
        )
        .fetch_all()
        .await
        .map_err(|source| StoreError::Query {
            what: "read stored interactions".into(),
            source,
        })
}
