//! The whole pipeline for a test: ClickHouse, a broker, unique names, and `voc` processes.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::clickhouse::ClickHouse;
use crate::kafka::Kafka;
use voc_demo::loopback::WorkerProcess;

use crate::{free_port, voc_bin};

pub struct Pipeline {
    pub ch: ClickHouse,
    pub kafka: Kafka,
    pub db: String,
    pub input: String,
    pub dlq: String,
    pub group: String,
    pub dir: PathBuf,
}

/// A running `voc worker` (the loopback kit's launcher).
pub struct Worker {
    process: WorkerProcess,
    pub log: PathBuf,
}

impl Worker {
    /// SIGTERM, then wait: the graceful path (drain, commit, exit).
    pub fn terminate(self) -> ExitStatus {
        self.process.terminate().expect("worker exits")
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(self) {
        self.process.kill();
    }

    /// GET a path of the worker's HTTP endpoint: (status, body).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        self.process.http_get(path)
    }

    /// A sample from /metrics.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.process.metric(name)
    }
}

impl Pipeline {
    /// A fresh ClickHouse database and fresh topics (input with `partitions`, and the DLQ) on
    /// librdkafka's mock cluster.
    pub fn new(partitions: i32) -> Self {
        Self::with_broker(Kafka::start(1), partitions)
    }

    /// The same on a given broker (e.g. [`Kafka::start_tansu`]).
    pub fn with_broker(kafka: Kafka, partitions: i32) -> Self {
        Self::with_parts(kafka, ClickHouse::start(), partitions)
    }

    /// The same on a private ClickHouse cluster of `shards × replicas` servers (migrated with
    /// `voc migrate --cluster`, see [`Pipeline::migrate`]); `voc` processes talk to its first server.
    pub fn on_cluster(partitions: i32, shards: usize, replicas: usize) -> Self {
        Self::with_parts(
            Kafka::start(1),
            ClickHouse::start_cluster(shards, replicas),
            partitions,
        )
    }

    fn with_parts(kafka: Kafka, ch: ClickHouse, partitions: i32) -> Self {
        let n = free_port();
        let p = Self {
            ch,
            kafka,
            db: format!("voc_test_{n}"),
            input: format!("in-{n}"),
            dlq: format!("dlq-{n}"),
            group: format!("group-{n}"),
            dir: std::env::temp_dir().join(format!("voc-test-{}-{n}", std::process::id())),
        };
        p.kafka.create_topic(&p.input, partitions);
        p.kafka.create_topic(&p.dlq, 1);
        std::fs::create_dir_all(&p.dir).expect("test dir");
        p
    }

