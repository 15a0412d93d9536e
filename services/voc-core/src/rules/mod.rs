//! Taxonomy rules as data: a versioned TOML file compiled once into matchers.
//!
//! - `file`: the file format (serde, with spans for error lines);
//! - `compile`: item syntax → atoms and rules, with file/line/rule errors;
//! - `matcher`: finding atom hits in one document and deciding which rules fire;
//! - `triggers`: the literals a rule regex's matches begin with, so it runs only where they occur;
//! - `layers`: a file that extends another (`extends = "ja-contact-center"`), merged;
//! - `diff`: what changed between two rules files.

mod compile;
pub mod diff;
mod file;
pub mod layers;
pub(crate) mod matcher;
mod triggers;

use std::collections::HashSet;
use std::path::Path;

use crate::labels::VoiceType;
use crate::model::TextModel;

pub use compile::RulesError;
pub(crate) use compile::{AtomSpec, Atoms, LexiconEntry, Rule};
/// Tunables of the decision, from the file's `[settings]`.
pub(crate) use file::Settings;

/// The bundled default taxonomy for Japanese contact centres (docs/TAXONOMY.md).
pub const DEFAULT_RULES: &str = include_str!("../../../../config/rules/ja-contact-center.toml");
pub const DEFAULT_RULES_NAME: &str = "config/rules/ja-contact-center.toml";

/// The parts the bundled default includes, by the path its `include` names them with.
pub(crate) const BUNDLED_PARTS: &[(&str, &str)] = &[
    (
        "ja-contact-center/labels.toml",
        include_str!("../../../../config/rules/ja-contact-center/labels.toml"),
    ),
    (
        "ja-contact-center/lexicon.toml",
        include_str!("../../../../config/rules/ja-contact-center/lexicon.toml"),
    ),
    (
        "ja-contact-center/rules.toml",
        include_str!("../../../../config/rules/ja-contact-center/rules.toml"),
    ),
    (
        "ja-contact-center/tuning.toml",
        include_str!("../../../../config/rules/ja-contact-center/tuning.toml"),
    ),
];

/// Models bundled with the default rules, by the path their `[model] file` names them with.
pub(crate) const BUNDLED_MODELS: &[(&str, &[u8])] = &[(
    "ja-contact-center/model.json.gz",
    include_bytes!("../../../../config/rules/ja-contact-center/model.json.gz"),
)];

/// The learned model and the probabilities at which it may change what the rules decided
/// (each documented on `[model]`'s keys; `None`: never, or as documented there).
#[derive(Debug)]
pub(crate) struct ModelGate {
    pub model: TextModel,
    pub complaint: f32,
    pub veto: Option<f32>,
    pub topic: f32,
    pub another_topic: f32,
    /// `another_topic` of the topics named, by id.
    pub another_topic_for: Vec<(String, f32)>,
    pub positive: f32,
    pub voice: f32,
    pub sentiment: Option<f32>,
    pub complaint_type: Option<f32>,
}

impl ModelGate {
    /// The probability at which the model adds `topic` to a voice the rules gave topics.
    pub fn another_topic(&self, topic: &str) -> f32 {
        self.another_topic_for
            .iter()
            .find(|(t, _)| t == topic)
            .map_or(self.another_topic, |(_, p)| *p)
    }
}

/// What a rule assigns when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    Topic(String),
    Voice(VoiceType),
    Complaint(String),
    /// Severity floor: 2 (strong emotion, repetition, harm) or 3 (escalation).
    Severity(u8),
    Churn,
    /// A phrase-level sentiment cue; the rule's weight is its signed polarity.
    Sentiment,
}

impl Label {
    fn parse(s: &str, topics: &[String], complaints: &[String]) -> Result<Self, String> {
        let known = |list: &[String], id: &str, what: &str| {
            if list.iter().any(|x| x == id) {
                Ok(id.to_string())
            } else {
                Err(format!(
                    "unknown {what} `{id}` (declared: {})",
                    list.join(", ")
                ))
            }
        };
        match s.split_once(':') {
            Some(("topic", id)) => known(topics, id, "topic").map(Self::Topic),
            Some(("voice", id)) => id.parse().map(Self::Voice).map_err(|e| e.to_string()),
            Some(("complaint", id)) => known(complaints, id, "complaint type").map(Self::Complaint),
            Some(("severity", "2")) => Ok(Self::Severity(2)),
            Some(("severity", "3")) => Ok(Self::Severity(3)),
            None if s == "churn" => Ok(Self::Churn),
            None if s == "sentiment" => Ok(Self::Sentiment),
            _ => Err(format!(
                "unknown label `{s}`: use topic:ID, voice:ID, complaint:ID, severity:2, severity:3, churn or sentiment"
            )),
        }
    }

