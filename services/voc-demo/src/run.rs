//! `voc demo`: the whole product on the embedded default, on one machine, in one command.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Deserialize;
use time::OffsetDateTime;
use voc_core::{Analyzer, Limits};
use voc_flags::{Flag, FlagConfig, Notifier};
use voc_store::{Store, StoreConfig};
use voc_stream::config::{KafkaSettings, Properties, WorkerSettings};
use voc_stream::produce::{Input, Progress};
use voc_stream::{Metrics, WorkerConfig, run_worker};

use crate::corpus;
use crate::local_clickhouse::{LocalClickHouse, LocalClickHouseError};
use crate::team_hook::TeamHook;

pub const INPUT_TOPIC: &str = "voc.interactions";
pub const DLQ_TOPIC: &str = "voc.interactions.dlq";
pub const FLAGS_TOPIC: &str = "voc.flags";
pub const DATABASE: &str = "voc_demo";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where ClickHouse keeps its data (visible to the user).
    pub dir: PathBuf,
    pub seed: u64,
    /// Interactions over the past week, and of the emerging problem in the last 3 hours.
    pub steady: usize,
    pub burst: usize,
    /// How many workers share the input topic in one consumer group.
    pub workers: usize,
    /// Real dialogues (JMultiWOZ JSONL, gzipped) to mix in, and how many.
    pub dialogues: Option<PathBuf>,
    pub dialogue_count: usize,
    /// The console's URL, for the link in the team's message.
    pub console_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    ClickHouse(#[from] LocalClickHouseError),
    #[error(transparent)]
    Store(#[from] voc_store::StoreError),
    #[error("the demo's team webhook: {0}")]
    TeamHook(std::io::Error),
    #[error("embedded broker: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("worker: {0}")]
    Worker(#[from] voc_stream::WorkerError),
    #[error(transparent)]
    Produce(#[from] voc_stream::produce::ProduceError),
    #[error("the workers did not catch up within {0:?}")]
    Stalled(Duration),
}

/// Stages and counts, for progress bars.
pub trait DemoProgress: Progress {
    fn stage(&mut self, message: &str);
    fn processed(&mut self, done: u64, total: u64);
}

#[derive(Debug, Clone, Default, Deserialize, clickhouse::Row)]
pub struct TopicRow {
    pub topic: String,
    pub interactions: u64,
    pub negative: u64,
}

#[derive(Debug, Clone, Default, Deserialize, clickhouse::Row)]
pub struct CountRow {
    pub name: String,
    pub n: u64,
}

/// What the demo found, for the summary.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub clickhouse_url: String,
    pub data_dir: PathBuf,
    pub produced: u64,
    pub dead_lettered: u64,
    /// The dead letters by reason (`voc.reason`), most frequent first.
    pub dead_letter_reasons: Vec<(String, u64)>,
    pub stored: u64,
    pub dialogues: usize,
    pub topics: Vec<TopicRow>,
    pub complaint_types: Vec<CountRow>,
    pub keywords: Vec<CountRow>,
    pub flags: Vec<Flag>,
    /// The largest discovered themes (active), and the FAQ candidates among them.
    pub themes: Vec<voc_flags::theme_store::Theme>,
    pub faq: Vec<voc_flags::faq::FaqCandidate>,
    /// What the owning team's webhook received: (team, message text).
    pub team_messages: Vec<(String, String)>,
    /// Where those messages are kept (JSON lines).
    pub team_webhook_file: PathBuf,
    pub seconds: f64,
}

/// Malformed messages the demo also sends, to show dead letters.
const MALFORMED: &[(&str, &[u8])] = &[
    (
        "bad-1",
        b"{\"interaction_id\": \"x\", \"text\": \"\xff\xfe\"}",
    ),
    (
        "bad-2",
        b"{\"interaction_id\": \"y\", \"occurred_at\": \"yesterday\", \"text\": \"a\"}",
    ),
    ("bad-3", b"not json at all"),
];

fn sample_dialogues(path: &PathBuf, count: usize, seed: u64, end: OffsetDateTime) -> Vec<Vec<u8>> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let lines: Vec<String> = reader.lines().map_while(Result::ok).collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let mut rng = corpus::Rng::new(seed ^ 0x5EED);
    (0..count.min(lines.len()))
        .filter_map(|i| {
            let mut v: serde_json::Value =
                serde_json::from_str(&lines[rng.below(lines.len())]).ok()?;
            let at = end - time::Duration::seconds(rng.below(7 * 86400) as i64);
            v["interaction_id"] = format!("woz-{i:05}").into();
            v["occurred_at"] = at
                .format(&time::format_description::well_known::Rfc3339)
                .ok()?
                .into();
            v["product"] = "travel-desk".into();
            Some(v.to_string().into_bytes())
        })
        .collect()
}

/// Reasons of the dead letters, each source message (partition, offset) counted once.
fn dead_letter_reasons(brokers: &str) -> Result<BTreeMap<String, u64>, DemoError> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    use voc_stream::pipeline::dead_letters::{HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "voc-demo-summary")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(DLQ_TOPIC, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let mut seen: std::collections::BTreeSet<(String, String)> = Default::default();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    let mut quiet = 0;
    // Until a second passes without a message, once something came or three seconds passed.
    while started.elapsed() < Duration::from_secs(10)
        && !(quiet >= 5 && (!seen.is_empty() || started.elapsed() > Duration::from_secs(3)))
    {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                quiet = 0;
                let header = |name: &str| {
                    m.headers().and_then(|h| {
                        h.iter()
                            .find(|x| x.key == name)
                            .and_then(|x| x.value)
                            .map(|v| String::from_utf8_lossy(v).into_owned())
                    })
                };
                let source = (
                    header(HEADER_PARTITION).unwrap_or_default(),
                    header(HEADER_OFFSET).unwrap_or_default(),
                );
                if seen.insert(source) {
                    let reason = header(HEADER_REASON).unwrap_or_else(|| "unknown".into());
                    *reasons.entry(reason).or_default() += 1;
                }
            }
            Some(Err(_)) | None => quiet += 1,
        }
    }
    Ok(reasons)
}

