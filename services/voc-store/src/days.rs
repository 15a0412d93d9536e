//! Daily roll-ups of closed days ([`DailyRollup`]): each closed day's keyword counts at the three
//! [`crate::levels`] (migration 0013), and its experience sums by topic (migration 0016), so that
//! the keyword and CSAT panels read the days outside complete months as a few small groups per day
//! instead of their hourly rows.
//!
//! A close writes a day's roll-ups from the counts it has just written to the closed hourly
//! tables, under its own version, then the day's row in each roll-up's closures table, all before
//! it records the closure ([`statements`], called by [`crate::closing::statements`]). A day's counts
//! are final at its close, so no fingerprint is needed (unlike a month's): a roll-up is current
//! exactly while its version is the day's in the ledger (the `keyword_days` and `csat_days` views).
//! A re-close writes the day again under a new version. Days closed without a roll-up (before its
//! migration, or by an older binary) are rolled up at a later close from their closed hourly rows
//! under the ledger's version ([`missing`]). Each attempt has its own `rollup` id, recorded after
//! all its counts, and readers take the highest recorded one: an attempt that stopped half-way is
//! never read, and two at once are not added together.

use serde::Deserialize;

use crate::client::{Store, StoreError};
use crate::closing::HOUR_DAY;
use crate::history::sql_list;
use crate::levels::LEVELS;

/// A roll-up of closed days, by day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyRollup {
    /// Keyword counts at the three levels, from `keyword_topic_hourly_closed` (0013).
    Keywords,
    /// Experience sums (volume, negative, CSAT, resolution) by topic × voice type × product ×
    /// channel, from the experience rows of `topic_experience_hourly_closed` (0016).
    Csat,
}

impl DailyRollup {
    /// Every daily roll-up, in the order a close writes them.
    pub const ALL: [DailyRollup; 2] = [DailyRollup::Keywords, DailyRollup::Csat];

    /// The table of the rolled-up counts.
    pub fn table(self) -> &'static str {
        match self {
            DailyRollup::Keywords => "keyword_daily_closed",
            DailyRollup::Csat => "topic_csat_daily_closed",
        }
    }

    /// The table that records each complete roll-up of a day.
    pub fn closures(self) -> &'static str {
        match self {
            DailyRollup::Keywords => "keyword_day_closures",
            DailyRollup::Csat => "csat_day_closures",
        }
    }

    /// The view of the days whose roll-up is current (day, version, rollup), which readers
    /// take their rows by.
    pub fn days_view(self) -> &'static str {
        match self {
            DailyRollup::Keywords => "keyword_days",
            DailyRollup::Csat => "csat_days",
        }
    }

    /// What it is, for logs and errors.
    pub fn what(self) -> &'static str {
        match self {
            DailyRollup::Keywords => "daily keyword",
            DailyRollup::Csat => "daily CSAT",
        }
    }

    /// The INSERTs of the counts, as (what, SQL), from the closed hourly rows that `rows` (a
    /// filter on them, starting with `WHERE`) selects.
    fn counts(self, db: &str, rows: &str, version: u64, rollup: u64) -> Vec<(String, String)> {
        let table = self.table();
        let stamp = format!("toUInt64({version}), toUInt64({rollup})");
        match self {
            DailyRollup::Keywords => LEVELS
                .iter()
                .map(|l| {
                    (
                        format!("roll up days in {table} ({})", l.what),
                        format!(
                            "INSERT INTO {db}.{table} SELECT toDate(toUInt16(day)), day, {columns}, \
                             sum(interactions), sum(negative), {stamp} \
                             FROM (SELECT {HOUR_DAY} AS day, * FROM {db}.keyword_topic_hourly_closed \
                             {rows} {filter}) \
                             GROUP BY day, {group_by}",
                            columns = l.columns,
                            filter = l.filter,
                            group_by = l.group_by,
                        ),
                    )
                })
                .collect(),
            // A closed hour's row holds experience sums or repeat contacts, never both (0011).
            DailyRollup::Csat => vec![(
                format!("roll up days in {table}"),
                format!(
                    "INSERT INTO {db}.{table} SELECT toDate(toUInt16(day)), day, \
                     topic, voice_type, product, channel, sum(interactions), sum(negative), \
                     sum(csat_sum), sum(csat_responses), sum(resolved_contacts), \
                     sum(resolution_known), {stamp} \
                     FROM (SELECT {HOUR_DAY} AS day, * FROM {db}.topic_experience_hourly_closed \
                     {rows} AND repeat_contacts = 0) \
                     GROUP BY day, topic, voice_type, product, channel"
                ),
            )],
        }
    }
}