    /// The label as written in evidence: `topic:billing`, `churn`, ….
    pub fn as_evidence(&self) -> String {
        match self {
            Self::Topic(id) => format!("topic:{id}"),
            Self::Voice(id) => format!("voice:{id}"),
            Self::Complaint(id) => format!("complaint:{id}"),
            Self::Severity(n) => format!("severity:{n}"),
            Self::Churn => "churn".into(),
            Self::Sentiment => "sentiment".into(),
        }
    }
}

/// A compiled rules file. Immutable; share it behind an `Arc` across threads.
#[derive(Debug)]
pub struct RuleSet {
    pub version: String,
    /// The learned second opinion, if the rules name one (`[model]`).
    pub(crate) model: Option<ModelGate>,
    /// Where the rules came from (a path, or the bundled default's name).
    pub source: String,
    pub(crate) settings: Settings,
    pub topics: Vec<(String, String)>,
    pub voice_types: Vec<(String, String)>,
    pub complaint_types: Vec<(String, String)>,
    pub(crate) complaint_defaults: Vec<(String, String)>,
    pub(crate) channel_topics: Vec<(String, String)>,
    pub(crate) complaint_topics: Vec<(String, String)>,
    pub(crate) stop_words: HashSet<String>,
    pub(crate) max_keywords: usize,
    pub(crate) intensifiers: HashSet<String>,
    pub(crate) contrast: HashSet<String>,
    pub(crate) excess: HashSet<String>,
    pub(crate) conditional: Vec<String>,
    pub(crate) hypothetical: Vec<String>,
    pub(crate) worry: Vec<String>,
    /// The admissions of `own_mishap`, searched in one pass over a text (None when there are none).
    pub(crate) own_mishap: Option<aho_corasick::AhoCorasick>,
    pub(crate) own_mishap_verbs: Vec<String>,
    pub(crate) own_mishap_subjects: Vec<String>,
    pub(crate) asked_failures: Vec<String>,
    pub(crate) irony: Vec<String>,
    pub(crate) recurrence: Vec<String>,
    pub(crate) wish_endings: Vec<String>,
    pub(crate) denying_tails: Vec<String>,
    pub(crate) absence_tails: Vec<String>,
    pub(crate) negated_verb_exceptions: HashSet<String>,
    pub(crate) negated_verb_not_before: Vec<String>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) lexicon: Vec<LexiconEntry>,
    /// Atom id → the lexicon entries using it, so a document only visits entries with hits.
    pub(crate) lexicon_by_atom: Vec<Vec<usize>>,
    pub(crate) atoms: Atoms,
    /// The literals and lemmas of all atoms.
    pub(crate) terms: foldhash::HashSet<String>,
}

impl RuleSet {
    /// Compiles rules from source text; `name` is used in error messages.
    pub fn from_source(src: &str, name: &str) -> Result<Self, RulesError> {
        compile::compile(src, name)
    }

    /// The bundled default taxonomy.
    pub fn bundled() -> Result<Self, RulesError> {
        Self::from_source(
            DEFAULT_RULES,
            &format!("{DEFAULT_RULES_NAME}{}", layers::BUNDLED_SUFFIX),
        )
    }

