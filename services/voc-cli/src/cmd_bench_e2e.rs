//! `voc bench e2e`: the whole path on loopback — a Kafka-protocol broker, a `voc worker` process
//! and ClickHouse — measured in one run next to the single-thread analysis rate of the same texts:
//! throughput on a pre-loaded topic, produce-to-queryable latency at half that rate (sampled
//! probes), and the worker's peak RSS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use voc_core::message::Speaker;
use voc_core::{Analyzer, Limits, parse_message};
use voc_demo::local_clickhouse::LocalClickHouse;
use voc_demo::loopback::WorkerProcess;
use voc_store::{Store, StoreConfig};
use voc_stream::produce::{Input, Progress};

use crate::jsonl::{self, Line};
use crate::settings::Settings;

const INPUT: &str = "voc-bench-in";
const DLQ: &str = "voc-bench-dlq";
const DATABASE: &str = "voc_bench";
/// Every N-th latency-phase message is a probe whose arrival in ClickHouse is timed.
const PROBE_EVERY: usize = 10;
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct E2eArgs {
    pub file: PathBuf,
    /// The corpus is sent this many times (new ids each time).
    pub copies: usize,
    /// Seconds of steady load for the latency measurement.
    pub latency_seconds: u64,
    /// An existing broker instead of the embedded one.
    pub brokers: Option<String>,
    /// An existing ClickHouse instead of a private one (database `voc_bench` is recreated).
    pub clickhouse_url: Option<String>,
    pub dir: PathBuf,
}

struct Quiet;

impl Progress for Quiet {
    fn sent(&mut self, _: u64) {}
    fn rejected(&mut self, line: usize, reason: &str) {
        eprintln!("corpus line {line} rejected: {reason}");
    }
}

/// The corpus with ids made unique per copy.
fn load(file: &Path, copies: usize) -> anyhow::Result<(Vec<Vec<u8>>, usize, usize)> {
    let limits = Limits::default();
    let mut base = Vec::new();
    for line in jsonl::Lines::new(jsonl::open(Some(file))?, limits.max_message_bytes) {
        if let Line::Data { bytes, .. } = line.context("cannot read the corpus")? {
            base.push(bytes);
        }
    }
    let mut out = Vec::with_capacity(base.len() * copies);
    let mut chars = 0;
    for copy in 0..copies.max(1) {
        for (i, bytes) in base.iter().enumerate() {
            let mut v: serde_json::Value = serde_json::from_slice(bytes)?;
            v["interaction_id"] = format!("bench-{copy}-{i}").into();
            let line = v.to_string().into_bytes();
            if copy == 0 {
                chars += customer_chars(&line, &limits);
            }
            out.push(line);
        }
    }
    Ok((out, base.len(), chars * copies.max(1)))
}

fn customer_chars(bytes: &[u8], limits: &Limits) -> usize {
    parse_message(bytes, limits)
        .map(|m| {
            m.turns
                .iter()
                .filter(|t| t.speaker == Speaker::Customer)
                .map(|t| t.text.chars().count())
                .sum()
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The worker's sink counters at one moment, from its `/metrics`: differences of two samples
/// say how large its ClickHouse inserts were and how long each took (seconds, from the first
/// attempt to ClickHouse's acknowledgement, retries included).
#[derive(Debug, Clone, Copy, Default)]
struct SinkSample {
    rows: f64,
    inserts: f64,
    seconds: f64,
    /// Inserts that took longer than a second.
    slow: f64,
}

impl SinkSample {
    /// From one read of `/metrics`, so that every counter is of the same moment.
    fn scrape(worker: &WorkerProcess) -> Self {
        let body = worker
            .http_get("/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let m = |name| voc_demo::loopback::sample(&body, name).unwrap_or(f64::NAN);
        let inserts = m("voc_sink_batch_duration_seconds_count");
        Self {
            rows: m("voc_sink_rows_written_total"),
            inserts,
            seconds: m("voc_sink_batch_duration_seconds_sum"),
            slow: inserts - m("voc_sink_batch_duration_seconds_bucket{le=\"1\"}"),
        }
    }

    fn since(&self, earlier: &Self) -> Self {
        Self {
            rows: self.rows - earlier.rows,
            inserts: self.inserts - earlier.inserts,
            seconds: self.seconds - earlier.seconds,
            slow: self.slow - earlier.slow,
        }
    }

    fn rows_per_insert(&self) -> f64 {
        self.rows / self.inserts
    }

    fn mean_seconds(&self) -> f64 {
        self.seconds / self.inserts
    }
}

impl std::fmt::Display for SinkSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} inserts of {:.0} rows, {:.3} s each ({:.0} over 1 s)",
            self.inserts,
            self.rows_per_insert(),
            self.mean_seconds(),
            self.slow
        )
    }
}

