//! `voc rules suggest THEME_ID`: a draft rule from a discovered theme, as a company rules file on
//! top of the current rules that a support lead edits, checks (`voc rules check`) and tries on
//! history (`voc retag --rules FILE --dry-run`) before it ships. Discover → name → re-tag.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use voc_flags::theme_store::{self, Theme};

use crate::cmd_stream::connect_migrated;
use crate::settings::Settings;

/// How many of the theme's top terms the draft uses.
const TERMS: usize = 5;

/// A term as a rule item: a word with a dictionary form (a verb or adjective lemma such as 喋る
/// or 怖い) by its base form, so every conjugation matches; anything else as literal text.
fn item(term: &str) -> String {
    let last = term.chars().last().unwrap_or(' ');
    let inflects = "うくぐすつぬぶむるい".contains(last) && !term.ends_with("ない");
    if inflects {
        format!("={term}")
    } else {
        term.to_string()
    }
}

/// TOML-quoted string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The draft: a new topic named after the theme, assigned when two of its top terms occur near
/// each other in a sentence (either order), which is what made them a theme. `extends` is the
/// rules it goes on top of.
pub fn draft(theme: &Theme, extends: &str) -> String {
    let suffix = theme.theme_id.trim_start_matches("th-");
    let topic = format!("theme_{suffix}");
    let terms: Vec<&String> = theme.terms.iter().take(TERMS).collect();
    let mut patterns = Vec::new();
    for (i, a) in terms.iter().enumerate() {
        for b in &terms[i + 1..] {
            patterns.push(format!("{} ... {}", item(a), item(b)));
            patterns.push(format!("{} ... {}", item(b), item(a)));
        }
    }
    let overlap = if theme.topics.is_empty() {
        "no rule topic".to_string()
    } else {
        theme
            .topics
            .iter()
            .zip(&theme.topic_counts)
            .take(3)
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "# Draft rule from discovered theme {id} 「{label}」: {size} interactions, rule topics among them: {overlap}.\n\
         # Rename the topic, keep the terms that define the problem, add `not` for what it is not; then\n\
         #   voc rules check FILE                     (compiles; what changed against the current rules)\n\
         #   voc retag --rules FILE --dry-run         (what it would change in history)\n\
         # and ship it with `voc retag --rules FILE`, setting `analysis.rules` to this file.\n\
         version = {version}\n\
         extends = {extends}\n\n\
         [labels]\n\
         topics = [[{topic_q}, {label_q}]]\n\n\
         [[rule]]\n\
         id = {rule_id}\n\
         label = {label_id}\n\
         description = {description}\n\
         window = 12\n\
         patterns = [\n",
        id = theme.theme_id,
        label = theme.label,
        size = theme.size,
        version = quoted(&format!("suggested-{}@1", theme.theme_id)),
        extends = quoted(extends),
        topic_q = quoted(&topic),
        label_q = quoted(&theme.label),
        rule_id = quoted(&format!("suggested.{topic}")),
        label_id = quoted(&format!("topic:{topic}")),
        description = quoted(&format!(
            "two of {} near each other",
            terms
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("・")
        )),
    );
    for p in &patterns {
        out.push_str(&format!("  {},\n", quoted(p)));
    }
    out.push_str("]\n");
    out
}

pub async fn suggest(settings: &Settings, id: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let theme = &theme_store::find(&store, id)
        .await?
        .map_err(anyhow::Error::msg)?;
    let extends = match &settings.analysis.rules {
        Some(path) => std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
        None => "ja-contact-center".to_string(),
    };
    let text = draft(theme, &extends);
    match out {
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot create {} (an existing file is never overwritten)",
                        path.display()
                    )
                })?;
            file.write_all(text.as_bytes())?;
            eprintln!(
                "wrote {}; next: voc rules check {0} && voc retag --rules {0} --dry-run",
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use voc_flags::theme_store::ThemeStatus;

    fn theme() -> Theme {
        Theme {
            theme_id: "th-0c8bea81".into(),
            label: "勝手・喋る・夜中".into(),
            terms: ["勝手", "喋る", "夜中", "スピーカー", "怖い", "起きる"]
                .map(String::from)
                .to_vec(),
            term_counts: vec![30, 28, 27, 10, 5, 4],
            size: 31,
            topics: vec!["product".into()],
            topic_counts: vec![31],
            covered_by: String::new(),
            sample_ids: vec![],
            status: ThemeStatus::Active,
            merged_into: String::new(),
            split_from: String::new(),
            first_seen: 0,
            last_seen: 0,
            version: 1,
        }
    }

    #[test]
    fn the_draft_compiles_on_top_of_the_default_with_the_themes_topic() {
        let dir = std::env::temp_dir().join(format!("voc-suggest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("draft.toml");
        std::fs::write(&path, draft(&theme(), "ja-contact-center")).expect("write");
        let rules = voc_core::rules::RuleSet::load(&path).expect("the draft compiles");
        assert!(
            rules
                .topics
                .iter()
                .any(|(id, name)| id == "theme_0c8bea81" && name == "勝手・喋る・夜中")
        );
        assert!(rules.version.starts_with("suggested-th-0c8bea81@"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn verbs_and_adjectives_match_by_base_form_and_nouns_and_negations_literally() {
        assert_eq!(item("喋る"), "=喋る");
        assert_eq!(item("怖い"), "=怖い");
        assert_eq!(item("夜中"), "夜中");
        assert_eq!(item("届かない"), "届かない");
    }
}
