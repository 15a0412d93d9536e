//! `voc flagger` and `voc flags list|ack|resolve`: the support lead's side.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use voc_flags::metrics::FlaggerMetrics;
use voc_flags::store as flag_store;
use voc_flags::{Flag, FlagStatus, Notifier};
use voc_stream::http::Scrape;

use crate::cmd_stream::connect_migrated;
use crate::settings::Settings;

/// Topic display names from the rules, for readable flag titles.
pub fn topic_names(settings: &Settings) -> HashMap<String, String> {
    crate::setup::load_rules(&settings.analysis)
        .map(|r| r.topics.into_iter().collect())
        .unwrap_or_default()
}

fn notifier(settings: &Settings) -> anyhow::Result<Notifier> {
    let f = &settings.flags;
    let kafka = match &f.kafka_topic {
        Some(topic) => Some((
            voc_stream::config::producer_config(
                &settings.kafka.brokers,
                &settings.kafka.properties,
            )
            .create()
            .context("cannot create the Kafka producer for flag events")?,
            topic.clone(),
        )),
        None => None,
    };
    Ok(Notifier {
        webhook: f.webhook_url.clone(),
        kafka,
        teams: settings.teams.clone(),
        console_url: f.console_url.clone(),
    })
}

/// Parses `--now` (the injectable clock) or takes the current time.
pub fn now_or(arg: Option<&str>) -> anyhow::Result<OffsetDateTime> {
    match arg {
        Some(s) => OffsetDateTime::parse(s, &Rfc3339).with_context(|| {
            format!("--now {s:?} is not an RFC 3339 time (expected e.g. 2026-11-29T09:00:00+09:00)")
        }),
        None => Ok(OffsetDateTime::now_utc()),
    }
}

/// The flagger's metrics as `/metrics` and `/health` show them.
struct FlaggerScrape(Arc<FlaggerMetrics>);

impl Scrape for FlaggerScrape {
    fn render(&self) -> String {
        self.0.render()
    }
    fn health(&self) -> Result<(), String> {
        self.0.health()
    }
}

/// Runs the flagger every `flags.interval_s` (or once), serving `/metrics` and `/health` on
/// `flags.metrics_addr`; stops on SIGINT/SIGTERM after the run in progress. A failed run (e.g.
/// ClickHouse down) is logged, counted and shown by `/health`, and retried at the next interval;
/// with `--once` it is the command's error.
pub async fn flagger(settings: &Settings, once: bool, now: Option<&str>) -> anyhow::Result<()> {
    let mut shutdown = std::pin::pin!(crate::cmd_stream::shutdown_signal());
    let store = connect_migrated(settings).await?;
    let config = &settings.flags;
    let names = topic_names(settings);
    let notifier = notifier(settings)?;
    let metrics = Arc::new(FlaggerMetrics::default());
    let http = match (once, config.metrics_addr.as_str()) {
        (false, addr) if !addr.is_empty() => {
            let scrape: Arc<dyn Scrape> = Arc::new(FlaggerScrape(metrics.clone()));
            let (local, task) = voc_stream::http::serve(addr, scrape)
                .await
                .with_context(|| format!("cannot serve the flagger's metrics on {addr}"))?;
            tracing::info!(addr = %local, "serving /metrics and /health");
            Some(task)
        }
        _ => None,
    };
    loop {
        let at = now_or(now)?;
        let started = std::time::Instant::now();
        match voc_flags::run_once(&store, at, config, &notifier, &names).await {
            Ok(report) => {
                metrics.succeeded(
                    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0),
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    report.detected as u64,
                    report.raised as u64,
                );
                println!(
                    "flagger at {}: {} detection(s), {} new flag(s), {} updated",
                    at.format(&Rfc3339).unwrap_or_default(),
                    report.detected,
                    report.raised,
                    report.updated
                );
            }
            Err(e) if !once => {
                metrics.failed(&e.to_string());
                tracing::warn!(error = %e, retry_in_s = config.interval_s, "flagger run failed; retrying at the next interval");
            }
            Err(e) => return Err(e.into()),
        }
        if once {
            break;
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(Duration::from_secs(config.interval_s)) => {}
        }
    }
    if let Some(task) = http {
        task.abort();
    }
    Ok(())
}

