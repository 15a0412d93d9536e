//! Themes' ClickHouse side: the window's interactions in, `themes` and `theme_members` out.
//!
//! One refresh per flagger run: cluster the sliding window ([`themes::discover`]), give the clusters
//! the ids of the stored themes they continue ([`themes::assign_ids`]), write every theme's new
//! state, and write membership rows only where an interaction's theme changed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_store::rows::epoch_seconds as secs;
use voc_store::{Store, StoreError};

use crate::config::FlagConfig;
use crate::detect::{self, WindowCounts};
use crate::themes::{self, Corpus, Known};

voc_core::closed_set! {
    /// Where a theme is: found in the last run, absorbed by another, or no longer found.
    pub enum ThemeStatus("theme status") {
        Active = "active",
        Merged = "merged",
        Gone = "gone",
    }
}

/// A theme as stored and listed (`voc themes list --json` prints these fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Theme {
    pub theme_id: String,
    /// Its top terms joined with `・`.
    pub label: String,
    /// Its terms, most used first, and how many members use each.
    pub terms: Vec<String>,
    pub term_counts: Vec<u64>,
    /// Member interactions in the window.
    pub size: u64,
    /// Rule topics among the members, most frequent first, with their counts.
    pub topics: Vec<String>,
    pub topic_counts: Vec<u64>,
    /// The rule topic most members carry when it covers the theme (`[flags.themes] covered_share`),
    /// else empty: a problem the taxonomy does not name.
    pub covered_by: String,
    /// Members that share the most terms with the theme.
    pub sample_ids: Vec<String>,
    pub status: ThemeStatus,
    pub merged_into: String,
    pub split_from: String,
    /// Seconds since the epoch.
    pub first_seen: u32,
    pub last_seen: u32,
    pub version: u64,
}

