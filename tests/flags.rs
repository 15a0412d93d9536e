//! The flagger end to end with a controlled clock (`voc flagger --once --now T`), against a real
//! ClickHouse and broker: a seeded steady week plus one burst raises exactly that problem as a
//! spike naming its rising terms (one problem, one flag); the same week without the burst raises neither (the
//! false-positive behaviour tested: no spike and no problem flag on a steady stream; escalations
//! and repeat contacts that really are in the sample are flagged either way). Acknowledging keeps
//! one flag per key; a resolved problem that comes back raises a new flag.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

fn end() -> OffsetDateTime {
    time::macros::datetime!(2026-11-20 15:00 +09:00)
}

fn load(p: &Pipeline, burst: usize) -> usize {
    p.produce(&voc_demo::corpus::generate(42, end(), 1_500, burst))
}

fn flagger(p: &Pipeline, at: OffsetDateTime) {
    p.flagger_at(at);
}

fn flags(p: &Pipeline) -> Vec<serde_json::Value> {
    p.json_lines(&["flags", "list", "--json", "--status", "all"])
}

fn of_kind<'a>(flags: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    flags.iter().filter(|f| f["kind"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_raises_one_flag_that_leads_can_ack_and_resolve() {
    let p = Pipeline::new(3);
    p.migrate();
    let w = p.spawn_worker("f");
    let total = load(&p, 40);
    p.wait_for("the corpus stored", WAIT, || p.stored() == total as u64);

    let (hook, received) = voc_tests::webhook_sink();
    p.kafka.create_topic("flag-events", 1);
    let now = end().format(&Rfc3339).expect("format");
    let out = p.run_with_env(
        &["flagger", "--once", "--now", &now],
        &[
            ("VOC_FLAGS_WEBHOOK_URL", &hook),
            ("VOC_FLAGS_TOPIC", "flag-events"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = flags(&p);
    // Every new flag was announced to the webhook (Slack-compatible `text`) and to Kafka.
    let bodies = received.lock().expect("lock").clone();
    assert_eq!(bodies.len(), all.len(), "one webhook call per new flag");
    for b in &bodies {
        let v: serde_json::Value = serde_json::from_str(b).expect("webhook body is JSON");
        assert!(
            v["text"].as_str().is_some_and(|t| t.starts_with("[voc] ")),
            "{v}"
        );
    }
    let events = p.kafka.read_all("flag-events", all.len(), WAIT);
    assert_eq!(events.len(), all.len(), "one Kafka event per new flag");
    for f in &all {
        for field in [
            "flag_id",
            "kind",
            "key",
            "status",
            "score",
            "window_start",
            "window_end",
            "count",
            "baseline",
            "sample_ids",
            "updated_at",
        ] {
            assert!(f.get(field).is_some(), "{field} missing in {f}");
        }
    }
    // One problem, one flag: the burst is a spike of its topic, naming its rising terms.
    let mentions = |f: &&serde_json::Value, w: &str| {
        f["title"].as_str().unwrap_or("").contains(w) || f["key"].as_str().unwrap_or("").contains(w)
    };
    let burst: Vec<&serde_json::Value> = all
        .iter()
        .filter(|f| mentions(f, "認証コード") || mentions(f, "account_login"))
        .collect();
    assert_eq!(burst.len(), 1, "one flag for the burst: {burst:?}");
    assert_eq!(burst[0]["kind"], "spike");
    assert_eq!(burst[0]["key"], "account_login");
    assert!(
        burst[0]["title"].as_str().unwrap_or("").contains("主な語"),
        "{:?}",
        burst[0]
    );
    assert!(burst[0]["count"].as_u64().unwrap_or(0) >= 30);
    assert!(
        !burst[0]["sample_ids"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true)
    );
    let problem = [burst[0]];

    // Acknowledge: the next run updates the same flag instead of raising another.
    let id = problem[0]["flag_id"].as_str().expect("id").to_string();
    let ack = p.run(
        &[
            "flags",
            "ack",
            &id,
            "--by",
            "support-lead",
            "--note",
            "SMS vendor contacted",
        ],
        b"",
    );
    assert!(ack.status.success());
    flagger(&p, end() + time::Duration::minutes(30));
    let again = flags(&p);
    let problem = of_kind(&again, "spike")
        .into_iter()
        .filter(|f| f["key"] == "account_login")
        .collect::<Vec<_>>();
    assert_eq!(
        problem.len(),
        1,
        "still one flag for the problem: {problem:?}"
    );
    assert_eq!(problem[0]["flag_id"], id.as_str());
    assert_eq!(problem[0]["status"], "acknowledged");
    assert_eq!(problem[0]["acked_by"], "support-lead");

    // Resolve: the same problem detected again is a new flag.
    assert!(p.run(&["flags", "resolve", &id], b"").status.success());
    flagger(&p, end() + time::Duration::minutes(45));
    let after = flags(&p);
    let problem = of_kind(&after, "spike")
        .into_iter()
        .filter(|f| f["key"] == "account_login")
        .collect::<Vec<_>>();
    assert_eq!(problem.len(), 2, "{problem:?}");
    assert!(
        problem
            .iter()
            .any(|f| f["flag_id"] == id.as_str() && f["status"] == "resolved")
    );
    assert!(
        problem
            .iter()
            .any(|f| f["flag_id"] != id.as_str() && f["status"] == "open")
    );
    let open = p.run(&["flags", "list", "--status", "open"], b"");
    assert!(String::from_utf8_lossy(&open.stdout).contains("account_login"));
    assert!(w.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_week_raises_no_spike_and_no_emerging_flag() {
    let p = Pipeline::new(3);
    p.migrate();
    let w = p.spawn_worker("s");
    let total = load(&p, 0);
    p.wait_for("the corpus stored", WAIT, || p.stored() == total as u64);
    flagger(&p, end());
    let all = flags(&p);
    assert!(
        of_kind(&all, "spike").is_empty(),
        "{:?}",
        of_kind(&all, "spike")
    );
    assert!(
        of_kind(&all, "emerging").is_empty(),
        "{:?}",
        of_kind(&all, "emerging")
    );
    assert!(w.terminate().success());
}

#[test]
fn the_flagger_serves_its_health_and_metrics_and_stops_on_sigterm() {
    use voc_demo::loopback::{http_get, scrape};
    let mut p = Pipeline::new(1);
    p.migrate();
    let addr = format!("127.0.0.1:{}", voc_tests::free_port());
    let config = p.dir.join("flagger.toml");
    std::fs::write(
        &config,
        format!("[flags]\ninterval_s = 1\nmetrics_addr = \"{addr}\"\n"),
    )
    .expect("config");
    let mut flagger = p.spawn(
        &["--config", config.to_str().expect("utf-8 path"), "flagger"],
        "flagger",
    );
    let health = || http_get(&addr, "/health").map(|(status, _)| status);
    p.wait_for("a first flagger run", WAIT, || {
        scrape(&addr, "voc_flagger_runs_total").unwrap_or(0.0) >= 1.0
    });
    assert_eq!(health(), Some(200));
    if p.ch.is_private() {
        // ClickHouse goes away: runs fail, are counted, and /health says so; then it recovers.
        p.ch.stop();
        p.wait_for("a failed run on /health", WAIT, || health() == Some(503));
        p.wait_for("the failed run counted", WAIT, || {
            scrape(&addr, "voc_flagger_run_failures_total").unwrap_or(0.0) >= 1.0
        });
        p.ch.resume();
        p.wait_for("healthy again after ClickHouse is back", WAIT, || {
            health() == Some(200)
        });
    }
    let pid = flagger.id().to_string();
    let signalled = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let status = flagger.wait().expect("the flagger exits");
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "stopped within a run: {:?}",
        signalled.elapsed()
    );
}
