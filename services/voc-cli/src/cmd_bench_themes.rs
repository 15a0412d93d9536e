//! `voc bench themes`: one theme run over a window of N synthetic interactions, timed next to a
//! reference in the same run: building the window (one pass interning every keyword, the least any
//! keyword method must do), then discovery on it. Prints the peak RSS of the process.
//!
//! The synthetic window: `problems` latent problems with six terms each and Zipf-distributed
//! sizes; 70 % of interactions are about one problem (four of its six terms), every interaction also
//! has three terms from a 20,000-word background vocabulary, Zipf-distributed as words are.
//!
//! With `--stored`, the same kind of window is also written to ClickHouse (a private local server,
//! or `--clickhouse-url`) through the real migrations, and the flagger's theme refresh is timed on
//! it: reading the window from `interactions FINAL`, discovery, and writing themes and memberships
//! (a first run writes every membership; a second, steady run only the changes).

use std::time::Instant;

use serde::Serialize;
use voc_demo::corpus::Rng;
use voc_flags::FlagConfig;
use voc_flags::themes::{self, Corpus, ThemeConfig};
use voc_store::{Store, StoreConfig};

#[derive(Debug, Serialize)]
pub struct ThemeBench {
    pub interactions: usize,
    pub problems: usize,
    /// Building the window: ids, times and interned keywords (the reference).
    pub build_s: f64,
    /// One theme run on it.
    pub discover_s: f64,
    pub themes: usize,
    /// Share of the planted problem interactions that landed in a theme.
    pub clustered: f64,
    /// Themes against the planted problems, over the clustered problem interactions.
    pub agreement: themes::Agreement,
    /// Peak resident memory of the whole process, in MB (VmHWM).
    pub peak_rss_mb: f64,
    /// With --stored: the flagger's refresh on the same number of stored interactions, first and
    /// steady run, in seconds.
    pub stored_first_s: Option<f64>,
    pub stored_steady_s: Option<f64>,
}

/// Where `--stored` keeps its data.
#[derive(Debug, clap::Args)]
pub struct StoredArgs {
    /// Also time the flagger's refresh on a window stored in ClickHouse.
    #[arg(long)]
    pub stored: bool,
    /// Use this ClickHouse instead of a private local server (database `voc_bench_themes` is
    /// recreated).
    #[arg(long, requires = "stored")]
    pub clickhouse_url: Option<String>,
    /// Where the private ClickHouse keeps its data.
    #[arg(long, default_value = "voc-bench-data")]
    pub dir: std::path::PathBuf,
}

const DATABASE: &str = "voc_bench_themes";

