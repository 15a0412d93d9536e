//! Monthly keyword roll-ups (migration 0012): for each UTC month whose days are all closed, the
//! keyword counts of its closed days summed at the [`crate::levels`] (three since migration 0013),
//! so that the keyword panels over quarters and years read a dozen months of small groups instead
//! of a year of hourly rows.
//!
//! A close that closes or re-closes a day of a month rolls that month up again, after recording its
//! day closures ([`statements`], called by [`crate::closing::statements`]): the month is retired,
//! its counts written, and it is made current again only if no closure of its days was recorded
//! meanwhile. A race between two closes, or a failure half-way, leaves the month to the hourly rows
//! until a close rolls it up ([`missing`]: complete months with no current roll-up, after this
//! migration too). One read of the keyword panel at the very moment a month turns current or not
//! may count that month twice or not at all, as a view read at the moment a day closes may count
//! that day twice or not at all (ARCHITECTURE.md).

use serde::Deserialize;
use time::{Date, Duration, Month as CalendarMonth};

use crate::client::{Store, StoreError};
use crate::closing::HOUR_DAY;
use crate::cluster::mutation_target;
use crate::history::sql_list;
use crate::levels::LEVELS;

/// The table of the rolled-up counts.
pub const TABLE: &str = "keyword_monthly_closed";

/// A UTC month as day numbers (days since 1970-01-01): `first_day` up to, without, `end_day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub first_day: u32,
    pub end_day: u32,
}

fn epoch() -> Date {
    Date::from_calendar_date(1970, CalendarMonth::January, 1).unwrap_or(Date::MIN)
}

fn day_number(d: Date) -> u32 {
    u32::try_from((d - epoch()).whole_days()).unwrap_or(0)
}

impl Month {
    /// The UTC month of a day number.
    pub fn of_day(day: u32) -> Month {
        let date = epoch() + Duration::days(i64::from(day));
        let first = date.replace_day(1).unwrap_or(date);
        // A month has at most 31 days: 32 after its first is in the next.
        let next = first
            .checked_add(Duration::days(32))
            .and_then(|d| d.replace_day(1).ok())
            .unwrap_or(first);
        Month {
            first_day: day_number(first),
            end_day: day_number(next),
        }
    }

    /// The UTC month `YYYYMM` (a `toYYYYMM` partition); `None` for a value that is not a month.
    pub fn of_yyyymm(yyyymm: u32) -> Option<Month> {
        let year = i32::try_from(yyyymm / 100).ok()?;
        let month = CalendarMonth::try_from(u8::try_from(yyyymm % 100).ok()?).ok()?;
        let first = Date::from_calendar_date(year, month, 1).ok()?;
        (first >= epoch()).then(|| Month::of_day(day_number(first)))
    }

    /// `YYYYMM` of the month.
    pub fn yyyymm(&self) -> u32 {
        let d = epoch() + Duration::days(i64::from(self.first_day));
        u32::try_from(d.year()).unwrap_or(0) * 100 + u32::from(u8::from(d.month()))
    }

    pub fn days(&self) -> u32 {
        self.end_day - self.first_day
    }

    /// `YYYY-MM-01`, the month's `Date` in the table.
    fn first_date(&self) -> String {
        let d = epoch() + Duration::days(i64::from(self.first_day));
        format!("{:04}-{:02}-01", d.year(), u8::from(d.month()))
    }
}

