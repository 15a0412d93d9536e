//! Every dashboard panel's SQL, rendered as Grafana would (the ClickHouse plugin's macros and the
//! dashboards' template variables expanded), runs on the real ClickHouse against a seeded dataset
//! (the demo corpus through the worker, plus one flagger run) and returns rows of the expected
//! shape. `scripts/check_sql_current.py` runs the same panels on a current ClickHouse (chdb).

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use voc_demo::grafana::render;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

fn dashboards() -> Vec<(&'static str, serde_json::Value)> {
    voc_demo::grafana::dashboards().expect("dashboards are JSON")
}

/// The SQL of the dashboard's panel titled `title`.
fn panel_sql(dashboard: &serde_json::Value, title: &str) -> String {
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["title"] == title)
        .and_then(|p| p["targets"][0]["rawSql"].as_str())
        .unwrap_or_else(|| panic!("no panel {title:?} with SQL"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_runs_and_returns_rows_of_the_expected_shape() {
    panels_scenario(Pipeline::new(2));
}

/// The same panels, unchanged, on a cluster of two shards of two replicas: they read the
/// Distributed tables and views that `voc migrate --cluster` made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_runs_unchanged_on_a_cluster() {
    panels_scenario(Pipeline::on_cluster(2, 2, 2));
}

fn panels_scenario(p: Pipeline) {
    p.migrate();
    let w = p.spawn_worker("d");
    let end = time::macros::datetime!(2026-11-20 15:00 +09:00);
    let corpus = voc_demo::corpus::generate(7, end, 900, 35);
    p.produce(&corpus);
    p.wait_for("the corpus stored", WAIT, || {
        p.stored() == corpus.len() as u64
    });
    // Everything again (a replay): every panel must still count each interaction once.
    p.produce(&corpus);
    p.wait_for("the replay written", WAIT, || {
        w.metric("voc_sink_rows_written_total")
            .is_some_and(|n| n >= 2.0 * corpus.len() as f64)
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
        .find(|(f, _)| *f == "voc-overview.json")
        .expect("overview")
        .1;
    let top = panel_sql(&overview, "Top keywords");
    let keywords_of = |topic: &str, voice: &str| {
        let vars = [
            ("product", "All"),
            ("channel", "All"),
            ("topic", topic),
            ("voice_type", voice),
        ];
        p.ch.q(&render(&top, from, end, &vars, &p.db))
    };
    // Panels read the hourly views (closed days' counts, open days' id sets): after a replay,
    // volumes and negative shares are those of the collapsed interactions, whatever the filters.
    let share = panel_sql(&overview, "Negative share by topic");
    // The range (whole hours, as the hourly views count) and the product and channel filters.
    let var = |vars: &[(&str, &'static str); 4], name: &str| -> &'static str {
        vars.iter().find(|v| v.0 == name).map_or("All", |v| v.1)
    };
    let range_and_filters = |vars: &[(&str, &'static str); 4]| {
        format!(
            "occurred_at >= toDateTime({f}) AND occurred_at < toDateTime({t}) \
             AND ('{pr}' = 'All' OR product = '{pr}') AND ('{ch}' = 'All' OR channel = '{ch}')",
            f = from.unix_timestamp(),
            t = end.unix_timestamp() + 3600,
            pr = var(vars, "product"),
            ch = var(vars, "channel"),
        )
    };
    for vars in [&all, &narrow] {
        let sql = render(&share, from, end, vars, &p.db);
        let from_views = p.ch.q(&format!(
            "SELECT topic, negative_share, volume FROM ({sql}) ORDER BY topic"
        ));
        let direct = p.ch.q(&format!(
            "SELECT topic, round(countIf(sentiment = 'negative') / count(), 3) AS negative_share, count() AS volume \
             FROM {db}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], CAST(topics AS Array(String))) AS topic \
             WHERE {range} AND ('{tp}' = 'All' OR topic = '{tp}') AND ('{vt}' = 'All' OR voice_type = '{vt}') \
             GROUP BY topic ORDER BY topic",
            db = p.db,
            range = range_and_filters(vars),
            tp = var(vars, "topic"),
            vt = var(vars, "voice_type"),
        ));
        assert!(!direct.trim().is_empty(), "{vars:?} selects something");
        assert_eq!(from_views, direct, "{vars:?}");
    }
    // Complaint types: from the hourly volumes (with a topic, those of the topic), as the
    // interactions say.
    let types = panel_sql(&overview, "Complaint types");
    for vars in [&all, &narrow] {
        let sql = render(&types, from, end, vars, &p.db);
        let direct = p.ch.q(&format!(
            "SELECT ifNull(complaint_type, '') AS ct, count() AS interactions FROM {db}.interactions FINAL \
             WHERE {range} AND voice_type = 'complaint' AND ('{tp}' = 'All' OR has(topics, '{tp}')) \
             GROUP BY ct ORDER BY interactions DESC, ct",
            db = p.db,
            range = range_and_filters(vars),
            tp = var(vars, "topic"),
        ));
        assert!(!direct.trim().is_empty(), "{vars:?} selects something");
        assert_eq!(p.ch.q(&sql), direct, "{vars:?}");
    }
    // CSAT and resolution: closed days' sums and open days' interactions, as the interactions say.
    let csat = panel_sql(&overview, "CSAT and resolution by topic");
    let sql = render(&csat, from, end, &all, &p.db);
    let from_views = p.ch.q(&format!(
        "SELECT topic, volume, avg_csat, responses, resolved_share FROM ({sql}) ORDER BY topic"
    ));
    let direct = p.ch.q(&format!(
        "SELECT topic, count() AS volume, \
         if(countIf(isNotNull(csat)) = 0, NULL, round(avgIf(toFloat64(assumeNotNull(csat)), isNotNull(csat)), 2)), \
         countIf(isNotNull(csat)), \
         if(countIf(isNotNull(resolved)) = 0, NULL, round(countIf(ifNull(resolved, 0) = 1) / countIf(isNotNull(resolved)), 3)) \
         FROM {db}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], CAST(topics AS Array(String))) AS topic \
         WHERE occurred_at >= toDateTime({f}) AND occurred_at < toDateTime({t}) \
         GROUP BY topic ORDER BY topic",
        db = p.db,
        f = from.unix_timestamp(),
        t = end.unix_timestamp() + 3600,
    ));
    assert!(
        direct.lines().any(|l| !l.contains("\\N")),
        "the seeded data has CSAT and resolution:\n{direct}"
    );
    assert_eq!(from_views, direct, "CSAT by topic");

    assert!(keywords_of("account_login", "All").contains("認証コード"));
    assert!(!keywords_of("billing", "All").contains("認証コード"));
    assert!(!keywords_of("account_login", "praise").contains("認証コード"));
    assert!(w.terminate().success());
}

/// `voc bench scale` on a small year: it fills the database through the real migrations (the
/// aggregates see every interaction), spreads the year over 365 days, and times every panel at
/// every range.
#[test]
fn the_scale_benchmark_fills_a_year_and_times_every_panel() {
    let ch = voc_tests::clickhouse::ClickHouse::start();
    let db = format!("voc_scale_{}", voc_tests::free_port());
    let out = voc_tests::run_voc(
        &[
            "bench",
            "scale",
            "--interactions",
            "3000",
            "--rounds",
            "1",
            "--clickhouse-url",
            &ch.url,
            "--database",
            &db,
        ],
        b"",
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ch.q(&format!("SELECT count() FROM {db}.interactions"))
            .trim(),
        "3000"
    );
    let through_views: u64 = ch
        .q(&format!(
            "SELECT sum(interactions) FROM {db}.topic_volume_hourly WHERE topic = '(none)'"
        ))
        .trim()
        .parse()
        .expect("a count");
    let direct: u64 = ch
        .q(&format!(
            "SELECT count() FROM {db}.interactions WHERE empty(topics)"
        ))
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(through_views, direct, "the materialised views saw the fill");
    let days: u64 = ch
        .q(&format!(
            "SELECT uniqExact(toDate(occurred_at)) FROM {db}.interactions"
        ))
        .trim()
        .parse()
        .expect("a count");
    assert!(days > 300, "spread over the year: {days} days");
    // Nothing after the end, and no pile-up in the last hour (about 0.5 expected there).
    let last_hour: u64 = ch
        .q(&format!(
            "SELECT countIf(occurred_at >= toStartOfHour(now()) - 3600) FROM {db}.interactions \
             WHERE occurred_at < toStartOfHour(now()) + 3600"
        ))
        .trim()
        .parse()
        .expect("a count");
    assert!(last_hour < 3000 / 365 / 2, "{last_hour} in the last hour");
    let future: u64 = ch
        .q(&format!(
            "SELECT count() FROM {db}.interactions WHERE occurred_at >= toStartOfHour(now()) + 3600"
        ))
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(future, 0, "nothing after the end");
    for p in voc_demo::grafana::panel_queries().expect("panels") {
        for range in ["24h", "7d", "90d", "365d"] {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.contains(&p.title) && l.split_whitespace().any(|w| w == range)),
                "{} at {range} is timed\n{stdout}",
                p.title
            );
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON last line");
    let mb = |side: &str, table: &str| {
        summary["mb_per_million"][side][table]
            .as_f64()
            .unwrap_or_else(|| panic!("{side} {table} in {summary}"))
    };
    assert!(mb("closed", "interactions") > 0.0);
    // Closing the year's days leaves id sets for the open days only, and every panel answers the
    // same from the counts (the benchmark fails otherwise; the list says which).
    assert!(
        summary["days_closed"].as_u64().unwrap_or(0) > 300,
        "{summary}"
    );
    assert_eq!(
        summary["answers_differ"],
        serde_json::json!([]),
        "{summary}"
    );
    for table in ["topic_volume_hourly_state", "keyword_hourly_state"] {
        assert!(
            mb("closed", table) < mb("id_sets", table) / 10.0,
            "{table}: {summary}"
        );
    }
}
