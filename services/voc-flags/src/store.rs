//! The flagger's ClickHouse side: counts for the detectors, and the `flags` table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use voc_store::{Store, StoreError};

use crate::config::FlagConfig;
use crate::detect::{self, Detection, FlagKind, KeywordWindow};
use crate::queries;

voc_core::closed_set! {
    /// Where a flag is in its life: raised, taken by someone, done with.
    pub enum FlagStatus("flag status") {
        Open = "open",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
}

/// A flag as stored and listed (`voc flags list --json` prints these fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Flag {
    pub flag_id: String,
    pub kind: FlagKind,
    pub key: String,
    pub status: FlagStatus,
    pub title: String,
    pub score: f64,
    /// Seconds since the epoch.
    pub window_start: u32,
    pub window_end: u32,
    pub count: u64,
    pub baseline: f64,
    pub sample_ids: Vec<String>,
    pub created_at: u32,
    pub updated_at: u32,
    pub acked_by: String,
    pub note: String,
    pub version: u64,
    /// The team it is assigned to: its owner in `[teams]` when raised, then whoever assigned it
    /// (empty: no team owns it).
    pub team: String,
    /// The channels its sample voices came from (`phone`, `chat`, …).
    pub channels: Vec<String>,
}

use voc_store::rows::epoch_seconds as secs;

