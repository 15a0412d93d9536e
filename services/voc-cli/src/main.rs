//! The `voc` binary: clap subcommands wiring the crates together, nothing more.

mod cmd_aggregates;
mod cmd_bench;
mod cmd_bench_e2e;
mod cmd_bench_scale;
mod cmd_bench_themes;
mod cmd_config;
mod cmd_demo;
mod cmd_eval;
mod cmd_faq;
mod cmd_flags;
mod cmd_mask;
mod cmd_model;
mod cmd_retag;
mod cmd_rules;
mod cmd_rules_suggest;
mod cmd_serve;
mod cmd_stream;
mod cmd_tag;
mod cmd_themes;
mod jsonl;
mod settings;
mod setup;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use settings::Settings;
use voc_flags::FlagStatus;

/// voc: Voice-of-Customer mining for Japanese contact centres.
///
/// Reads interactions (calls, chats, e-mails, reviews, SNS posts), masks personal data, tokenises
/// with lindera (IPADIC) and tags topic, voice type, complaint type, sentiment, severity, churn
/// risk and keywords with rules kept in a versioned TOML file.
#[derive(Debug, Parser)]
#[command(name = "voc", version, propagate_version = true)]
struct Cli {
    /// Settings file (TOML). Environment variables (VOC_*) override it.
    #[arg(long, global = true, env = "VOC_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

/// `--rules`, on the subcommands that analyse text.
#[derive(Debug, Clone, clap::Args)]
struct RulesOpt {
    /// Rules file (TOML) instead of the bundled default taxonomy (config/rules/ja-contact-center.toml);
    /// default: VOC_RULES, else `[analysis] rules` of the settings file.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Tag interaction JSONL (a file, or stdin when FILE is absent or `-`) and print one JSON
    /// object per line. Rejected lines go to stderr as {"line": N, "error": "..."}; the exit code
    /// is 1 if any line was rejected.
    Tag {
        /// JSONL input (`.gz` is decompressed); stdin when absent or `-`.
        file: Option<PathBuf>,
        /// Add `customer_text` to each line: the customer's words exactly as they would be
        /// stored (normalised, personal data masked), to audit the masker on your own data.
        #[arg(long)]
        with_text: bool,
        #[command(flatten)]
        rules: RulesOpt,
    },
    /// Tag a labeled JSONL (records with `labels`) and print per-label precision, recall, F1 and
    /// accuracy.
    ///
    /// With several files, or none (every set of `--sets`), prints the headline figures side by
    /// side, one column per set.
    Eval {
        #[command(flatten)]
        args: cmd_eval::EvalArgs,
        #[command(flatten)]
        rules: RulesOpt,
    },
    /// Create or upgrade the ClickHouse schema (idempotent; safe from several hosts at once).
    Migrate {
        /// Create the schema on this cluster of the servers' `remote_servers`: replicated tables
        /// on every shard and Distributed tables in front of them (README, "Cluster"). Later runs
        /// and every other command find the cluster by themselves.
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
    },
    /// The aggregate tables behind the dashboards and the flagger.
    Aggregates {
        #[command(subcommand)]
        command: AggregatesCommand,
    },
    /// The streaming worker: consume the input topic in a consumer group, tag, write to
    /// ClickHouse, send malformed messages to the dead-letter topic. Stops on SIGINT/SIGTERM
    /// after draining in-flight work.
    Worker {
        #[command(flatten)]
        rules: RulesOpt,
    },
    /// Publish interaction JSONL to the input topic, keyed by interaction_id. Invalid lines are
    /// reported on stderr and not sent.
    Produce {
        /// JSONL input (`.gz` is decompressed); stdin when absent or `-`.
        file: Option<PathBuf>,
        /// At most this many messages per second.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Detect recurring and emerging issues (spikes, emerging terms, repeat contacts,
    /// escalations) and write the `flags` table; every `flags.interval_s`, or once.
    Flagger {
        /// Run one detection and exit.
        #[arg(long)]
        once: bool,
        /// Detect as if it were this time (RFC 3339): the window ends here.
        #[arg(long)]
        now: Option<String>,
    },
    /// The support lead's view of flags.
    Flags {
        #[command(subcommand)]
        command: FlagsCommand,
    },
    /// The main job on the embedded default: a local ClickHouse and an embedded Kafka-protocol
    /// broker, a realistic sample corpus through produce → workers → ClickHouse → flagger, and a
    /// summary of what it found. Cleans up the processes it started.
    Demo {
        /// Where the local ClickHouse keeps its data.
        #[arg(long, default_value = "voc-demo-data")]
        dir: PathBuf,
        /// Seed of the sample corpus.
        #[arg(long, default_value_t = 20261122)]
        seed: u64,
        /// Keep ClickHouse running after the summary until Ctrl-C, to query it.
        #[arg(long)]
        keep_running: bool,
        /// JMultiWOZ dialogues (JSONL.gz) to mix in; default data/corpus/jmultiwoz-dialogues.jsonl.gz if present.
        #[arg(long)]
        dialogues: Option<PathBuf>,
        #[command(flatten)]
        rules: RulesOpt,
    },
    /// Benchmarks (figures printed side by side in one run; see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Show every effective setting and where it came from (default, config file or environment
    /// variable); secrets redacted. Warns about VOC_* variables voc does not read.
    Config {
        /// Print the effective settings as JSON instead.
        #[arg(long)]
        json: bool,
        /// List the environment variables voc reads and the setting each sets.
        #[arg(long, conflicts_with = "json")]
        env: bool,
    },
    /// The web console for support leads and product teams: flags inbox, flag stories with
    /// masked samples, acknowledge/resolve, product view; on `console.addr` (127.0.0.1:8080).
    Serve,
    /// Console accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// FAQ candidates: question themes worth a self-service article.
    Faq {
        #[command(subcommand)]
        command: FaqCommand,
    },
    /// Discovered themes: clusters of interactions by their keywords, beyond the rule topics.
    Themes {
        #[command(subcommand)]
        command: ThemesCommand,
    },
    /// The learned model beside the rules: `voc model train` fits it on labeled voices.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Re-tag stored interactions (their masked text) with new rules given by `--rules NEW`:
    /// prints per label how many interactions gain or lose it, with examples and the evidence
    /// that changed them. Without --dry-run, writes them with the new rules version and rebuilds
    /// the affected aggregate hours; rate-limited and resumable (checkpoint file).
    Retag {
        /// The new rules (TOML) to re-tag with; not needed with --rebuild-only.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Only report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Interactions that occurred at or after this (a date, midnight UTC, or RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Interactions that occurred before this.
        #[arg(long)]
        until: Option<String>,
        /// Only this product.
        #[arg(long)]
        product: Option<String>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Also compare `voc eval` figures of the old and new rules on this labeled JSONL.
        #[arg(long)]
        labeled: Option<PathBuf>,
        /// The rules to compare against with --labeled (default: the configured rules).
        #[arg(long)]
        old_rules: Option<PathBuf>,
        /// At most this many example interactions (one per kind of change).
        #[arg(long, default_value_t = 8)]
        examples: usize,
        /// At most this many interactions per second, to spare a live system (0: no limit).
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        /// Interactions per chunk: hours are written, then rebuilt, a chunk at a time.
        #[arg(long, default_value_t = 5000)]
        chunk_rows: u64,
        /// Where progress is kept, to resume after an interruption.
        #[arg(long, default_value = "voc-retag.checkpoint.json")]
        checkpoint: PathBuf,
        /// Re-tag nothing: recompute the aggregate hours of --since/--until from
        /// `interactions FINAL` (after a lost checkpoint, or to make the figures exact).
        #[arg(long)]
        rebuild_only: bool,
    },
    /// Work with rules files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Audit the personal-data masker.
    Mask {
        #[command(subcommand)]
        command: MaskCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MaskCommand {
    /// What the masker does to interaction JSONL files: masked spans per kind and per 1,000
    /// words; on lines annotated with `"pii": [values]`, leaked values and false positives.
    /// Exit code 1 when an annotated value leaked or a line could not be read.
    Report {
        /// Interaction JSONL(.gz) files, optionally annotated with `pii`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per file instead of text.
        #[arg(long)]
        json: bool,
        /// Also print every leak, false positive and (unannotated lines) masked span with the
        /// text it covers. This prints personal data: use it on test data only.
        #[arg(long)]
        reveal: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// One theme run over a window of N synthetic interactions (planted problems in a Zipf
    /// background vocabulary), next to building that window as the reference; peak RSS. The last
    /// line is JSON.
    Themes {
        #[arg(long, default_value_t = 1_000_000)]
        interactions: usize,
        /// Planted problems (latent themes).
        #[arg(long, default_value_t = 300)]
        problems: usize,
        #[command(flatten)]
        stored: cmd_bench_themes::StoredArgs,
    },
    /// A year of a contact centre in a fresh database (filled through the real migrations), then
    /// every dashboard panel for the last 24 h, 7, 90 and 365 days, the console's queries and a
    /// flagger run, timed (p50/p95 over the rounds); bytes per table per million interactions.
    /// The last line is JSON.
    Scale {
        #[command(flatten)]
        args: cmd_bench_scale::ScaleArgs,
    },
    /// Bare lindera segmentation vs the full analysis (validation, normalisation, masking,
    /// tokenisation, tagging) on the same texts, 1 thread and all cores. The last line is JSON.
    Analysis {
        /// Interaction JSONL(.gz); default data/corpus/jmultiwoz-dialogues.jsonl.gz.
        file: Option<PathBuf>,
        /// Use only the first N interactions.
        #[arg(long)]
        limit: Option<usize>,
        /// Rounds per measurement; the best is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[command(flatten)]
        rules: RulesOpt,
    },
    /// The whole path on loopback: a broker, a `voc worker` process and ClickHouse. Throughput
    /// on a pre-loaded topic next to the single-thread analysis rate, produce-to-queryable
    /// latency (p50/p99) at half that rate, and the worker's peak RSS. The last line is JSON.
    E2e {
        /// Interaction JSONL(.gz); default data/corpus/jmultiwoz-dialogues.jsonl.gz.
        file: Option<PathBuf>,
        /// Send the corpus this many times (with new ids).
        #[arg(long, default_value_t = 3)]
        copies: usize,
        /// Seconds of steady load for the latency measurement.
        #[arg(long, default_value_t = 20)]
        latency_seconds: u64,
        /// Use this broker instead of the embedded one (e.g. a local Kafka or tansu).
        #[arg(long)]
        brokers: Option<String>,
        /// Use this ClickHouse instead of a private local server (database `voc_bench` is recreated).
        #[arg(long)]
        clickhouse_url: Option<String>,
        /// Where the private ClickHouse keeps its data, and the worker's log.
        #[arg(long, default_value = "voc-bench-data")]
        dir: PathBuf,
        #[command(flatten)]
        rules: RulesOpt,
    },
}

#[derive(Debug, Subcommand)]
enum AggregatesCommand {
    /// Close the due UTC days now: days older than `clickhouse.aggregate_open_days`, and closed
    /// days with late or replayed messages, become exact counts (the flagger does this every run).
    Close,
}

#[derive(Debug, Subcommand)]
enum FlagsCommand {
    /// List flags, newest first (open and acknowledged unless --status): a table, or JSON lines
    /// with --json. Times in `console.utc_offset_hours` (Asia/Tokyo by default).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: cmd_flags::ListFilter,
    },
    /// One flag's story (id or a unique prefix): why it was raised, counts against baseline,
    /// masked samples with their evidence, history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a flag (id or a unique prefix): someone is on it.
    Ack {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Reopen a resolved flag.
        #[arg(long)]
        reopen: bool,
    },
    /// Assign a flag (id or a unique prefix) to a team of `[teams]`; the team's webhook and Kafka
    /// topic are told, and the history records who did it.
    Assign {
        id: String,
        team: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// The weekly digest per owning team (`[teams]`): recurring problems, new themes and spikes
    /// raised or updated in the last days; --send posts each to its team's webhook.
    Digest {
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        /// Only this team's digest.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        json: bool,
        /// Post each digest to its team's webhook_url (or flags.webhook_url).
        #[arg(long)]
        send: bool,
        /// As if it were this time (RFC 3339).
        #[arg(long)]
        now: Option<String>,
    },
    /// Resolve a flag; if the problem comes back, a new flag is raised.
    Resolve {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Draft a rule from a discovered theme (a unique id prefix is enough): a rules file on top of
    /// the current rules with a new topic named after the theme, to edit, check with `voc rules
    /// check` and try on history with `voc retag --rules FILE --dry-run`.
    Suggest {
        theme: String,
        /// Write the draft here (never overwriting a file) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compile a rules file and report its version and rules, or the first error with file,
    /// line and rule id; then what changed against the current rules (added, removed and
    /// modified rules by id, and settings). Exit code 1 if the rules changed but the version
    /// did not. A file that `extends` another is compared as merged with it.
    Check {
        file: PathBuf,
        /// The current rules (default: the configured rules, or the bundled default).
        #[arg(long)]
        against: Option<PathBuf>,
        /// Print the diff as JSON.
        #[arg(long)]
        json: bool,
        /// Print the file merged with everything it extends, as TOML, instead of the diff.
        #[arg(long)]
        merged: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add or replace an account in `console.users_file`; the password is read from stdin
    /// (at least 12 characters) and only its argon2 hash is written.
    Add {
        name: String,
        /// viewer (reads), lead (also acknowledges and resolves flags) or admin.
        #[arg(long)]
        role: voc_console::users::Role,
    },
}

#[derive(Debug, Subcommand)]
enum FaqCommand {
    /// Question themes ranked by volume × growth, with the share that needed an agent and masked
    /// sample questions.
    Candidates {
        /// Only this product's interactions.
        #[arg(long)]
        product: Option<String>,
        /// The period looked at, in days (growth is against the same number of days before).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        #[arg(long)]
        json: bool,
        /// As if it were this time (RFC 3339).
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ThemesCommand {
    /// Themes as the last flagger run left them, largest first: a table, or JSON lines with --json.
    List {
        #[arg(long)]
        json: bool,
        /// Also merged and gone themes.
        #[arg(long)]
        all: bool,
        /// Only themes seen since this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only themes with interactions about this product.
        #[arg(long)]
        product: Option<String>,
    },
    /// One theme (a unique id prefix is enough): terms, daily trend, rule topics it overlaps and
    /// masked sample interactions.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// List the ids of every member interaction instead.
        #[arg(long)]
        members: bool,
    },
    /// Cluster labeled sets with their topic labels hidden and print purity and NMI against the
    /// gold topics, and the share of gold complaints a rule topic or a theme covers.
    Eval {
        #[command(flatten)]
        args: cmd_themes::ThemesEvalArgs,
        #[command(flatten)]
        rules: RulesOpt,
    },
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Fit the model (voice type, sentiment, topics from character n-grams) on labeled JSONL
    /// and write it; the rules use it through `[model] file`, adding labels they missed when its
    /// probability reaches `[model]` complaint / topic / positive.
    Train {
        #[command(flatten)]
        args: cmd_model::TrainArgs,
        #[command(flatten)]
        rules: RulesOpt,
    },
}

impl Command {
    /// The `--rules` of a subcommand that analyses text with them.
    fn rules(&self) -> Option<&PathBuf> {
        let opt = match self {
            Command::Tag { rules, .. }
            | Command::Eval { rules, .. }
            | Command::Model {
                command: ModelCommand::Train { rules, .. },
            }
            | Command::Themes {
                command: ThemesCommand::Eval { rules, .. },
            }
            | Command::Worker { rules }
            | Command::Demo { rules, .. }
            | Command::Bench {
                command: BenchCommand::Analysis { rules, .. } | BenchCommand::E2e { rules, .. },
            } => rules,
            _ => return None,
        };
        opt.rules.as_ref()
    }
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One readable line (with its causes), never a panic or a backtrace.
            eprintln!("error: {}", error_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Logs on stderr: colour only on a terminal; `VOC_LOG_FORMAT=json` gives one JSON object per
/// line for log shippers; `VOC_LOG` filters (default `info`).
fn init_logging() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("VOC_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var("VOC_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// The error and its causes, each once: a cause whose text the message already quotes (errors
/// that name their source in their own message) is not repeated.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    // The configured rules are "the current ones" that `rules check` and `retag` compare with.
    let configured = settings.clone();
    if let Some(rules) = cli.command.rules() {
        settings.analysis.rules = Some(rules.clone());
    }
    let rejected_code = |n: usize| {
        if n > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    };
    match cli.command {
        Command::Tag {
            file, with_text, ..
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            let rejected = cmd_tag::tag(&analyzer, &settings.limits, file.as_deref(), with_text)?;
            Ok(rejected_code(rejected))
        }
        Command::Eval { args, .. } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            let (held, rejected) = cmd_eval::run(&analyzer, &settings.limits, &args)?;
            if !held {
                return Ok(ExitCode::from(1));
            }
            Ok(rejected_code(rejected))
        }
        Command::Serve => {
            runtime()?.block_on(cmd_serve::serve(&settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Users {
            command: UsersCommand::Add { name, role },
        } => {
            cmd_serve::add(&settings, &name, role)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Faq {
            command:
                FaqCommand::Candidates {
                    product,
                    days,
                    json,
                    now,
                },
        } => {
            runtime()?.block_on(cmd_faq::candidates(
                &settings,
                product.as_deref(),
                days,
                json,
                now.as_deref(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Themes {
            command:
                ThemesCommand::List {
                    json,
                    all,
                    since,
                    product,
                },
        } => {
            runtime()?.block_on(cmd_themes::list(
                &settings,
                json,
                all,
                since.as_deref(),
                product.as_deref(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Themes {
            command: ThemesCommand::Show { id, json, members },
        } => {
            runtime()?.block_on(cmd_themes::show(&settings, &id, json, members))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Themes {
            command: ThemesCommand::Eval { args, .. },
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            cmd_themes::eval(&analyzer, &settings.limits, &settings.flags.themes, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Model {
            command: ModelCommand::Train { args, .. },
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            cmd_model::train(&analyzer, &settings.limits, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { cluster } => {
            runtime()?.block_on(cmd_stream::migrate(&settings, cluster.as_deref()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Aggregates {
            command: AggregatesCommand::Close,
        } => {
            runtime()?.block_on(cmd_aggregates::close(&settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker { .. } => {
            runtime()?.block_on(cmd_stream::worker(&settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Produce { file, rate } => {
            let failed =
                runtime()?.block_on(cmd_stream::produce(&settings, file.as_deref(), rate))?;
            Ok(rejected_code(usize::try_from(failed).unwrap_or(usize::MAX)))
        }
        Command::Demo {
            dir,
            seed,
            keep_running,
            dialogues,
            ..
        } => {
            runtime()?.block_on(cmd_demo::demo(
                &settings,
                dir,
                seed,
                keep_running,
                dialogues,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Themes {
                    interactions,
                    problems,
                    stored,
                },
        } => {
            runtime()?.block_on(cmd_bench_themes::run(
                interactions,
                problems,
                &stored,
                &settings.clickhouse,
                &settings.flags,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            command: BenchCommand::Scale { args },
        } => {
            runtime()?.block_on(cmd_bench_scale::scale(&settings, args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Analysis {
                    file,
                    limit,
                    rounds,
                    ..
                },
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            let file = file.unwrap_or_else(|| PathBuf::from(setup::DIALOGUES));
            cmd_bench::analysis(&analyzer, &file, limit, rounds.max(1))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::E2e {
                    file,
                    copies,
                    latency_seconds,
                    brokers,
                    clickhouse_url,
                    dir,
                    ..
                },
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            let args = cmd_bench_e2e::E2eArgs {
                file: file.unwrap_or_else(|| PathBuf::from(setup::DIALOGUES)),
                copies,
                latency_seconds,
                brokers,
                clickhouse_url,
                dir,
            };
            runtime()?.block_on(cmd_bench_e2e::e2e(&settings, &analyzer, args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { json, env } => {
            cmd_config::show(cli.config.as_deref(), json, env)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Flagger { once, now } => {
            runtime()?.block_on(cmd_flags::flagger(&settings, once, now.as_deref()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Flags { command } => {
            let rt = runtime()?;
            match command {
                FlagsCommand::List { json, filter } => {
                    rt.block_on(cmd_flags::list(&settings, json, &filter))?
                }
                FlagsCommand::Show { id, json } => {
                    rt.block_on(cmd_flags::show(&settings, &id, json))?
                }
                FlagsCommand::Ack {
                    id,
                    by,
                    note,
                    reopen,
                } => rt.block_on(cmd_flags::set_status(
                    &settings,
                    &id,
                    FlagStatus::Acknowledged,
                    by.as_deref(),
                    note.as_deref(),
                    reopen,
                ))?,
                FlagsCommand::Assign { id, team, by, note } => rt.block_on(cmd_flags::assign(
                    &settings,
                    &id,
                    &team,
                    by.as_deref(),
                    note.as_deref(),
                ))?,
                FlagsCommand::Digest {
                    days,
                    team,
                    json,
                    send,
                    now,
                } => rt.block_on(cmd_flags::digest(
                    &settings,
                    days,
                    team.as_deref(),
                    json,
                    send,
                    now.as_deref(),
                ))?,
                FlagsCommand::Resolve { id, note } => rt.block_on(cmd_flags::set_status(
                    &settings,
                    &id,
                    FlagStatus::Resolved,
                    None,
                    note.as_deref(),
                    false,
                ))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mask {
            command:
                MaskCommand::Report {
                    files,
                    json,
                    reveal,
                },
        } => {
            let analyzer = setup::analyzer(&settings.analysis)?;
            let mut out = std::io::stdout().lock();
            let mut leaked = false;
            for file in &files {
                let r = cmd_mask::report(&analyzer, &settings.limits, file, reveal, &mut out)?;
                leaked |= r.leaky_lines > 0 || r.unparsed > 0;
                if json {
                    let mut v = serde_json::to_value(&r)?;
                    v["file"] = serde_json::json!(file.display().to_string());
                    writeln!(out, "{v}")?;
                } else {
                    cmd_mask::print(file, &r, &mut out)?;
                }
            }
            Ok(if leaked {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Rules {
            command: RulesCommand::Suggest { theme, out },
        } => {
            runtime()?.block_on(cmd_rules_suggest::suggest(
                &settings,
                &theme,
                out.as_deref(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules {
            command:
                RulesCommand::Check {
                    file,
                    against,
                    json,
                    merged,
                },
        } => cmd_rules::check(&configured, &file, against.as_deref(), json, merged),
        Command::Retag {
            rules: new_rules,
            dry_run,
            since,
            until,
            product,
            json,
            labeled,
            old_rules,
            examples,
            rate,
            chunk_rows,
            checkpoint,
            rebuild_only,
        } => {
            let args = cmd_retag::RetagArgs {
                new_rules,
                old_rules,
                since,
                until,
                product,
                dry_run,
                json,
                labeled,
                examples,
                rate,
                chunk_rows,
                checkpoint,
                rebuild_only,
            };
            runtime()?.block_on(cmd_retag::retag(&configured, args))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that quotes its source in its own message, as many thiserror errors do.
    #[derive(Debug)]
    struct Quoting {
        source: std::io::Error,
    }

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "cannot reach ClickHouse at http://h:8123: {}",
                self.source
            )
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn each_cause_is_printed_once() {
        let inner = std::io::Error::other("connection refused");
        let e = anyhow::Error::new(Quoting { source: inner }).context("voc migrate");
        assert_eq!(
            error_line(&e),
            "voc migrate: cannot reach ClickHouse at http://h:8123: connection refused"
        );
    }
}
