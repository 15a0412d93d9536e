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
use crate::detect::WindowCounts;
use crate::faq::{FaqCandidate, ThemeQuestions};
use crate::store::q;
use crate::themes::{self, Cluster, Corpus, Known};

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
        .map_err(q("theme window"))?;
    while let Some(r) = rows.next().await.map_err(q("theme window"))? {
        corpus.push(
            &r.interaction_id,
            r.at,
            r.keywords.iter().map(String::as_str),
            r.topics,
        );
    }
    let clusters = themes::discover(&corpus, &c.themes);

    let stored = list(store).await?;
    let by_id: HashMap<&str, &Theme> = stored.iter().map(|t| (t.theme_id.as_str(), t)).collect();
    let known: Vec<Known> = stored
        .iter()
        .filter(|t| t.status == ThemeStatus::Active)
        .map(|t| Known {
            id: t.theme_id.clone(),
            core: t.terms.iter().take(10).cloned().collect(),
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
            split_from: lineage.split_from[i].clone().unwrap_or_default(),
            first_seen: by_id.get(id).map_or(end, |t| t.first_seen),
            last_seen: end,
            version: next_version(id),
        };
        for &d in &cluster.members {
            assigned.insert(corpus.id(d), id);
        }
        found.push(ThemeWindow {
            counts: window_counts(&corpus, cluster, end, c),
            latest: latest(&corpus, cluster),
            theme: theme.clone(),
        });
        written.push(theme);
    }
    for t in &stored {
        if t.status != ThemeStatus::Active || lineage.ids.contains(&t.theme_id) {
            continue;
        }
        let merged_into = lineage
            .merged
            .iter()
            .find(|(old, _)| *old == t.theme_id)
            .map(|(_, into)| into.clone());
        written.push(Theme {
            status: if merged_into.is_some() {
                ThemeStatus::Merged
            } else {
                ThemeStatus::Gone
            },
            merged_into: merged_into.unwrap_or_default(),
            version: next_version(&t.theme_id),
            ..t.clone()
        });
    }
    insert(store, "themes", &written).await?;

    // Membership: only the interactions whose theme changed.
    let mut before: HashMap<String, String> = HashMap::new();
    let mut rows = client
        .query(&format!(
            "SELECT interaction_id, theme_id FROM theme_members FINAL \
             WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end}) AND theme_id != ''"
        ))
        .fetch::<(String, String)>()
        .map_err(q("theme members"))?;
    while let Some((id, theme)) = rows.next().await.map_err(q("theme members"))? {
        before.insert(id, theme);
    }
    let mut changes: Vec<Member> = Vec::new();
    for d in 0..corpus.len() {
        let id = corpus.id(d);
        let now_in = assigned.get(id).copied().unwrap_or("");
        if before.get(id).map_or("", String::as_str) != now_in {
            changes.push(Member {
                interaction_id: id.to_string(),
                theme_id: now_in.to_string(),
                occurred_at: corpus.time(d),
                version,
            });
        }
    }
    insert(store, "theme_members", &changes).await?;
    Ok(found)
}

/// A theme's members in the recent hours and in the same hours of each baseline day, the way
/// [`crate::detect::window_counts`] counts topics.
fn window_counts(corpus: &Corpus, cluster: &Cluster, end: u32, c: &FlagConfig) -> WindowCounts {
    let w = c.themes.recent_hours * 3600;
    let mut counts = WindowCounts {
        key: String::new(),
        count: 0,
        baseline: vec![0; c.baseline_days as usize],
    };
    for &d in &cluster.members {
        let age = end.saturating_sub(1).saturating_sub(corpus.time(d));
        let (day, within) = (age / 86_400, age % 86_400 < w);
        match day {
            _ if !within => {}
            0 => counts.count += 1,
            d if d <= c.baseline_days => counts.baseline[(d - 1) as usize] += 1,
            _ => {}
        }
    }
    counts
}

fn latest(corpus: &Corpus, cluster: &Cluster) -> Vec<String> {
    let mut members = cluster.members.clone();
    members.sort_by(|&a, &b| {
        corpus
            .time(b)
            .cmp(&corpus.time(a))
            .then_with(|| corpus.id(a).cmp(corpus.id(b)))
    });
    members
        .iter()
        .take(5)
        .map(|&d| corpus.id(d).to_string())
        .collect()
}

