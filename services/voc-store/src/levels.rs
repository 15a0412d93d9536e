//! The levels at which keyword counts are rolled up, by day ([`crate::days`]) and by month
//! ([`crate::months`]). The markers `(all)` (summed over every value) and `(any)` (each interaction
//! once, whatever its topics, as in `keyword_topic_hourly`) stand for a filter left at All, so that
//! each combination of dashboard filters a level serves is one slice of the sorting key, at most a
//! vocabulary's worth of rows per day: at 30 M interactions summing keyword × voice type per day
//! for the unfiltered panel still read 90 k rows a day (BENCHMARKS.md, "Daily keyword roll-ups at 30 M").
//! Each (topic, voice type, product, channel) combination is in one level only, so the panel reads
//! every level with one filter (each column equal to its value or its marker) and reads the hourly
//! rows for a combination no level holds.

/// A level: what it is, its columns over `keyword_topic_hourly_closed` in the roll-up tables'
/// order (keyword, topic, voice type, product, channel), a filter on those rows (empty or starting
/// with `AND`), and its grouping. The INSERTs are by position; an alias must not be named like a
/// column of the source, or it would replace that column in the filter.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    pub what: &'static str,
    pub columns: &'static str,
    pub filter: &'static str,
    pub group_by: &'static str,
}

/// The three levels.
pub const LEVELS: [Level; 3] = [
    // Product and channel at All: any topic (or `(any)`) with any voice type (or `(all)`).
    Level {
        what: "keyword × topic × voice type",
        columns: "keyword, topic, arrayJoin([voice_type, '(all)']) AS v, '(all)', '(all)'",
        filter: "",
        group_by: "keyword, topic, v",
    },
    // Topic and voice type at All: a product, a channel, or both.
    Level {
        what: "keyword × product × channel",
        columns: "keyword, '(any)', '(all)', \
                  tupleElement(arrayJoin([(product, channel), (product, '(all)'), ('(all)', channel)]) AS pc, 1), \
                  tupleElement(pc, 2)",
        filter: "AND topic = '(any)'",
        group_by: "keyword, pc",
    },
    // Channel and voice type at All: a product with a topic (a topic alone is the first level's, a
    // product alone the second's).
    Level {
        what: "keyword × product × topic",
        columns: "keyword, topic, '(all)', product, '(all)'",
        filter: "AND topic != '(any)'",
        group_by: "keyword, topic, product",
    },
];

/// The combinations of the dashboard's filters (Grafana variables, `All` when not chosen) the
/// levels hold, as a SQL condition.
pub const PANEL_LEVELS: &str = "('${product}' = 'All' AND '${channel}' = 'All' \
     OR '${topic}' = 'All' AND '${voice_type}' = 'All' \
     OR '${channel}' = 'All' AND '${voice_type}' = 'All')";

/// The rows of the roll-up that answer the dashboard's filters: each column its value or its
/// marker.
pub const PANEL_ROWS: &str = "product = if('${product}' = 'All', '(all)', '${product}') \
     AND channel = if('${channel}' = 'All', '(all)', '${channel}') \
     AND topic = if('${topic}' = 'All', '(any)', '${topic}') \
     AND voice_type = if('${voice_type}' = 'All', '(all)', '${voice_type}')";

/// Whether an alias in `sql` is named like a column of `keyword_topic_hourly_closed` (which would
/// replace that column in a roll-up's filter).
#[cfg(test)]
pub(crate) fn alias_hides_a_column(sql: &str) -> bool {
    const COLUMNS: [&str; 9] = [
        "hour",
        "keyword",
        "topic",
        "voice_type",
        "product",
        "channel",
        "interactions",
        "negative",
        "version",
    ];
    sql.split(" AS ").skip(1).any(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        COLUMNS.contains(&name.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_reads_the_levels_as_they_are_written() {
        let panel = include_str!("../../../dashboards/grafana/dashboards/voc-overview.json");
        // Once for the months, once for the days, once for the hours they leave.
        // The months, the days, and the hours (twice: the first day the roll-ups do not cover,
        // and the days they do).
        assert_eq!(panel.matches(PANEL_LEVELS).count(), 4);
        assert_eq!(panel.matches(PANEL_ROWS).count(), 2);
        for l in LEVELS {
            assert!(!alias_hides_a_column(l.columns), "{}", l.what);
        }
        assert!(alias_hides_a_column("SELECT x AS topic, y"));
        assert!(!alias_hides_a_column("SELECT x AS topics_of, y AS v"));
    }
}
