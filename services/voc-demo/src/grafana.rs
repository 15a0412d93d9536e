//! The Grafana dashboards' SQL as Grafana's ClickHouse plugin sends it: the dashboards of
//! `dashboards/grafana/dashboards/` (embedded), and the plugin's macros (`$__timeFilter`,
//! `$__dateFilter`, `$__fromTime`, `$__toTime`, `$__interval_s`) and `${var}` template variables
//! expanded. Shared by the dashboard tests and `voc bench scale`.

use time::OffsetDateTime;

/// Every dashboard, as (file name, JSON text).
pub const DASHBOARDS: &[(&str, &str)] = &[
    (
        "voc-overview.json",
        include_str!("../../../dashboards/grafana/dashboards/voc-overview.json"),
    ),
    (
        "voc-support-lead.json",
        include_str!("../../../dashboards/grafana/dashboards/voc-support-lead.json"),
    ),
];

/// One panel query (a dashboard has one per panel target).
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub dashboard: &'static str,
    pub title: String,
    /// Grafana's panel type (`timeseries`, `table`, …).
    pub panel_type: String,
    pub datasource_uid: String,
    pub sql: String,
    /// The panel's `maxDataPoints` ([`DEFAULT_MAX_DATA_POINTS`] when unset).
    pub max_data_points: i64,
    /// The panel's minimum interval (`interval`, e.g. `"1h"`) in seconds; an hour when unset,
    /// because the aggregates are hourly.
    pub min_interval_s: i64,
}

/// The data points of a panel without `maxDataPoints`: about a full-width panel's pixels.
pub const DEFAULT_MAX_DATA_POINTS: i64 = 1000;

impl PanelQuery {
    /// The panel's SQL as Grafana sends it for [`from`, `to`]: [`render_at`] with the panel's
    /// [`interval_s`].
    pub fn render(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        vars: &[(&str, &str)],
        db: &str,
    ) -> String {
        let interval = interval_s(from, to, self.max_data_points, self.min_interval_s);
        render_at(&self.sql, from, to, interval, vars, db)
    }
}

/// A Grafana duration (`"30s"`, `"1h"`, `"1d"`) in seconds; `None` when it is not one.
fn duration_s(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    text[..text.len() - 1].parse::<i64>().ok().map(|n| n * unit)
}

/// The dashboards parsed; a dashboard that is not valid JSON is a build-time bug, reported here.
pub fn dashboards() -> Result<Vec<(&'static str, serde_json::Value)>, serde_json::Error> {
    DASHBOARDS
        .iter()
        .map(|(name, text)| Ok((*name, serde_json::from_str(text)?)))
        .collect()
}

/// Every panel target's SQL, in dashboard and panel order.
pub fn panel_queries() -> Result<Vec<PanelQuery>, serde_json::Error> {
    let mut out = Vec::new();
    for (dashboard, d) in dashboards()? {
        for panel in d["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(PanelQuery {
                    dashboard,
                    title: panel["title"].as_str().unwrap_or("?").to_string(),
                    panel_type: panel["type"].as_str().unwrap_or("").to_string(),
                    datasource_uid: panel["datasource"]["uid"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    sql: target["rawSql"].as_str().unwrap_or("").to_string(),
                    max_data_points: panel["maxDataPoints"]
                        .as_i64()
                        .unwrap_or(DEFAULT_MAX_DATA_POINTS),
                    min_interval_s: panel["interval"]
                        .as_str()
                        .and_then(duration_s)
                        .unwrap_or(3600),
                });
            }
        }
    }
    Ok(out)
}

