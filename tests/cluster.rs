//! voc on a ClickHouse cluster (two shards of two replicas on ZooKeeper, all on loopback):
//! `voc migrate --cluster` and its refusals, and replicas stopped and started mid-stream losing
//! nothing. The replay, kill -9, re-tag and closing tests run on a cluster too (`pipeline.rs`,
//! `retag.rs`), and so do the dashboards (`dashboards.rs`).

use std::time::Duration;

use voc_tests::cluster::NAME;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(180);
/// How long a rebuild may take once the stopped replicas are back: each runs its queued
/// `ON CLUSTER` deletes one after another (one per aggregate table and daily roll-up), which took
/// over 180 s on a busy CI machine. It only has to finish, not to be quick.
const REBUILD_AFTER_RESTART: Duration = Duration::from_secs(480);

/// The dev set as messages, copy `n` with its own ids, in the last days (open to late messages).
fn corpus(copy: usize) -> Vec<serde_json::Value> {
    use time::format_description::well_known::Rfc3339;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/dev.jsonl");
    let text = std::fs::read_to_string(path).expect("data/eval/dev.jsonl");
    let now = time::OffsetDateTime::now_utc();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            v["interaction_id"] =
                format!("k{copy}-{}", v["interaction_id"].as_str().unwrap_or("x")).into();
            let at = now - time::Duration::minutes((i * 37 % 2000) as i64);
            v["occurred_at"] = at.format(&Rfc3339).expect("time").into();
            if let Some(o) = v.as_object_mut() {
                o.remove("labels");
            }
            v
        })
        .collect()
}