/// The statements that roll up `days` (UTC day numbers) under `version` as roll-up `rollup`, in
/// order, as (what, SQL): the counts, from the closed hourly rows of that version, then one row
/// per day in the roll-up's closures table (also for a day without counts, so it is not taken for
/// missing). `rollup` must be this attempt's own (a close's version, or a fresh id): rows of an
/// attempt that stopped half-way, or of another at the same time, are then never read with these.
/// Pure, so a plan for another engine runs exactly these.
pub fn statements(
    kind: DailyRollup,
    database: &str,
    days: &[u32],
    version: u64,
    rollup: u64,
) -> Vec<(String, String)> {
    if days.is_empty() {
        return Vec::new();
    }
    let db = format!("`{database}`");
    let list = sql_list(days);
    // The days' hours as a range of the sorting key too, which servers without key analysis of
    // `intDiv(…) IN` (18.x) need so as not to read the whole table.
    let lo = u64::from(days.iter().min().copied().unwrap_or(0)) * 86_400;
    let hi = (u64::from(days.iter().max().copied().unwrap_or(0)) + 1) * 86_400;
    let rows = format!(
        "WHERE hour >= toDateTime({lo}) AND hour < toDateTime({hi}) \
         AND {HOUR_DAY} IN ({list}) AND version = {version}"
    );
    let mut out = kind.counts(&db, &rows, version, rollup);
    let recorded: Vec<String> = days
        .iter()
        .map(|d| format!("({d}, {version}, {rollup})"))
        .collect();
    out.push((
        format!("record the days' {} roll-ups", kind.what()),
        format!(
            "INSERT INTO {db}.{} (day, version, rollup) VALUES {}",
            kind.closures(),
            recorded.join(", ")
        ),
    ));
    out
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct ClosedDay {
    day: u32,
    version: u64,
}

/// Closed days whose current version has no `kind` roll-up, as (version, its days), each list at
/// most `per_statement` long: closed before its migration, or by a binary without it.
pub async fn missing(
    store: &Store,
    kind: DailyRollup,
    per_statement: usize,
) -> Result<Vec<(u64, Vec<u32>)>, StoreError> {
    let rows: Vec<ClosedDay> = store
        .client()
        .query(&format!(
            "SELECT day, version FROM aggregate_closures FINAL \
             WHERE (day, version) NOT IN (SELECT day, version FROM {}) \
             ORDER BY version, day",
            kind.closures()
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("find the days to roll up"))?;
    Ok(by_version(&rows, per_statement.max(1)))
}

/// Rows sorted by version, grouped by it, in lists of at most `n` days.
fn by_version(rows: &[ClosedDay], n: usize) -> Vec<(u64, Vec<u32>)> {
    let mut out: Vec<(u64, Vec<u32>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((v, days)) if *v == r.version && days.len() < n => days.push(r.day),
            _ => out.push((r.version, vec![r.day])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_rolled_up_from_its_own_versions_counts_before_it_is_recorded() {
        let s = statements(DailyRollup::Keywords, "voc", &[20_000, 20_001], 8, 11);
        assert_eq!(s.len(), LEVELS.len() + 1);
        for (level, (what, sql)) in LEVELS.iter().zip(&s) {
            assert!(what.contains(level.what));
            assert!(
                sql.contains("IN (20000,20001) AND version = 8 "),
                "the counts this close wrote: {sql}"
            );
            assert!(sql.ends_with(&format!("GROUP BY day, {}", level.group_by)));
            assert!(
                sql.contains("hour >= toDateTime(1728000000) AND hour < toDateTime(1728172800)"),
                "the days' hours as a key range: {sql}"
            );
            assert!(
                !crate::levels::alias_hides_a_column(sql),
                "no alias hides a column"
            );
        }
        assert!(s[LEVELS.len()].0.starts_with("record"));
        assert!(
            s[LEVELS.len()]
                .1
                .ends_with("VALUES (20000, 8, 11), (20001, 8, 11)")
        );
        assert!(
            s[..LEVELS.len()]
                .iter()
                .all(|(_, q)| q.contains("toUInt64(8), toUInt64(11)"))
        );
        assert!(statements(DailyRollup::Keywords, "voc", &[], 8, 11).is_empty());
    }

    #[test]
    fn a_days_csat_is_rolled_up_from_its_experience_rows_only() {
        let s = statements(DailyRollup::Csat, "voc", &[20_000, 20_001], 8, 11);
        assert_eq!(s.len(), 2);
        let (_, counts) = &s[0];
        assert!(counts.starts_with("INSERT INTO `voc`.topic_csat_daily_closed "));
        assert!(
            counts.contains("IN (20000,20001) AND version = 8 AND repeat_contacts = 0)"),
            "the experience rows this close wrote, not the repeat contacts: {counts}"
        );
        assert!(counts.ends_with("GROUP BY day, topic, voice_type, product, channel"));
        assert!(!crate::levels::alias_hides_a_column(counts));
        assert!(s[1].1.starts_with("INSERT INTO `voc`.csat_day_closures "));
        assert!(s[1].1.ends_with("VALUES (20000, 8, 11), (20001, 8, 11)"));
        assert!(statements(DailyRollup::Csat, "voc", &[], 8, 11).is_empty());
    }

    #[test]
    fn missing_days_are_grouped_by_their_version() {
        let rows =
            [(1, 2), (2, 2), (3, 2), (9, 4)].map(|(day, version)| ClosedDay { day, version });
        assert_eq!(
            by_version(&rows, 2),
            vec![(2, vec![1, 2]), (2, vec![3]), (4, vec![9])]
        );
    }
}