/// Runs the demo; the local ClickHouse is returned still running, for the caller to stop (or keep).
pub async fn run_demo(
    opts: &DemoOptions,
    analyzer: Analyzer,
    progress: &mut dyn DemoProgress,
) -> Result<(DemoSummary, LocalClickHouse, TeamHook), DemoError> {
    let started = Instant::now();
    progress.stage(&format!(
        "starting ClickHouse (data in {})",
        opts.dir.display()
    ));
    let mut ch = LocalClickHouse::new(&opts.dir.join("clickhouse"));
    ch.start()?;

    progress.stage("starting the embedded Kafka-protocol broker");
    let cluster = MockCluster::new(1)?;
    cluster.create_topic(INPUT_TOPIC, 4, 1)?;
    cluster.create_topic(DLQ_TOPIC, 1, 1)?;
    cluster.create_topic(FLAGS_TOPIC, 1, 1)?;
    let brokers = cluster.bootstrap_servers();

    progress.stage("voc migrate");
    let store_config = StoreConfig {
        url: ch.url(),
        database: DATABASE.into(),
        ..Default::default()
    };
    let store = Store::connect(&store_config).await?;
    // A fresh demo every run: a second run starts from the same state as the first.
    store
        .server_client_execute(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .await?;
    voc_store::migrate::migrate(&store).await?;

    let end = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::now_utc());
    let mut lines: Vec<Vec<u8>> = corpus::generate(opts.seed, end, opts.steady, opts.burst)
        .into_iter()
        .map(|v| v.to_string().into_bytes())
        .collect();
    let dialogues = opts
        .dialogues
        .as_ref()
        .map(|p| sample_dialogues(p, opts.dialogue_count, opts.seed, end))
        .unwrap_or_default();
    let dialogue_count = dialogues.len();
    lines.extend(dialogues);

    progress.stage(&format!("{} worker(s) in one consumer group", opts.workers));
    let threads = (std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        / opts.workers.max(1))
    .max(1);
    let mut handles = Vec::new();
    let mut stops = Vec::new();
    let mut all_metrics = Vec::new();
    for _ in 0..opts.workers.max(1) {
        let kafka = KafkaSettings {
            brokers: brokers.clone(),
            input_topic: INPUT_TOPIC.into(),
            dlq_topic: DLQ_TOPIC.into(),
            group_id: "voc-demo".into(),
            consumer_properties: Properties(
                [
                    ("session.timeout.ms", "6000"),
                    ("heartbeat.interval.ms", "500"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ),
            ..Default::default()
        };
        let worker = WorkerSettings {
            metrics_addr: String::new(),
            analysis_threads: threads,
            batch_interval_ms: 300,
            ..Default::default()
        };
        let config = WorkerConfig {
            kafka,
            worker,
            limits: Default::default(),
        };
        let metrics = Arc::new(Metrics::new());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        stops.push(tx);
        all_metrics.push(metrics.clone());
        handles.push(tokio::spawn(run_worker(
            config,
            analyzer.clone(),
            store.clone(),
            metrics,
            async move {
                let _ = rx.await;
            },
        )));
    }

    progress.stage("voc produce: the sample corpus into the input topic");
    let input = lines.into_iter().enumerate().map(|(i, bytes)| {
        Ok(Input::Line {
            number: i + 1,
            bytes,
        })
    });
    let report = voc_stream::produce::produce(
        &brokers,
        INPUT_TOPIC,
        &Default::default(),
        input,
        &Limits::default(),
        None,
        progress,
    )
    .await?;
    let producer: FutureProducer =
        voc_stream::config::producer_config(&brokers, &Default::default()).create()?;
    for (key, payload) in MALFORMED {
        producer
            .send(
                FutureRecord::to(INPUT_TOPIC).key(*key).payload(*payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    let total = report.sent + MALFORMED.len() as u64;

    progress.stage("tagging and storing");
    let deadline = Duration::from_secs(300);
    let waiting = Instant::now();
    loop {
        let done: u64 = all_metrics
            .iter()
            .map(|m| {
                m.rows_written.load(Ordering::Relaxed) + m.dead_lettered.load(Ordering::Relaxed)
            })
            .sum();
        progress.processed(done.min(total), total);
        if done >= total {
            break;
        }
        if waiting.elapsed() > deadline {
            return Err(DemoError::Stalled(deadline));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for stop in stops {
        let _ = stop.send(());
    }
    for h in handles {
        if let Ok(result) = h.await {
            result?;
        }
    }
    // What is in the dead-letter topic, once per source message: a message re-read after a
    // rebalance (at least once) is dead-lettered again, and the summary counts messages, not
    // deliveries.
    let reasons = dead_letter_reasons(&brokers)?;
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    progress.stage("voc flagger --once");
    let names: HashMap<String, String> = analyzer.rules().topics.iter().cloned().collect();
    let hook = TeamHook::start(&opts.dir)
        .await
        .map_err(DemoError::TeamHook)?;
    let notifier = Notifier {
        webhook: None,
        kafka_topic: Some(FLAGS_TOPIC.to_string()),
        producer: Some(producer),
        teams: hook.teams(),
        console_url: opts.console_url.clone(),
    };
    voc_flags::run_once(&store, end, &FlagConfig::default(), &notifier, &names).await?;
    // Every client goes before the embedded broker does, or it logs the broker's absence.
    drop(notifier);

    progress.stage("summarising");
    let summary = summarise(&store, opts, &ch, end, report.sent, reasons, dialogue_count).await?;
    let summary = DemoSummary {
        seconds: started.elapsed().as_secs_f64(),
        team_messages: hook
            .received()
            .into_iter()
            .map(|(team, m)| (team, m["text"].as_str().unwrap_or("").to_string()))
            .collect(),
        team_webhook_file: hook.file().to_path_buf(),
        ..summary
    };
    drop(cluster);
    Ok((summary, ch, hook))
}

async fn summarise(
    store: &Store,
    opts: &DemoOptions,
    ch: &LocalClickHouse,
    end: OffsetDateTime,
    produced: u64,
    dead_letter_reasons: Vec<(String, u64)>,
    dialogues: usize,
) -> Result<DemoSummary, voc_store::StoreError> {
    let c = store.client();
    let q = |what: &'static str| {
        move |source| voc_store::StoreError::Query {
            what: what.into(),
            source,
        }
    };
    let stored: u64 = c
        .query("SELECT count() FROM interactions FINAL")
        .fetch_one()
        .await
        .map_err(q("count"))?;
    let topics: Vec<TopicRow> = c
        .query("SELECT topic, sum(interactions) AS interactions, sum(negative) AS negative FROM topic_volume_hourly GROUP BY topic ORDER BY interactions DESC LIMIT 14")
        .fetch_all()
        .await
        .map_err(q("topics"))?;
    let complaint_types: Vec<CountRow> = c
        .query("SELECT ifNull(complaint_type, '') AS name, count() AS n FROM interactions FINAL WHERE voice_type = 'complaint' GROUP BY name ORDER BY n DESC")
        .fetch_all()
        .await
        .map_err(q("complaint types"))?;
    let keywords: Vec<CountRow> = c
        .query("SELECT keyword AS name, sum(negative) AS n FROM keyword_hourly WHERE hour >= (SELECT max(hour) FROM keyword_hourly) - 86400 GROUP BY name ORDER BY n DESC, name LIMIT 12")
        .fetch_all()
        .await
        .map_err(q("keywords"))?;
    let flags = voc_flags::store::list(store, Some(voc_flags::FlagStatus::Open)).await?;
    let mut themes = voc_flags::theme_store::list(store).await?;
    themes.retain(|t| t.status == voc_flags::theme_store::ThemeStatus::Active);
    let faq = voc_flags::faq_store::faq_candidates(store, end, 7, None, 5).await?;
    Ok(DemoSummary {
        clickhouse_url: ch.url(),
        data_dir: opts.dir.clone(),
        produced,
        dead_lettered: dead_letter_reasons.iter().map(|r| r.1).sum(),
        dead_letter_reasons,
        stored,
        dialogues,
        topics,
        complaint_types,
        keywords,
        flags,
        themes,
        faq,
        team_messages: Vec::new(),
        team_webhook_file: PathBuf::new(),
        seconds: 0.0,
    })
}
