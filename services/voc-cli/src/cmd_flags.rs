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

/// Where flags are announced: `flags.webhook_url`, `flags.kafka_topic` and the teams' own.
pub fn notifier(settings: &Settings) -> anyhow::Result<Notifier> {
    let f = &settings.flags;
    let producer = if Notifier::wants_kafka(f.kafka_topic.as_deref(), &settings.teams) {
        Some(
            voc_stream::config::producer_config(
                &settings.kafka.brokers,
                &settings.kafka.properties,
            )
            .create()
            .context("cannot create the Kafka producer for flag events")?,
        )
    } else {
        None
    };
    Ok(Notifier {
        webhook: f.webhook_url.clone(),
        kafka_topic: f.kafka_topic.clone(),
        producer,
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
        // Closing first, so detection reads the day's counts; a failed close (stale replicas
        // too: it does not wait for them) is retried at the next run and does not hold
        // detection back (open id sets are exact meanwhile).
        if let Err(e) = crate::cmd_aggregates::close_due(
            &store,
            settings.clickhouse.aggregate_open_days,
            voc_store::cluster::no_stale_wait(),
            // One past month per run, so detection never waits for a backlog of merges.
            1,
        )
        .await
        {
            tracing::warn!(error = %e, "closing aggregate days failed; retrying at the next run");
        }
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

/// A time in the configured offset from UTC (`console.utc_offset_hours`, Asia/Tokyo by default).
fn when(secs: u32, offset_hours: i8) -> String {
    let offset = time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute][offset_hour sign:mandatory]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A readable table of flags for a terminal, with who took each and their note.
pub fn render_table(flags: &[Flag], offset_hours: i8) -> String {
    if flags.is_empty() {
        return "no flags\n".into();
    }
    let mut out = format!(
        "{:<34} {:<13} {:<15} {:>6} {:>6} {:<19}  {}\n",
        "FLAG", "STATUS", "KIND", "SCORE", "COUNT", "UPDATED", "TITLE"
    );
    for f in flags {
        out.push_str(&format!(
            "{:<34} {:<13} {:<15} {:>6.1} {:>6} {:<19}  {}\n",
            f.flag_id,
            f.status,
            f.kind,
            f.score,
            f.count,
            when(f.updated_at, offset_hours),
            f.title
        ));
        if !f.team.is_empty() {
            out.push_str(&format!("{:<34} team: {}\n", "", f.team));
        }
        if !f.acked_by.is_empty() || !f.note.is_empty() {
            out.push_str(&format!("{:<34} by {}: {}\n", "", f.acked_by, f.note));
        }
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

/// `voc flags list` filters.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListFilter {
    /// open, acknowledged, resolved or all (default: open and acknowledged).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub kind: Option<voc_flags::FlagKind>,
    /// Only flags assigned to the team, or owned by it (`[teams]`) when nobody assigned them.
    #[arg(long)]
    pub team: Option<String>,
    /// Only flags about this product.
    #[arg(long)]
    pub product: Option<String>,
    /// Only flags with a sample voice from this channel (phone, chat, email, sns, review, form).
    #[arg(long)]
    pub channel: Option<String>,
    /// Only flags updated in the last DAYS days.
    #[arg(long)]
    pub days: Option<String>,
}

pub async fn list(settings: &Settings, json: bool, filter: &ListFilter) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let kind = filter.kind.map(|k| k.as_str());
    let parsed = voc_flags::filter::FlagFilter::parse(
        voc_flags::filter::FilterInput {
            status: filter.status.as_deref(),
            kind,
            team: filter.team.as_deref(),
            product: filter.product.as_deref(),
            channel: filter.channel.as_deref(),
            days: filter.days.as_deref(),
        },
        &settings.teams,
    )?;
    // Each theme's main topic: only the team filter needs it.
    let theme_topic = if parsed.team.is_some() {
        voc_flags::theme_store::main_topics(&store).await?
    } else {
        HashMap::new()
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let flags: Vec<Flag> = flag_store::list(&store, parsed.status.one())
        .await?
        .into_iter()
        .filter(|f| parsed.matches(f, &theme_topic, &settings.teams, now))
        .collect();
    if json {
        for f in &flags {
            println!("{}", serde_json::to_string(&flag_json(f))?);
        }
    } else {
        print!(
            "{}",
            render_table(&flags, settings.console.utc_offset_hours)
        );
    }
    Ok(())
}

/// The flag with this id or unique prefix, or an error saying where to look.
async fn find(store: &voc_store::Store, prefix: &str) -> anyhow::Result<Flag> {
    flag_store::find(store, prefix)
        .await?
        .map_err(|m| anyhow::anyhow!("{m} (see `voc flags list --status all`)"))
}

/// `voc flags show ID`: the flag's story on the terminal: why it was raised and what its score
/// means, counts against baseline, masked samples with the evidence in 【】, and its history.
pub async fn show(settings: &Settings, id: &str, json: bool) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let flag = find(&store, id).await?;
    let words = voc_console::i18n::words(settings.console.default_lang);
    let why = words
        .get(format!("why_{}", flag.kind).as_str())
        .copied()
        .unwrap_or("");
    let samples = voc_console::queries::verbatims(&store, &flag.sample_ids).await?;
    let history = flag_store::history(&store, &flag.flag_id).await?;
    let tz = settings.console.utc_offset_hours;
    if json {
        let mut v = flag_json(&flag);
        v["why"] = why.into();
        v["samples"] = samples
            .iter()
            .map(|s| serde_json::json!({"interaction_id": s.interaction_id, "text": s.customer_text, "evidence": serde_json::from_str::<serde_json::Value>(&s.evidence).unwrap_or_default()}))
            .collect();
        v["history"] = serde_json::to_value(&history)?;
        println!("{v}");
        return Ok(());
    }
    println!("{}  [{}]", flag.title, flag.flag_id);
    println!(
        "{} · {} · count {} against a baseline of {} · score {:.2} · updated {}",
        flag.kind,
        flag.status,
        flag.count,
        flag.baseline,
        flag.score,
        when(flag.updated_at, tz)
    );
    if !flag.acked_by.is_empty() || !flag.note.is_empty() {
        println!("taken by {}: {}", flag.acked_by, flag.note);
    }
    println!("\n{why}");
    println!("\nsamples (masked; evidence in 【】):");
    for s in &samples {
        let evidence: Vec<voc_console::highlight::Evidence> =
            serde_json::from_str(&s.evidence).unwrap_or_default();
        let text: String = voc_console::highlight::segments(&s.customer_text, &evidence)
            .into_iter()
            .map(|seg| {
                if seg.labels.is_empty() {
                    seg.text
                } else {
                    format!("【{}】", seg.text)
                }
            })
            .collect();
        println!(
            "  {} {} {}: {}",
            when(s.occurred_at, tz),
            s.channel,
            s.interaction_id,
            text.replace('\n', " / ")
        );
    }
    if !history.is_empty() {
        println!("\nhistory:");
        for e in &history {
            println!("  {} {} {} {}", when(e.at, tz), e.actor, e.action, e.note);
        }
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
        "team": f.team, "channels": f.channels,
    })
}

/// Acknowledge or resolve a flag by id or unique prefix. A resolved flag is only acknowledged with
/// `reopen` (it is reopened); resolving it again changes nothing.
pub async fn set_status(
    settings: &Settings,
    id: &str,
    status: FlagStatus,
    by: Option<&str>,
    note: Option<&str>,
    reopen: bool,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let flag = find(&store, id).await?;
    if flag.status == FlagStatus::Resolved {
        match status {
            FlagStatus::Resolved => bail!("{} is already resolved", flag.flag_id),
            _ if !reopen => bail!(
                "{} is resolved: acknowledge it with --reopen to reopen it (if the problem came back, the flagger raises a new flag)",
                flag.flag_id
            ),
            _ => {}
        }
    }
    match flag_store::apply(
        &store,
        &flag.flag_id,
        flag_store::Change::Status(status),
        by,
        note,
        OffsetDateTime::now_utc(),
    )
    .await?
    {
        Some(f) => {
            println!("{} is now {}", f.flag_id, f.status);
            Ok(())
        }
        None => bail!("no flag {id:?} (see `voc flags list`)"),
    }
}

/// Assign a flag (id or unique prefix) to a team of `[teams]`, record it in the history, and tell
/// the team on its webhook and Kafka topic.
pub async fn assign(
    settings: &Settings,
    id: &str,
    team: &str,
    by: Option<&str>,
    note: Option<&str>,
) -> anyhow::Result<()> {
    if !settings.teams.contains_key(team) {
        bail!(
            "no team {team:?} in [teams] (known: {})",
            settings
                .teams
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Built first: a producer that cannot be made fails the command before anything is written.
    let notifier = notifier(settings)?;
    let store = connect_migrated(settings).await?;
    let flag = find(&store, id).await?;
    if flag.status == FlagStatus::Resolved {
        bail!(
            "{} is resolved: reopen it before assigning it",
            flag.flag_id
        );
    }
    let Some(f) = flag_store::apply(
        &store,
        &flag.flag_id,
        flag_store::Change::Assign(team.to_string()),
        by,
        note,
        OffsetDateTime::now_utc(),
    )
    .await?
    else {
        bail!("no flag {id:?} (see `voc flags list`)");
    };
    notifier
        .assigned(&store, &f, by.unwrap_or("voc flags assign"))
        .await;
    println!("{} is now assigned to {}", f.flag_id, f.team);
    Ok(())
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
    let theme_topic = voc_flags::theme_store::main_topics(&store).await?;
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
