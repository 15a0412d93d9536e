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

/// Grafana's `$__interval` for a range: the range over the panel's data points (about 1,000 for a
/// full-width panel), in whole hours because the aggregates are hourly.
pub fn interval_s(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    let range = (to - from).whole_seconds().max(0);
    let hours = (range / 1000 + 3599) / 3600;
    hours.max(1) * 3600
}

/// Expands the plugin's macros for the range [`from`, `to`] and the `${name}`/`$name` variables
/// (`database` from `db`), as Grafana would send the query.
pub fn render(
    sql: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
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
        .replace("$__interval_s", &interval_s(from, to).to_string());
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
        assert_eq!(interval_s(from, to), 3600, "a week: hourly");
        assert_eq!(interval_s(to - time::Duration::days(365), to), 9 * 3600);
        let panels = panel_queries().expect("dashboards parse");
        assert!(panels.len() >= 17 && panels.iter().all(|p| !p.sql.is_empty()));
    }
}