/// Peak resident set of a process (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let kb: f64 = l
            .strip_prefix("VmHWM:")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `voc worker` on this benchmark's broker, ClickHouse and topics (the loopback kit's launcher).
fn spawn_worker(
    settings: &Settings,
    brokers: &str,
    ch_url: &str,
    log: &Path,
) -> anyhow::Result<WorkerProcess> {
    let exe = std::env::current_exe().context("cannot find the voc binary")?;
    let mut cmd = Command::new(exe);
    cmd.env("VOC_KAFKA_BROKERS", brokers)
        .env("VOC_INPUT_TOPIC", INPUT)
        .env("VOC_DLQ_TOPIC", DLQ)
        .env("VOC_GROUP_ID", format!("voc-bench-{}", std::process::id()))
        .env("VOC_CLICKHOUSE_URL", ch_url)
        .env("VOC_CLICKHOUSE_DATABASE", DATABASE)
        .env("VOC_LOG", "warn");
    if let Some(rules) = &settings.analysis.rules {
        cmd.env("VOC_RULES", rules);
    }
    WorkerProcess::spawn(cmd, &[], log).context("cannot start the worker")
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
async fn until(limit: Duration, mut cond: impl FnMut() -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    while !cond() {
        anyhow::ensure!(started.elapsed() < limit, "timed out after {limit:?}");
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

pub async fn e2e(settings: &Settings, analyzer: &Analyzer, args: E2eArgs) -> anyhow::Result<()> {
    let (messages, base_len, chars) = load(&args.file, args.copies)?;
    let n = messages.len();
    anyhow::ensure!(n > 0, "no interactions in {}", args.file.display());

    // Reference in the same run: single-thread analysis of the same texts.
    let limits = Limits::default();
    // CPU work: off the async reactor.
    let analysis_s = tokio::task::block_in_place(|| {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let started = Instant::now();
            for m in &messages[..base_len] {
                if let Ok(msg) = parse_message(m, &limits) {
                    let _ = analyzer.analyze(&msg);
                }
            }
            best = best.min(started.elapsed().as_secs_f64());
        }
        best
    });
    let analysis_cps = (chars / args.copies.max(1)) as f64 / analysis_s;
    let analysis_ips = base_len as f64 / analysis_s;

    // ClickHouse and the broker on loopback.
    let (ch_url, local) = clickhouse_or_local(args.clickhouse_url.as_deref(), &args.dir)?;
    let store = Store::connect(&StoreConfig {
        url: ch_url.clone(),
        database: DATABASE.into(),
        retention_days: None,
        ..settings.clickhouse.clone()
    })
    .await?;
    store
        .server_client_execute(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .await?;
    voc_store::migrate::migrate(&store).await?;
    let mut cluster: Option<MockCluster<'static, DefaultProducerContext>> = None;
    let brokers = match &args.brokers {
        Some(b) => b.clone(),
        None => {
            // librdkafka's mock broker keeps about 5 MB per partition and drops older messages:
            // spread the pre-loaded corpus so that none is dropped before the worker reads it.
            let bytes: usize = messages.iter().map(Vec::len).sum();
            let partitions = i32::try_from(bytes.div_ceil(3 << 20).max(2)).unwrap_or(i32::MAX);
            let c = MockCluster::new(1)?;
            c.create_topic(INPUT, partitions, 1)?;
            c.create_topic(DLQ, 1, 1)?;
            let b = c.bootstrap_servers();
            cluster = Some(c);
            b
        }
    };

    // Throughput: the whole corpus waits on the topic, then one worker drains it.
    eprintln!("producing {n} interactions to {INPUT} at {brokers} …");
    let input = messages.iter().enumerate().map(|(i, b)| {
        Ok(Input::Line {
            number: i + 1,
            bytes: b.clone(),
        })
    });
    let sent = voc_stream::produce::produce(
        &brokers,
        INPUT,
        &settings.kafka.properties,
        input,
        &limits,
        None,
        &mut Quiet,
    )
    .await?;
    anyhow::ensure!(
        sent.sent == n as u64,
        "only {} of {n} interactions reached the broker ({} rejected, {} undelivered)",
        sent.sent,
        sent.rejected,
        sent.failed
    );
    std::fs::create_dir_all(&args.dir)?;
    let worker = spawn_worker(settings, &brokers, &ch_url, &args.dir.join("worker.log"))?;
    let pid = worker.pid().unwrap_or_default();
    eprintln!("worker {pid} draining the topic …");
    let written = || worker.metric("voc_sink_rows_written_total").unwrap_or(0.0) as usize;
    until(Duration::from_secs(120), || written() > 0).await?;
    let ch_pid = local.as_ref().and_then(LocalClickHouse::pid);
    let me = std::process::id();
    let cpu = || [Some(pid), ch_pid, Some(me)].map(|p| p.and_then(cpu_seconds).unwrap_or(f64::NAN));
    let inserts = || SinkSample::scrape(&worker);
    let (t0, rows0, cpu0, sink0) = (Instant::now(), written(), cpu(), inserts());
    until(Duration::from_secs(1800), || written() >= n).await?;
    let drain_s = t0.elapsed().as_secs_f64();
    let (cpu1, sink1) = (cpu(), inserts());
    let busy: Vec<f64> = (0..3).map(|i| (cpu1[i] - cpu0[i]) / drain_s).collect();
    let e2e_ips = (n - rows0) as f64 / drain_s;
    let e2e_cps = e2e_ips * chars as f64 / n as f64;

    // Latency: a steady half of that rate; every tenth message is a timed probe.
    let rate = (e2e_ips / 2.0).max(1.0);
    let total = (rate * args.latency_seconds as f64) as usize;
    eprintln!(
        "latency: {total} interactions at {rate:.0}/s, every {PROBE_EVERY}th timed from produce to queryable …"
    );
    let producer: FutureProducer =
        voc_stream::config::producer_config(&brokers, &settings.kafka.properties)
            .set("linger.ms", "0")
            .create()?;
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut arrived: Vec<f64> = Vec::new();
    let client = store.client().clone();
    let phase = Instant::now();
    let mut next_poll = Instant::now();
    let mut i = 0;
    let mut deliveries = Vec::with_capacity(total);
    // When the last message was handed over: the rate achieved is `total` over this.
    let mut produced_all = f64::NAN;
    while i < total || !sent_at.is_empty() {
        anyhow::ensure!(
            phase.elapsed() < Duration::from_secs(args.latency_seconds + 120),
            "probes still missing after the load ended: {}",
            sent_at.len()
        );
        let due = (phase.elapsed().as_secs_f64() * rate) as usize;
        // Messages are handed to librdkafka without waiting for each delivery (one round trip
        // per message capped this loop near 3,000/s, and a loop catching up polled late, which
        // showed as latency), and a burst yields to the next poll after 20 ms.
        let burst = Instant::now();
        while i < total && i < due && burst.elapsed() < Duration::from_millis(20) {
            let src = &messages[i % n];
            let mut v: serde_json::Value = serde_json::from_slice(src)?;
            let id = format!("lat-{i}");
            v["interaction_id"] = id.clone().into();
            let payload = v.to_string();
            let produced = Instant::now();
            let delivery = producer
                .send_result(FutureRecord::to(INPUT).key(&id).payload(&payload))
                .map_err(|(e, _)| anyhow::anyhow!("cannot produce {id}: {e}"))?;
            deliveries.push(delivery);
            if i % PROBE_EVERY == 0 {
                sent_at.insert(id, produced);
            }
            i += 1;
            if i == total {
                produced_all = phase.elapsed().as_secs_f64();
            }
        }
        if Instant::now() >= next_poll && !sent_at.is_empty() {
            next_poll = Instant::now() + POLL;
            let ids: Vec<&String> = sent_at.keys().collect();
            let list = ids
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(",");
            let seen: Vec<String> = client
                .query(&format!(
                    "SELECT interaction_id FROM interactions WHERE interaction_id IN ({list})"
                ))
                .fetch_all()
                .await?;
            let now = Instant::now();
            for id in seen {
                if let Some(t) = sent_at.remove(&id) {
                    arrived.push((now - t).as_secs_f64());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut undelivered = 0;
    for delivery in deliveries {
        undelivered += usize::from(!matches!(delivery.await, Ok(Ok(_))));
    }
    anyhow::ensure!(
        undelivered == 0,
        "{undelivered} messages of the latency phase were not delivered"
    );
    arrived.sort_by(f64::total_cmp);
    let sink2 = inserts();
    let rss = peak_rss_mib(pid);
    let _ = worker.terminate();
    drop(producer);
    drop(cluster);
    if let Some(mut ch) = local {
        ch.stop();
    }

    let p50 = percentile(&arrived, 0.50);
    let p99 = percentile(&arrived, 0.99);
    let slowest = arrived.last().copied().unwrap_or(f64::NAN);
    let achieved = total as f64 / produced_all;
    println!(
        "corpus: {} × {} ({n} interactions, {chars} customer characters); broker {}, ClickHouse {}",
        args.file.display(),
        args.copies,
        if args.brokers.is_some() {
            "external"
        } else {
            "embedded (librdkafka mock, in this process)"
        },
        if args.clickhouse_url.is_some() {
            "external"
        } else {
            "private local server"
        }
    );
    println!("{:<52} {:>14} {:>16}", "", "chars/s", "interactions/s");
    println!(
        "{:<52} {:>14.0} {:>16.0}",
        "analysis, 1 thread, in process, best of 3 (reference)", analysis_cps, analysis_ips
    );
    println!(
        "{:<52} {:>14.0} {:>16.0}",
        "end to end: broker → voc worker → ClickHouse", e2e_cps, e2e_ips
    );
    println!(
        "end to end / analysis (1 thread): {:.2}",
        e2e_cps / analysis_cps
    );
    println!(
        "cores busy while draining ({drain_s:.1} s): worker {:.2}, ClickHouse {:.2}, broker and this process {:.2}",
        busy[0], busy[1], busy[2]
    );
    println!(
        "produce → queryable at {rate:.0}/s (achieved {:.0}/s; {} probes, ±{} ms polling): p50 {:.3} s, p99 {:.3} s, slowest {:.3} s",
        achieved,
        arrived.len(),
        POLL.as_millis(),
        p50,
        p99,
        slowest
    );
    let (drain_sink, latency_sink) = (sink1.since(&sink0), sink2.since(&sink1));
    println!(
        "ClickHouse inserts while draining: {}; during the latency phase: {}",
        drain_sink, latency_sink
    );
    println!(
        "worker peak RSS: {}",
        rss.map(|r| format!("{r:.0} MiB"))
            .unwrap_or_else(|| "unknown".into())
    );
    println!(
        "{}",
        serde_json::json!({
            "interactions": n,
            "chars": chars,
            "analysis_chars_per_s": analysis_cps.round(),
            "e2e_chars_per_s": e2e_cps.round(),
            "e2e_interactions_per_s": e2e_ips.round(),
            "e2e_ratio": ((e2e_cps / analysis_cps) * 100.0).round() / 100.0,
            "latency_rate_per_s": rate.round(),
            "latency_achieved_rate_per_s": achieved.round(),
            "latency_p50_s": (p50 * 1000.0).round() / 1000.0,
            "latency_p99_s": (p99 * 1000.0).round() / 1000.0,
            "latency_max_s": (slowest * 1000.0).round() / 1000.0,
            "latency_slow_inserts": latency_sink.slow,
            "probes": arrived.len(),
            "worker_peak_rss_mib": rss.map(f64::round),
            "cores_busy_worker": (busy[0] * 100.0).round() / 100.0,
            "cores_busy_clickhouse": (busy[1] * 100.0).round() / 100.0,
            "cores_busy_broker_and_bench": (busy[2] * 100.0).round() / 100.0,
            "drain_rows_per_insert": drain_sink.rows_per_insert().round(),
            "drain_insert_s": (drain_sink.mean_seconds() * 1000.0).round() / 1000.0,
            "latency_rows_per_insert": latency_sink.rows_per_insert().round(),
            "latency_insert_s": (latency_sink.mean_seconds() * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}

/// The given ClickHouse URL, or a private local server started with its data in `dir/clickhouse`
/// (returned, so that it lives as long as the benchmark and stops when dropped).
pub fn clickhouse_or_local(
    url: Option<&str>,
    dir: &std::path::Path,
) -> anyhow::Result<(String, Option<LocalClickHouse>)> {
    Ok(match url {
        Some(url) => (url.to_string(), None),
        None => {
            let mut ch = LocalClickHouse::new(&dir.join("clickhouse"));
            ch.start()?;
            (ch.url(), Some(ch))
        }
    })
}