/// Fills `interactions` with `n` synthetic rows shaped like the in-memory window (problem terms
/// drawn log-uniformly, which is Zipf with exponent 1), over the 7 days before `end`, and times two
/// theme refreshes.
async fn stored(
    n: usize,
    problems: usize,
    args: &StoredArgs,
    base: &StoreConfig,
    config: &FlagConfig,
) -> anyhow::Result<(f64, f64)> {
    let (url, local) =
        crate::cmd_bench_e2e::clickhouse_or_local(args.clickhouse_url.as_deref(), &args.dir)?;
    let store = Store::connect(&StoreConfig {
        url,
        database: DATABASE.into(),
        retention_days: None,
        ..base.clone()
    })
    .await?;
    store
        .server_client_execute(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .await?;
    voc_store::migrate::migrate(&store).await?;
    let end = time::macros::datetime!(2026-11-29 12:00 UTC);
    let end_s = end.unix_timestamp();
    let started = Instant::now();
    store
        .client()
        .query(&format!(
            "INSERT INTO interactions (interaction_id, occurred_at, ingested_at, channel, product, queue, customer_id, agent_id, \
             topics, voice_type, complaint_type, sentiment, sentiment_score, severity, churn_risk, keywords, evidence, \
             customer_text, pii_masked, truncated, rules_version, version) \
             SELECT concat('b-', toString(number)), toDateTime({end_s} - 1 - (cityHash64(number, 0) % 604800)), now(), 'chat', 'p', '', '', '', \
             [], 'complaint', NULL, 'negative', -1, 1, 0, \
             arrayConcat( \
               if(cityHash64(number, 1) % 10 < 7, \
                  arrayMap(k -> concat('問題', toString(toUInt32(floor(pow({problems}, (cityHash64(number, 2) % 1000000) / 1000000)))), '語', \
                                       toString((cityHash64(number, 3) + k) % 6)), [0, 1, 2, 3]), \
                  emptyArrayString()), \
               arrayMap(k -> concat('背景', toString(toUInt32(floor(pow(20000, (cityHash64(number, 10 + k) % 1000000) / 1000000))))), [0, 1, 2])), \
             '[]', '', 0, 0, 'bench', 1 FROM numbers({n})"
        ))
        .execute()
        .await?;
    eprintln!(
        "stored {n} interactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for run in 0..2 {
        let at = end + time::Duration::minutes(5 * run);
        let started = Instant::now();
        let found = voc_flags::theme_store::refresh(&store, at, config).await?;
        times.push(started.elapsed().as_secs_f64());
        eprintln!(
            "theme refresh {}: {} themes in {:.2} s",
            run + 1,
            found.len(),
            times[run as usize]
        );
    }
    if let Some(mut ch) = local {
        ch.stop();
    }
    Ok((times[0], times[1]))
}

/// Index drawn with probability ∝ 1/(rank+1), by binary search over the cumulative weights.
fn zipf(rng: &mut Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(1.0);
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
    cumulative.partition_point(|&c| c < x)
}

fn cumulative(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|k| {
            acc += 1.0 / (k as f64 + 1.0);
            acc
        })
        .collect()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(
    interactions: usize,
    problems: usize,
    args: &StoredArgs,
    base: &StoreConfig,
    flags: &FlagConfig,
) -> anyhow::Result<()> {
    let config: &ThemeConfig = &flags.themes;
    let mut rng = Rng::new(20261129);
    let problem_weights = cumulative(problems);
    let background = cumulative(20_000);
    let mut planted = Vec::with_capacity(interactions);
    let started = Instant::now();
    let mut corpus = Corpus::default();
    let mut words: Vec<String> = Vec::with_capacity(6);
    for i in 0..interactions {
        words.clear();
        let problem = rng.chance(0.7).then(|| zipf(&mut rng, &problem_weights));
        if let Some(p) = problem {
            while words.len() < 4 {
                let w = format!("問題{p}語{}", rng.below(6));
                if !words.contains(&w) {
                    words.push(w);
                }
            }
        }
        for _ in 0..3 {
            words.push(format!("背景{}", zipf(&mut rng, &background)));
        }
        planted.push(problem);
        corpus.push(
            &format!("b-{i:08}"),
            0,
            words.iter().map(String::as_str),
            Vec::new(),
        );
    }
    let build_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let found = themes::discover(&corpus, config);
    let discover_s = started.elapsed().as_secs_f64();
    let mut theme_of: Vec<Option<usize>> = vec![None; planted.len()];
    for (k, t) in found.iter().enumerate() {
        for &d in &t.members {
            theme_of[d] = Some(k);
        }
    }
    let labels: Vec<Option<String>> = planted.iter().map(|p| p.map(|p| p.to_string())).collect();
    let pairs: Vec<(usize, &str)> = theme_of
        .iter()
        .zip(&labels)
        .filter_map(|(t, l)| Some(((*t)?, l.as_deref()?)))
        .collect();
    let problem_interactions = planted.iter().flatten().count().max(1);
    drop(corpus);
    let (stored_first_s, stored_steady_s) = if args.stored {
        let (a, b) = stored(interactions, problems, args, base, flags).await?;
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let report = ThemeBench {
        interactions,
        problems,
        build_s,
        discover_s,
        themes: found.len(),
        clustered: pairs.len() as f64 / problem_interactions as f64,
        agreement: themes::agreement(&pairs),
        peak_rss_mb: peak_rss_mb(),
        stored_first_s,
        stored_steady_s,
    };
    println!(
        "{} interactions, {} planted problems: window built in {:.2} s (reference), one theme run {:.2} s ({:.2}× the reference); {} themes, {:.1}% of the problem interactions in one, purity {:.3} and NMI {:.3} against the planted problems; peak RSS {:.0} MB",
        report.interactions,
        report.problems,
        report.build_s,
        report.discover_s,
        report.discover_s / report.build_s.max(1e-9),
        report.themes,
        100.0 * report.clustered,
        report.agreement.purity,
        report.agreement.nmi,
        report.peak_rss_mb
    );
    if let (Some(first), Some(steady)) = (stored_first_s, stored_steady_s) {
        println!(
            "stored in ClickHouse: the flagger's theme refresh (read the window, discover, write) {first:.2} s on the first run, {steady:.2} s steady"
        );
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