    /// Environment for `voc` processes of this pipeline.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("VOC_KAFKA_BROKERS".into(), self.kafka.brokers.clone()),
            ("VOC_INPUT_TOPIC".into(), self.input.clone()),
            ("VOC_DLQ_TOPIC".into(), self.dlq.clone()),
            ("VOC_GROUP_ID".into(), self.group.clone()),
            ("VOC_CLICKHOUSE_URL".into(), self.ch.url.clone()),
            ("VOC_CLICKHOUSE_DATABASE".into(), self.db.clone()),
            ("VOC_LOG".into(), "info".into()),
        ]
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(voc_bin());
        cmd.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("VOC_") && key != "VOC_DICT" {
                cmd.env_remove(key);
            }
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts `voc ARGS` in the background, its output going to `DIR/<log>.log`.
    pub fn spawn(&self, args: &[&str], log: &str) -> std::process::Child {
        let log_file =
            std::fs::File::create(self.dir.join(format!("{log}.log"))).expect("log file");
        self.command(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .expect("voc starts")
    }

    /// Runs `voc ARGS` with extra environment, no input.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_with_env_stdin(args, env, b"")
    }

    /// Runs `voc ARGS` to completion with extra environment and `stdin` (written from a thread,
    /// so a large input cannot deadlock against the child's output).
    pub fn run_with_env_stdin(&self, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("voc starts");
        let mut input = child.stdin.take().expect("stdin");
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().expect("voc runs");
        writer.join().expect("writer");
        out
    }

    /// Runs `voc ARGS` to completion with `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_with_env_stdin(args, &[], stdin)
    }

    /// Runs `voc ARGS`, which must succeed, and parses its standard output as JSON lines.
    pub fn json_lines(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let out = self.run(args, b"");
        assert!(
            out.status.success(),
            "voc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::json_lines(&out.stdout)
    }

    /// One flagger run with the clock at `at` (`voc flagger --once --now AT`), which must succeed.
    pub fn flagger_at(&self, at: time::OffsetDateTime) {
        self.flagger_with(&[], at);
    }

    /// The same with settings from a config file.
    pub fn flagger_with_config(&self, config: &std::path::Path, at: time::OffsetDateTime) {
        self.flagger_with(&["--config", config.to_str().expect("utf-8 path")], at);
    }

    fn flagger_with(&self, global: &[&str], at: time::OffsetDateTime) {
        let now = at
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        let mut args = global.to_vec();
        args.extend(["flagger", "--once", "--now", &now]);
        let out = self.run(&args, b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Publishes JSON messages through `voc produce`; returns how many.
    pub fn produce(&self, messages: &[serde_json::Value]) -> usize {
        let mut input = messages
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
        input.push(b'\n');
        let out = self.run(&["produce"], &input);
        assert!(
            out.status.success(),
            "voc produce failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        messages.len()
    }

    /// `voc migrate`, with `--cluster` on a cluster.
    pub fn migrate(&self) {
        let mut args = vec!["migrate"];
        if self.ch.cluster.is_some() {
            args.extend(["--cluster", crate::cluster::NAME]);
        }
        let out = self.run(&args, b"");
        assert!(
            out.status.success(),
            "voc migrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `voc worker` with test-friendly settings (fast group timeouts, short batches).
    pub fn spawn_worker(&self, name: &str) -> Worker {
        let config = self.dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            "[kafka.consumer_properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"300\"\n\
             \"topic.metadata.refresh.interval.ms\" = \"1000\"\n\"fetch.wait.max.ms\" = \"50\"\n\n\
             [worker]\nanalysis_threads = 2\nbatch_interval_ms = 200\nbatch_rows = 50\ndrain_timeout_s = 20\n\
             retry_initial_ms = 100\nretry_max_ms = 1000\n",
        )
        .expect("worker config");
        let log = self.dir.join(format!("{name}.log"));
        let process = WorkerProcess::spawn(
            self.command(&[]),
            &["--config", config.to_str().expect("utf-8 path")],
            &log,
        )
        .expect("voc worker starts");
        Worker { process, log }
    }

    /// Number of distinct interactions stored.
    pub fn stored(&self) -> u64 {
        self.ch
            .query(&format!(
                "SELECT count() FROM {}.interactions FINAL",
                self.db
            ))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Rows in `interactions` before deduplication: replays show here until merges collapse them.
    pub fn rows_including_replays(&self) -> u64 {
        self.ch
            .query(&format!("SELECT count() FROM {}.interactions", self.db))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Polls `cond` every 200 ms until it holds, or panics after `timeout` with `what`.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let timeout = std::env::var("VOC_TEST_WAIT_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(timeout);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out after {timeout:?} waiting for {what}");
    }

    /// Whether the aggregate tables equal what `interactions FINAL` gives, group by group; the
    /// first difference otherwise.
    pub fn aggregates_exact(&self) -> Result<(), String> {
        let db = &self.db;
        let from_view = self.ch.q(&format!(
            "SELECT hour, topic, voice_type, complaint_type, channel, product, interactions, negative \
             FROM {db}.topic_volume_hourly ORDER BY hour, topic, voice_type, complaint_type, channel, product"
        ));
        let from_final = self.ch.q(&format!(
            "SELECT toStartOfHour(occurred_at) AS hour, topic, voice_type, ifNull(complaint_type, '') AS ct, channel, product, \
             count() AS interactions, countIf(sentiment = 'negative') AS negative \
             FROM {db}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], topics) AS topic \
             GROUP BY hour, topic, voice_type, ct, channel, product ORDER BY hour, topic, voice_type, ct, channel, product"
        ));
        if from_final.is_empty() {
            return Err("no interactions stored".into());
        }
        if from_view != from_final {
            return Err(format!(
                "topic_volume_hourly differs from interactions FINAL:\nview:\n{from_view}\nfinal:\n{from_final}"
            ));
        }
        let kw_view = self.ch.q(&format!(
            "SELECT hour, keyword, product, channel, interactions FROM {db}.keyword_hourly ORDER BY hour, keyword, product, channel"
        ));
        let kw_final = self.ch.q(&format!(
            "SELECT toStartOfHour(occurred_at) AS hour, keyword, product, channel, count() \
             FROM {db}.interactions FINAL ARRAY JOIN keywords AS keyword \
             GROUP BY hour, keyword, product, channel ORDER BY hour, keyword, product, channel"
        ));
        if kw_view != kw_final {
            return Err("keyword_hourly differs from interactions FINAL".into());
        }
        let kt_view = self.ch.q(&format!(
            "SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative FROM {db}.keyword_topic_hourly \
             ORDER BY hour, keyword, topic, voice_type, product, channel"
        ));
        let kt_final = self.ch.q(&format!(
            "SELECT hour, keyword, topic, voice_type, product, channel, count(), countIf(sentiment = 'negative') \
             FROM (SELECT toStartOfHour(occurred_at) AS hour, keyword, topics, voice_type, product, channel, sentiment \
                   FROM {db}.interactions FINAL ARRAY JOIN keywords AS keyword) \
             ARRAY JOIN arrayPushFront(if(empty(topics), ['(none)'], topics), '(any)') AS topic \
             GROUP BY hour, keyword, topic, voice_type, product, channel \
             ORDER BY hour, keyword, topic, voice_type, product, channel"
        ));
        if kt_view != kt_final {
            return Err("keyword_topic_hourly differs from interactions FINAL".into());
        }
        // The same counts as rows to be summed (the keyword panels read these).
        let kt_rows = self.ch.q(&format!(
            "SELECT hour, keyword, topic, voice_type, product, channel, sum(interactions), sum(negative) \
             FROM {db}.keyword_topic_rows GROUP BY hour, keyword, topic, voice_type, product, channel \
             ORDER BY hour, keyword, topic, voice_type, product, channel"
        ));
        if kt_rows != kt_final {
            return Err("keyword_topic_rows, summed, differs from interactions FINAL".into());
        }
        let totals_view = self.ch.q(&format!(
            "SELECT hour, voice_type, complaint_type, channel, product, interactions, negative FROM {db}.volume_hourly \
             ORDER BY hour, voice_type, complaint_type, channel, product"
        ));
        let totals_final = self.ch.q(&format!(
            "SELECT toStartOfHour(occurred_at) AS hour, voice_type, ifNull(complaint_type, '') AS ct, channel, product, \
             count(), countIf(sentiment = 'negative') FROM {db}.interactions FINAL \
             GROUP BY hour, voice_type, ct, channel, product ORDER BY hour, voice_type, ct, channel, product"
        ));
        if totals_view != totals_final {
            return Err(format!(
                "volume_hourly differs from interactions FINAL:\nview:\n{totals_view}\nfinal:\n{totals_final}"
            ));
        }
        self.experience_exact()?;
        self.monthly_exact()?;
        self.daily_exact()?;
        self.csat_daily_exact()
    }

    /// The current monthly keyword roll-ups (0012) against `interactions FINAL` over their months,
    /// at every level. Months with no current roll-up are not compared (readers take their hourly
    /// rows, compared above).
    fn monthly_exact(&self) -> Result<(), String> {
        let db = &self.db;
        let months: Vec<(u32, u32)> = self
            .ch
            .q(&format!(
                "SELECT first_day, end_day FROM {db}.keyword_months ORDER BY first_day"
            ))
            .lines()
            .filter_map(|l| {
                let (a, b) = l.split_once('\t')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        if months.is_empty() {
            return Ok(());
        }
        let month_of = months
            .iter()
            .map(|(a, b)| format!("day >= {a} AND day < {b}, {a}"))
            .collect::<Vec<_>>()
            .join(", ");
        let from_view = self.ch.q(&format!(
            "SELECT first_day, keyword, topic, voice_type, product, channel, interactions, negative \
             FROM {db}.keyword_monthly ORDER BY first_day, keyword, topic, voice_type, product, channel"
        ));
        let from_final = self
            .ch
            .q(&self.levels_of_final(&format!("multiIf({month_of}, 0)")));
        if from_view != from_final {
            return Err(format!(
                "keyword_monthly differs from interactions FINAL over its months {months:?}"
            ));
        }
        Ok(())
    }

    /// Whether every closed day has a current roll-up in `days_view` (a daily roll-up's current
    /// days); the days without one otherwise.
    fn every_closed_day_in(&self, days_view: &str, what: &str) -> Result<(), String> {
        let db = &self.db;
        let without = self.ch.q(&format!(
            "SELECT day FROM {db}.aggregate_closures FINAL \
             WHERE day NOT IN (SELECT day FROM {db}.{days_view}) ORDER BY day"
        ));
        if without.trim().is_empty() {
            Ok(())
        } else {
            Err(format!(
                "closed days without a current {what} roll-up: {without}"
            ))
        }
    }

    /// The current daily keyword roll-ups (0013) against `interactions FINAL` over their days, at
    /// every level; every closed day must have one after a close.
    fn daily_exact(&self) -> Result<(), String> {
        let db = &self.db;
        self.every_closed_day_in("keyword_days", "keyword")?;
        let days = self
            .ch
            .q(&format!("SELECT day FROM {db}.keyword_days ORDER BY day"));
        let days: Vec<&str> = days.lines().collect();
        if days.is_empty() {
            return Ok(());
        }
        let from_view = self.ch.q(&format!(
            "SELECT day, keyword, topic, voice_type, product, channel, interactions, negative \
             FROM {db}.keyword_daily ORDER BY day, keyword, topic, voice_type, product, channel"
        ));
        let from_final = self
            .ch
            .q(&self.levels_of_final(&format!("if(day IN ({}), day, 0)", days.join(", "))));
        if from_view != from_final {
            return Err(format!(
                "keyword_daily differs from interactions FINAL over its days {days:?}:\nview:\n{from_view}\nfinal:\n{from_final}"
            ));
        }
        Ok(())
    }

    /// The current daily CSAT roll-ups (0016) against `interactions FINAL` over their days; every
    /// closed day must have one after a close.
    fn csat_daily_exact(&self) -> Result<(), String> {
        let db = &self.db;
        self.every_closed_day_in("csat_days", "CSAT")?;
        let from_view = self.ch.q(&format!(
            "SELECT day, topic, voice_type, product, channel, interactions, negative, \
             round(csat_sum, 3), csat_responses, resolved_contacts, resolution_known \
             FROM {db}.topic_csat_daily ORDER BY day, topic, voice_type, product, channel"
        ));
        let from_final = self.ch.q(&format!(
            "SELECT intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) AS day, topic, voice_type, product, channel, \
             count(), countIf(sentiment = 'negative'), round(sum(toFloat64(ifNull(csat, 0))), 3), \
             countIf(isNotNull(csat)), countIf(ifNull(resolved, 0) = 1), countIf(isNotNull(resolved)) \
             FROM {db}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], topics) AS topic \
             WHERE day IN (SELECT day FROM {db}.csat_days) \
             GROUP BY day, topic, voice_type, product, channel ORDER BY day, topic, voice_type, product, channel"
        ));
        if from_view != from_final {
            return Err(format!(
                "topic_csat_daily differs from interactions FINAL over its days:\nview:\n{from_view}\nfinal:\n{from_final}"
            ));
        }
        Ok(())
    }

    /// The keyword counts of `interactions FINAL` at the three roll-up levels (voc_store::levels,
    /// written here independently: a topic or `(any)` with a voice type or `(all)`; a product and a
    /// channel, or either with `(all)`; a product with a topic), grouped by `key`, an expression of the UTC `day` of an
    /// interaction's hour that is 0 outside the rolled-up periods; sorted as the views are read.
    fn levels_of_final(&self, key: &str) -> String {
        let db = &self.db;
        let of_interactions = format!(
            "SELECT {key} AS k, keyword, topics, voice_type, product, channel, sentiment \
             FROM (SELECT intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) AS day, * FROM {db}.interactions FINAL) \
             ARRAY JOIN keywords AS keyword WHERE k > 0"
        );
        let counts = "count() AS interactions, countIf(sentiment = 'negative') AS negative";
        format!(
            "SELECT * FROM ( \
             SELECT k, keyword, topic, voice, '(all)' AS product, '(all)' AS channel, {counts} \
             FROM (SELECT k, keyword, topic, voice_type, sentiment FROM ({of_interactions}) \
             ARRAY JOIN arrayPushFront(if(empty(topics), ['(none)'], topics), '(any)') AS topic) \
             ARRAY JOIN [CAST(voice_type AS String), '(all)'] AS voice \
             GROUP BY k, keyword, topic, voice \
             UNION ALL \
             SELECT k, keyword, '(any)' AS topic, '(all)' AS voice, p, c, {counts} \
             FROM ({of_interactions}) ARRAY JOIN [CAST(product AS String), CAST(product AS String), '(all)'] AS p, \
             [CAST(channel AS String), '(all)', CAST(channel AS String)] AS c \
             GROUP BY k, keyword, p, c \
             UNION ALL \
             SELECT k, keyword, topic, '(all)' AS voice, product, '(all)' AS channel, {counts} \
             FROM ({of_interactions}) ARRAY JOIN if(empty(topics), ['(none)'], topics) AS topic \
             GROUP BY k, keyword, topic, product) \
             ORDER BY k, keyword, topic, voice, product, channel"
        )
    }

    /// `topic_experience_hourly` (0011) against `interactions FINAL`; its repeat contacts against
    /// [`repeat_contacts`], computed here from the complaints.
    fn experience_exact(&self) -> Result<(), String> {
        let db = &self.db;
        let view = self.ch.q(&format!(
            "SELECT toUInt32(hour) AS h, topic, voice_type, product, channel, sum(interactions), sum(negative), \
             round(sum(csat_sum), 3), sum(csat_responses), sum(resolved_contacts), sum(resolution_known), \
             sum(repeat_contacts) FROM {db}.topic_experience_hourly \
             GROUP BY h, topic, voice_type, product, channel ORDER BY h, topic, voice_type, product, channel"
        ));
        let from_final = self.ch.q(&format!(
            "SELECT toUInt32(toStartOfHour(occurred_at)) AS h, topic, voice_type, product, channel, count(), \
             countIf(sentiment = 'negative'), round(sum(toFloat64(ifNull(csat, 0))), 3), countIf(isNotNull(csat)), \
             countIf(ifNull(resolved, 0) = 1), countIf(isNotNull(resolved)) \
             FROM {db}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], topics) AS topic \
             GROUP BY h, topic, voice_type, product, channel ORDER BY h, topic, voice_type, product, channel"
        ));
        let complaints = self.ch.q(&format!(
            "SELECT customer_id, topic, toUInt32(occurred_at), interaction_id, toUInt32(toStartOfHour(occurred_at)), \
             product, channel FROM {db}.interactions FINAL ARRAY JOIN topics AS topic \
             WHERE customer_id != '' AND voice_type = 'complaint'"
        ));
        let mut repeats = repeat_contacts(&complaints);
        let mut expected = String::new();
        for line in from_final.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let n = if f[2] == "complaint" {
                let key = (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[3].to_string(),
                    f[4].to_string(),
                );
                repeats.remove(&key).unwrap_or(0)
            } else {
                0
            };
            expected.push_str(&format!("{line}\t{n}\n"));
        }
        if !repeats.is_empty() {
            return Err(format!("repeat contacts outside every group: {repeats:?}"));
        }
        if view.trim_end() != expected.trim_end() {
            return Err(format!(
                "topic_experience_hourly differs from interactions FINAL:\nview:\n{view}\nexpected:\n{expected}"
            ));
        }
        Ok(())
    }

    /// The aggregates must equal `interactions FINAL` now.
    pub fn assert_aggregates_exact(&self) {
        if let Err(e) = self.aggregates_exact() {
            panic!("{e}");
        }
    }

    /// After faults, the workers may still be re-reading what a killed worker or a failed insert
    /// left unacknowledged: the aggregates must become exact (and then stay so) within `timeout`.
    pub fn wait_until_exact(&self, timeout: Duration) {
        let started = Instant::now();
        loop {
            match self.aggregates_exact() {
                Ok(()) => return,
                Err(e) if started.elapsed() > timeout => panic!("not exact after {timeout:?}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep worker logs and configs for the failure report.
            eprintln!("test failed: worker logs kept in {}", self.dir.display());
            for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(25).collect();
                    eprintln!(
                        "--- {} (last lines)\n{}",
                        path.display(),
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Repeat contacts per (hour, topic, product, channel), from tab-separated complaints (customer,
/// topic, time, id, hour, product, channel): a complaint is a repeat when the same customer
/// complained about the same topic at most 7 days before it (an earlier time, or the same second
/// and a lower id).
fn repeat_contacts(
    complaints: &str,
) -> std::collections::HashMap<(String, String, String, String), u64> {
    let rows: Vec<Vec<&str>> = complaints
        .lines()
        .map(|l| l.split('\t').collect())
        .collect();
    fn time<'a>(r: &[&'a str]) -> (u64, &'a str) {
        (r[2].parse().expect("time"), r[3])
    }
    let mut out = std::collections::HashMap::new();
    for r in &rows {
        let (t, id) = time(r);
        let repeats = rows.iter().any(|o| {
            let (u, other) = time(o);
            o[0] == r[0] && o[1] == r[1] && (u, other) < (t, id) && t - u <= 7 * 86_400
        });
        if repeats {
            *out.entry((
                r[4].to_string(),
                r[1].to_string(),
                r[5].to_string(),
                r[6].to_string(),
            ))
            .or_insert(0) += 1;
        }
    }
    out
}