/// (distinct interactions, a digest of their ids) on server `i`'s own table.
fn held_by(p: &Pipeline, i: usize) -> Option<String> {
    p.ch.query_on(
        i,
        &format!(
            "SELECT uniqExact(interaction_id), sum(cityHash64(interaction_id)) FROM {}.interactions_local",
            p.db
        ),
    )
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_stopped_and_started_mid_stream_lose_nothing() {
    let mut p = Pipeline::on_cluster(2, 2, 2);
    p.migrate();
    let worker = p.spawn_worker("w");
    let first = corpus(0);
    let second = corpus(1);
    p.produce(&first);
    p.wait_for("some interactions stored", WAIT, || p.stored() > 0);

    // Kill -9 the replica that takes shard 2's inserts (the first live one), and shard 1's second
    // replica, while the stream goes on: inserts to shard 2 fail over to its other replica.
    let cluster = p.ch.cluster.as_ref().expect("cluster");
    let (shard1_second, shard2_first) = (cluster.shard(0).end - 1, cluster.shard(1).start);
    p.ch.stop_server(shard2_first);
    p.ch.stop_server(shard1_second);
    p.produce(&second);
    let total = (first.len() + second.len()) as u64;
    p.wait_for(
        "every interaction stored on the live replicas",
        WAIT,
        || p.stored() == total,
    );
    // A rebuild of every hour while those servers are away. Its deletes go ON CLUSTER: they must
    // not wait for the dead servers (180 s each, by default), but stay queued for them. It then
    // waits for the deletes on every shard, which a part held only by a dead replica can hold up
    // until that replica is back; after the restart it must finish, exact.
    let mut rebuild = p.spawn(
        &[
            "retag",
            "--rebuild-only",
            "--since",
            "2020-01-01",
            "--until",
            "2100-01-01",
        ],
        "rebuild",
    );
    let log = p.dir.join("rebuild.log");
    p.wait_for(
        "both deletes queued for the servers that are down",
        Duration::from_secs(90),
        || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("the delete stays queued")
                .count()
                == 2
        },
    );
    p.ch.resume_server(shard2_first);
    p.ch.resume_server(shard1_second);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = rebuild.try_wait().expect("rebuild") {
            break status;
        }
        assert!(
            started.elapsed() < REBUILD_AFTER_RESTART,
            "the rebuild did not finish after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Each restarted replica fetches what it missed: both replicas of a shard hold the same
    // interactions, and the shards together hold every one.
    let cluster = p.ch.cluster.as_ref().expect("cluster");
    let shards: Vec<_> = (0..2).map(|s| cluster.shard(s)).collect();
    p.wait_for("the replicas caught up", WAIT, || {
        shards.iter().all(|shard| {
            let held: Vec<Option<String>> = shard.clone().map(|i| held_by(&p, i)).collect();
            held[0].is_some() && held.windows(2).all(|w| w[0] == w[1])
        })
    });
    let sum: u64 = shards
        .iter()
        .map(|shard| {
            held_by(&p, shard.start)
                .and_then(|h| h.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(sum, total, "each interaction on exactly one shard");
    assert!(
        shards
            .iter()
            .all(|s| held_by(&p, s.start).is_some_and(|h| !h.starts_with("0\t"))),
        "both shards hold interactions"
    );
    p.wait_until_exact(WAIT);
    // Read from the restarted replicas alone: the aggregates there are exact too.
    p.ch.stop_server(shards[0].start);
    // (server 0 is voc's and the harness's entry point; read through the others.)
    let via = |i: usize, sql: &str| p.ch.query_on(i, sql).unwrap_or_else(|e| panic!("{e}"));
    let views = via(
        shard1_second,
        &format!("SELECT sum(interactions) FROM {}.volume_hourly", p.db),
    );
    assert_eq!(
        views.trim(),
        total.to_string(),
        "counted once on the replicas that were down"
    );
    p.ch.resume_server(shards[0].start);
    assert!(worker.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_onto_a_cluster_is_idempotent_and_refuses_mistakes() {
    let p = Pipeline::on_cluster(1, 2, 1);
    // An unknown cluster name.
    let out = p.run(&["migrate", "--cluster", "nope"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("no cluster `nope`") && err.contains("remote_servers"),
        "{err}"
    );

    p.migrate();
    // Every server has the schema: the Distributed tables, the replicated local tables and the
    // ledger, which every server answers from its own copy.
    let cluster = p.ch.cluster.as_ref().expect("cluster");
    for i in 0..cluster.servers.len() {
        let engines = p.ch.query_on(
            i,
            &format!(
                "SELECT name, engine FROM system.tables WHERE database = '{}' \
                 AND name IN ('interactions', 'interactions_local', 'aggregate_closures') ORDER BY name",
                p.db
            ),
        )
        .expect("tables");
        assert_eq!(
            engines,
            "aggregate_closures\tReplicatedReplacingMergeTree\ninteractions\tDistributed\n\
             interactions_local\tReplicatedReplacingMergeTree\n",
            "server {i}"
        );
    }
    // Again, from another server and without the flag: it finds the cluster by itself.
    let other = cluster.servers[1].url();
    let out = p.run_with_env(&["migrate"], &[("VOC_CLICKHOUSE_URL", other.as_str())]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("on cluster `{NAME}`")) && said.contains("0 migration(s) applied"),
        "{said}"
    );

    // A database migrated for one server is not silently half-moved onto the cluster.
    let single = format!("{}_single", p.db);
    let out = p.run_with_env(
        &["migrate"],
        &[("VOC_CLICKHOUSE_DATABASE", single.as_str())],
    );
    assert!(out.status.success());
    let out = p.run_with_env(
        &["migrate", "--cluster", NAME],
        &[("VOC_CLICKHOUSE_DATABASE", single.as_str())],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("migrated without --cluster"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_waits_for_a_replica_that_is_away_and_finishes_when_it_is_back() {
    // One shard of two replicas: a migration reads every shard first, so one replica may be away.
    let mut p = Pipeline::on_cluster(1, 1, 2);
    // A server away for longer than an `ON CLUSTER` statement waits (DDL_WAIT_S, 15 s): the
    // migration waits for it, saying so, and completes once it is back, instead of failing with
    // the statement half run (as a replica slower than the server's 180 s once made it fail).
    p.ch.stop_server(1);
    let mut migrate = p.spawn(&["migrate", "--cluster", NAME], "migrate-away");
    let log = p.dir.join("migrate-away.log");
    p.wait_for(
        "migrate to wait for the server that is away",
        Duration::from_secs(120),
        || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains("waiting for every ClickHouse server"))
        },
    );
    // Still waiting well past two statements' timeouts, and nothing built on the first
    // statement yet: a wait that returned early would have gone on to the ledger.
    std::thread::sleep(Duration::from_secs(35));
    assert!(
        migrate.try_wait().expect("migrate").is_none(),
        "migrate gave up while a server was away: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let ledger = p.ch.query_on(
        0,
        &format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name = 'schema_migrations'",
            p.db
        ),
    );
    assert_eq!(ledger.as_deref().map(str::trim), Ok("0"), "{ledger:?}");
    p.ch.resume_server(1);
    let status = {
        let started = std::time::Instant::now();
        loop {
            if let Some(s) = migrate.try_wait().expect("migrate") {
                break s;
            }
            assert!(
                started.elapsed() < WAIT,
                "migrate did not finish after the server came back"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let cluster = p.ch.cluster.as_ref().expect("cluster");
    for i in 0..cluster.servers.len() {
        let tables =
            p.ch.query_on(
                i,
                &format!(
                    "SELECT count() FROM system.tables WHERE database = '{}' \
                 AND name IN ('interactions', 'interactions_local', 'flags_local')",
                    p.db
                ),
            )
            .expect("tables");
        assert_eq!(tables.trim(), "3", "server {i}");
    }
    // Its ledger is complete: run again, nothing is left to apply.
    let out = p.run(&["migrate"], b"");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("0 migration(s) applied"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
