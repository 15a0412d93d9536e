//! `voc demo`: progress bars while it works, a summary at the end.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use voc_demo::run::DemoProgress;
use voc_demo::{DemoOptions, DemoSummary, run_demo};
use voc_stream::produce::Progress;

use crate::settings::Settings;

struct Bars {
    spinner: ProgressBar,
    bar: Option<ProgressBar>,
}

impl Bars {
    fn bar(&mut self, total: u64, what: &str) -> &ProgressBar {
        if self.bar.as_ref().is_none_or(|b| b.length() != Some(total)) {
            if let Some(old) = self.bar.take() {
                old.finish_and_clear();
            }
            let style = ProgressStyle::with_template("  {bar:40} {pos}/{len} {msg} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let b = ProgressBar::new(total)
                .with_style(style)
                .with_message(what.to_string());
            self.bar = Some(b);
        }
        self.bar.get_or_insert_with(|| ProgressBar::new(total))
    }
}

impl Progress for Bars {
    fn sent(&mut self, total: u64) {
        self.spinner
            .set_message(format!("voc produce: {total} sent"));
    }
    fn rejected(&mut self, line: usize, reason: &str) {
        self.spinner
            .suspend(|| eprintln!("  line {line} not sent: {reason}"));
    }
}

impl DemoProgress for Bars {
    fn stage(&mut self, message: &str) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        self.spinner.suspend(|| eprintln!("▸ {message}"));
    }
    fn processed(&mut self, done: u64, total: u64) {
        self.bar(total, "tagged and stored or dead-lettered")
            .set_position(done);
    }
}