/// Every template variable's query, as (dashboard, variable name, SQL).
pub fn variable_queries() -> Result<Vec<(&'static str, String, String)>, serde_json::Error> {
    let mut out = Vec::new();
    for (dashboard, d) in dashboards()? {
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                out.push((
                    dashboard,
                    v["name"].as_str().unwrap_or("").to_string(),
                    v["query"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// Grafana's `$__interval` for a range, in seconds: the range over the panel's data points, rounded
/// to one of Grafana's steps (`roundInterval` in `@grafana/data`'s rangeutil: …, 1 h, 2 h, 3 h,
/// 6 h, 12 h, 1 d, 1 w, 30 d, 1 y), and at least the panel's minimum interval.
pub fn interval_s(
    from: OffsetDateTime,
    to: OffsetDateTime,
    max_data_points: i64,
    min_interval_s: i64,
) -> i64 {
    let range_ms = (to - from).whole_milliseconds().max(0) as i64;
    (round_interval_ms(range_ms / max_data_points.max(1)) / 1000)
        .max(1)
        .max(min_interval_s)
}

/// Grafana's `roundInterval` (milliseconds in, milliseconds out): each bound below is the step
/// above's midpoint to the next, as Grafana has it.
fn round_interval_ms(ms: i64) -> i64 {
    const STEPS: [(i64, i64); 28] = [
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
        (3_628_800_000, 2_592_000_000),
    ];
    if ms < 10 {
        return 1;
    }
    STEPS
        .iter()
        .find(|(below, _)| ms < *below)
        .map_or(31_536_000_000, |(_, step)| *step)
}

/// Expands the plugin's macros for the range [`from`, `to`] and the `${name}`/`$name` variables
/// (`database` from `db`), as Grafana would send the query of a panel without its own data points
/// or minimum interval (a template variable's, say); a panel's: [`PanelQuery::render`].
pub fn render(
    sql: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
    vars: &[(&str, &str)],
    db: &str,
) -> String {
    let interval = interval_s(from, to, DEFAULT_MAX_DATA_POINTS, 3600);
    render_at(sql, from, to, interval, vars, db)
}

/// [`render`] with `$__interval_s` = `interval_s` (seconds), for a bucket size of the caller's.
pub fn render_at(
    sql: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
    interval_s: i64,
    vars: &[(&str, &str)],
    db: &str,
) -> String {
    let (f, t) = (from.unix_timestamp(), to.unix_timestamp());
    let date =
        |x: OffsetDateTime| format!("{:04}-{:02}-{:02}", x.year(), u8::from(x.month()), x.day());
    let mut s = sql.to_string();
    for (macro_name, dates) in [("$__timeFilter(", false), ("$__dateFilter(", true)] {
        while let Some(i) = s.find(macro_name) {
            let Some(j) = s[i..].find(')').map(|j| i + j) else {
                break;
            };
            let col = s[i + macro_name.len()..j].to_string();
            let cond = if dates {
                format!(
                    "{col} >= toDate('{}') AND {col} <= toDate('{}')",
                    date(from),
                    date(to)
                )
            } else {
                format!("{col} >= toDateTime({f}) AND {col} <= toDateTime({t})")
            };
            s.replace_range(i..=j, &cond);
        }
    }
    s = s
        .replace("$__fromTime", &format!("toDateTime({f})"))
        .replace("$__toTime", &format!("toDateTime({t})"))
        .replace("$__interval_s", &interval_s.to_string());
    // The dashboards' `database` variable first, so a variable named like its prefix cannot eat it.
    s = s.replace("${database}", db);
    for (name, value) in vars {
        s = s
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_and_variables_expand_as_grafana_sends_them() {
        let to = time::macros::datetime!(2026-11-20 06:00 UTC);
        let from = to - time::Duration::days(7);
        let sql = render(
            "SELECT * FROM ${database}.t WHERE $__timeFilter(hour) AND $__dateFilter(day) AND p = '${product}' AND h < $__toTime",
            from,
            to,
            &[("product", "app")],
            "voc_x",
        );
        assert_eq!(
            sql,
            format!(
                "SELECT * FROM voc_x.t WHERE hour >= toDateTime({f}) AND hour <= toDateTime({t}) AND day >= toDate('2026-11-13') AND day <= toDate('2026-11-20') AND p = 'app' AND h < toDateTime({t})",
                f = from.unix_timestamp(),
                t = to.unix_timestamp()
            )
        );
        let year = to - time::Duration::days(365);
        assert_eq!(interval_s(from, to, 1000, 3600), 3600, "a week: hourly");
        assert_eq!(interval_s(year, to, 1000, 3600), 6 * 3600, "9 h, rounded");
        let days = |n: i64| to - time::Duration::days(n);
        assert_eq!(interval_s(year, to, 180, 3600), 86_400, "a year: a day");
        assert_eq!(
            interval_s(days(180), to, 180, 3600),
            86_400,
            "six months: a day"
        );
        assert_eq!(
            interval_s(days(179), to, 180, 3600),
            43_200,
            "just under: 12 h"
        );
        assert_eq!(interval_s(days(90), to, 180, 3600), 43_200);
        assert_eq!(
            interval_s(from, to, 1000, 60),
            600,
            "10 min without a minimum"
        );
        assert_eq!(interval_s(from, to, 2, 3600), 86_400, "3.5 days: a day");
        assert_eq!(interval_s(from, to, 1, 3600), 7 * 86_400, "a week");
        let panels = panel_queries().expect("dashboards parse");
        assert!(panels.len() >= 17 && panels.iter().all(|p| !p.sql.is_empty()));
        // The trends over the hourly aggregates: buckets of a day from six months on, never
        // under an hour.
        for title in [
            "Volume by topic",
            "Sentiment trend by topic (negative share)",
            "Complaints, questions and requests",
        ] {
            let panel = panels.iter().find(|p| p.title == title).expect(title);
            assert_eq!((panel.max_data_points, panel.min_interval_s), (180, 3600));
            assert!(panel.render(year, to, &[], "d").contains("86400) * 86400"));
        }
        assert_eq!(duration_s("1d"), Some(86_400));
        assert_eq!(duration_s("$auto"), None);
    }
}
