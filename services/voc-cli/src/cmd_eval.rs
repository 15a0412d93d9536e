//! `voc eval`: quality figures of the rules on labeled sets. One file: every figure per label.
//! Several files, or none (the sets of `data/eval/sets.toml`): the headline figures side by
//! side, tune and blind halves next to each other, checked against the figures recorded there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use voc_core::Analyzer;
use voc_core::eval::{EvalReport, lower_is_better, regressions};

use crate::cmd_tag;
use voc_core::Limits;

/// The labeled sets' manifest, relative to the working directory (the repository root).
pub const DEFAULT_SETS: &str = "data/eval/sets.toml";

/// `data/eval/sets.toml`: which labeled sets there are, and the figures last recorded for them.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// A figure may fall this far below its recorded value before `--check` fails.
    pub tolerance: f64,
    #[serde(rename = "set")]
    pub sets: Vec<LabeledSet>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabeledSet {
    pub name: String,
    /// Relative to the manifest's directory.
    pub file: PathBuf,
    /// `tune` (rules were tuned on it), `blind` (never tuned on) or `dev`.
    pub role: String,
    /// Headline figure → value when last recorded (`voc eval --record`).
    #[serde(default)]
    pub recorded: BTreeMap<String, f64>,
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read the labeled sets' manifest {}", path.display())
        })?;
        toml::from_str(&text).with_context(|| format!("{}: invalid manifest", path.display()))
    }

    pub fn path_of(&self, manifest: &Path, set: &LabeledSet) -> PathBuf {
        manifest.parent().unwrap_or(Path::new(".")).join(&set.file)
    }
}

/// The labeled files a command works on, named: `files` when given, else the sets of the manifest
/// at `sets` that `keep` accepts.
pub fn labeled_files(
    files: &[PathBuf],
    sets: &Path,
    keep: impl Fn(&LabeledSet) -> bool,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    if !files.is_empty() {
        return Ok(files
            .iter()
            .map(|f| (f.display().to_string(), f.clone()))
            .collect());
    }
    let m = Manifest::load(sets)?;
    Ok(m.sets
        .iter()
        .filter(|s| keep(s))
        .map(|s| (s.name.clone(), m.path_of(sets, s)))
        .collect())
}

/// The options of `voc eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    pub files: Vec<PathBuf>,
    /// The labeled sets and their recorded figures, used when no file is given.
    #[arg(long, default_value = DEFAULT_SETS)]
    pub sets: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also list every interaction whose predicted labels differ from the gold ones (one file).
    #[arg(long)]
    pub errors: bool,
    /// Exit 1 when a figure of a set is worse than the one recorded for it by more than the
    /// manifest's tolerance (below it; above it for complaints_without_topic). The sets of
    /// `--sets` only.
    #[arg(long, conflicts_with = "files")]
    pub check: bool,
    /// Write the measured figures into the manifest as the new recorded ones; refused when a
    /// figure got worse, unless `--force`. The sets of `--sets` only.
    #[arg(long, conflicts_with = "files")]
    pub record: bool,
    /// With --record: record figures that got worse too.
    #[arg(long, requires = "record")]
    pub force: bool,
}