pub fn render(s: &DemoSummary) -> String {
    let mut out = String::new();
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    let reasons: Vec<String> = s
        .dead_letter_reasons
        .iter()
        .map(|(reason, n)| format!("{reason} ×{n}"))
        .collect();
    out.push_str(&format!(
        "\n━━ voc demo: summary ({:.0} s) ━━\n{} interactions produced, {} stored (deduplicated), {} malformed messages in the dead-letter topic, with their original bytes and reason ({}).\n",
        s.seconds,
        s.produced,
        s.stored,
        s.dead_lettered,
        reasons.join(", ")
    ));
    if s.dialogues > 0 {
        out.push_str(&format!(
            "Includes {} real dialogues from JMultiWOZ (nu-dialogue, CC BY-SA 4.0) as redistributed in JMultiWOZ-TC (llm-jp, CC BY 4.0).\n",
            s.dialogues
        ));
    }
    out.push_str("\nVolume by topic (past week)            interactions  negative\n");
    for t in &s.topics {
        out.push_str(&format!(
            "  {:<36} {:>12} {:>8.0}%\n",
            t.topic,
            t.interactions,
            pct(t.negative, t.interactions)
        ));
    }
    out.push_str("\nComplaints by type\n");
    for c in &s.complaint_types {
        out.push_str(&format!("  {:<36} {:>12}\n", c.name, c.n));
    }
    out.push_str("\nTop keywords in complaints, last 24 h\n  ");
    out.push_str(
        &s.keywords
            .iter()
            .map(|k| format!("{} ({})", k.name, k.n))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push_str(&format!("\n\nFlagged issues ({} open)\n", s.flags.len()));
    let mut flags = s.flags.clone();
    flags.sort_by(|a, b| b.score.total_cmp(&a.score));
    for f in flags.iter().take(12) {
        out.push_str(&format!(
            "  [{:<14}] score {:>5.1}  {}\n",
            f.kind, f.score, f.title
        ));
        if !f.sample_ids.is_empty() {
            out.push_str(&format!(
                "  {:16} samples: {}\n",
                "",
                f.sample_ids.join(", ")
            ));
        }
    }
    if s.flags.len() > 12 {
        out.push_str(&format!(
            "  … and {} more: voc flags list\n",
            s.flags.len() - 12
        ));
    }
    out.push_str(&format!(
        "\nDiscovered themes ({} in the past week; keyword co-occurrence communities, beyond the rules)\n",
        s.themes.len()
    ));
    // Themes flagged as new first, then those the rules do not name: they are what the
    // dashboards cannot show.
    let flagged = |t: &voc_flags::theme_store::Theme| {
        s.flags
            .iter()
            .any(|f| f.kind == voc_flags::FlagKind::NewTheme && f.key == t.theme_id)
    };
    let mut themes: Vec<&voc_flags::theme_store::Theme> = s.themes.iter().collect();
    themes.sort_by_key(|t| {
        (
            !flagged(t),
            !t.covered_by.is_empty(),
            std::cmp::Reverse(t.size),
        )
    });
    for t in themes.iter().take(8) {
        out.push_str(&format!(
            "  {:<12} {:>5}  {:<28} {}{}\n",
            t.theme_id,
            t.size,
            t.coverage(),
            t.label,
            if flagged(t) { "  ← new" } else { "" }
        ));
    }
    out.push_str("  (voc themes list / voc themes show ID)\n");
    out.push_str("\nFAQ candidates (question themes; share that needed an agent)\n");
    for (i, c) in s.faq.iter().take(3).enumerate() {
        out.push_str(&format!(
            "  {}. {}  questions {}  agent {:.0}%\n",
            i + 1,
            c.label,
            c.questions,
            100.0 * c.agent_share
        ));
        if let Some(q) = c.samples.first() {
            let short: String = q.chars().take(60).collect();
            out.push_str(&format!("     「{}」\n", short.replace('\n', " / ")));
        }
    }
    out.push_str("  (voc faq candidates)\n");
    out.push_str(&format!(
        "\nSent to the owning team (its webhook; kept in {})\n",
        s.team_webhook_file.display()
    ));
    if s.team_messages.is_empty() {
        out.push_str("  nothing: no new flag belongs to a team\n");
    }
    for (team, text) in s.team_messages.iter().take(3) {
        let mut lines = text.lines();
        out.push_str(&format!("  → {team}: {}\n", lines.next().unwrap_or("")));
        for line in lines {
            out.push_str(&format!(
                "  {:width$}  {line}\n",
                "",
                width = team.len() + 3
            ));
        }
    }
    if s.team_messages.len() > 3 {
        out.push_str(&format!("  … and {} more\n", s.team_messages.len() - 3));
    }
    out.push_str(&format!(
        "\nWhere to look next
  ClickHouse data:   {data}/clickhouse   (run `voc demo --keep-running` to query it afterwards)
  ClickHouse URL:    {url}   database `{db}`
  Try:               curl '{url}/?query=SELECT+topic,sum(interactions)+FROM+{db}.topic_volume_hourly+GROUP+BY+topic+FORMAT+PrettyCompact'
                     SELECT customer_text, topics, sentiment FROM {db}.interactions FINAL WHERE severity = 3
  Flags:             VOC_CLICKHOUSE_URL={url} VOC_CLICKHOUSE_DATABASE={db} voc flags list
  Dashboards:        dashboards/grafana/ (see README: docker compose up brings Grafana with them)
",
        data = s.data_dir.display(),
        url = s.clickhouse_url,
        db = voc_demo::run::DATABASE,
    ));
    out
}

pub async fn demo(
    settings: &Settings,
    dir: PathBuf,
    seed: u64,
    keep_running: bool,
    dialogues: Option<PathBuf>,
) -> anyhow::Result<()> {
    let analyzer = crate::setup::analyzer(&settings.analysis)?;
    let dialogues = dialogues.or_else(|| {
        let default = PathBuf::from(crate::setup::DIALOGUES);
        default.exists().then_some(default)
    });
    let opts = DemoOptions {
        dir,
        seed,
        steady: 2_000,
        burst: 45,
        workers: 2,
        dialogues,
        dialogue_count: 300,
        console_url: Some(format!("http://{}", settings.console.addr)),
    };
    let spinner = ProgressBar::new_spinner();
    let mut bars = Bars { spinner, bar: None };
    let (summary, mut clickhouse, hook) = run_demo(&opts, analyzer, &mut bars).await?;
    bars.spinner.finish_and_clear();
    if let Some(b) = bars.bar.take() {
        b.finish_and_clear();
    }
    println!("{}", render(&summary));
    if keep_running {
        println!(
            "ClickHouse keeps running at {} (pid {}); press Ctrl-C to stop it.",
            summary.clickhouse_url,
            clickhouse
                .pid()
                .map_or_else(|| "unknown".into(), |p| p.to_string())
        );
        if let Err(e) = console(settings, &opts.dir, &summary.clickhouse_url, &hook).await {
            eprintln!("the console did not start: {e:#}");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    clickhouse.stop();
    Ok(())
}

/// The console on the demo data until Ctrl-C, with a demo lead whose password is made up now and
/// printed (it exists only in the demo directory's users file).
/// Flags assigned in it are sent to the demo's team webhook too.
async fn console(
    settings: &Settings,
    dir: &std::path::Path,
    url: &str,
    hook: &voc_demo::team_hook::TeamHook,
) -> anyhow::Result<()> {
    let store = voc_store::Store::connect(&voc_store::StoreConfig {
        url: url.to_string(),
        database: voc_demo::run::DATABASE.into(),
        ..Default::default()
    })
    .await?;
    let users_file = dir.join("users.toml");
    let password = voc_console::auth::random_token()[..16].to_string();
    voc_console::users::Users::add(
        &users_file,
        "demo-lead",
        voc_console::users::Role::Lead,
        &password,
    )?;
    let config = voc_console::ConsoleConfig {
        users_file,
        ..settings.console.clone()
    };
    let names = crate::cmd_flags::topic_names(settings);
    voc_console::serve(
        config,
        store.clone(),
        store,
        voc_console::Labels {
            names,
            teams: hook.teams(),
        },
        voc_flags::Notifier {
            teams: hook.teams(),
            console_url: Some(format!("http://{}", settings.console.addr)),
            ..voc_flags::Notifier::default()
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        |addr| {
            println!(
                "The console: http://{addr}/  (log in as demo-lead, password {password}); Ctrl-C stops everything."
            )
        },
    )
    .await?;
    Ok(())
}