/// A theme found by this run, with its counts for the new-theme detector.
#[derive(Debug, Clone)]
pub struct ThemeWindow {
    pub theme: Theme,
    /// Members in the recent hours, and per baseline day in the same hours.
    pub counts: WindowCounts,
    /// The latest members, newest first (at most five).
    pub latest: Vec<String>,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct WindowRow {
    interaction_id: String,
    at: u32,
    keywords: Vec<String>,
    topics: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct Member {
    interaction_id: String,
    theme_id: String,
    occurred_at: u32,
    version: u64,
}

/// Seconds the themes look back from `now`: the theme window or the baseline days, whichever is
/// longer, plus the recent hours (so every baseline day has its same hours).
pub fn lookback_s(c: &FlagConfig) -> i64 {
    i64::from(c.themes.window_days.max(c.baseline_days)) * 86_400
        + i64::from(c.themes.recent_hours) * 3_600
}

/// Re-clusters the window ending at `now` and stores the result. Returns the active themes.
pub async fn refresh(
    store: &Store,
    now: OffsetDateTime,
    c: &FlagConfig,
) -> Result<Vec<ThemeWindow>, StoreError> {
    let end = secs(now);
    let start = end.saturating_sub(u32::try_from(lookback_s(c)).unwrap_or(u32::MAX));
    let client = store.client();

    let mut corpus = Corpus::default();
    let mut rows = client
        .query(&format!(
            "SELECT interaction_id, toUInt32(occurred_at) AS at, keywords, CAST(topics AS Array(String)) AS topics \
             FROM interactions FINAL WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})"
        ))
        .fetch::<WindowRow>()
        .map_err(StoreError::query("theme window"))?;
    while let Some(r) = rows
        .next()
        .await
        .map_err(StoreError::query("theme window"))?
    {
        corpus.push(
            &r.interaction_id,
            r.at,
            r.keywords.iter().map(String::as_str),
            r.topics,
        );
    }
    if corpus.is_empty() {
        // Nothing in the window (ingest lag, an outage): keep the themes as they are rather than
        // declaring every one gone.
        return Ok(Vec::new());
    }
    // Up to seconds of CPU on a large window: off the async workers. A panic in it stays a panic,
    // as it would be inline.
    let config = c.themes.clone();
    let (corpus, clusters) = tokio::task::spawn_blocking(move || {
        let clusters = themes::discover(&corpus, &config);
        (corpus, clusters)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    // Themes that can be continued: active ones, and those gone within the theme window (a theme
    // that dipped below the minimum size for a run keeps its id when it comes back).
    let stored = list(store).await?;
    let by_id: HashMap<&str, &Theme> = stored.iter().map(|t| (t.theme_id.as_str(), t)).collect();
    let recent = end.saturating_sub(c.themes.window_days.saturating_mul(86_400));
    let known: Vec<Known> = stored
        .iter()
        .filter(|t| {
            t.status == ThemeStatus::Active
                || (t.status == ThemeStatus::Gone && t.last_seen >= recent)
        })
        .map(|t| Known {
            id: t.theme_id.clone(),
            core: themes::core(
                &t.terms
                    .iter()
                    .cloned()
                    .zip(t.term_counts.iter().copied())
                    .collect::<Vec<_>>(),
                t.size,
            ),
        })
        .collect();
    let lineage = themes::assign_ids(&known, &clusters, c.themes.match_overlap);
    let totals = corpus.topic_totals();
    let version = u64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(0);
    let next_version = |id: &str| {
        by_id
            .get(id)
            .map_or(version, |t| version.max(t.version + 1))
    };

    let mut written: Vec<Theme> = Vec::new();
    let mut found = Vec::new();
    let mut assigned: HashMap<&str, &str> = HashMap::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let id = lineage.ids[i].as_str();
        let before = by_id.get(id);
        let theme = Theme {
            theme_id: id.to_string(),
            label: cluster.label(),
            terms: cluster.terms.iter().map(|(t, _)| t.clone()).collect(),
            term_counts: cluster.terms.iter().map(|(_, n)| *n).collect(),
            size: cluster.members.len() as u64,
            topics: cluster.topics.iter().map(|(t, _)| t.clone()).collect(),
            topic_counts: cluster.topics.iter().map(|(_, n)| *n).collect(),
            covered_by: cluster
                .covered_by(c.themes.covered_share, &totals)
                .unwrap_or("")
                .to_string(),
            sample_ids: cluster
                .samples
                .iter()
                .map(|&d| corpus.id(d).to_string())
                .collect(),
            status: ThemeStatus::Active,
            merged_into: String::new(),
            // Where it split off stays recorded in the runs after the split.
            split_from: lineage.split_from[i]
                .clone()
                .or_else(|| before.map(|t| t.split_from.clone()))
                .unwrap_or_default(),
            first_seen: before.map_or(end, |t| t.first_seen),
            last_seen: end,
            version: next_version(id),
        };
        for &d in &cluster.members {
            assigned.insert(corpus.id(d), id);
        }
        let days: Vec<(String, u32, u64)> =
            themes::member_days(&corpus, &cluster.members, end, c.themes.recent_hours * 3600)
                .into_iter()
                .map(|day| (id.to_string(), day, 1))
                .collect();
        found.push(ThemeWindow {
            counts: detect::window_counts(&days, c.baseline_days)
                .pop()
                .unwrap_or(WindowCounts {
                    key: id.to_string(),
                    count: 0,
                    baseline: vec![0; c.baseline_days as usize],
                }),
            latest: cluster
                .latest(&corpus, 5)
                .into_iter()
                .map(|d| corpus.id(d).to_string())
                .collect(),
            theme: theme.clone(),
        });
        written.push(theme);
    }
    let mut merges: Vec<(&str, &str)> = Vec::new();
    for t in &stored {
        if t.status != ThemeStatus::Active || lineage.ids.contains(&t.theme_id) {
            continue;
        }
        let merged_into = lineage
            .merged
            .iter()
            .find(|(old, _)| *old == t.theme_id)
            .map(|(old, into)| (old.as_str(), into.as_str()));
        merges.extend(merged_into);
        written.push(Theme {
            status: if merged_into.is_some() {
                ThemeStatus::Merged
            } else {
                ThemeStatus::Gone
            },
            merged_into: merged_into.map(|m| m.1.to_string()).unwrap_or_default(),
            version: next_version(&t.theme_id),
            ..t.clone()
        });
    }
    insert(store, "themes", &written).await?;

    // Membership: only the interactions whose theme changed, each with a version above the one it
    // has (a run with an earlier clock, or a second flagger, must still win).
    let mut before: HashMap<String, (String, u64)> = HashMap::new();
    let mut rows = client
        .query(&format!(
            "SELECT interaction_id, theme_id, version FROM theme_members FINAL \
             WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end}) AND theme_id != ''"
        ))
        .fetch::<(String, String, u64)>()
        .map_err(StoreError::query("theme members"))?;
    while let Some((id, theme, v)) = rows
        .next()
        .await
        .map_err(StoreError::query("theme members"))?
    {
        before.insert(id, (theme, v));
    }
    let changes: Vec<Member> = themes::membership_changes(&corpus, &assigned, &before)
        .into_iter()
        .map(|(d, theme_id)| Member {
            interaction_id: corpus.id(d).to_string(),
            theme_id: theme_id.to_string(),
            occurred_at: corpus.time(d),
            version: before
                .get(corpus.id(d))
                .map_or(version, |(_, v)| version.max(v + 1)),
        })
        .collect();
    insert(store, "theme_members", &changes).await?;
    // Members of a merged theme that are older than the window follow it into its new theme, so
    // trends and FAQ growth count them under one id.
    for (old, into) in merges {
        client
            .query(&format!(
                "INSERT INTO theme_members (interaction_id, theme_id, occurred_at, version) \
                 SELECT interaction_id, ?, occurred_at, greatest(version + 1, {version}) \
                 FROM theme_members FINAL WHERE theme_id = ?"
            ))
            .bind(into)
            .bind(old)
            .execute()
            .await
            .map_err(StoreError::query("move a merged theme's members"))?;
    }
    Ok(found)
}

async fn insert<T>(store: &Store, table: &str, rows: &[T]) -> Result<(), StoreError>
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let what = format!("write {table}");
    let mut insert = store
        .client()
        .insert::<T>(table)
        .await
        .map_err(StoreError::query(&what))?;
    for r in rows {
        insert.write(r).await.map_err(StoreError::query(&what))?;
    }
    insert.end().await.map_err(StoreError::query(&what))
}

impl Theme {
    /// The share of the theme's members that carry `topic` (0–1).
    pub fn topic_share(&self, topic: &str) -> f64 {
        self.topics
            .iter()
            .zip(&self.topic_counts)
            .find(|(name, _)| name.as_str() == topic)
            .map_or(0.0, |(_, &n)| n as f64 / self.size.max(1) as f64)
    }

    /// How the theme relates to the rule topics, for people: `billing` when it is that topic again,
    /// `within billing (38%)` when it is a part of a larger topic, `(no rule topic)` otherwise.
    pub fn coverage(&self) -> String {
        match (
            self.covered_by.as_str(),
            self.topics.first(),
            self.topic_counts.first(),
        ) {
            ("", Some(t), Some(&n)) if 2 * n >= self.size => {
                format!(
                    "within {t} ({:.0}%)",
                    100.0 * n as f64 / self.size.max(1) as f64
                )
            }
            ("", _, _) => "(no rule topic)".into(),
            (t, _, _) => t.into(),
        }
    }
}

/// Every stored theme, current state of each, largest active first.
pub async fn list(store: &Store) -> Result<Vec<Theme>, StoreError> {
    store
        .client()
        .query(
            "SELECT ?fields FROM themes FINAL ORDER BY status = 'active' DESC, size DESC, theme_id",
        )
        .fetch_all()
        .await
        .map_err(StoreError::query("list themes"))
}

/// The one stored theme whose id starts with `prefix`; `Ok(Err(message))` when none or several
/// do, the message saying which.
pub async fn find(store: &Store, prefix: &str) -> Result<Result<Theme, String>, StoreError> {
    let mut matching: Vec<Theme> = list(store)
        .await?
        .into_iter()
        .filter(|t| t.theme_id.starts_with(prefix))
        .collect();
    Ok(match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(format!("no theme {prefix:?} (see `voc themes list`)")),
        n => Err(format!(
            "{prefix:?} matches {n} themes; give more of the id"
        )),
    })
}

/// The member interactions of a theme, newest first.
pub async fn members(store: &Store, theme_id: &str) -> Result<Vec<String>, StoreError> {
    store
        .client()
        .query(
            "SELECT interaction_id FROM theme_members FINAL WHERE theme_id = ? \
             ORDER BY occurred_at DESC, interaction_id",
        )
        .bind(theme_id)
        .fetch_all()
        .await
        .map_err(StoreError::query("theme members"))
}

/// One day of a theme's volume (exact: `theme_volume_hourly`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct ThemeDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub interactions: u64,
    pub negative: u64,
    pub complaints: u64,
}

