//! `voc retag` and `voc rules check` end to end, against a real ClickHouse and broker: a support
//! lead changes the rules, reviews the diff, dry-runs, applies; stored history then carries
//! exactly the tags the new rules give the original messages (computed independently with
//! `voc tag --rules NEW`), the aggregates equal `interactions FINAL`, nothing is counted twice,
//! and an interrupted re-tag resumes to the same exact result while a worker keeps ingesting.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);
const NEW_VERSION: &str = "ja-contact-center@retag-test";

/// The dev set as messages: copy `n` with its own ids, spread over hours of three days.
fn corpus(copy: usize) -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/dev.jsonl");
    let text = std::fs::read_to_string(path).expect("data/eval/dev.jsonl");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            v["interaction_id"] =
                format!("r{copy}-{}", v["interaction_id"].as_str().unwrap_or("x")).into();
            v["occurred_at"] = format!(
                "2026-11-{:02}T{:02}:{:02}:00+09:00",
                10 + (i + copy) % 3,
                (i * 5) % 24,
                (i * 7) % 60
            )
            .into();
            if let Some(o) = v.as_object_mut() {
                o.remove("labels");
            }
            v
        })
        .collect()
}

/// The bundled rules with a rule removed, one added and the version bumped: what a support lead
/// would do to split a topic differently.
fn new_rules(dir: &std::path::Path, bump: bool) -> std::path::PathBuf {
    let (name, version) = if bump {
        ("new", Some(NEW_VERSION))
    } else {
        ("unbumped", None)
    };
    changed_rules(dir, name, version)
}

/// [`new_rules`] in `dir/name`, under `version` when given.
fn changed_rules(dir: &std::path::Path, name: &str, version: Option<&str>) -> std::path::PathBuf {
    let copy = dir.join(name);
    let main = voc_tests::copy_bundled_rules(&copy);
    let part = copy.join("ja-contact-center/rules.toml");
    let rules = std::fs::read_to_string(&part).expect("rules part");
    let start = rules
        .find("[[rule]]\nid = \"billing.charge\"")
        .expect("billing.charge in the bundled rules");
    let end = start
        + 8
        + rules[start + 8..]
            .find("[[rule]]")
            .expect("a rule after billing.charge");
    let mut text = format!("{}{}", &rules[..start], &rules[end..]);
    text.push_str(
        "\n[[rule]]\nid = \"how_to.any_question\"\nlabel = \"topic:how_to\"\n\
         description = \"test: every question is about how to do something\"\n\
         any = [\"ですか\", \"ますか\"]\n",
    );
    std::fs::write(&part, text).expect("write rules");
    if let Some(version) = version {
        let text = std::fs::read_to_string(&main).expect("main rules file");
        let old = text
            .lines()
            .find(|l| l.starts_with("version = "))
            .expect("version line")
            .to_string();
        let text = text.replacen(&old, &format!("version = \"{version}\""), 1);
        std::fs::write(&main, text).expect("write rules");
    }
    main
}