fn when(secs: u32) -> String {
    OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A readable table of flags for a terminal.
pub fn render_table(flags: &[Flag]) -> String {
    if flags.is_empty() {
        return "no flags\n".into();
    }
    let mut out = format!(
        "{:<34} {:<13} {:<15} {:>6} {:>6} {:<17}  {}\n",
        "FLAG", "STATUS", "KIND", "SCORE", "COUNT", "UPDATED", "TITLE"
    );
    for f in flags {
        out.push_str(&format!(
            "{:<34} {:<13} {:<15} {:>6.1} {:>6} {:<17}  {}\n",
            f.flag_id,
            f.status,
            f.kind,
            f.score,
            f.count,
            when(f.updated_at),
            f.title
        ));
        if !f.sample_ids.is_empty() {
            out.push_str(&format!(
                "{:<34} samples: {}\n",
                "",
                f.sample_ids.join(", ")
            ));
        }
    }
    out
}

pub async fn list(
    settings: &Settings,
    json: bool,
    status: Option<FlagStatus>,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let flags = flag_store::list(&store, status).await?;
    if json {
        for f in &flags {
            println!("{}", serde_json::to_string(&flag_json(f))?);
        }
    } else {
        print!("{}", render_table(&flags));
    }
    Ok(())
}

/// The JSON form of a flag: docs/CONTRACT.md §4 fields, times as RFC 3339.
pub fn flag_json(f: &Flag) -> serde_json::Value {
    let t = voc_store::rows::rfc3339;
    serde_json::json!({
        "flag_id": f.flag_id, "kind": f.kind, "key": f.key, "status": f.status, "title": f.title,
        "score": f.score, "window_start": t(f.window_start), "window_end": t(f.window_end),
        "count": f.count, "baseline": f.baseline, "sample_ids": f.sample_ids,
        "created_at": t(f.created_at), "updated_at": t(f.updated_at), "acked_by": f.acked_by, "note": f.note,
    })
}

pub async fn set_status(
    settings: &Settings,
    id: &str,
    status: FlagStatus,
    by: Option<&str>,
    note: Option<&str>,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    match flag_store::set_status(&store, id, status, by, note, OffsetDateTime::now_utc()).await? {
        Some(f) => {
            println!("{} is now {}", f.flag_id, f.status);
            Ok(())
        }
        None => bail!("no flag {id:?} (see `voc flags list`)"),
    }
}

/// `voc flags digest`: per owning team (`[teams]`), what was raised or updated in the last `days`
/// days, recurring problems first; `--send` posts each team's digest to its webhook (or
/// `flags.webhook_url`). Run it weekly (cron, a systemd timer).
pub async fn digest(
    settings: &Settings,
    days: u32,
    team: Option<&str>,
    json: bool,
    send: bool,
    now: Option<&str>,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let at = now_or(now)?;
    let since = voc_store::rows::epoch_seconds(at - time::Duration::days(i64::from(days)));
    let flags = flag_store::list(&store, None).await?;
    let theme_topic: HashMap<String, String> = voc_flags::theme_store::list(&store)
        .await?
        .into_iter()
        .filter_map(|t| Some((t.theme_id, t.topics.into_iter().next()?)))
        .collect();
    if let Some(t) = team
        && !settings.teams.contains_key(t)
        && t != voc_flags::digest::NO_TEAM
    {
        bail!(
            "no team {t:?} in [teams] (known: {:?})",
            settings.teams.keys().collect::<Vec<_>>()
        );
    }
    let digests: Vec<_> = voc_flags::digest::digest(&flags, &theme_topic, &settings.teams, since)
        .into_iter()
        .filter(|d| team.is_none_or(|t| d.team == t))
        .collect();
    for d in &digests {
        let text = voc_flags::digest::render(d, days);
        if json {
            println!(
                "{}",
                serde_json::json!({"team": d.team, "text": text, "digest": d})
            );
        } else {
            println!("{text}");
        }
        if send {
            let url = settings
                .teams
                .get(&d.team)
                .and_then(|t| t.webhook_url.clone())
                .or_else(|| settings.flags.webhook_url.clone());
            match url {
                Some(url) => {
                    let body = serde_json::json!({"text": text, "team": d.team}).to_string();
                    if !voc_flags::run::post_webhook(&url, body).await {
                        bail!("the digest for {} was not delivered (see the log)", d.team);
                    }
                }
                None => eprintln!(
                    "{}: no webhook_url for this team nor flags.webhook_url; printed only",
                    d.team
                ),
            }
        }
    }
    if digests.is_empty() {
        println!("nothing raised in the last {days} days");
    }
    Ok(())
}
