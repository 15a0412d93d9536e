//! The SQL of the flagger's detection queries, pure: [`crate::store::detect_all`] runs these, and
//! `voc bench scale --plan` lists them ([`all`]) so that another engine times exactly what the
//! flagger runs. Times are epoch seconds; a run looks at the window `[start, end)` and the days
//! before it. A `?` is a bind (a topic or a product), filled by the caller.

use crate::config::FlagConfig;

/// The two spike series: per topic, then per topic × complaint type × product (for the topics
/// that are quiet), as (key expression, filter).
pub const SPIKE_KEYS: [(&str, &str); 2] = [
    ("topic", ""),
    (
        "concat(topic, '/', complaint_type, '/', product)",
        "AND complaint_type != ''",
    ),
];

/// The two recurring series: per topic, then per topic × product, as (key expression, filter).
pub const RECURRING_KEYS: [(&str, &str); 2] = [
    ("topic", ""),
    (
        "concat(topic, '/', CAST(product AS String))",
        "AND product != ''",
    ),
];

/// The hourly volumes of each key in the window and in the same hours of each of the
/// `baseline_days` days before it, by day back from `end` (0: the window).
pub fn spike_series(end: u32, start: u32, baseline_days: u32, key: (&str, &str)) -> String {
    let (key_expr, filter) = key;
    let w = end - start;
    format!(
        "SELECT {key_expr} AS key, toUInt32(intDiv({end} - 1 - toUInt32(hour), 86400)) AS day, sum(interactions) AS count \
         FROM topic_volume_hourly \
         WHERE hour >= toDateTime({end} - 86400 * {baseline_days} - {w}) AND hour < toDateTime({end}) \
           AND (({end} - 1 - toUInt32(hour)) % 86400) < {w} AND topic != '(none)' {filter} \
         GROUP BY key, day"
    )
}

/// Five samples of a spiking topic (bind: the topic), the most severe and latest first.
pub fn spike_samples(end: u32, start: u32) -> String {
    format!(
        "SELECT interaction_id FROM interactions FINAL WHERE has(topics, ?) AND occurred_at >= toDateTime({start}) \
         AND occurred_at < toDateTime({end}) ORDER BY severity DESC, occurred_at DESC LIMIT 5"
    )
}

/// The window's complaints with their topics and keywords (emerging terms).
pub fn recent_complaints(end: u32, start: u32) -> String {
    format!(
        "SELECT interaction_id, CAST(topics AS Array(String)) AS topics, keywords FROM interactions FINAL WHERE voice_type = 'complaint' \
         AND occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})"
    )
}

/// Each keyword's negative interactions in the `baseline_days` days before the window.
pub fn keyword_baseline(start: u32, baseline_days: u32) -> String {
    format!(
        "SELECT keyword, sum(negative) AS total FROM keyword_hourly \
         WHERE hour >= toDateTime({start} - 86400 * {baseline_days}) AND hour < toDateTime({start}) GROUP BY keyword"
    )
}

/// Complaints per key and day back from `end` over the last `days` days (recurring problems).
pub fn daily_complaints(end: u32, days: u32, key: (&str, &str)) -> String {
    let (key_expr, filter) = key;
    format!(
        "SELECT {key_expr} AS key, toUInt32(intDiv({end} - 1 - toUInt32(occurred_at), 86400)) AS day, \
         count() AS complaints, countIf(sentiment = 'negative') AS negative, sum(severity) AS severity_sum \
         FROM interactions FINAL ARRAY JOIN CAST(topics AS Array(String)) AS topic \
         WHERE voice_type = 'complaint' AND occurred_at >= toDateTime({end} - 86400 * {days}) \
           AND occurred_at < toDateTime({end}) {filter} GROUP BY key, day"
    )
}

/// Five samples of a recurring problem in its last day (binds: the topic, the product twice,
/// `''` for any product).
pub fn recurring_samples(end: u32) -> String {
    format!(
        "SELECT interaction_id FROM interactions FINAL WHERE has(topics, ?) AND voice_type = 'complaint' \
         AND (? = '' OR product = ?) AND occurred_at >= toDateTime({end} - 86400) AND occurred_at < toDateTime({end}) \
         ORDER BY severity DESC, occurred_at DESC LIMIT 5"
    )
}

/// Customers who complained about a topic at least twice in the last `days` days, once in the
/// window.
pub fn repeats(end: u32, start: u32, days: u32) -> String {
    format!(
        "SELECT concat(customer_id, '/', topic) AS key, count() AS n, groupArray(interaction_id) AS ids \
         FROM interactions FINAL ARRAY JOIN topics AS topic \
         WHERE customer_id != '' AND voice_type = 'complaint' \
           AND occurred_at >= toDateTime({end} - 86400 * {days}) AND occurred_at < toDateTime({end}) \
         GROUP BY key HAVING n >= 2 AND max(occurred_at) >= toDateTime({start})"
    )
}

/// Every severity-3 interaction in the window.
pub fn escalations(end: u32, start: u32) -> String {
    format!(
        "SELECT interaction_id FROM interactions FINAL WHERE severity = 3 \
         AND occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})"
    )
}

/// Every detection query of a run at `end` under `c`, as (what, SQL), in the order the flagger
/// runs them; the samples' binds are filled with `topic` (any product).
pub fn all(end: u32, c: &FlagConfig, topic: &str) -> Vec<(&'static str, String)> {
    let start = end.saturating_sub(u32::try_from(c.window().whole_seconds()).unwrap_or(0));
    let quoted = format!("'{}'", topic.replace('\\', "\\\\").replace('\'', "\\'"));
    let bind = |sql: String, values: &[&str]| values.iter().fold(sql, |s, v| s.replacen('?', v, 1));
    vec![
        (
            "spike series by topic",
            spike_series(end, start, c.baseline_days, SPIKE_KEYS[0]),
        ),
        (
            "spike series by topic, complaint type and product",
            spike_series(end, start, c.baseline_days, SPIKE_KEYS[1]),
        ),
        ("spike samples", bind(spike_samples(end, start), &[&quoted])),
        ("recent complaint keywords", recent_complaints(end, start)),
        ("keyword baseline", keyword_baseline(start, c.baseline_days)),
        (
            "daily complaints by topic",
            daily_complaints(end, c.recurring_of_days, RECURRING_KEYS[0]),
        ),
        (
            "daily complaints by topic and product",
            daily_complaints(end, c.recurring_of_days, RECURRING_KEYS[1]),
        ),
        (
            "recurring samples",
            bind(recurring_samples(end), &[&quoted, "''", "''"]),
        ),
        ("repeat contacts", repeats(end, start, c.repeat_days)),
        ("escalations", escalations(end, start)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_lists_every_query_with_its_binds_filled() {
        let c = FlagConfig::default();
        let q = all(1_796_050_800, &c, "billing");
        assert_eq!(q.len(), 10);
        assert!(q.iter().all(|(_, sql)| !sql.contains('?')), "{q:?}");
        let start = 1_796_050_800 - c.window_hours as u32 * 3600;
        assert!(q[2].1.contains(&format!(
            "has(topics, 'billing') AND occurred_at >= toDateTime({start})"
        )));
        assert!(q[7].1.contains("('' = '' OR product = '')"));
        assert!(
            all(1_796_050_800, &c, "o'neil")[2]
                .1
                .contains("has(topics, 'o\\'neil')")
        );
    }
}