async fn insert<T>(store: &Store, table: &str, rows: &[T]) -> Result<(), StoreError>
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let what = format!("write {table}");
    let mut insert = store.client().insert::<T>(table).await.map_err(q(&what))?;
    for r in rows {
        insert.write(r).await.map_err(q(&what))?;
    }
    insert.end().await.map_err(q(&what))
}

impl Theme {
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
        .map_err(q("list themes"))
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
        .map_err(q("theme members"))
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

/// A theme's daily volume, oldest first.
pub async fn trend(store: &Store, theme_id: &str) -> Result<Vec<ThemeDay>, StoreError> {
    store
        .client()
        .query(
            "SELECT toString(toDate(hour)) AS day, sum(interactions) AS interactions, \
             sum(negative) AS negative, sum(complaints) AS complaints \
             FROM theme_volume_hourly WHERE theme_id = ? GROUP BY day ORDER BY day",
        )
        .bind(theme_id)
        .fetch_all()
        .await
        .map_err(q("theme trend"))
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
        .map_err(q("sample texts"))?;
    let by_id: HashMap<String, String> = found.into_iter().collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.get(id).map(|t| (id.clone(), t.clone())))
        .collect())
}

/// Ids of the themes with members about `product`.
pub async fn themes_of_product(store: &Store, product: &str) -> Result<Vec<String>, StoreError> {
    store
        .client()
        .query("SELECT DISTINCT theme_id FROM theme_volume_hourly WHERE product = ?")
        .bind(product)
        .fetch_all()
        .await
        .map_err(q("themes of a product"))
}

/// FAQ candidates over the `days` before `now` (growth against the `days` before those),
/// optionally for one product, with up to three masked sample questions each.
pub async fn faq_candidates(
    store: &Store,
    now: OffsetDateTime,
    days: u32,
    product: Option<&str>,
    min_questions: u64,
) -> Result<Vec<FaqCandidate>, StoreError> {
    let end = secs(now);
    let mid = end.saturating_sub(days * 86_400);
    let start = mid.saturating_sub(days * 86_400);
    let stats: Vec<ThemeQuestions> = store
        .client()
        .query(&format!(
            "SELECT theme_id, countIf(occurred_at >= toDateTime({mid})) AS recent, \
             countIf(occurred_at < toDateTime({mid})) AS previous, \
             countIf(occurred_at >= toDateTime({mid}) AND voice_type = 'question') AS questions, \
             countIf(occurred_at >= toDateTime({mid}) AND voice_type = 'question' AND agent_id != '') AS with_agent \
             FROM interactions FINAL ALL INNER JOIN \
             (SELECT interaction_id, theme_id FROM theme_members FINAL WHERE theme_id != '') AS members USING interaction_id \
             WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end}) AND (? = '' OR product = ?) \
             GROUP BY theme_id"
        ))
        .bind(product.unwrap_or(""))
        .bind(product.unwrap_or(""))
        .fetch_all()
        .await
        .map_err(q("FAQ candidates"))?;
    let themes = list(store).await?;
    let label_of = |id: &str| {
        themes
            .iter()
            .find(|t| t.theme_id == id && t.status == ThemeStatus::Active)
            .map(|t| t.label.clone())
    };
    let mut ranked = crate::faq::rank(&stats, label_of, min_questions, 0.5);
    for c in &mut ranked {
        c.samples = store
            .client()
            .query(&format!(
                "SELECT customer_text FROM interactions FINAL WHERE voice_type = 'question' \
                 AND occurred_at >= toDateTime({mid}) AND occurred_at < toDateTime({end}) AND (? = '' OR product = ?) \
                 AND interaction_id IN (SELECT interaction_id FROM theme_members FINAL WHERE theme_id = ?) \
                 GROUP BY customer_text ORDER BY max(occurred_at) DESC, customer_text LIMIT 3"
            ))
            .bind(product.unwrap_or(""))
            .bind(product.unwrap_or(""))
            .bind(&c.theme_id)
            .fetch_all()
            .await
            .map_err(q("FAQ sample questions"))?;
    }
    Ok(ranked)
}