fn labels(t: &serde_json::Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = t["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| format!("topic:{}", x.as_str().unwrap_or_default()))
        .collect();
    out.insert(format!(
        "voice:{}",
        t["voice_type"].as_str().unwrap_or_default()
    ));
    if let Some(c) = t["complaint_type"].as_str() {
        out.insert(format!("complaint:{c}"));
    }
    out.insert(format!(
        "sentiment:{}",
        t["sentiment"].as_str().unwrap_or_default()
    ));
    out.insert(format!("severity:{}", t["severity"]));
    // `voc tag` says true, ClickHouse says 1.
    if t["churn_risk"].as_bool() == Some(true) || t["churn_risk"].as_u64() == Some(1) {
        out.insert("churn".into());
    }
    out
}

/// `voc tag` of the original messages, by interaction id.
fn tag(
    p: &Pipeline,
    messages: &[serde_json::Value],
    rules: Option<&str>,
) -> BTreeMap<String, serde_json::Value> {
    let input: String = messages.iter().map(|m| format!("{m}\n")).collect();
    let mut args = vec!["tag"];
    if let Some(r) = rules {
        args.extend(["--rules", r]);
    }
    let out = p.run(&args, input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    voc_tests::json_lines(&out.stdout)
        .into_iter()
        .map(|t| {
            (
                t["interaction_id"].as_str().unwrap_or_default().to_string(),
                t,
            )
        })
        .collect()
}

/// `voc retag --rules RULES --json --rate 0 EXTRA…`, which must succeed; its JSON report.
fn retag_json(p: &Pipeline, rules: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["retag", "--rules", rules, "--json", "--rate", "0"];
    args.extend_from_slice(extra);
    let out = p.run(&args, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Per label: [old, new, gained, lost], from two independent `voc tag` runs.
fn expected_counts(
    old: &BTreeMap<String, serde_json::Value>,
    new: &BTreeMap<String, serde_json::Value>,
) -> (BTreeMap<String, [u64; 4]>, u64) {
    let mut counts: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut changed = 0;
    for (id, o) in old {
        let (a, b) = (labels(o), labels(&new[id]));
        for l in &a {
            counts.entry(l.clone()).or_default()[0] += 1;
        }
        for l in &b {
            counts.entry(l.clone()).or_default()[1] += 1;
        }
        for l in b.difference(&a) {
            counts.entry(l.clone()).or_default()[2] += 1;
        }
        for l in a.difference(&b) {
            counts.entry(l.clone()).or_default()[3] += 1;
        }
        changed += u64::from(a != b);
    }
    (counts, changed)
}

fn ingest(p: &Pipeline, messages: &[serde_json::Value]) {
    let before = p.stored();
    p.produce(messages);
    let want = before + messages.len() as u64;
    p.wait_for("the corpus stored", WAIT, || p.stored() == want);
}

/// Stored tags by id, as `interactions FINAL` has them.
fn stored(p: &Pipeline) -> BTreeMap<String, serde_json::Value> {
    let rows = p.ch.q(&format!(
        "SELECT interaction_id, topics, voice_type, complaint_type, sentiment, severity, churn_risk = 1 AS churn_risk, \
         keywords, rules_version FROM {}.interactions FINAL FORMAT JSONEachRow",
        p.db
    ));
    rows.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSONEachRow");
            (
                v["interaction_id"].as_str().unwrap_or_default().to_string(),
                v,
            )
        })
        .collect()
}

/// Every stored interaction carries exactly the new rules' tags for its original message.
fn assert_history_is(p: &Pipeline, expected: &BTreeMap<String, serde_json::Value>) {
    let got = stored(p);
    assert_eq!(got.len(), expected.len(), "one row per interaction");
    for (id, want) in expected {
        let row = &got[id];
        assert_eq!(labels(row), labels(want), "{id}");
        assert_eq!(row["keywords"], want["keywords"], "{id}");
        assert_eq!(row["rules_version"], want["rules_version"], "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_support_lead_reviews_dry_runs_and_applies_new_rules_exactly() {
    let p = Pipeline::new(2);
    p.migrate();
    let worker = p.spawn_worker("w1");
    let messages: Vec<_> = corpus(0).into_iter().chain(corpus(1)).collect();
    ingest(&p, &messages);
    p.wait_until_exact(WAIT);

    // Review: the diff names what changed, and a forgotten version bump is refused.
    let rules = new_rules(&p.dir, true);
    let rules_arg = rules.to_str().expect("utf-8 path");
    let check = p.run(&["rules", "check", rules_arg], b"");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(text.contains("+ added    how_to.any_question"), "{text}");
    assert!(text.contains("- removed  billing.charge"), "{text}");
    assert!(text.contains(NEW_VERSION), "{text}");
    let unbumped = new_rules(&p.dir, false);
    let check = p.run(&["rules", "check", unbumped.to_str().expect("path")], b"");
    assert_eq!(
        check.status.code(),
        Some(1),
        "an unbumped version is an error"
    );
    assert!(String::from_utf8_lossy(&check.stderr).contains("bump `version`"));

    // What the new rules give the original messages, computed without the stored data.
    let old_tags = tag(&p, &messages, None);
    let new_tags = tag(&p, &messages, Some(rules_arg));
    let (want, want_changed) = expected_counts(&old_tags, &new_tags);
    assert!(
        want_changed > 10,
        "the rules change must change something: {want_changed}"
    );

    // Dry run: the report matches, and nothing is written.
    let before = stored(&p);
    let report = retag_json(&p, rules_arg, &["--dry-run"]);
    let r = &report["report"];
    assert_eq!(r["interactions"], messages.len() as u64);
    assert_eq!(r["changed"], want_changed);
    for c in r["labels"].as_array().expect("labels") {
        let label = c["label"].as_str().unwrap_or_default();
        let w = want.get(label).copied().unwrap_or_default();
        let got = [&c["old"], &c["new"], &c["gained"], &c["lost"]]
            .map(|v| v.as_u64().unwrap_or(u64::MAX));
        assert_eq!(got, w, "{label}: [old, new, gained, lost]");
    }
    assert_eq!(r["labels"].as_array().map(Vec::len), Some(want.len()));
    let examples = r["examples"].as_array().expect("examples");
    assert!(!examples.is_empty());
    let why_how_to = examples
        .iter()
        .filter(|e| {
            e["gained"]
                .as_array()
                .is_some_and(|g| g.iter().any(|l| l == "topic:how_to"))
        })
        .flat_map(|e| e["evidence_new"].as_array().cloned().unwrap_or_default())
        .any(|ev| ev["rule"] == "how_to.any_question");
    assert!(
        why_how_to,
        "an example gaining how_to names the new rule: {examples:?}"
    );
    assert_eq!(stored(&p), before, "a dry run writes nothing");

    // The human report, with `voc eval` figures of both rule sets on a labeled file; they must be
    // what `voc eval` itself prints for each.
    let dev = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/dev.jsonl");
    let out = p.run(
        &[
            "retag",
            "--rules",
            rules_arg,
            "--dry-run",
            "--rate",
            "0",
            "--labeled",
            dev,
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    for want in [
        "topic:how_to",
        "examples:",
        "how_to.any_question",
        "topics_micro_f1",
        "dry run: nothing written",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let out = p.run(
        &[
            "retag",
            "--rules",
            rules_arg,
            "--dry-run",
            "--json",
            "--rate",
            "0",
            "--labeled",
            dev,
        ],
        b"",
    );
    let side_by_side: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let eval = |rules: Option<&str>| -> serde_json::Value {
        let mut args = vec!["eval", "--json", dev];
        if let Some(r) = rules {
            args.extend(["--rules", r]);
        }
        serde_json::from_slice(&p.run(&args, b"").stdout).expect("eval JSON")
    };
    let (old_eval, new_eval) = (eval(None), eval(Some(rules_arg)));
    for f in side_by_side["labeled"]["figures"]
        .as_array()
        .expect("figures")
    {
        let metric = f["metric"].as_str().expect("metric");
        assert_eq!(f["old"], old_eval[metric], "{metric} (old rules)");
        assert_eq!(f["new"], new_eval[metric], "{metric} (new rules)");
    }
    assert_ne!(old_eval["topics_micro_f1"], new_eval["topics_micro_f1"]);

    // Product filter: only that product's interactions are considered.
    let product = messages[0]["product"]
        .as_str()
        .expect("product")
        .to_string();
    let of_product = messages
        .iter()
        .filter(|m| m["product"] == product.as_str())
        .count();
    let filtered = retag_json(&p, rules_arg, &["--dry-run", "--product", &product]);
    assert_eq!(filtered["report"]["interactions"], of_product as u64);

    // Apply, with the worker still running: history now carries the new tags, exactly once.
    let checkpoint = p.dir.join("retag.checkpoint.json");
    let cp = checkpoint.to_str().expect("path");
    let applied = retag_json(&p, rules_arg, &["--chunk-rows", "40", "--checkpoint", cp]);
    assert_eq!(applied["written"], messages.len() as u64);
    assert!(applied["rebuilt_hours"].as_u64().unwrap_or(0) > 0);
    assert_history_is(&p, &new_tags);
    p.assert_aggregates_exact();

    // Aggregates damaged behind voc's back (as after a lost checkpoint): --rebuild-only
    // recomputes them from interactions FINAL.
    p.ch.q(&format!(
        "ALTER TABLE {}.topic_volume_hourly_state DELETE WHERE voice_type = 'complaint'",
        p.db
    ));
    p.wait_for("the damage to show", WAIT, || p.aggregates_exact().is_err());
    let out = p.run(&["retag", "--rebuild-only", "--checkpoint", cp], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rebuilt"));
    p.assert_aggregates_exact();

    // Applying again finds nothing to do.
    let again = retag_json(&p, rules_arg, &["--checkpoint", cp]);
    assert_eq!(again["written"], 0);
    p.assert_aggregates_exact();
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_retag_resumes_and_ends_exact_while_a_worker_ingests() {
    let p = Pipeline::new(2);
    p.migrate();
    let worker = p.spawn_worker("w1");
    let first: Vec<_> = (0..3).flat_map(corpus).collect();
    ingest(&p, &first);
    p.wait_until_exact(WAIT);
    let rules = new_rules(&p.dir, true);
    let rules_arg = rules.to_str().expect("utf-8 path");
    let checkpoint = p.dir.join("retag.checkpoint.json");
    let cp = checkpoint.to_str().expect("path");

    // Slow enough to interrupt mid-way: 60 interactions/s in chunks of about 30.
    let mut run = p.spawn(
        &[
            "retag",
            "--rules",
            rules_arg,
            "--rate",
            "60",
            "--chunk-rows",
            "30",
            "--checkpoint",
            cp,
        ],
        "retag-1",
    );
    p.wait_for("a finished chunk in the checkpoint", WAIT, || {
        std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|c| !c["done_through"].is_null())
    });
    // Meanwhile new interactions keep arriving through the worker.
    let more = corpus(3);
    p.produce(&more);
    std::thread::sleep(Duration::from_millis(700));
    run.kill().expect("kill the re-tag");
    let _ = run.wait();
    let partly = stored(&p)
        .values()
        .filter(|r| r["rules_version"] == NEW_VERSION)
        .count();
    assert!(
        partly > 0 && partly < first.len(),
        "interrupted mid-way: {partly} re-tagged"
    );

    let out = p.run_with_env(
        &[
            "retag",
            "--rules",
            rules_arg,
            "--json",
            "--rate",
            "0",
            "--checkpoint",
            cp,
        ],
        &[("VOC_LOG", "info")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming an interrupted re-tag"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !checkpoint.exists(),
        "a finished run removes its checkpoint"
    );
    let all: Vec<_> = first.iter().chain(&more).cloned().collect();
    p.wait_for("the new interactions stored", WAIT, || {
        p.stored() == all.len() as u64
    });
    // Interactions the worker stored after the re-tag read their hour carry the worker's (old)
    // rules; one more run brings them over too, and then all history is the new rules'.
    retag_json(&p, rules_arg, &["--checkpoint", cp]);
    assert_history_is(&p, &tag(&p, &all, Some(rules_arg)));
    p.assert_aggregates_exact();
    worker.terminate();
}

/// `voc aggregates close`'s summary: (days closed, days re-closed); no merge of a past month may
/// fail. The past months of `interactions` are merged at once (`compact_quiet_s = 0`), not an
/// hour after their last write.
fn close(p: &Pipeline) -> (u64, u64) {
    let config = p.dir.join("close.toml");
    std::fs::write(&config, "[clickhouse]\ncompact_quiet_s = 0\n").expect("config");
    let config = config.to_string_lossy().to_string();
    let out = p.run(&["aggregates", "close", "--config", &config], b"");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number = |after: &str| -> u64 {
        text.split(after)
            .next()
            .and_then(|s| s.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count before {after:?} in {text:?}"))
    };
    assert_eq!(
        number(" failed"),
        0,
        "no merge of a past month failed: {text}"
    );
    (number(" day(s)"), number(" (version"))
}

/// Every past month of `interactions` (it ended a day before the first of the two open UTC days)
/// is one merged part on every shard, so `FINAL` reads it without collapsing
/// (voc_store::compaction); a replica fetches the merge shortly after. Returns how many past
/// months there are.
fn past_months_in_one_part(p: &Pipeline) -> u64 {
    // One replica of each shard (the servers share a host name, so they are told apart by count).
    let (parts, table, shards) = match &p.ch.cluster {
        Some(c) => (
            format!("cluster('{}', system, parts)", voc_tests::cluster::NAME),
            "interactions_local",
            (c.servers.len() / c.replicas) as u64,
        ),
        None => ("system.parts".to_string(), "interactions", 1),
    };
    let months = format!(
        "SELECT partition, count() AS parts, min(level) AS level FROM {parts} \
         WHERE database = '{}' AND table = '{table}' AND active \
         AND toUInt32(partition) < toYYYYMM(now() - 2 * 86400, 'UTC') \
         GROUP BY partition ORDER BY partition",
        p.db
    );
    let mut last = String::new();
    p.wait_for("the past months merged into one part each", WAIT, || {
        last = p.ch.q(&months);
        last.lines().all(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            cols.get(1)
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n <= shards)
                && cols.get(2).is_some_and(|level| *level != "0")
        })
    });
    last.lines().count() as u64
}

/// Id-set rows left in closed days, once the deletes have run.
fn id_sets_in_closed_days(p: &Pipeline) -> u64 {
    p.ch.q(&format!(
        "SELECT count() FROM {db}.topic_volume_hourly_state WHERE intDiv(toUInt32(hour), 86400) IN \
         (SELECT day FROM {db}.aggregate_closures)",
        db = p.db
    ))
    .trim()
    .parse()
    .expect("a count")
}

/// Days before the open ones become exact counts, and stay exact: a replay of a closed day, a
/// message arriving for it days late and a re-tag of it each count once after the next close,
/// and the closed days keep no id sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_days_stay_exact_under_replays_late_messages_and_retags() {
    closed_days_scenario(Pipeline::new(2));
}

/// The same on a cluster of two shards of two replicas (`voc migrate --cluster`): replays land on
/// the shard that holds the interaction, closes and re-tags delete on every shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_days_stay_exact_on_a_cluster() {
    closed_days_scenario(Pipeline::on_cluster(2, 2, 2));
}

/// On a cluster a close spares the id sets of its last minute (a replica may fetch them late);
/// they go with the first close after that minute.
fn settle_closes(p: &Pipeline) {
    if p.ch.cluster.is_some() {
        std::thread::sleep(Duration::from_secs(61));
        close(p);
    }
}

/// Drops a table as an administrator would, on every server of a cluster.
fn drop_table(p: &Pipeline, table: &str) {
    match &p.ch.cluster {
        None => {
            p.ch.q(&format!("DROP TABLE {}.{table}", p.db));
        }
        Some(_) => {
            for t in [table.to_string(), format!("{table}_local")] {
                p.ch.q(&format!(
                    "DROP TABLE IF EXISTS {}.{t} ON CLUSTER {}",
                    p.db,
                    voc_tests::cluster::NAME
                ));
            }
        }
    }
}

/// The "Top keywords" panel from three days before the complete month `month` (its first day, UTC)
/// until `now`, unfiltered, with the filters each roll-up level answers and with a mix no level
/// answers, equals the keywords of `interactions FINAL`; the month is read from its roll-up and the
/// closed days outside it from theirs. The panels by topic too ([`topic_panels_exact`]).
fn top_keywords_exact(p: &Pipeline, month: time::OffsetDateTime, now: time::OffsetDateTime) {
    assert_eq!(
        p.ch.q(&format!("SELECT first_day FROM {}.keyword_months", p.db))
            .trim(),
        (month.unix_timestamp() / 86_400).to_string(),
        "the complete month, and only it, has a current roll-up"
    );
    assert_ne!(
        p.ch.q(&format!(
            "SELECT sum(interactions) FROM {}.keyword_monthly",
            p.db
        ))
        .trim(),
        "0"
    );
    let month_end = (month + time::Duration::days(40))
        .replace_day(1)
        .expect("day 1");
    assert_ne!(
        p.ch.q(&format!(
            "SELECT sum(interactions) FROM {}.keyword_daily WHERE day >= {} AND day * 86400 < {}",
            p.db,
            month_end.unix_timestamp() / 86_400,
            now.unix_timestamp()
        ))
        .trim(),
        "0",
        "closed days after the month have current roll-ups"
    );
    let panel = voc_demo::grafana::panel_queries()
        .expect("dashboards")
        .into_iter()
        .find(|q| q.title == "Top keywords")
        .expect("the Top keywords panel");
    for (from, to) in ranges(month, now) {
        panel_matches_interactions(
            p,
            &panel.sql,
            from,
            to,
            from == month - time::Duration::days(3),
        );
    }
    topic_panels_exact(p, month, now, true);
}

/// The overview panel titled `title`.
fn panel(title: &str) -> voc_demo::grafana::PanelQuery {
    voc_demo::grafana::panel_queries()
        .expect("dashboards")
        .into_iter()
        .find(|q| q.title == title)
        .unwrap_or_else(|| panic!("the panel {title}"))
}

/// Ranges that start before the month, at its first day (every whole day covered), mid-day
/// inside it (a first partial day of closed hours, then days), and in the last days (open hours
/// only); two end at midnight: today's (its last day is open), and the one after the last closed
/// day (a closed day that ends exactly at the range's end, then the open hour at midnight); two end
/// in the closed month: at a midnight (the next closed day's first hour in range) and at 05:00
/// (a closed day partly in range, its last hour holding interactions).
fn ranges(
    month: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> [(time::OffsetDateTime, time::OffsetDateTime); 8] {
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    [
        (month - time::Duration::days(3), now),
        (month, now),
        (month + time::Duration::hours(11 * 24 + 7), now),
        (now - time::Duration::hours(30), now),
        (month + time::Duration::hours(5), midnight),
        (month, midnight - time::Duration::days(1)),
        (month, month + time::Duration::days(10)),
        (
            month + time::Duration::hours(5),
            month + time::Duration::hours(10 * 24 + 5),
        ),
    ]
}

/// The panels by topic over [`ranges`], unfiltered and filtered, equal `interactions FINAL`: CSAT
/// and resolution, and negative share (whole closed days read from their daily roll-ups), and
/// the volume and sentiment trends in hourly, daily and two-day buckets (from a day on, whole
/// closed days from the roll-ups).
fn topic_panels_exact(
    p: &Pipeline,
    month: time::OffsetDateTime,
    now: time::OffsetDateTime,
    rolled_up: bool,
) {
    let rolled = p.ch.q(&format!(
        "SELECT count() FROM {}.topic_csat_daily WHERE day >= {} AND day * 86400 < {}",
        p.db,
        month.unix_timestamp() / 86_400,
        now.unix_timestamp()
    ));
    assert_eq!(
        rolled.trim() != "0",
        rolled_up,
        "closed days have current CSAT roll-ups: {rolled_up}"
    );
    // The panels order by volume or time only: compare as sets of rows.
    let sorted = |s: String| {
        let mut l: Vec<String> = s.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    let topics = "FROM {db}.interactions FINAL \
         ARRAY JOIN if(empty(topics), ['(none)'], CAST(topics AS Array(String))) AS topic \
         WHERE toStartOfHour(occurred_at) >= toDateTime({f}) AND toStartOfHour(occurred_at) <= toDateTime({to}) \
         AND ('{pr}' = 'All' OR product = '{pr}') AND ('{ch}' = 'All' OR channel = '{ch}') \
         AND ('{v}' = 'All' OR voice_type = '{v}') AND ('{t}' = 'All' OR topic = '{t}')";
    let (csat, share) = (
        panel("CSAT and resolution by topic"),
        panel("Negative share by topic"),
    );
    let trends = [
        (panel("Volume by topic"), "count()"),
        (
            panel("Sentiment trend by topic (negative share)"),
            "countIf(sentiment = 'negative') / count()",
        ),
    ];
    for (from, to) in ranges(month, now) {
        for (t, pr, ch, v) in [
            ("All", "All", "All", "All"),
            ("billing", "hikari-net", "phone", "complaint"),
            ("All", "hikari-net", "All", "complaint"),
        ] {
            let vars = [
                ("product", pr),
                ("channel", ch),
                ("topic", t),
                ("voice_type", v),
            ];
            let rows = topics
                .replace("{db}", &p.db)
                .replace("{f}", &from.unix_timestamp().to_string())
                .replace("{to}", &to.unix_timestamp().to_string())
                .replace("{pr}", pr)
                .replace("{ch}", ch)
                .replace("{v}", v)
                .replace("{t}", t);
            let direct = p.ch.q(&format!(
                "SELECT topic, count() AS volume, round(countIf(sentiment = 'negative') / volume, 3), \
                 if(countIf(isNotNull(csat)) = 0, NULL, round(sumIf(toFloat64(assumeNotNull(csat)), isNotNull(csat)) / countIf(isNotNull(csat)), 2)), \
                 countIf(isNotNull(csat)), \
                 if(countIf(isNotNull(resolved)) = 0, NULL, round(countIf(ifNull(resolved, 0) = 1) / countIf(isNotNull(resolved)), 3)) \
                 {rows} GROUP BY topic ORDER BY volume DESC, topic"
            ));
            if (t, from) == ("All", month) {
                assert!(!direct.trim().is_empty(), "{vars:?} selects something");
            }
            assert_eq!(
                sorted(p.ch.q(&csat.render(from, to, &vars, &p.db))),
                sorted(direct),
                "CSAT by topic, {vars:?} from {from} to {to}"
            );
            let direct = p.ch.q(&format!(
                "SELECT topic, round(countIf(sentiment = 'negative') / count(), 3), count() {rows} GROUP BY topic"
            ));
            assert_eq!(
                sorted(p.ch.q(&share.render(from, to, &vars, &p.db))),
                sorted(direct),
                "negative share by topic, {vars:?} from {from} to {to}"
            );
            for (trend, value) in &trends {
                for interval in [3600, 86_400, 2 * 86_400] {
                    let sql =
                        voc_demo::grafana::render_at(&trend.sql, from, to, interval, &vars, &p.db);
                    let direct = p.ch.q(&format!(
                        "SELECT toDateTime(intDiv(toUInt32(toStartOfHour(occurred_at)), {interval}) * {interval}) AS time, \
                         topic, {value} {rows} GROUP BY time, topic"
                    ));
                    assert_eq!(
                        sorted(p.ch.q(&sql)),
                        sorted(direct),
                        "{}, {interval} s buckets, {vars:?} from {from} to {to}",
                        trend.title
                    );
                }
            }
        }
    }
}

/// The Top keywords panel `sql` from `from` to `to`, for filter mixes every roll-up level answers
/// and three no level holds, equals the keywords of `interactions FINAL` (which must select
/// something when `nonempty`).
fn panel_matches_interactions(
    p: &Pipeline,
    panel: &str,
    from: time::OffsetDateTime,
    to: time::OffsetDateTime,
    nonempty: bool,
) {
    let now = to;
    let (topic, product, channel, voice) = ("billing", "hikari-net", "phone", "complaint");
    // (topic, product, channel, voice type): none; the first level's (three ways), the second's
    // (twice), the third's; and three mixes no level holds.
    for (t, pr, ch, v) in [
        ("All", "All", "All", "All"),
        (topic, "All", "All", "All"),
        ("All", "All", "All", voice),
        (topic, "All", "All", voice),
        ("All", product, "All", "All"),
        ("All", "All", channel, "All"),
        (topic, product, "All", "All"),
        (topic, "All", channel, "All"),
        (topic, product, channel, "All"),
        ("All", product, "All", voice),
    ] {
        let vars = [
            ("product", pr),
            ("channel", ch),
            ("topic", t),
            ("voice_type", v),
        ];
        let sql = voc_demo::grafana::render(panel, from, now, &vars, &p.db);
        let direct = p.ch.q(&format!(
            "SELECT keyword, count() AS volume, countIf(sentiment = 'negative') AS in_negative \
             FROM {db}.interactions FINAL ARRAY JOIN keywords AS keyword \
             WHERE toStartOfHour(occurred_at) >= toDateTime({f}) AND toStartOfHour(occurred_at) <= toDateTime({to}) \
             AND ('{pr}' = 'All' OR product = '{pr}') AND ('{ch}' = 'All' OR channel = '{ch}') \
             AND ('{v}' = 'All' OR voice_type = '{v}') \
             AND ('{t}' = 'All' OR has(if(empty(topics), ['(none)'], CAST(topics AS Array(String))), '{t}')) \
             GROUP BY keyword ORDER BY volume DESC, keyword LIMIT 30",
            db = p.db,
            f = from.unix_timestamp(),
            to = now.unix_timestamp(),
        ));
        assert!(
            !nonempty || !direct.trim().is_empty(),
            "{vars:?} selects something"
        );
        assert_eq!(p.ch.q(&sql), direct, "{vars:?} from {from} to {to}");
    }
}

fn closed_days_scenario(p: Pipeline) {
    use time::format_description::well_known::Rfc3339;
    p.migrate();
    let worker = p.spawn_worker("w1");
    // Mid-November (closed by now), and a copy in the last hours (open) and three days ago
    // (closed). Six customers contact again and again, so there are repeat contacts within closed
    // days, within the open days, and in the open days repeating closed ones.
    let customer = |i: usize, mut m: serde_json::Value| {
        m["customer_id"] = format!("c{}", i % 6).into();
        m
    };
    let mut old: Vec<_> = corpus(0)
        .into_iter()
        .enumerate()
        .map(|(i, m)| customer(i, m))
        .collect();
    // A billing complaint (d001) whose customer contacts nobody else: it becomes a repeat contact
    // only when a message arrives late for the day before (below).
    let mut repeated = corpus(0).remove(0);
    repeated["interaction_id"] = "repeated-1".into();
    repeated["customer_id"] = "c-late".into();
    repeated["occurred_at"] = "2026-11-12T12:00:00+09:00".into();
    old.push(repeated);
    let now = time::OffsetDateTime::now_utc();
    // The first `n` of a copy, the i-th at `at(i)`.
    let copy_at = |copy: usize, n: usize, at: &dyn Fn(i64) -> time::OffsetDateTime| -> Vec<_> {
        corpus(copy)
            .into_iter()
            .take(n)
            .enumerate()
            .map(|(i, m)| {
                let mut m = customer(i, m);
                m["occurred_at"] = at(i as i64).format(&Rfc3339).expect("time").into();
                m
            })
            .collect()
    };
    // Every day of the month two before this one (UTC), twice: a complete month, closed at the
    // first close and rolled up for the keyword panels (0012); replayed below, so its days are
    // closed again.
    let month = {
        let in_it = (now - time::Duration::days(62)).date();
        time::OffsetDateTime::new_utc(in_it.replace_day(1).expect("day 1"), time::Time::MIDNIGHT)
    };
    let whole_month = copy_at(4, 62, &|i| month + time::Duration::hours(12 * i + 5));
    old.extend(whole_month);
    let recent = copy_at(1, 40, &|i| now - time::Duration::minutes(i * 3));
    let three_days_ago = copy_at(2, 20, &|i| {
        now - time::Duration::days(3) - time::Duration::minutes(i)
    });
    ingest(
        &p,
        &old.iter()
            .chain(&recent)
            .chain(&three_days_ago)
            .cloned()
            .collect::<Vec<_>>(),
    );
    p.wait_until_exact(WAIT);
    // Days before the two open ones (today and yesterday, UTC).
    let old_days: u64 =
        p.ch.q(&format!(
            "SELECT uniqExact(intDiv(toUInt32(occurred_at), 86400)) FROM {}.interactions \
             WHERE intDiv(toUInt32(occurred_at), 86400) < intDiv(toUInt32(now()), 86400) - 1",
            p.db
        ))
        .trim()
        .parse()
        .expect("a count");
    let repeats = |closed: bool| -> u64 {
        p.ch.q(&format!(
            "SELECT sum(repeat_contacts) FROM {db}.topic_experience_hourly \
             WHERE intDiv(toUInt32(hour), 86400) {op} IN (SELECT day FROM {db}.aggregate_closures)",
            db = p.db,
            op = if closed { "" } else { "NOT" },
        ))
        .trim()
        .parse()
        .expect("a count")
    };

    // Before it, the month two before this one is parts as the worker inserted them (never
    // merged into one alone: without the close's merge this check fails, as tried by hand).
    let (closed, reclosed) = close(&p);
    assert_eq!((closed, reclosed), (old_days, 0));
    assert!(
        past_months_in_one_part(&p) >= 1,
        "the month two before this one is past"
    );
    p.assert_aggregates_exact();
    top_keywords_exact(&p, month, now);
    assert!(repeats(true) > 0, "repeat contacts in the closed days");
    assert!(repeats(false) > 0, "repeat contacts in the open days");
    settle_closes(&p);
    p.assert_aggregates_exact();
    p.wait_for("the closed days' id sets deleted", WAIT, || {
        id_sets_in_closed_days(&p) == 0
    });
    assert!(
        p.ch.q(&format!(
            "SELECT count() FROM {}.topic_volume_hourly_state",
            p.db
        ))
        .trim()
            != "0",
        "the open day keeps its id sets"
    );

    // A replay of the closed days, and one message that arrives for them only now.
    let mut late = corpus(3).remove(0);
    late["interaction_id"] = "late-1".into();
    late["occurred_at"] = "2026-11-11T10:30:00+09:00".into();
    let written = || worker.metric("voc_sink_rows_written_total").unwrap_or(0.0);
    let before = written();
    p.produce(&old);
    ingest(&p, &[late]);
    let want = before + old.len() as f64 + 1.0;
    p.wait_for("the replay written", WAIT, || written() >= want);
    assert!(
        p.aggregates_exact().is_err(),
        "until the next close, a closed day lacks its late message"
    );
    let (closed, reclosed) = close(&p);
    assert_eq!(closed, 0);
    assert!(
        reclosed >= 28,
        "the replayed days are closed again, the whole month's too"
    );
    // The replay wrote new parts into the past month; they are one part again (the close's merge,
    // or the server's own once it has merged them).
    past_months_in_one_part(&p);
    top_keywords_exact(&p, month, now);
    let late_day_in_the_last_close = p.ch.q(&format!(
        "SELECT version = (SELECT max(version) FROM {db}.aggregate_closures) FROM {db}.aggregate_closures FINAL \
         WHERE day = intDiv(toUInt32(toDateTime('2026-11-11 01:30:00', 'UTC')), 86400)",
        db = p.db
    ));
    assert_eq!(
        late_day_in_the_last_close.trim(),
        "1",
        "the late message's day is among those closed again"
    );
    p.assert_aggregates_exact();

    // A late message that makes a contact of the next day a repeat one: its day is closed again,
    // and so is the next, though nothing arrived for it. Nothing else is due first (on a cluster
    // the last close spared its last minute of id sets).
    settle_closes(&p);
    assert_eq!(close(&p), (0, 0));
    let mut late = corpus(3).remove(0);
    late["interaction_id"] = "late-2".into();
    late["customer_id"] = "c-late".into();
    late["occurred_at"] = "2026-11-11T10:30:00+09:00".into();
    let repeats_before = repeats(true);
    ingest(&p, &[late]);
    let (closed, reclosed) = close(&p);
    assert_eq!(closed, 0);
    assert_eq!(reclosed, 2, "the late message's day and the next");
    let in_last_close = p.ch.q(&format!(
        "SELECT day, version = (SELECT max(version) FROM {db}.aggregate_closures) FROM {db}.aggregate_closures FINAL \
         WHERE day IN (intDiv(toUInt32(toDateTime('2026-11-11 01:30:00', 'UTC')), 86400), \
         intDiv(toUInt32(toDateTime('2026-11-12 03:00:00', 'UTC')), 86400)) ORDER BY day",
        db = p.db
    ));
    assert_eq!(
        in_last_close.lines().filter(|l| l.ends_with("\t1")).count(),
        2,
        "the late message's day and the next are in the last close: {in_last_close}"
    );
    assert_eq!(
        repeats(true),
        repeats_before + 1,
        "repeated-1 is now a repeat"
    );
    p.assert_aggregates_exact();

    // A re-tag of closed and open days: re-closed at once, counted once.
    let rules = new_rules(&p.dir, true);
    let rules_arg = rules.to_str().expect("utf-8 path");
    let applied = retag_json(&p, rules_arg, &[]);
    assert!(applied["written"].as_u64().unwrap_or(0) > 0);
    p.assert_aggregates_exact();
    top_keywords_exact(&p, month, now);
    let ingested = old.len() + recent.len() + three_days_ago.len();
    assert_eq!(stored(&p).len(), ingested + 2, "and late-1 and late-2");

    // Nothing left to close.
    settle_closes(&p);
    assert_eq!(close(&p), (0, 0));
    p.assert_aggregates_exact();

    // A re-tag that changes no figure (the same rules under another version) still writes every
    // row again, which stamps the closed days' id sets after their closure: it re-closes those
    // days itself, leaving none due.
    let again = changed_rules(&p.dir, "again", Some("ja-contact-center@retag-test-again"));
    let applied = retag_json(&p, again.to_str().expect("utf-8 path"), &[]);
    assert!(applied["written"].as_u64().unwrap_or(0) > 0);
    settle_closes(&p);
    assert_eq!(close(&p), (0, 0), "no closed day left due by the re-tag");
    p.assert_aggregates_exact();

    // An upgrade that adds aggregates (0010, keywords by topic; 0011, experience by topic) to a
    // database with closed days: the migration marks the closed days, and the next close counts
    // them there too.
    for t in [
        "keyword_topic_hourly",
        "keyword_topic_hourly_closed",
        "topic_experience_hourly",
        "topic_experience_hourly_closed",
        "schema_migrations",
    ] {
        drop_table(&p, t);
    }
    p.migrate();
    assert!(p.aggregates_exact().is_err(), "closed days not yet counted");
    let (closed, reclosed) = close(&p);
    assert_eq!(closed, 0);
    assert!(reclosed >= old_days, "{reclosed} of {old_days} re-closed");
    p.assert_aggregates_exact();

    // An upgrade to the daily keyword roll-ups (0013) of a database with closed days and a month
    // rolled up at the levels before it (as a binary that predates it writes its closure row: the
    // plain fingerprint): that month is not current after the migration, and the next close, with
    // nothing due, rolls up every closed day from its closed hourly rows and the month again. Rows
    // of a day's roll-up that never recorded itself (one stopped half-way) are never read.
    settle_closes(&p);
    p.ch.q(&format!(
        "INSERT INTO {db}.keyword_month_closures (first_day, end_day, version, closures, days, ready, revision) \
         SELECT first_day, end_day, version + 2, closures - 13, days, 1, revision + 2 \
         FROM {db}.keyword_month_closures FINAL WHERE ready = 1",
        db = p.db
    ));
    migrate_again(
        &p,
        13,
        &[
            "keyword_daily",
            "keyword_days",
            "keyword_daily_closed",
            "keyword_day_closures",
        ],
    );
    assert_eq!(
        p.ch.q(&format!("SELECT count() FROM {}.keyword_months", p.db))
            .trim(),
        "0",
        "the month at the old levels is not current"
    );
    let before = p
        .aggregates_exact()
        .expect_err("closed days without a roll-up");
    assert!(
        before.starts_with("closed days without a current keyword roll-up"),
        "{before}"
    );
    p.ch.q(&format!(
        "INSERT INTO {db}.keyword_daily_closed SELECT toDate(toUInt16(day)), day, 'half-way', '(any)', \
         '(all)', '(all)', '(all)', 1000, 0, version, 1 FROM {db}.aggregate_closures FINAL LIMIT 1",
        db = p.db
    ));
    assert_eq!(close(&p), (0, 0), "nothing due");
    p.assert_aggregates_exact();
    top_keywords_exact(&p, month, now);

    // The closes delete their days' rows from the open days' copy sorted by hour (0014).
    let of_closed_days = format!(
        "SELECT count() FROM {db}.interactions_open \
         WHERE intDiv(toUInt32(hour), 86400) IN (SELECT day FROM {db}.aggregate_closures)",
        db = p.db
    );
    p.wait_for("no closed day's rows in interactions_open", WAIT, || {
        p.ch.q(&of_closed_days).trim() == "0"
    });
    // An upgrade to it: the migration copies the days still open, and the keyword panels read
    // the open days from the copy.
    migrate_again(
        &p,
        14,
        &[
            "interactions_open_view",
            "keyword_topic_rows",
            "keyword_topic_hourly",
            "keyword_topic_open",
            "interactions_open",
        ],
    );
    let copied: u64 =
        p.ch.q(&format!("SELECT count() FROM {}.interactions_open", p.db))
            .trim()
            .parse()
            .expect("count");
    assert!(copied > 0, "the open days are copied");
    p.assert_aggregates_exact();
    top_keywords_exact(&p, month, now);

    // An upgrade to the daily CSAT roll-ups (0016) of a database with closed days: the next
    // close, with nothing due, rolls up every closed day from its closed hourly rows; meanwhile the
    // panel reads their hours. Rows of a roll-up that never recorded itself are never
    // read.
    migrate_again(
        &p,
        16,
        &[
            "topic_csat_daily",
            "csat_days",
            "topic_csat_daily_closed",
            "csat_day_closures",
        ],
    );
    let before = p
        .aggregates_exact()
        .expect_err("closed days without a CSAT roll-up");
    assert!(
        before.starts_with("closed days without a current CSAT roll-up"),
        "{before}"
    );
    topic_panels_exact(&p, month, now, false);
    p.ch.q(&format!(
        "INSERT INTO {db}.topic_csat_daily_closed SELECT toDate(toUInt16(day)), day, 'half-way', \
         'complaint', 'hikari-net', 'phone', 1000, 0, 0, 0, 0, 0, version, 1 \
         FROM {db}.aggregate_closures FINAL LIMIT 1",
        db = p.db
    ));
    assert_eq!(close(&p), (0, 0), "nothing due");
    p.assert_aggregates_exact();
    topic_panels_exact(&p, month, now, true);

    // The panels read whole closed days from the roll-ups: a row added to a current one shows
    // (in the trends, with buckets of a day). (Last: the aggregates are no longer exact after it.)
    p.ch.q(&format!(
        "INSERT INTO {db}.topic_csat_daily_closed SELECT toDate(toUInt16(day)), day, 'probe', \
         'complaint', 'hikari-net', 'phone', 7, 7, 0, 0, 0, 0, version, rollup \
         FROM {db}.csat_days WHERE day >= {first} ORDER BY day LIMIT 1",
        db = p.db,
        first = month.unix_timestamp() / 86_400,
    ));
    let vars = [
        ("product", "All"),
        ("channel", "All"),
        ("topic", "All"),
        ("voice_type", "All"),
    ];
    let render = |title: &str| {
        voc_demo::grafana::render_at(&panel(title).sql, month, now, 86_400, &vars, &p.db)
    };
    for (title, probe) in [
        ("CSAT and resolution by topic", "probe\t7\t1\t"),
        ("Negative share by topic", "probe\t1\t7"),
        ("Volume by topic", "\tprobe\t7"),
        ("Sentiment trend by topic (negative share)", "\tprobe\t1"),
    ] {
        let sql = render(title);
        // On a cluster the insert reaches its shard asynchronously (a Distributed table).
        p.wait_for(&format!("the probe row read by {title}"), WAIT, || {
            p.ch.q(&sql).lines().any(|l| l.contains(probe))
        });
    }
    worker.terminate();
}

/// An upgrade to migration `version` of a database that had everything before it: drops what the
/// migration creates (`tables`, in order), makes the database forget that it ran, and migrates.
fn migrate_again(p: &Pipeline, version: u32, tables: &[&str]) {
    for t in tables {
        drop_table(p, t);
    }
    forget_migration(p, version);
    p.migrate();
}

/// Makes the database forget that migration `version` ran, as before an upgrade to it.
fn forget_migration(p: &Pipeline, version: u32) {
    let on_cluster = p.ch.cluster.as_ref().map_or(String::new(), |_| {
        format!(" ON CLUSTER {}", voc_tests::cluster::NAME)
    });
    p.ch.q(&format!(
        "ALTER TABLE {}.schema_migrations{on_cluster} DELETE WHERE version = {version}",
        p.db
    ));
    p.wait_for(&format!("migration {version} forgotten"), WAIT, || {
        p.ch.q(&format!(
            "SELECT count() FROM {}.schema_migrations WHERE version = {version}",
            p.db
        ))
        .trim()
            == "0"
    });
}
