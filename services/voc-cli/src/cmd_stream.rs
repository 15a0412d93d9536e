//! `voc migrate`, `voc worker` and `voc produce`: the streaming side of the CLI.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use voc_store::Store;
use voc_store::migrate::{self, Outcome};
use voc_stream::produce::{self, Input, Progress};
use voc_stream::{Metrics, run_worker};

use crate::jsonl::{self, Line};
use crate::settings::Settings;
use crate::setup;

/// Connects to ClickHouse, naming the URL and what to check when it fails.
pub async fn connect(settings: &Settings) -> anyhow::Result<Store> {
    let config = settings.store_config();
    Store::connect(&config).await.with_context(|| {
        format!(
            "is ClickHouse running at {}? (set VOC_CLICKHOUSE_URL)",
            config.url
        )
    })
}

/// Connects and checks that `voc migrate` has created the schema this voc needs.
pub async fn connect_migrated(settings: &Settings) -> anyhow::Result<Store> {
    let store = connect(settings).await?;
    migrate::require_current(&store).await?;
    Ok(store)
}

/// `voc migrate [--cluster NAME]`.
pub async fn migrate(settings: &Settings, cluster: Option<&str>) -> anyhow::Result<()> {
    let mut store = connect(settings).await?;
    if let Some(cluster) = cluster {
        store = migrate::onto_cluster(store, cluster).await?;
    }
    let outcomes = migrate::migrate(&store).await?;
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Applied { .. }))
        .count();
    println!(
        "ClickHouse {}.{} at {}, database `{}`{}: {applied} migration(s) applied, {} already present",
        store.version().major,
        store.version().minor,
        store.config().url,
        store.database(),
        store
            .cluster()
            .map(|c| format!(" on cluster `{c}`"))
            .unwrap_or_default(),
        outcomes.len() - applied
    );
    Ok(())
}

/// Resolves when SIGINT or SIGTERM arrives. The handlers are installed when this is called, not
/// when the future is first polled, so a signal during start-up or a first run is not lost (nor
/// does it kill the process with the default action). Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn worker(settings: &Settings) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let analyzer = setup::analyzer(&settings.analysis)?;
    let store = connect_migrated(settings).await?;
    let config = settings.worker_config();
    tracing::info!(
        brokers = %config.kafka.brokers,
        topic = %config.kafka.input_topic,
        group = %config.kafka.group_id,
        threads = config.worker.threads(),
        rules = %analyzer.rules().version,
        clickhouse = %store.config().url,
        "worker starting"
    );
    let metrics = Arc::new(Metrics::new());
    let report = run_worker(config, analyzer, store, metrics, shutdown).await?;
    tracing::info!(
        consumed = report.consumed,
        rows_written = report.rows_written,
        dead_lettered = report.dead_lettered,
        drain_timed_out = report.drain_timed_out,
        "worker stopped"
    );
    Ok(())
}

/// Progress on stderr: a bar when stderr is a terminal, and rejected lines as JSON.
struct Bar {
    bar: indicatif::ProgressBar,
}

impl Progress for Bar {
    fn sent(&mut self, total: u64) {
        self.bar.set_position(total);
    }
    fn rejected(&mut self, line: usize, reason: &str) {
        self.bar
            .suspend(|| eprintln!("{}", serde_json::json!({"line": line, "error": reason})));
    }
}

/// Publishes JSONL; returns the number of rejected or undelivered lines.
pub async fn produce(
    settings: &Settings,
    file: Option<&Path>,
    rate: Option<f64>,
) -> anyhow::Result<u64> {
    let reader = jsonl::open(file)?;
    let lines = jsonl::Lines::new(reader, settings.limits.max_message_bytes).map(|l| {
        l.map(|line| match line {
            Line::Data { number, bytes } => Input::Line { number, bytes },
            Line::TooLong { number, bytes } => Input::TooLong { number, bytes },
        })
    });
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} sent ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut progress = Bar { bar };
    let k = &settings.kafka;
    let report = produce::produce(
        &k.brokers,
        &k.input_topic,
        &k.properties,
        lines,
        &settings.limits,
        rate,
        &mut progress,
    )
    .await?;
    progress.bar.finish_and_clear();
    eprintln!(
        "sent {} message(s) to {}; {} line(s) rejected, {} undelivered",
        report.sent, k.input_topic, report.rejected, report.failed
    );
    Ok(report.rejected + report.failed)
}
