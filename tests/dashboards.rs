//! Every dashboard panel's SQL, rendered as Grafana would (the ClickHouse plugin's macros and the
//! dashboards' template variables expanded), runs on the real ClickHouse against a seeded dataset
//! (the demo corpus through the worker, plus one flagger run) and returns rows of the expected
//! shape. `scripts/check_sql_current.py` runs the same panels on a current ClickHouse (chdb).

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

fn dashboards() -> Vec<(String, serde_json::Value)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dashboards/grafana/dashboards"
    );
    let mut out: Vec<(String, serde_json::Value)> = std::fs::read_dir(dir)
        .expect("dashboards dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("read dashboard");
            (
                e.file_name().to_string_lossy().into_owned(),
                serde_json::from_str(&text).expect("dashboard is JSON"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Expands the plugin's macros and `${var}` template variables like Grafana does.
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
    for (macro_name, expand) in [("$__timeFilter(", 0), ("$__dateFilter(", 1)] {
        while let Some(i) = s.find(macro_name) {
            let j = s[i..]
                .find(')')
                .map(|j| i + j)
                .expect("closing parenthesis");
            let col = s[i + macro_name.len()..j].to_string();
            let cond = if expand == 0 {
                format!("{col} >= toDateTime({f}) AND {col} <= toDateTime({t})")
            } else {
                format!(
                    "{col} >= toDate('{}') AND {col} <= toDate('{}')",
                    date(from),
                    date(to)
                )
            };
            s.replace_range(i..=j, &cond);
        }
    }
    s = s
        .replace("$__fromTime", &format!("toDateTime({f})"))
        .replace("$__toTime", &format!("toDateTime({t})"))
        .replace("$__interval_s", "3600");
    for (name, value) in vars {
        s = s
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    // The dashboards' `database` variable: the tests' own database.
    s.replace("${database}", db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_runs_and_returns_rows_of_the_expected_shape() {
    let p = Pipeline::new(2);
    p.migrate();
    let w = p.spawn_worker("d");
    let end = time::macros::datetime!(2026-11-20 15:00 +09:00);
    let corpus = voc_demo::corpus::generate(7, end, 900, 35);
    p.produce(&corpus);
    p.wait_for("the corpus stored", WAIT, || {
        p.stored() == corpus.len() as u64
    });
    let now = end.format(&Rfc3339).expect("time");
    assert!(
        p.run(&["flagger", "--once", "--now", &now], b"")
            .status
            .success()
    );

    let from = end - time::Duration::days(7);
    let all = [
        ("product", "All"),
        ("channel", "All"),
        ("topic", "All"),
        ("voice_type", "All"),
    ];
    let narrow = [
        ("product", "mobile-app"),
        ("channel", "chat"),
        ("topic", "account_login"),
        ("voice_type", "complaint"),
    ];
    let mut checked = 0;
    for (file, d) in dashboards() {
        for v in d["templating"]["list"].as_array().expect("variables") {
            if v["type"] != "query" {
                continue;
            }
            let sql = render(
                v["query"].as_str().expect("variable query"),
                from,
                end,
                &all,
                &p.db,
            );
            let out =
                p.ch.query(&sql)
                    .unwrap_or_else(|e| panic!("{file} variable {}: {e}\n{sql}", v["name"]));
            assert!(
                !out.trim().is_empty(),
                "{file} variable {} has no values",
                v["name"]
            );
        }
        for panel in d["panels"].as_array().expect("panels") {
            let title = panel["title"].as_str().unwrap_or("?");
            assert_eq!(
                panel["datasource"]["uid"], "voc-clickhouse",
                "{file}/{title}: the provisioned read-only datasource"
            );
            for target in panel["targets"].as_array().expect("targets") {
                let raw = target["rawSql"].as_str().expect("rawSql");
                for vars in [&all, &narrow] {
                    let sql = render(raw, from, end, vars, &p.db);
                    assert!(
                        !sql.contains("$__") && !sql.contains("${"),
                        "{file}/{title}: unexpanded macro\n{sql}"
                    );
                    let out =
                        p.ch.query(&format!("{sql} FORMAT JSONCompact"))
                            .unwrap_or_else(|e| panic!("{file}/{title}: {e}\n{sql}"));
                    let json: serde_json::Value = serde_json::from_str(&out).expect("JSONCompact");
                    let columns: Vec<&str> = json["meta"]
                        .as_array()
                        .expect("meta")
                        .iter()
                        .filter_map(|c| c["name"].as_str())
                        .collect();
                    let rows = json["data"].as_array().map(Vec::len).unwrap_or(0);
                    if panel["type"] == "timeseries" {
                        assert_eq!(
                            columns.first(),
                            Some(&"time"),
                            "{file}/{title}: a time series starts with `time`: {columns:?}"
                        );
                    }
                    assert!(columns.len() >= 2, "{file}/{title}: {columns:?}");
                    if vars == &all {
                        assert!(
                            rows > 0,
                            "{file}/{title}: no rows on the seeded dataset\n{sql}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 34, "{checked} panel queries checked");

    // The keyword panels honour the topic filter: the burst's words under its topic, not another's.
    let overview = dashboards()
        .into_iter()
        .find(|(f, _)| f == "voc-overview.json")
        .expect("overview")
        .1;
    let top = overview["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["title"] == "Top keywords")
        .expect("the top keywords panel");
    let raw = top["targets"][0]["rawSql"].as_str().expect("rawSql");
    let keywords_of = |topic: &str, voice: &str| {
        let vars = [
            ("product", "All"),
            ("channel", "All"),
            ("topic", topic),
            ("voice_type", voice),
        ];
        p.ch.q(&render(raw, from, end, &vars, &p.db))
    };
    assert!(keywords_of("account_login", "All").contains("認証コード"));
    assert!(!keywords_of("billing", "All").contains("認証コード"));
    assert!(!keywords_of("account_login", "praise").contains("認証コード"));
    assert!(w.terminate().success());
}