/// Runs `voc eval`; returns whether every check held (always true without `--check`).
pub fn run(analyzer: &Analyzer, limits: &Limits, args: &EvalArgs) -> anyhow::Result<(bool, usize)> {
    if let [file] = args.files.as_slice() {
        let rejected = cmd_tag::eval(analyzer, limits, file, args.json, args.errors)?;
        return Ok((true, rejected));
    }
    anyhow::ensure!(
        !args.errors,
        "--errors lists the mismatches of one file: give exactly one"
    );
    let mut manifest = None;
    let columns: Vec<(String, PathBuf)> = if args.files.is_empty() {
        let m = Manifest::load(&args.sets)?;
        let cols = m
            .sets
            .iter()
            .map(|s| (s.name.clone(), m.path_of(&args.sets, s)))
            .collect();
        manifest = Some(m);
        cols
    } else {
        args.files
            .iter()
            .map(|f| (f.display().to_string(), f.clone()))
            .collect()
    };
    let mut reports = Vec::new();
    let mut rejected = 0;
    for (name, path) in &columns {
        let e = cmd_tag::evaluate(analyzer, limits, path, false)
            .with_context(|| format!("evaluating {name}"))?;
        rejected += e.rejected;
        reports.push(e.report);
    }
    let mut ok = true;
    let mut failures = Vec::new();
    if let Some(m) = manifest.as_mut() {
        for (set, report) in m.sets.iter_mut().zip(&reports) {
            // A figure a set cannot measure (escalation recall without a severity-3 item) has
            // no floor.
            let measured: Vec<(&str, f64)> = report
                .headline()
                .into_iter()
                .filter(|(k, _)| report.is_defined(k))
                .collect();
            if args.check || args.record {
                for r in regressions(&set.recorded, &measured, m.tolerance) {
                    failures.push(format!("{} ({}): {r}", set.name, set.role));
                }
            }
            if args.record {
                set.recorded = measured
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (v * 1000.0).round() / 1000.0))
                    .collect();
            }
        }
        if args.record && !failures.is_empty() && !args.force {
            for f in &failures {
                eprintln!("worse: {f}");
            }
            anyhow::bail!(
                "not recorded: {} figure(s) got worse (above); fix the rules, or record them \
                 anyway with --record --force",
                failures.len()
            );
        }
        if args.record {
            let header = "# Labeled evaluation sets and the headline figures last recorded for them.\n\
                          # `voc eval` prints them side by side; `voc eval --check` (run by the test suite)\n\
                          # fails when a figure falls more than `tolerance` below its recorded value\n\
                          # (complaints_without_topic: rises above it). Provenance: README.md here.\n\
                          # Rewritten by `voc eval --record` after a measured improvement.\n\n";
            std::fs::write(
                &args.sets,
                format!("{header}{}", toml::to_string_pretty(&m)?),
            )
            .with_context(|| format!("cannot write {}", args.sets.display()))?;
        }
        ok = failures.is_empty();
    }
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    if args.json {
        let sets: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .zip(&reports)
            .map(|(n, r)| {
                let mut m = serde_json::Map::new();
                m.insert("items".into(), r.items.into());
                for (k, v) in r.headline() {
                    m.insert(k.into(), v.into());
                }
                ((*n).to_string(), serde_json::Value::Object(m))
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"rules": analyzer.rules().version, "sets": sets, "regressions": failures})
        );
    } else {
        print!(
            "rules: {} ({})\n{}",
            analyzer.rules().version,
            analyzer.rules().source,
            side_by_side(&names, manifest.as_ref(), &reports)
        );
        for f in &failures {
            println!("REGRESSION {f}");
        }
    }
    Ok((ok, rejected))
}

/// One row per headline figure, one column per set (its role under its name).
fn side_by_side(names: &[&str], manifest: Option<&Manifest>, reports: &[EvalReport]) -> String {
    use std::fmt::Write;
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(8)
        + 2;
    let mut out = format!("{:<30}", "figure");
    for n in names {
        let _ = write!(out, "{n:>width$}");
    }
    out.push('\n');
    if let Some(m) = manifest {
        let _ = write!(out, "{:<30}", "role");
        for s in &m.sets {
            let _ = write!(out, "{:>width$}", s.role);
        }
        out.push('\n');
    }
    let _ = write!(out, "{:<30}", "items");
    for r in reports {
        let _ = write!(out, "{:>width$}", r.items);
    }
    out.push('\n');
    // Every report lists the same figures in the same order.
    let figures: Vec<Vec<(&str, f64)>> = reports.iter().map(EvalReport::headline).collect();
    let rows: Vec<&str> = figures
        .first()
        .map(|f| f.iter().map(|(k, _)| *k).collect())
        .unwrap_or_default();
    for (i, row) in rows.into_iter().enumerate() {
        let label = if lower_is_better(row) {
            format!("{row} (↓)")
        } else {
            row.to_string()
        };
        let _ = write!(out, "{label:<30}");
        for (r, f) in reports.iter().zip(&figures) {
            if r.is_defined(row) {
                let _ = write!(out, "{:>width$.3}", f[i].1);
            } else {
                let _ = write!(out, "{:>width$}", "–");
            }
        }
        out.push('\n');
    }
    out
}