/// Each theme's most frequent rule topic, by theme id (themes without one are left out): what a
/// team owning topics owns of the new-theme flags.
pub async fn main_topics(store: &Store) -> Result<HashMap<String, String>, StoreError> {
    Ok(list(store)
        .await?
        .into_iter()
        .filter_map(|t| Some((t.theme_id, t.topics.into_iter().next()?)))
        .collect())
}

/// A theme's volume per local calendar day (`offset_s` from UTC, whatever the server's time
/// zone), oldest first: its members looked up by primary key rather than through
/// `theme_volume_hourly`, which joins all of history before any filter on old servers.
pub async fn trend(
    store: &Store,
    theme_id: &str,
    offset_s: i64,
) -> Result<Vec<ThemeDay>, StoreError> {
    store
        .client()
        .query(&format!(
            "SELECT toString(toDate(intDiv(toInt64(toUInt32(occurred_at)) + {offset_s}, 86400))) AS day, count() AS interactions, \
             countIf(sentiment = 'negative') AS negative, countIf(voice_type = 'complaint') AS complaints \
             FROM interactions FINAL WHERE interaction_id IN \
             (SELECT interaction_id FROM theme_members FINAL WHERE theme_id = ?) \
             GROUP BY day ORDER BY day"
        ))
        .bind(theme_id)
        .fetch_all()
        .await
        .map_err(StoreError::query("theme trend"))
}

/// The masked customer text of each interaction (the only text ever stored), in the given order.
pub async fn masked_texts(
    store: &Store,
    ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(String, String)> = store
        .client()
        .query(
            "SELECT interaction_id, customer_text FROM interactions FINAL WHERE has(?, interaction_id)",
        )
        .bind(ids)
        .fetch_all()
        .await
        .map_err(StoreError::query("sample texts"))?;
    let by_id: HashMap<String, String> = found.into_iter().collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.get(id).map(|t| (id.clone(), t.clone())))
        .collect())
}

/// Ids of the themes with members about `product` since `since` (seconds since the epoch).
pub async fn themes_of_product(
    store: &Store,
    product: &str,
    since: u32,
) -> Result<Vec<String>, StoreError> {
    store
        .client()
        .query(&format!(
            "SELECT DISTINCT theme_id FROM theme_members FINAL WHERE theme_id != '' \
             AND occurred_at >= toDateTime({since}) AND interaction_id IN \
             (SELECT interaction_id FROM interactions WHERE product = ? AND occurred_at >= toDateTime({since}))"
        ))
        .bind(product)
        .fetch_all()
        .await
        .map_err(StoreError::query("themes of a product"))
}