    /// Loads and compiles a rules file.
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| RulesError {
            file: name.clone(),
            line: 0,
            rule: None,
            message: format!("cannot read the rules file: {e}"),
        })?;
        Self::from_source(&src, &name)
    }

    /// Whether the rules name this term, as a literal or a lemma: the company's own vocabulary
    /// (product and service names), which the name masker must leave alone.
    pub fn knows_term(&self, term: &str) -> bool {
        self.terms.contains(term)
    }

    /// The model beside the rules: its name, features and heads, for `voc rules check`.
    pub fn model(&self) -> Option<&TextModel> {
        self.model.as_ref().map(|g| &g.model)
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = "test@1"
[labels]
topics = [["billing", "料金"]]
voice_types = [["complaint","苦情"],["request","要望"],["question","質問"],["procedure","手続き"],["praise","感謝"],["other","その他"]]
complaint_types = [["quality","品質"],["billing","料金"]]
"#;

    /// The bundled rules' regexes run only where one of their prefixes occurs, except those
    /// whose start no short list of literals covers (a guard on the matcher's cost: a regex
    /// without prefixes is a full scan of every document).
    #[test]
    fn bundled_regexes_mostly_have_prefixes() {
        let rules = RuleSet::bundled().unwrap();
        let regexes = &rules.atoms.regexes;
        let untriggered: Vec<&str> = regexes
            .iter()
            .filter(|r| !r.triggered)
            .map(|r| r.regex.as_str())
            .collect();
        assert!(regexes.len() >= 20);
        assert!(untriggered.len() * 5 <= regexes.len(), "{untriggered:?}");
    }

    /// Every match of every bundled regex with prefixes, over the customer texts of every
    /// labeled set, starts where one of its prefixes occurs: the property that lets the matcher
    /// run a regex only from there (`find_at` then sees the same text and finds the same matches).
    #[test]
    fn every_bundled_regex_match_starts_at_one_of_its_prefixes() {
        let rules = RuleSet::bundled().unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/eval");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let turns = v["turns"].as_array().into_iter().flatten();
                texts.extend(
                    std::iter::once(&v["text"])
                        .chain(turns.map(|t| &t["text"]))
                        .filter_map(|t| t.as_str().map(str::to_string)),
                );
            }
        }
        assert!(texts.len() > 1_000, "{} texts", texts.len());
        let mut matches = 0;
        for r in rules.atoms.regexes.iter().filter(|r| r.triggered) {
            let prefixes = triggers::prefixes(r.regex.as_str()).unwrap();
            for t in &texts {
                for m in r.regex.find_iter(t) {
                    matches += 1;
                    assert!(
                        prefixes
                            .iter()
                            .any(|p| t.as_bytes()[m.start()..].starts_with(p)),
                        "{}: {:?} in {t:?}",
                        r.regex.as_str(),
                        m.as_str()
                    );
                }
            }
        }
        assert!(matches > 500, "only {matches} matches to check");
    }

    fn with_rule(rule: &str) -> Result<RuleSet, RulesError> {
        RuleSet::from_source(&format!("{MINIMAL}\n{rule}"), "rules.toml")
    }

    #[test]
    fn the_bundled_rules_compile() {
        let rules = RuleSet::bundled().expect("bundled rules must compile");
        assert!(rules.rule_count() > 20);
        assert!(rules.version.starts_with("ja-contact-center@"));
    }

    #[test]
    fn errors_name_file_line_and_rule() {
        let err =
            with_rule("[[rule]]\nid = \"x.bad\"\nlabel = \"topic:billing\"\nany = [\"/([a-/\"]\n")
                .unwrap_err();
        assert_eq!(err.file, "rules.toml");
        assert_eq!(err.line, 11, "{err}");
        assert_eq!(err.rule.as_deref(), Some("x.bad"));
        assert!(
            err.to_string()
                .starts_with("rules.toml:11: rule `x.bad`: invalid regex"),
            "{err}"
        );
    }

    #[test]
    fn unknown_labels_and_fields_are_rejected() {
        let err =
            with_rule("[[rule]]\nid = \"a\"\nlabel = \"topic:nope\"\nany = [\"x\"]\n").unwrap_err();
        assert!(err.message.contains("unknown topic `nope`"), "{err}");
        let err = with_rule("[[rule]]\nid = \"a\"\nlabel = \"topic:billing\"\nanyy = [\"x\"]\n")
            .unwrap_err();
        assert!(err.message.contains("anyy"), "{err}");
        assert_eq!(err.line, 11);
    }

    #[test]
    fn worry_and_courtesy_must_name_a_lexicon_entry_and_no_list_holds_an_empty_entry() {
        let ok = "[sentiment]\nworry = [\"不安\"]\n[sentiment.words]\n\"不安\" = -1.0\n";
        assert!(with_rule(ok).is_ok());
        let typo = "[sentiment]\nworry = [\"不案\"]\n[sentiment.words]\n\"不安\" = -1.0\n";
        let err = with_rule(typo).unwrap_err();
        assert_eq!(err.rule.as_deref(), Some("sentiment.worry"), "{err}");
        assert!(err.message.contains("`不案`"), "{err}");
        let typo =
            "[sentiment]\ncourtesy = [\"有難う\"]\n[sentiment.words]\n\"ありがとう\" = 0.5\n";
        let err = with_rule(typo).unwrap_err();
        assert_eq!(err.rule.as_deref(), Some("sentiment.courtesy"), "{err}");
        // An empty entry would make every sentence an own mishap.
        let empty = "[sentiment]\nown_mishap = [\"\"]\n";
        let err = with_rule(empty).unwrap_err();
        assert_eq!(err.rule.as_deref(), Some("sentiment.own_mishap"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_bad_patterns_are_rejected() {
        let two = "[[rule]]\nid = \"a\"\nlabel = \"churn\"\nany = [\"x\"]\n[[rule]]\nid = \"a\"\nlabel = \"churn\"\nany = [\"y\"]\n";
        assert!(with_rule(two).unwrap_err().message.contains("duplicate"));
        let bad = "[[rule]]\nid = \"p\"\nlabel = \"churn\"\npatterns = [\"認証コード ... \"]\n";
        assert!(
            with_rule(bad)
                .unwrap_err()
                .message
                .contains("two or more items")
        );
        let none = "[[rule]]\nid = \"p\"\nlabel = \"churn\"\n";
        assert!(
            with_rule(none)
                .unwrap_err()
                .message
                .contains("needs `any` or `patterns`")
        );
    }
}
