//! The streaming pipeline end to end, against a real ClickHouse server and a real Kafka-protocol
//! broker (librdkafka's mock cluster over loopback TCP), with `voc` run as separate processes:
//! every valid interaction lands once, every malformed message lands in the DLQ with its reason
//! and original bytes, and the aggregates equal `interactions FINAL` after replays, graceful
//! restarts, hard kills, rebalances and a ClickHouse outage.

use std::time::Duration;

use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

/// The shared dev set as interaction messages, copy `n` of it with its own ids and hours.
fn corpus(copy: usize) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/dev.jsonl");
    let text = std::fs::read_to_string(path).expect("data/eval/dev.jsonl");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut v: serde_json::Value =
                serde_json::from_str(line).expect("dev set line is JSON");
            v["interaction_id"] =
                format!("c{copy}-{}", v["interaction_id"].as_str().unwrap_or("x")).into();
            v["occurred_at"] = format!(
                "2026-11-{:02}T{:02}:{:02}:00+09:00",
                10 + copy % 10,
                i % 24,
                (i * 7) % 60
            )
            .into();
            if let Some(obj) = v.as_object_mut() {
                obj.remove("labels");
            }
            v.to_string()
        })
        .collect()
}

fn jsonl(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// The state a replay must not change.
fn snapshot(p: &Pipeline) -> (u64, String, String) {
    let db = &p.db;
    (
        p.stored(),
        p.ch.q(&format!("SELECT * FROM {db}.topic_volume_hourly ORDER BY hour, topic, voice_type, complaint_type, channel, product")),
        p.ch.q(&format!("SELECT * FROM {db}.keyword_hourly ORDER BY hour, keyword, product, channel")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_messages_land_once_and_malformed_ones_in_the_dlq_with_reason_and_bytes() {
    let p = Pipeline::new(3);
    p.migrate();
    let worker = p.spawn_worker("w1");

    // Valid lines through `voc produce`, which also refuses the invalid line it was given.
    let valid = corpus(0);
    let mut input = valid.clone();
    input.insert(5, "{\"not\": \"an interaction\"}".into());
    let out = p.run(&["produce"], &jsonl(&input));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a rejected line makes `voc produce` exit 1"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"line\":6"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Malformed messages straight onto the topic, each with a key.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let many_turns = serde_json::json!({
        "interaction_id": "many", "occurred_at": "2026-11-22T10:00:00+09:00",
        "turns": vec![serde_json::json!({"speaker": "customer", "text": "はい"}); 100_000]
    })
    .to_string();
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("k-json", b"{not json".to_vec(), "invalid_json"),
        ("k-utf8", b"{\"interaction_id\":\"u\",\"text\":\"\xff\xfe\"}".to_vec(), "invalid_utf8"),
        ("k-noid", br#"{"occurred_at":"2026-11-22T10:00:00Z","text":"a"}"#.to_vec(), "invalid_json"),
        ("k-chan", br#"{"interaction_id":"c","occurred_at":"2026-11-22T10:00:00Z","channel":"fax","text":"a"}"#.to_vec(), "invalid_json"),
        ("k-time", br#"{"interaction_id":"t","occurred_at":"tomorrow","text":"a"}"#.to_vec(), "bad_occurred_at"),
        ("k-nul", b"\x00\x00\x00".to_vec(), "invalid_json"),
        ("k-deep", deep.into_bytes(), "invalid_json"),
        ("k-turns", many_turns.into_bytes(), "too_large"),
        ("k-types", br#"{"interaction_id":1,"occurred_at":2,"channel":3,"turns":"x","text":4,"metrics":5}"#.to_vec(), "invalid_json"),
    ];
    let sends: Vec<(Option<&[u8]>, &[u8])> = bad
        .iter()
        .map(|(k, v, _)| (Some(k.as_bytes()), v.as_slice()))
        .collect();
    p.kafka.send(&p.input, &sends).await;

    p.wait_for("all valid interactions stored", WAIT, || {
        p.stored() == valid.len() as u64
    });
    let dead = p.kafka.read_all(&p.dlq, bad.len(), WAIT);
    assert_eq!(
        dead.len(),
        bad.len(),
        "every malformed message is dead-lettered"
    );
    for (key, payload, code) in &bad {
        let d = dead
            .iter()
            .find(|d| d.key.as_deref() == Some(key.as_bytes()))
            .unwrap_or_else(|| panic!("no dead letter for {key}"));
        if d.header("voc.truncated") == Some("true") {
            // Too large for the DLQ topic: the first part of the bytes and the original size.
            assert!(
                payload.starts_with(&d.payload) && !d.payload.is_empty(),
                "{key}: a prefix of the original bytes"
            );
            assert_eq!(
                d.header("voc.original_bytes"),
                Some(payload.len().to_string().as_str())
            );
        } else {
            assert_eq!(&d.payload, payload, "{key}: original bytes kept");
        }
        assert_eq!(
            d.header("voc.reason"),
            Some(*code),
            "{key}: {:?}",
            d.headers
        );
        assert!(
            !d.header("voc.error").unwrap_or("").is_empty(),
            "{key}: a readable reason"
        );
        assert_eq!(d.header("voc.source.topic"), Some(p.input.as_str()));
        assert!(
            d.header("voc.source.offset")
                .and_then(|o| o.parse::<i64>().ok())
                .is_some()
        );
    }
    p.assert_aggregates_exact();

    // Each valid interaction is there with its masked text and tags.
    let db = &p.db;
    let billing = p.ch.q(&format!("SELECT topics, voice_type, complaint_type FROM {db}.interactions FINAL WHERE interaction_id = 'c0-d001'"));
    assert!(
        billing.contains("billing") && billing.contains("complaint"),
        "{billing}"
    );

    let (status, _) = worker.http_get("/health").expect("health endpoint answers");
    assert_eq!(status, 200);
    assert_eq!(
        worker.metric("voc_dlq_messages_total"),
        Some(bad.len() as f64)
    );

    // Replaying the same messages changes nothing.
    let before = snapshot(&p);
    let out = p.run(&["produce"], &jsonl(&valid));
    assert!(out.status.success());
    let total = (2 * valid.len()) as f64;
    p.wait_for("the replay consumed and written", WAIT, || {
        worker.metric("voc_sink_rows_written_total") == Some(total)
    });
    assert_eq!(snapshot(&p), before, "a replay must not change any table");
    p.assert_aggregates_exact();
    assert!(worker.terminate().success(), "graceful shutdown exits 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_hard_kills_lose_nothing_and_count_nothing_twice() {
    hard_kills_scenario(Pipeline::new(3));
}

/// The same on a cluster of two shards of two replicas: a replay lands on the shard that holds
/// the interaction, so `FINAL` and the id sets collapse it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_hard_kills_lose_nothing_and_count_nothing_twice_on_a_cluster() {
    hard_kills_scenario(Pipeline::on_cluster(3, 2, 2));
}

fn hard_kills_scenario(p: Pipeline) {
    p.migrate();
    // Keep every row a replay writes, so the test can see that replays happened (merges would
    // collapse them in the background).
    match &p.ch.cluster {
        None => {
            p.ch.q(&format!("SYSTEM STOP MERGES {}.interactions", p.db));
        }
        Some(c) => {
            for i in 0..c.servers.len() {
                p.ch.query_on(
                    i,
                    &format!("SYSTEM STOP MERGES {}.interactions_local", p.db),
                )
                .expect("stop merges");
            }
        }
    }
    let all: Vec<String> = (1..=4).flat_map(corpus).collect();
    let chunks: Vec<&[String]> = all.chunks(all.len() / 4).collect();

    // A graceful restart mid-stream.
    let w = p.spawn_worker("a");
    assert!(p.run(&["produce"], &jsonl(chunks[0])).status.success());
    p.wait_for("some progress", WAIT, || p.stored() > 0);
    assert!(p.run(&["produce"], &jsonl(chunks[1])).status.success());
    assert!(w.terminate().success());

    // Hard kills mid-batch: two right after rows were stored, before the next offset commit
    // (every second), so they are re-read; a third 300 ms after start. No drain, no commit.
    for (i, chunk) in chunks[2..].iter().enumerate() {
        let w = p.spawn_worker(&format!("k{i}"));
        let before = p.rows_including_replays();
        assert!(p.run(&["produce"], &jsonl(chunk)).status.success());
        p.wait_for("rows stored", WAIT, || p.rows_including_replays() > before);
        w.kill();
    }
    let w = p.spawn_worker("k-last");
    std::thread::sleep(Duration::from_millis(300));
    w.kill();

    let w = p.spawn_worker("final");
    p.wait_for("every interaction stored", WAIT, || {
        p.stored() == all.len() as u64
    });
    let rows = p.rows_including_replays();
    assert!(
        rows > all.len() as u64,
        "the kills made the workers write some interactions again ({rows} rows for {} interactions)",
        all.len()
    );
    // The aggregates, read without FINAL, still count each interaction once.
    p.wait_until_exact(WAIT);
    assert!(w.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_in_one_group_share_partitions_through_rebalances() {
    const PARTITIONS: f64 = 4.0;
    let held =
        |w: &voc_tests::pipeline::Worker| w.metric("voc_source_assigned_partitions").unwrap_or(0.0);
    let p = Pipeline::new(4);
    p.migrate();
    let all: Vec<String> = (5..=9).flat_map(corpus).collect();
    let w1 = p.spawn_worker("r1");
    let w2 = p.spawn_worker("r2");
    p.wait_for("both workers hold partitions", WAIT, || {
        held(&w1) > 0.0 && held(&w2) > 0.0 && held(&w1) + held(&w2) == PARTITIONS
    });
    let input = p.dir.join("rebalance-input.jsonl");
    std::fs::write(&input, jsonl(&all)).expect("input file");
    let mut producing = p.spawn(
        &[
            "produce",
            "--rate",
            "80",
            input.to_str().expect("utf-8 path"),
        ],
        "producer",
    );
    p.wait_for("the first worker stored rows", WAIT, || {
        w1.metric("voc_sink_rows_written_total").unwrap_or(0.0) > 0.0
    });
    // (Read until it answers: a scrape can fail while the worker is busy.)
    let rebalances = || {
        let mut n = None;
        p.wait_for("the second worker's rebalance count", WAIT, || {
            n = w2.metric("voc_source_rebalances_total");
            n.is_some()
        });
        n.unwrap_or(0.0)
    };
    let before_leave = rebalances();
    // One leaves and another joins while messages flow.
    assert!(w1.terminate().success());
    p.wait_for("the second worker took over every partition", WAIT, || {
        held(&w2) == PARTITIONS
    });
    let after_leave = rebalances();
    assert!(
        after_leave > before_leave,
        "the leave was a rebalance for the second worker"
    );
    let w3 = p.spawn_worker("r3");
    p.wait_for("the partitions are shared again", WAIT, || {
        held(&w3) > 0.0 && held(&w2) + held(&w3) == PARTITIONS
    });
    assert!(rebalances() > after_leave, "so was the join");
    assert!(producing.wait().expect("producer").success());
    p.wait_for("every interaction stored", WAIT, || {
        p.stored() == all.len() as u64
    });
    p.wait_until_exact(WAIT);
    assert!(w2.terminate().success());
    assert!(w3.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clickhouse_outage_makes_the_worker_wait_report_unhealthy_and_recover() {
    let mut p = Pipeline::new(2);
    if !p.ch.is_private() {
        eprintln!(
            "skipping: VOC_TEST_CLICKHOUSE_URL points at a shared server that this test must not stop"
        );
        return;
    }
    p.migrate();
    let w = p.spawn_worker("o1");
    let first = corpus(8);
    assert!(p.run(&["produce"], &jsonl(&first)).status.success());
    p.wait_for("the first part stored", WAIT, || {
        p.stored() == first.len() as u64
    });

    p.wait_for("the first part committed", WAIT, || {
        p.kafka.committed(&p.group, &p.input, 2) == first.len() as i64
    });

    p.ch.stop();
    let second = corpus(9);
    assert!(p.run(&["produce"], &jsonl(&second)).status.success());
    p.wait_for("the worker reports unhealthy", WAIT, || {
        w.http_get("/health").is_some_and(|(s, _)| s == 503)
    });
    // A real outage: 35 s down. The worker stays up, keeps retrying, and commits nothing it has
    // not written (offsets stand still while the second part waits).
    let retries_at_start = w.metric("voc_sink_insert_retries_total").unwrap_or(0.0);
    std::thread::sleep(Duration::from_secs(35));
    assert_eq!(w.metric("voc_sink_clickhouse_up"), Some(0.0));
    assert!(
        w.http_get("/health").is_some_and(|(s, _)| s == 503),
        "unhealthy throughout the outage"
    );
    assert_eq!(
        p.kafka.committed(&p.group, &p.input, 2),
        first.len() as i64,
        "no offset advanced while ClickHouse was down"
    );
    assert!(
        w.metric("voc_sink_insert_retries_total").unwrap_or(0.0) > retries_at_start,
        "the worker kept retrying"
    );

    p.ch.resume();
    p.wait_for("everything stored after the outage", WAIT, || {
        p.stored() == (first.len() + second.len()) as u64
    });
    p.wait_for("the worker reports healthy again", WAIT, || {
        w.http_get("/health").is_some_and(|(s, _)| s == 200)
    });
    // A batch cut off by the outage may be in `interactions` before the worker's retry has also
    // reached the aggregates: exactness is promised once every row is acknowledged.
    let total = (first.len() + second.len()) as f64;
    p.wait_for("every row acknowledged", WAIT, || {
        w.metric("voc_sink_rows_written_total") == Some(total)
    });
    p.wait_until_exact(WAIT);
    assert!(w.metric("voc_sink_insert_retries_total").unwrap_or(0.0) > 0.0);
    p.wait_for("every offset committed", WAIT, || {
        p.kafka.committed(&p.group, &p.input, 2) == (first.len() + second.len()) as i64
    });
    assert!(w.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streaming_path_works_on_an_independent_broker_implementation() {
    let broker = voc_tests::kafka::Kafka::start_tansu()
        .expect("tansu is installed (scripts/test.sh installs it: cargo install tansu --features dynostore)");
    let p = Pipeline::with_broker(broker, 3);
    p.migrate();
    let w = p.spawn_worker("t1");
    let valid = corpus(3);
    let out = p.run(&["produce"], &jsonl(&valid));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A 10 MB message (librdkafka's mock cluster cannot serve one; tansu, like Apache Kafka,
    // does): dead-lettered as too large, and the interactions behind it still flow.
    let huge = serde_json::json!({
        "interaction_id": "huge", "occurred_at": "2026-11-22T10:00:00+09:00",
        "text": "料金が高い。".repeat(10 * 1024 * 1024 / 18)
    })
    .to_string();
    assert!(huge.len() >= 10 * 1024 * 1024 - 64);
    p.kafka
        .send(
            &p.input,
            &[
                (Some(b"bad".as_slice()), b"{not json".as_slice()),
                (Some(b"huge".as_slice()), huge.as_bytes()),
            ],
        )
        .await;
    let after = corpus(4);
    assert!(p.run(&["produce"], &jsonl(&after)).status.success());
    p.wait_for("all valid interactions stored", WAIT, || {
        p.stored() == (valid.len() + after.len()) as u64
    });
    let dead = p.kafka.read_all(&p.dlq, 2, WAIT);
    assert_eq!(dead.len(), 2);
    let reason = |key: &[u8]| {
        dead.iter()
            .find(|d| d.key.as_deref() == Some(key))
            .and_then(|d| d.header("voc.reason").map(str::to_string))
    };
    assert_eq!(reason(b"bad").as_deref(), Some("invalid_json"));
    assert_eq!(reason(b"huge").as_deref(), Some("too_large"));
    let huge_dead = dead
        .iter()
        .find(|d| d.key.as_deref() == Some(b"huge".as_slice()))
        .expect("huge dead letter");
    assert!(
        huge.as_bytes().starts_with(&huge_dead.payload) && !huge_dead.payload.is_empty(),
        "the original bytes, or their first part with voc.truncated"
    );
    assert_eq!(w.http_get("/health").map(|h| h.0), Some(200));
    p.wait_until_exact(WAIT);
    // Offsets were committed on tansu: a new worker in the group has nothing left to redo.
    assert!(w.terminate().success());
    let w2 = p.spawn_worker("t2");
    p.wait_for("the new worker holds every partition", WAIT, || {
        w2.metric("voc_source_assigned_partitions") == Some(3.0)
    });
    // It fetches within 50 ms of holding them (fetch.wait.max.ms): give it time to re-read.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        w2.metric("voc_source_messages_total"),
        Some(0.0),
        "committed offsets are honoured: nothing is read again"
    );
    assert!(w2.terminate().success());
}

/// Every migration can run again, even one that adds columns (18.16 has no ADD COLUMN IF NOT
/// EXISTS): a lost ledger, or two hosts migrating at once, must not break the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_runs_again_over_an_applied_schema() {
    let p = Pipeline::new(1);
    p.migrate();
    p.ch.q(&format!("DROP TABLE {}.schema_migrations", p.db));
    p.migrate();
    let columns = p.ch.q(&format!(
        "SELECT name FROM system.columns WHERE database = '{}' AND table = 'flags' AND name IN ('team', 'channels') ORDER BY name",
        p.db
    ));
    assert_eq!(
        columns.split_whitespace().collect::<Vec<_>>(),
        ["channels", "team"]
    );
    // A different error on an ALTER is still an error: the flags table without its key column.
    p.ch.q(&format!("DROP TABLE {}.schema_migrations", p.db));
    p.ch.q(&format!("DROP TABLE {}.flags", p.db));
    p.ch.q(&format!(
        "CREATE TABLE {}.flags (x UInt8) ENGINE = Log",
        p.db
    ));
    let out = p.run(&["migrate"], b"");
    assert!(!out.status.success(), "ADD COLUMN on a Log table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_mistakes_fail_fast_with_what_to_do() {
    let p = Pipeline::new(1);
    p.migrate();
    // (setting, value, what the one-line error must say)
    let mistakes: [(&str, &str, &[&str]); 4] = [
        (
            "VOC_CLICKHOUSE_DATABASE",
            "voc_never_migrated",
            &["voc_never_migrated", "run `voc migrate` first"],
        ),
        (
            "VOC_INPUT_TOPIC",
            "no-such-topic",
            &["topic `no-such-topic` does not exist", "VOC_INPUT_TOPIC"],
        ),
        (
            "VOC_CLICKHOUSE_URL",
            "http://127.0.0.1:1",
            &["is ClickHouse running at http://127.0.0.1:1"],
        ),
        (
            "VOC_KAFKA_BROKERS",
            "127.0.0.1:1",
            &["cannot reach the Kafka brokers at 127.0.0.1:1"],
        ),
    ];
    for (key, value, says) in mistakes {
        let out = p.run_with_env(&["worker"], &[(key, value), ("VOC_METRICS_ADDR", "")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        for s in says {
            assert!(stderr.contains(s), "{key}: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{key}: {stderr}");
    }
    // `voc produce` fails as fast, in one line, and never feeds a topic no worker reads.
    let line = b"{\"interaction_id\":\"x\",\"occurred_at\":\"2026-11-22T10:00:00+09:00\",\"text\":\"a\"}\n";
    for (key, value, says) in [
        (
            "VOC_KAFKA_BROKERS",
            "127.0.0.1:1",
            "cannot reach the Kafka brokers at 127.0.0.1:1",
        ),
        (
            "VOC_INPUT_TOPIC",
            "no-such-topic",
            "topic `no-such-topic` does not exist",
        ),
    ] {
        let started = std::time::Instant::now();
        let out = p.run_with_env_stdin(&["produce"], &[(key, value)], line);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(stderr.contains(says), "{key}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{key}: one line, not librdkafka's retries: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{key}: took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_faults_leave_the_aggregates_exact() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let p = Pipeline::with_broker(voc_tests::kafka::Kafka::start(3), 3);
    p.migrate();
    let w = p.spawn_worker("bf");
    let Some(cluster) = p.kafka.cluster.as_ref() else {
        eprintln!(
            "skipping: broker faults are injected through the mock cluster, not VOC_TEST_KAFKA_BROKERS"
        );
        return;
    };
    let all: Vec<String> = (10..=12).flat_map(corpus).collect();
    let parts: Vec<&[String]> = all.chunks(all.len() / 3 + 1).collect();

    assert!(p.run(&["produce"], &jsonl(parts[0])).status.success());
    p.wait_for("some progress", WAIT, || p.stored() > 0);
    // A broker goes down and comes back while messages flow.
    cluster.broker_down(1).expect("broker down");
    std::thread::sleep(Duration::from_secs(3));
    cluster.broker_up(1).expect("broker up");
    // Partition leaders move.
    cluster
        .partition_leader(&p.input, 0, Some(2))
        .expect("leader change");
    cluster
        .partition_leader(&p.input, 1, Some(3))
        .expect("leader change");
    assert!(p.run(&["produce"], &jsonl(parts[1])).status.success());
    // Requests fail transiently: fetches, offset commits and produce (dead letters) time out.
    let timeouts = [RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT; 4];
    cluster.request_errors(RDKafkaApiKey::Fetch, &timeouts);
    cluster.request_errors(RDKafkaApiKey::OffsetCommit, &timeouts);
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 2],
    );
    assert!(p.run(&["produce"], &jsonl(parts[2])).status.success());
    p.kafka
        .send(
            &p.input,
            &[(Some(b"bad".as_slice()), b"{not json".as_slice())],
        )
        .await;

    p.wait_for("every interaction stored", WAIT, || {
        p.stored() == all.len() as u64
    });
    assert_eq!(
        p.kafka.read_all(&p.dlq, 1, WAIT).len(),
        1,
        "the malformed message is dead-lettered"
    );
    // Looking for a second copy for a while: the idempotent producer must not duplicate it.
    assert_eq!(
        p.kafka.read_all(&p.dlq, 2, Duration::from_secs(5)).len(),
        1,
        "dead-lettered exactly once"
    );
    p.wait_until_exact(WAIT);
    assert!(w.terminate().success());
}