#[derive(Debug, Deserialize, clickhouse::Row)]
struct KeyDayCount {
    key: String,
    day: u32,
    count: u64,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct IdKeywords {
    interaction_id: String,
    topics: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct KeywordTotal {
    keyword: String,
    total: u64,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct Daily {
    key: String,
    day: u32,
    complaints: u64,
    negative: u64,
    severity_sum: u64,
}

fn as_daily(rows: Vec<Daily>) -> Vec<detect::DailyComplaints> {
    rows.into_iter()
        .map(|r| detect::DailyComplaints {
            key: r.key,
            day: r.day,
            complaints: r.complaints,
            negative: r.negative,
            severity_sum: r.severity_sum,
        })
        .collect()
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct Repeat {
    key: String,
    n: u64,
    ids: Vec<String>,
}

/// Everything unusual in the window ending at `now`.
pub async fn detect_all(
    store: &Store,
    now: OffsetDateTime,
    c: &FlagConfig,
) -> Result<Vec<Detection>, StoreError> {
    let end = secs(now);
    let start = secs(now - c.window());
    let w = end - start;
    let client = store.client();
    let days = c.baseline_days;

    // Spikes: per topic, then per topic × complaint type × product where the topic is quiet.
    let topic_rows: Vec<KeyDayCount> = client
        .query(&queries::spike_series(
            end,
            start,
            days,
            queries::SPIKE_KEYS[0],
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("spike series by topic"))?;
    let mut spikes = detect::spikes(&as_rows(&topic_rows, c.baseline_days), &c.thresholds());
    let flagged: BTreeSet<String> = spikes.iter().map(|d| d.key.clone()).collect();
    let detail_rows: Vec<KeyDayCount> = client
        .query(&queries::spike_series(
            end,
            start,
            days,
            queries::SPIKE_KEYS[1],
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query(
            "spike series by topic, complaint type and product",
        ))?;
    spikes.extend(
        detect::spikes(&as_rows(&detail_rows, c.baseline_days), &c.thresholds())
            .into_iter()
            .filter(|d| !flagged.contains(d.key.split('/').next().unwrap_or(""))),
    );
    for s in &mut spikes {
        let topic = s.key.split('/').next().unwrap_or("").to_string();
        s.sample_ids = client
            .query(&queries::spike_samples(end, start))
            .bind(&topic)
            .fetch_all::<String>()
            .await
            .map_err(StoreError::query("spike samples"))?;
    }

    // Emerging terms among complaints: window document sets against the baseline rate.
    let recent: Vec<IdKeywords> = client
        .query(&queries::recent_complaints(end, start))
        .fetch_all()
        .await
        .map_err(StoreError::query("recent complaint keywords"))?;
    let baseline: Vec<KeywordTotal> = client
        .query(&queries::keyword_baseline(start, days))
        .fetch_all()
        .await
        .map_err(StoreError::query("keyword baseline"))?;
    let rate: HashMap<String, f64> = baseline
        .into_iter()
        .map(|k| {
            (
                k.keyword,
                k.total as f64 * f64::from(w) / (86400.0 * f64::from(c.baseline_days)),
            )
        })
        .collect();
    let mut sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut topics_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in recent {
        topics_of.insert(r.interaction_id.clone(), r.topics);
        for k in r.keywords {
            sets.entry(k).or_default().insert(r.interaction_id.clone());
        }
    }
    let windows: Vec<KeywordWindow> = sets
        .into_iter()
        .map(|(keyword, interactions)| KeywordWindow {
            expected: rate.get(&keyword).copied().unwrap_or(0.0),
            keyword,
            interactions,
        })
        .collect();
    let groups = detect::emerging(&windows, &c.thresholds());
    let emerging = detect::fold_into_spikes(&mut spikes, groups, &topics_of, 0.6);

    // Recurring problems: per topic, then per topic × product where the topic is not recurring.
    let recurrence = c.recurrence();
    let topic_days: Vec<Daily> = client
        .query(&queries::daily_complaints(
            end,
            c.recurring_of_days,
            queries::RECURRING_KEYS[0],
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("daily complaints by topic"))?;
    let mut recurring = detect::recurring(&as_daily(topic_days), &recurrence);
    let chronic: BTreeSet<String> = recurring.iter().map(|d| d.key.clone()).collect();
    let product_days: Vec<Daily> = client
        .query(&queries::daily_complaints(
            end,
            c.recurring_of_days,
            queries::RECURRING_KEYS[1],
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("daily complaints by topic and product"))?;
    recurring.extend(
        detect::recurring(&as_daily(product_days), &recurrence)
            .into_iter()
            .filter(|d| !chronic.contains(d.key.split('/').next().unwrap_or(""))),
    );
    recurring.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
    recurring.truncate(c.recurring_max);
    for r in &mut recurring {
        let (topic, product) = r.key.split_once('/').unwrap_or((&r.key, ""));
        r.sample_ids = client
            .query(&queries::recurring_samples(end))
            .bind(topic)
            .bind(product)
            .bind(product)
            .fetch_all::<String>()
            .await
            .map_err(StoreError::query("recurring samples"))?;
    }

    // Repeat contacts: a customer complaining about the same topic again within days.
    let repeats: Vec<Repeat> = client
        .query(&queries::repeats(end, start, c.repeat_days))
        .fetch_all()
        .await
        .map_err(StoreError::query("repeat contacts"))?;

    // Escalations: every severity-3 interaction in the window, at once.
    let escalations: Vec<String> = client
        .query(&queries::escalations(end, start))
        .fetch_all()
        .await
        .map_err(StoreError::query("escalations"))?;

    let mut all = spikes;
    all.extend(emerging);
    all.extend(recurring);
    all.extend(repeats.into_iter().map(|r| Detection {
        kind: FlagKind::RepeatContact,
        key: r.key,
        count: r.n,
        baseline: 1.0,
        score: r.n as f64,
        sample_ids: r.ids.into_iter().take(5).collect(),
        terms: Vec::new(),
    }));
    // The masked verbatim is one query away (`interactions FINAL`), not copied into flags.
    all.extend(escalations.into_iter().map(|id| Detection {
        kind: FlagKind::Escalation,
        key: id.clone(),
        count: 1,
        baseline: 0.0,
        score: 10.0,
        sample_ids: vec![id],
        terms: Vec::new(),
    }));
    Ok(all)
}

fn as_rows(rows: &[KeyDayCount], days: u32) -> Vec<detect::WindowCounts> {
    let tuples: Vec<(String, u32, u64)> = rows
        .iter()
        .map(|r| (r.key.clone(), r.day, r.count))
        .collect();
    detect::window_counts(&tuples, days)
}

/// The channel of each of these interactions (those stored), by id.
pub async fn channels_of(
    store: &Store,
    ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(String, String)> = store
        .client()
        .query(
            "SELECT interaction_id, CAST(channel AS String) FROM interactions FINAL WHERE has(?, interaction_id)",
        )
        .bind(ids)
        .fetch_all()
        .await
        .map_err(StoreError::query("channels of flag samples"))?;
    Ok(found.into_iter().collect())
}

/// All flags, current version of each, newest first; optionally only one status.
pub async fn list(store: &Store, status: Option<FlagStatus>) -> Result<Vec<Flag>, StoreError> {
    let mut sql = "SELECT ?fields FROM flags FINAL".to_string();
    if status.is_some() {
        sql.push_str(" WHERE status = ?");
    }
    sql.push_str(" ORDER BY updated_at DESC, score DESC");
    let mut query = store.client().query(&sql);
    if let Some(s) = status {
        query = query.bind(s.as_str());
    }
    query
        .fetch_all()
        .await
        .map_err(StoreError::query("list flags"))
}

/// The one flag whose id is `prefix` or starts with it; a prefix must hold the kind, a dash and at
/// least four characters of the hash. `Ok(Err(message))` when none or several match, saying which.
pub async fn find(store: &Store, prefix: &str) -> Result<Result<Flag, String>, StoreError> {
    if let Some(f) = get(store, prefix).await? {
        return Ok(Ok(f));
    }
    if prefix
        .split_once('-')
        .is_none_or(|(_, rest)| rest.len() < 4)
    {
        return Ok(Err(format!(
            "no flag {prefix:?}: give the id, or its kind, a dash and at least four more characters"
        )));
    }
    let mut matching: Vec<Flag> = list(store, None)
        .await?
        .into_iter()
        .filter(|f| f.flag_id.starts_with(prefix))
        .collect();
    Ok(match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(format!("no flag {prefix:?}")),
        n => Err(format!("{prefix:?} matches {n} flags; give more of the id")),
    })
}

pub async fn get(store: &Store, flag_id: &str) -> Result<Option<Flag>, StoreError> {
    store
        .client()
        .query("SELECT ?fields FROM flags FINAL WHERE flag_id = ?")
        .bind(flag_id)
        .fetch_optional()
        .await
        .map_err(StoreError::query("read a flag"))
}

pub async fn write(store: &Store, flags: &[Flag]) -> Result<(), StoreError> {
    if flags.is_empty() {
        return Ok(());
    }
    let mut insert = store
        .client()
        .insert::<Flag>("flags")
        .await
        .map_err(StoreError::query("write flags"))?;
    for f in flags {
        insert
            .write(f)
            .await
            .map_err(StoreError::query("write flags"))?;
    }
    insert.end().await.map_err(StoreError::query("write flags"))
}

/// Merges detections into the stored flags: an open or acknowledged flag of the same kind and key
/// is updated; otherwise a new open flag is raised. Returns (written, newly raised).
/// `title` and `team` name a new flag and its owning team; an updated flag keeps its team (someone
/// may have assigned it) and adds the channels of its new samples to its old ones.
pub fn merge(
    existing: &[Flag],
    detections: &[Detection],
    now: OffsetDateTime,
    window: Duration,
    title: impl Fn(&Detection) -> String,
    team: impl Fn(&Detection) -> String,
    channels: &HashMap<String, String>,
) -> (Vec<Flag>, Vec<Flag>) {
    let active: HashMap<(FlagKind, &str), &Flag> = existing
        .iter()
        .filter(|f| f.status != FlagStatus::Resolved)
        .map(|f| ((f.kind, f.key.as_str()), f))
        .collect();
    let version = u64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(0);
    let mut written = Vec::new();
    let mut raised = Vec::new();
    for d in detections {
        let sample_channels: BTreeSet<String> = d
            .sample_ids
            .iter()
            .filter_map(|id| channels.get(id).cloned())
            .collect();
        let base = Flag {
            flag_id: String::new(),
            kind: d.kind,
            key: d.key.clone(),
            status: FlagStatus::Open,
            title: title(d),
            score: (d.score * 100.0).round() / 100.0,
            window_start: secs(now - window),
            window_end: secs(now),
            count: d.count,
            baseline: (d.baseline * 100.0).round() / 100.0,
            sample_ids: d.sample_ids.clone(),
            created_at: secs(now),
            updated_at: secs(now),
            acked_by: String::new(),
            note: String::new(),
            version,
            team: String::new(),
            channels: sample_channels.iter().cloned().collect(),
        };
        match active.get(&(d.kind, d.key.as_str())) {
            Some(old) => written.push(Flag {
                flag_id: old.flag_id.clone(),
                status: old.status,
                created_at: old.created_at,
                acked_by: old.acked_by.clone(),
                note: old.note.clone(),
                team: old.team.clone(),
                channels: old
                    .channels
                    .iter()
                    .cloned()
                    .chain(sample_channels)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                // Keep the strongest figures seen while the flag is active.
                score: base.score.max(old.score),
                count: base.count.max(old.count),
                ..base
            }),
            None => {
                let flag = Flag {
                    flag_id: flag_id(d.kind, &d.key, now),
                    team: team(d),
                    ..base
                };
                raised.push(flag.clone());
                written.push(flag);
            }
        }
    }
    (written, raised)
}

/// A readable, stable id: kind, a hash of the key, and when it was raised.
fn flag_id(kind: FlagKind, key: &str, now: OffsetDateTime) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{kind}-{h:08x}-{}", now.unix_timestamp())
}

/// What someone does to a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Acknowledge, resolve, or reopen (to open).
    Status(FlagStatus),
    /// Hand it to another team (a name in `[teams]`, checked by the caller).
    Assign(String),
}

/// Applies a change, recording who and why in the flag and in its history (`flag_events`).
/// `Ok(None)` when there is no such flag.
pub async fn apply(
    store: &Store,
    flag_id: &str,
    change: Change,
    by: Option<&str>,
    note: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<Flag>, StoreError> {
    let Some(mut flag) = get(store, flag_id).await? else {
        return Ok(None);
    };
    let (action, note) = match change {
        Change::Status(status) => {
            // Who took it and why; an assignment is only in the history.
            if let Some(by) = by {
                flag.acked_by = by.to_string();
            }
            if let Some(note) = note {
                flag.note = note.to_string();
            }
            let action = if flag.status == FlagStatus::Resolved && status != FlagStatus::Resolved {
                "reopen"
            } else {
                status.as_str()
            };
            flag.status = status;
            (action, note.unwrap_or("").to_string())
        }
        Change::Assign(team) => {
            // The history says to whom, whatever the note.
            let note = match note {
                Some(n) => format!("→ {team}: {n}"),
                None => format!("→ {team}"),
            };
            flag.team = team;
            ("assign", note)
        }
    };
    flag.updated_at = secs(now);
    flag.version = u64::try_from(now.unix_timestamp_nanos() / 1000)
        .unwrap_or(0)
        .max(flag.version + 1);
    write(store, std::slice::from_ref(&flag)).await?;
    let event = FlagEvent {
        flag_id: flag.flag_id.clone(),
        at: secs(now),
        actor: by.unwrap_or("").to_string(),
        action: action.to_string(),
        note,
        seq: flag.version,
    };
    let mut insert = store
        .client()
        .insert::<FlagEvent>("flag_events")
        .await
        .map_err(StoreError::query("write the flag's history"))?;
    insert
        .write(&event)
        .await
        .map_err(StoreError::query("write the flag's history"))?;
    insert
        .end()
        .await
        .map_err(StoreError::query("write the flag's history"))?;
    Ok(Some(flag))
}

/// One action on a flag: who, when (seconds since the epoch), what, with which note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct FlagEvent {
    pub flag_id: String,
    pub at: u32,
    pub actor: String,
    /// `acknowledged`, `resolved`, `open`, `reopen` or `assign` (the note then starts `→ TEAM`).
    pub action: String,
    pub note: String,
    /// Orders actions within a second: the flag's new version (microseconds).
    pub seq: u64,
}

/// A flag's history, oldest first.
pub async fn history(store: &Store, flag_id: &str) -> Result<Vec<FlagEvent>, StoreError> {
    store
        .client()
        .query("SELECT ?fields FROM flag_events WHERE flag_id = ? ORDER BY seq")
        .bind(flag_id)
        .fetch_all()
        .await
        .map_err(StoreError::query("read a flag's history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(kind: FlagKind, key: &str, count: u64) -> Detection {
        Detection {
            kind,
            key: key.into(),
            count,
            baseline: 1.0,
            score: 5.0,
            sample_ids: vec!["a".into()],
            terms: vec![],
        }
    }

    #[test]
    fn one_flag_per_key_while_active_and_a_new_one_after_resolution() {
        let t0 = time::macros::datetime!(2026-11-22 10:00 UTC);
        let (w1, r1) = merge(
            &[],
            &[det(FlagKind::Spike, "billing", 10)],
            t0,
            Duration::hours(3),
            |_| "t".into(),
            |_| "billing-team".into(),
            &HashMap::from([("a".to_string(), "chat".to_string())]),
        );
        assert_eq!((w1.len(), r1.len()), (1, 1));
        assert_eq!(w1[0].team, "billing-team", "raised with its owner");
        assert_eq!(w1[0].channels, ["chat"]);
        let mut stored = w1.clone();
        stored[0].status = FlagStatus::Acknowledged;
        stored[0].acked_by = "lead".into();
        stored[0].team = "app-team".into();

        let t1 = t0 + Duration::hours(1);
        let (w2, r2) = merge(
            &stored,
            &[det(FlagKind::Spike, "billing", 15)],
            t1,
            Duration::hours(3),
            |_| "t".into(),
            |_| "billing-team".into(),
            &HashMap::from([("a".to_string(), "phone".to_string())]),
        );
        assert!(r2.is_empty(), "no new flag while one is active");
        assert_eq!(w2[0].team, "app-team", "an assignment outlives updates");
        assert_eq!(w2[0].channels, ["chat", "phone"], "channels accumulate");
        assert_eq!(w2[0].flag_id, stored[0].flag_id);
        assert_eq!(w2[0].status, FlagStatus::Acknowledged);
        assert_eq!(w2[0].acked_by, "lead");
        assert_eq!(w2[0].count, 15);
        assert!(w2[0].version > stored[0].version);

        stored[0].status = FlagStatus::Resolved;
        let t2 = t1 + Duration::hours(5);
        let (w3, r3) = merge(
            &stored,
            &[det(FlagKind::Spike, "billing", 12)],
            t2,
            Duration::hours(3),
            |_| "t".into(),
            |_| "billing-team".into(),
            &HashMap::new(),
        );
        assert_eq!(
            r3.len(),
            1,
            "a resolved problem that comes back raises a new flag"
        );
        assert_ne!(w3[0].flag_id, stored[0].flag_id);
        assert_eq!(w3[0].status, FlagStatus::Open);
    }
}