/// The months of `days`, each once, in order.
pub fn months_of(days: &[u32]) -> Vec<Month> {
    let mut out: Vec<Month> = days.iter().map(|&d| Month::of_day(d)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The statements that roll up `months` under `version` (a close's), in order, as (what, SQL): per
/// month
/// 1. its closure row, not ready, with the fingerprint of the ledger's closures of its days (only
///    when every day is closed): it replaces the month's previous roll-up, which is no longer
///    current;
/// 2. the counts at every level, when that row was written (read where the statement starts,
///    `GLOBAL` on a cluster, so no shard judges by a copy the row has not reached);
/// 3. the closure row again, ready, only if the ledger still has that fingerprint: a closure
///    recorded since step 1 (another close) leaves the month not current, so readers keep taking
///    it from the hourly rows; a failure before this step leaves it not current too, and
///    [`missing`] rolls it up at a later close;
///
/// then one delete of the months' counts under older versions. Pure, so a plan for another engine
/// runs exactly these.
pub fn statements(
    database: &str,
    cluster: Option<&str>,
    months: &[Month],
    version: u64,
) -> Vec<(String, String)> {
    let db = format!("`{database}`");
    // On a cluster each shard reads the ledger where the statement starts, as the views do.
    let global = if cluster.is_some() { "GLOBAL " } else { "" };
    let mut out = Vec::new();
    for m in months {
        let (first, end) = (m.first_day, m.end_day);
        // The ledger's closures of the month's days.
        let closures =
            format!("{db}.aggregate_closures FINAL WHERE day >= {first} AND day < {end}");
        let ledger =
            format!("SELECT {FINGERPRINT} AS closures, toUInt32(count()) AS days FROM {closures}");
        let closure_row = |ready: u8, condition: &str| {
            format!(
                "INSERT INTO {db}.keyword_month_closures \
                 (first_day, end_day, version, closures, days, ready, revision) \
                 SELECT toUInt32({first}), toUInt32({end}), toUInt64({version}), closures, days, \
                 toUInt8({ready}), toUInt64({revision}) FROM ({ledger}) WHERE days = {n}{condition}",
                n = m.days(),
                revision = version + u64::from(ready),
            )
        };
        out.push((
            format!("retire the roll-up of month {}", m.first_date()),
            closure_row(0, ""),
        ));
        for l in LEVELS {
            out.push((
                format!("roll up month {} in {TABLE} ({})", m.first_date(), l.what),
                format!(
                    "INSERT INTO {db}.{TABLE} SELECT toDate('{date}'), \
                     toUInt32({first}), toUInt32({end}), {columns}, \
                     sum(interactions), sum(negative), toUInt64({version}) \
                     FROM {db}.keyword_topic_hourly_closed \
                     WHERE hour >= toDateTime({lo}) AND hour < toDateTime({hi}) {filter} \
                     AND ({HOUR_DAY}, version) {global}IN (SELECT day, version FROM {closures}) \
                     AND toUInt32({first}) {global}IN (SELECT first_day FROM {db}.keyword_month_closures \
                     WHERE first_day = {first} AND version = {version}) \
                     GROUP BY {group_by}",
                    date = m.first_date(),
                    columns = l.columns,
                    filter = l.filter,
                    group_by = l.group_by,
                    lo = u64::from(first) * 86_400,
                    hi = u64::from(end) * 86_400,
                ),
            ));
        }
        out.push((
            format!("record the roll-up of month {}", m.first_date()),
            closure_row(
                1,
                &format!(
                    " AND closures IN (SELECT closures FROM {db}.keyword_month_closures \
                     WHERE first_day = {first} AND version = {version} AND ready = 0)"
                ),
            ),
        ));
    }
    if !months.is_empty() {
        let firsts: Vec<u32> = months.iter().map(|m| m.first_day).collect();
        out.push((
            format!("delete older roll-ups of the months from {TABLE}"),
            format!(
                "ALTER TABLE {} DELETE WHERE first_day IN ({}) AND version < {version}",
                mutation_target(database, TABLE, cluster),
                sql_list(&firsts)
            ),
        ));
    }
    out
}

/// The days of a month row (`first_day`, `end_day`), one row each: the same expression in the
/// `keyword_months` view and in the Top keywords panel (a test keeps them equal).
const MONTH_DAYS: &str =
    "arrayJoin(arrayMap(i -> toUInt32(first_day + i), range(toUInt32(end_day - first_day))))";

/// The fingerprint of the ledger's closures, as `keyword_months` computes it from its join (where
/// the day's version is `day_version`; a test keeps them equal). Plus 13 since migration 0013: a
/// month rolled up at the levels before it, by a binary that predates it, is then not current.
const FINGERPRINT: &str = "sum(cityHash64(day, version)) + 13";

#[derive(Debug, Deserialize, clickhouse::Row)]
struct ClosedDay {
    day: u32,
}

/// Months whose days are all closed but which have no current roll-up: closed before migration
/// 0012, or retired by a race between two closes ([`statements`]).
pub async fn missing(store: &Store) -> Result<Vec<Month>, StoreError> {
    let rows: Vec<ClosedDay> = store
        .client()
        .query(&format!(
            "SELECT day FROM aggregate_closures FINAL WHERE day NOT IN \
             (SELECT {MONTH_DAYS} FROM keyword_months) ORDER BY day"
        ))
        .fetch_all()
        .await
        .map_err(StoreError::query("find the months to roll up"))?;
    let days: Vec<u32> = rows.iter().map(|r| r.day).collect();
    Ok(complete_months(&days))
}

/// The months all of whose days are among `days` (sorted, distinct).
fn complete_months(days: &[u32]) -> Vec<Month> {
    months_of(days)
        .into_iter()
        .filter(|m| {
            let n = days
                .iter()
                .filter(|&&d| d >= m.first_day && d < m.end_day)
                .count();
            n == m.days() as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_map_to_their_months_and_back() {
        let feb = Month::of_yyyymm(202602).expect("a month");
        assert_eq!(feb.days(), 28);
        assert_eq!(feb.first_day, 20_485); // 2026-02-01
        assert_eq!(feb.yyyymm(), 202602);
        assert_eq!(Month::of_yyyymm(202613), None);
        assert_eq!(Month::of_yyyymm(12), None);
    }

    fn day(y: i32, m: CalendarMonth, d: u8) -> u32 {
        day_number(Date::from_calendar_date(y, m, d).expect("date"))
    }

    #[test]
    fn months_are_utc_calendar_months() {
        let feb = Month::of_day(day(2024, CalendarMonth::February, 15));
        assert_eq!(feb.first_day, day(2024, CalendarMonth::February, 1));
        assert_eq!(feb.days(), 29, "a leap year");
        let dec = Month::of_day(day(2026, CalendarMonth::December, 31));
        assert_eq!(dec.end_day, day(2027, CalendarMonth::January, 1));
        assert_eq!(dec.first_date(), "2026-12-01");
        assert_eq!(Month::of_day(0).first_date(), "1970-01-01");
        let days: Vec<u32> =
            (day(2026, CalendarMonth::January, 30)..day(2026, CalendarMonth::March, 2)).collect();
        assert_eq!(months_of(&days).len(), 3);
        assert_eq!(
            complete_months(&days),
            vec![Month::of_day(day(2026, CalendarMonth::February, 1))]
        );
    }

    #[test]
    fn the_view_and_the_panel_read_months_as_the_closes_write_them() {
        let migration = include_str!("../../../schemas/clickhouse/0013_keyword_daily.sql");
        assert!(migration.contains(&format!("{MONTH_DAYS} AS day")));
        assert!(migration.contains(&FINGERPRINT.replace("version", "day_version")));
        let panel = include_str!("../../../dashboards/grafana/dashboards/voc-overview.json");
        assert!(panel.contains(&format!("GLOBAL IN (SELECT {MONTH_DAYS} FROM")));
    }

    #[test]
    fn a_month_is_retired_before_its_counts_and_made_current_after_them() {
        let m = Month::of_day(20_000);
        let s = statements("voc", None, &[m], 9);
        let whats: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
        assert!(whats[0].starts_with("retire the roll-up"));
        let n = LEVELS.len();
        assert!(whats[1..=n].iter().all(|w| w.starts_with("roll up month")));
        assert!(whats[n + 1].starts_with("record the roll-up"));
        assert!(whats[n + 2].starts_with("delete older"));
        assert!(s[0].1.contains(&format!("WHERE days = {}", m.days())));
        assert!(
            s[0].1.contains("toUInt8(0), toUInt64(9)"),
            "not ready: the version"
        );
        assert!(s[1..=n].iter().all(|(_, q)| q.contains("version = 9)")));
        assert!(
            s[1..=n]
                .iter()
                .all(|(_, q)| !crate::levels::alias_hides_a_column(q)),
            "no alias hides a column"
        );
        assert!(
            s[n + 1].1.contains("toUInt8(1), toUInt64(10)"),
            "ready: the version + 1"
        );
        assert!(
            s[n + 1].1.contains("AND closures IN (SELECT closures"),
            "the ledger unchanged"
        );
        assert!(s[n + 2].1.contains("version < 9"));
        let on_cluster = statements("voc", Some("c1"), &[m], 9);
        assert!(on_cluster[1].1.contains("GLOBAL IN"));
        assert!(
            on_cluster[n + 2]
                .1
                .contains("keyword_monthly_closed_local ON CLUSTER `c1`")
        );
        assert!(statements("voc", None, &[], 9).is_empty());
    }
}
