//! Repeat contacts (migration 0011): a complaint by a customer who complained about the same
//! topic at most [`WINDOW_S`] before it, counted on the contact that repeats. Unlike "customers
//! with two complaints in a range" it adds up over hours, so closed days keep it as a sum.
//!
//! The flagger's repeat-contact flags (`voc_flags`, `flags.repeat_days`) are another measure:
//! the customers with two complaints about a topic within the last few days, each flagged once.
//!
//! A day's repeat contacts depend on the days before it, so a day computed again changes the
//! closed days after it too ([`followers`]); closing takes them along.

use crate::history::sql_list;

/// How far back a complaint looks for an earlier one: 7 days, in seconds.
pub const WINDOW_S: u32 = 7 * 86_400;

/// Days after a day `d` whose repeat contacts can change with it. A contact of `d` (the UTC day
/// of its hour) happened before 00:30 of `d + 1` (on a server whose zone is :30 off UTC, `d`'s
/// last hour starts at 23:30). A contact looking back to it by at most [`WINDOW_S`] happened
/// before 00:30 of `d + 8`, in an hour that starts on `d + 7` at the latest.
const FOLLOWER_DAYS: u32 = WINDOW_S / 86_400;

/// Each customer's complaints about a topic in time order (then by id), and each one's
/// predecessor's time (the epoch for the first): the same text in migration 0011's view.
pub(crate) const CONTACTS: &str = "arraySort(groupArray((occurred_at, interaction_id, \
     CAST(product AS String), CAST(channel AS String)))) AS contacts, \
     arrayPushFront(arrayPopBack(arrayMap(x -> tupleElement(x, 1), contacts)), toDateTime(0)) AS previous";

/// The INSERT of the repeat contacts of `days` (UTC day numbers, one closing statement's chunk)
/// into `topic_experience_hourly_closed` under `version`; empty for no days. It reads the
/// complaints of each day, of the day after (its last hour's) and of the [`FOLLOWER_DAYS`] + 1
/// before (one to spare), by their UTC day.
pub(crate) fn statement(db: &str, days: &[u32], version: u64) -> String {
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return String::new();
    };
    let before = FOLLOWER_DAYS + 1;
    let mut read: Vec<u32> = days
        .iter()
        .flat_map(|d| d.saturating_sub(before)..=d + 1)
        .collect();
    read.sort_unstable();
    read.dedup();
    format!(
        "INSERT INTO {db}.topic_experience_hourly_closed \
         (hour, topic, voice_type, product, channel, repeat_contacts, version) \
         SELECT toStartOfHour(tupleElement(c, 1)) AS hour, topic, 'complaint' AS voice_type, \
         tupleElement(c, 3) AS product, tupleElement(c, 4) AS channel, count() AS repeat_contacts, \
         toUInt64({version}) AS version \
         FROM (SELECT topic, {CONTACTS} FROM {db}.interactions FINAL \
               ARRAY JOIN arrayDistinct(CAST(topics AS Array(String))) AS topic \
               WHERE customer_id != '' AND voice_type = 'complaint' \
               AND occurred_at >= toDateTime({from}) AND occurred_at < toDateTime({to}) \
               AND intDiv(toUInt32(occurred_at), 86400) IN ({read}) \
               GROUP BY customer_id, topic HAVING count() >= 2) \
         ARRAY JOIN contacts AS c, previous AS p \
         WHERE toUInt32(tupleElement(c, 1)) - toUInt32(p) <= {WINDOW_S} \
         AND intDiv(toUInt32(toStartOfHour(tupleElement(c, 1))), 86400) IN ({list}) \
         GROUP BY hour, topic, product, channel",
        from = u64::from(first.saturating_sub(before)) * 86_400,
        to = (u64::from(*last) + 2) * 86_400,
        read = sql_list(&read),
        list = sql_list(days),
    )
}

/// The days whose repeat contacts may change when `days` change (the [`FOLLOWER_DAYS`] after
/// each), without `days` themselves. Those already closed must be closed again with them.
pub fn followers(days: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = days
        .iter()
        .flat_map(|d| d + 1..=d + FOLLOWER_DAYS)
        .filter(|d| !days.contains(d))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's open days and the close's closed days find repeat contacts with the same text.
    #[test]
    fn repeat_contacts_are_found_alike_for_open_and_closed_days() {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        // 0015 holds the view read since; 0011 the one before.
        for migration in [
            include_str!("../../../schemas/clickhouse/0011_topic_experience_hourly.sql"),
            include_str!("../../../schemas/clickhouse/0015_topic_experience_split.sql"),
        ] {
            let m = words(migration);
            assert!(m.contains(&words(CONTACTS)), "{m}");
            assert!(m.contains(&format!("<= {WINDOW_S}")));
        }
        let q = statement("`voc`", &[20_000, 20_005], 7);
        assert!(q.contains(CONTACTS));
        assert!(q.contains("IN (20000,20005)"), "the days written: {q}");
        // Read: the 8 days before each day (7 and one to spare), the day, and the next.
        assert!(q.contains("IN (19992,19993,19994,19995,19996,19997,19998,19999,20000,20001,"));
        assert!(q.contains("20005,20006)"), "{q}");
        assert!(statement("`voc`", &[], 7).is_empty());
    }

    #[test]
    fn the_days_after_a_changed_day_follow_it_within_the_window() {
        assert_eq!(followers(&[10]), (11..=17).collect::<Vec<u32>>());
        assert_eq!(followers(&[10, 12]), [11, 13, 14, 15, 16, 17, 18, 19]);
        assert!(followers(&[]).is_empty());
    }
}
