//! Building the analyzer from settings: rules, dictionary (built on first use), user dictionary.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use voc_core::dictionary::{self, DictionaryOrigin};
use voc_core::tokenize::Tokenizer;
use voc_core::{Analyzer, RuleSet};

use crate::settings::AnalysisSettings;

/// The real dialogue corpus in the repository (data/corpus/README.md): the default input of the
/// benchmarks and the demo's real voices, relative to the repository root.
pub const DIALOGUES: &str = "data/corpus/jmultiwoz-dialogues.jsonl.gz";

/// Loads the rules named in the settings, or the bundled default.
pub fn load_rules(settings: &AnalysisSettings) -> anyhow::Result<RuleSet> {
    let rules = match &settings.rules {
        Some(path) => RuleSet::load(path)?,
        None => RuleSet::bundled()?,
    };
    tracing::debug!(version = %rules.version, source = %rules.source, rules = rules.rule_count(), "rules loaded");
    Ok(rules)
}

/// Finds or builds the dictionary and returns a tokenizer over it.
pub fn load_tokenizer(settings: &AnalysisSettings) -> anyhow::Result<Tokenizer> {
    let sources = settings
        .dictionary_sources
        .as_deref()
        .unwrap_or(Path::new(dictionary::DEBIAN_IPADIC_SOURCES));
    let origin = dictionary::ensure_dictionary(settings.dictionary.as_deref(), sources)?;
    if let DictionaryOrigin::Built { dir, sources } = &origin {
        tracing::info!(
            "built the IPADIC dictionary from {} into {} (first use; set VOC_DICT to reuse it elsewhere)",
            sources.display(),
            dir.display()
        );
    }
    let dict = dictionary::load_dictionary(origin.dir())?;
    let user = match &settings.user_dictionary {
        Some(csv) => Some(dictionary::load_user_dictionary(csv)?),
        None => None,
    };
    Ok(Tokenizer::new(dict, user))
}

/// Rules plus tokenizer: what every analysing command needs.
pub fn analyzer(settings: &AnalysisSettings) -> anyhow::Result<Analyzer> {
    let rules = load_rules(settings).context("invalid rules")?;
    let tokenizer = load_tokenizer(settings).context("dictionary unavailable")?;
    Ok(Analyzer::new(Arc::new(rules), tokenizer))
}
