//! `voc rules check`: validate a rules file (and what it extends) and show what it changes
//! against the current rules, both merged with what they extend.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use voc_core::RuleSet;
use voc_core::rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, diff, layers};

use crate::settings::Settings;

/// The current rules' name and source text: `against`, else the configured file, else the bundled.
fn current_source(settings: &Settings, against: Option<&Path>) -> anyhow::Result<(String, String)> {
    match against.or(settings.analysis.rules.as_deref()) {
        Some(path) => Ok((
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the current rules {}", path.display()))?,
        )),
        None => Ok((
            format!("{DEFAULT_RULES_NAME} (bundled)"),
            DEFAULT_RULES.to_string(),
        )),
    }
}

pub fn check(
    settings: &Settings,
    file: &Path,
    against: Option<&Path>,
    json: bool,
    merged: bool,
) -> anyhow::Result<ExitCode> {
    let rules = RuleSet::load(file)?;
    let (current_name, current) = current_source(settings, against)?;
    // The current file compiled once too: a diff against something broken would mislead.
    let current_rules = RuleSet::from_source(&current, &current_name)?;
    let new_src =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let new_table = layers::merged_table(&name, &new_src)?;
    if merged {
        print!("{}", toml::to_string_pretty(&new_table)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut d = diff::diff_tables(&layers::merged_table(&current_name, &current)?, &new_table);
    // The versions as stored (trimmed by the compiler), not as written.
    d.old_version = current_rules.version.clone();
    d.new_version = rules.version.clone();
    // The model is data, not TOML: a refit under the same file name changes tags too.
    let model_of = |r: &RuleSet| r.model().map(|m| format!("{} ({:016x})", m.name, m.digest));
    let (old_model, new_model) = (model_of(&current_rules), model_of(&rules));
    let model_changed = old_model != new_model;
    let unbumped = (d.changes_rules() || model_changed) && d.old_version == d.new_version;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "version": rules.version,
                "rules": rules.rule_count(),
                "against": current_name,
                "diff": d,
                "model": new_model,
                "model_changed": model_changed,
                "version_unchanged": unbumped,
            })
        );
    } else {
        println!(
            "{}: ok — version {}, {} rules (from {}){}",
            file.display(),
            rules.version,
            rules.rule_count(),
            rules.source,
            rules
                .model()
                .map(|m| format!(", model {} ({} n-gram features)", m.name, m.feature_count()))
                .unwrap_or_default()
        );
        println!("against {current_name}:");
        print!("{}", d.render());
        if model_changed {
            let none = || "none".to_string();
            println!(
                "model: {} → {}",
                old_model.unwrap_or_else(none),
                new_model.clone().unwrap_or_else(none)
            );
        }
    }
    if unbumped {
        eprintln!(
            "error: {} changes the rules but keeps version {:?}: bump `version`, so stored \
             interactions say which rules tagged them and `voc retag` can tell old from new",
            file.display(),
            d.new_version
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
