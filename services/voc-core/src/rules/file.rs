//! The rules file as written by people: serde structs that keep source spans for error messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesFile {
    /// Required in the file a rule set is loaded from; the files it includes have none.
    #[serde(default = "no_version")]
    pub version: Spanned<String>,
    /// Files holding parts of this one (labels, lexicon, rules, tuning), relative to it; merged
    /// in order beneath it, as if written here. They may not include or extend others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<Spanned<String>>,
    /// The rules this file builds on: `ja-contact-center` (the bundled default) or a path
    /// relative to this file. See `layers` for how the two merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Overrides of [`Settings`], key by key (a table, so an extending file names only what
    /// it changes).
    #[serde(default)]
    pub settings: toml::Table,
    #[serde(default)]
    pub labels: Labels,
    /// Named word classes (`staff = ["店員", "受付の人", …]`), used in items as `@staff`.
    #[serde(default)]
    pub classes: BTreeMap<String, Vec<Spanned<String>>>,
    /// Ids of rules of the extended file to switch off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<Spanned<String>>,
    #[serde(default)]
    pub keywords: KeywordSettings,
    #[serde(default)]
    pub sentiment: SentimentSettings,
    /// topic id → complaint type used when no complaint-type rule fires.
    #[serde(default)]
    pub complaint_defaults: BTreeMap<String, Spanned<String>>,
    /// channel → topic assigned when no topic rule decides (reviews are about the product).
    #[serde(default)]
    pub channel_topics: BTreeMap<String, Spanned<String>>,
    /// complaint type → topic given to a complaint of that type that no topic rule named
    /// (something failed: the thing bought or used).
    #[serde(default)]
    pub complaint_topics: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RuleDef>>,
    /// The learned model beside the rules, and when it may add what they missed.
    #[serde(default)]
    pub model: ModelDef,
}

/// `[model]`: a model file (`voc model train` writes one; see `crate::model`) and the
/// probabilities at which it may change what the rules decided (`decide.rs`). Key by key across
/// `extends`, except that a file naming another model brings its own thresholds: thresholds are
/// chosen for one model.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelDef {
    /// Relative to the file that names it; `""` switches off the model of an extended file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Spanned<String>>,
    /// P(complaint) at which a voice the rules judged otherwise becomes a complaint (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<Spanned<f64>>,
    /// P(complaint) below which a voice the rules judged a complaint, without an escalation, is
    /// not one (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub veto: Option<Spanned<f64>>,
    /// P(topic) at which a topic is added to a voice the rules gave none (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Spanned<f64>>,
    /// P(topic) at which a topic is added to a voice the rules gave topics (default: `topic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub another_topic: Option<Spanned<f64>>,
    /// `another_topic` for the topics named, by topic id (`{ product = 0.6 }`): a topic the
    /// model adds too readily to a voice already placed. Key by key across `extends`, except
    /// that a file setting `another_topic` drops the inherited ones it does not restate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub another_topic_for: BTreeMap<String, Spanned<f64>>,
    /// P(positive) at which a voice the rules left neutral is positive (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<Spanned<f64>>,
    /// P of its likeliest voice type at which a voice the rules could only call `other` takes it
    /// (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Spanned<f64>>,
    /// P of its likeliest polarity at which it replaces the one the voice type left, never
    /// against the lexicon's own (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Spanned<f64>>,
    /// P of its likeliest complaint type at which it replaces the rules' choice (default: only
    /// when no complaint-type rule fired, where the rules could only guess from the topic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_type: Option<Spanned<f64>>,
    /// Where `file` resolves, set when the file naming it is read.
    #[serde(skip)]
    pub source: Option<ModelSource>,
}

impl ModelDef {
    /// The thresholds by key, for checks and span shifting.
    pub fn thresholds_mut(&mut self) -> [(&'static str, &mut Option<Spanned<f64>>); 8] {
        [
            ("complaint", &mut self.complaint),
            ("veto", &mut self.veto),
            ("topic", &mut self.topic),
            ("another_topic", &mut self.another_topic),
            ("positive", &mut self.positive),
            ("voice", &mut self.voice),
            ("sentiment", &mut self.sentiment),
            ("complaint_type", &mut self.complaint_type),
        ]
    }
}

/// Where a rules file's model comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModelSource {
    /// No model (`file = ""`).
    Off,
    /// A model embedded in the binary with the bundled rules.
    Bundled(&'static str),
    /// A file on disk.
    Path(std::path::PathBuf),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Settings {
    /// Default maximum distance in tokens between consecutive items of a pattern.
    pub window: usize,
    /// |sentiment score| at or above which a voice is positive or negative.
    pub sentiment_threshold: f64,
    /// Summed rule weight at which a topic is assigned.
    pub topic_threshold: f64,
    /// Complaint type when neither a rule nor a topic default decides.
    pub complaint_fallback: String,
    /// Weight of sentiment cues before a contrastive connective (良いけど、…): the point comes after.
    pub before_contrast_weight: f64,
    /// Multiplier for a sentiment cue right after an intensifier (すごく, 本当に).
    pub intensifier_factor: f64,
    /// Factor applied to a negated positive word (良くない): it turns negative.
    pub negated_positive_factor: f64,
    /// Factor applied to a negated negative word (不満はない): weakly positive, mostly neutral.
    pub negated_negative_factor: f64,
    /// Weight of any other negated action verb (鳴らない, 反映されない): in a customer's words it
    /// is usually a failure report.
    pub negated_verb_weight: f64,
    /// Weight of an excess (〜すぎる) after a word without polarity of its own.
    pub excess_weight: f64,
    /// Added to the complaint type the customer raised first: the first problem is usually the point.
    pub first_mention_bonus: f64,
    /// Factor for a positive word in a question (どれがいいですか): asking is not praising.
    pub question_positive_factor: f64,
    /// Factor for a positive word in a wish (もっと丁寧に書いてほしい): it says what is lacking.
    pub wish_positive_factor: f64,
    /// Factor for a negative cue the customer only supposes in a question (壊れた場合、修理は
    /// 無料ですか; 解約したら見られなくなりますか): a case asked about has not happened.
    pub hypothetical_negative_factor: f64,
    /// Summed complaint-type weight at which a voice that scores negative at all is a complaint,
    /// whatever request or question follows (a stated failure wins, docs/TAXONOMY.md).
    pub failure_weight: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            window: 8,
            sentiment_threshold: 0.6,
            topic_threshold: 1.0,
            complaint_fallback: "quality".into(),
            before_contrast_weight: 0.5,
            intensifier_factor: 1.5,
            negated_positive_factor: -0.8,
            negated_negative_factor: -0.3,
            first_mention_bonus: 0.5,
            excess_weight: -1.2,
            negated_verb_weight: -0.8,
            question_positive_factor: 0.3,
            wish_positive_factor: -0.5,
            hypothetical_negative_factor: 0.0,
            failure_weight: 2.0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Labels {
    /// `[id, 表示名]` pairs, in display order.
    pub topics: Vec<(String, String)>,
    pub voice_types: Vec<(String, String)>,
    pub complaint_types: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KeywordSettings {
    /// Base forms never reported as keywords.
    pub stop: Vec<String>,
    /// At most this many keywords per interaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SentimentSettings {
    /// Base forms that strengthen the next sentiment cue.
    pub intensifiers: Vec<String>,
    /// Conjunctive particles (接続助詞) and sentence openers after which the main point comes.
    pub contrast: Vec<String>,
    /// Base forms of excess (高すぎる): they strengthen a sentiment word before them, or make a
    /// neutral one (高い, 多い) a complaint of their own.
    pub excess: Vec<String>,
    /// Markers of a conditional wish anywhere in a sentence (〜てくれると, 〜があれば): positive
    /// words there are hopes, not praise.
    pub conditional: Vec<String>,
    /// Markers of a supposed case (場合, たら, とき): in a question, a negative word just before
    /// one, or after one at the question's very end, is asked about, not reported
    /// (`settings.hypothetical_negative_factor`).
    pub hypothetical: Vec<String>,
    /// Lexicon entries (their names) of worry (不安, 心配): in a voice that asks, requests or
    /// applies for something, the customer's state of mind, not a failure of the company.
    pub worry: Vec<String>,
    /// Lexicon entries (their names) of routine courtesy (ありがとう): counted once per voice, by
    /// its strongest hit, since a customer who thanks the agent after every answer of a chat is
    /// no more pleased than one who thanks once.
    pub courtesy: Vec<String>,
    /// Admissions of a mishap (自分のミス): negative words in their clause, and in the sentence
    /// before one that opens its sentence, are the customer's doing, not the company's, in a
    /// voice that asks for help (`own_mishap.rs`).
    pub own_mishap: Vec<String>,
    /// Verbs the customer does, as written before て (押し, 消し, 間違え): one followed by しまう or
    /// ちゃう (押してしまった, 消しちゃった) states an own mishap like `own_mishap`.
    pub own_mishap_verbs: Vec<String>,
    /// Who may be named as the subject (〜が) of an own mishap: the customer and family (私が,
    /// 母が). Another subject (配送業者が落としてしまい) is someone else's mishap.
    pub own_mishap_subjects: Vec<String>,
    /// Words of a failure that a question may ask about by name (故障, 不具合): one right before a
    /// question's copula (故障でしょうか) is supposed, not reported.
    pub asked_failures: Vec<String>,
    /// Verbs whose negation is not a failure report (わからない is a question, 問題ない is fine).
    pub negated_verb_exceptions: Vec<String>,
    /// Text right after a negated verb that makes it a condition, invitation or instruction
    /// rather than a failure (来ないと…, 〜ませんか, 〜ないでください).
    pub negated_verb_not_before: Vec<String>,
    /// Marks of irony (さすが, 👏): positive words in a sentence holding one count against the
    /// voice when it also reports a failure.
    pub irony: Vec<String>,
    /// Marks of a recurring problem (また, 三回目): praise followed in its sentence by one and then
    /// by a failure is sarcasm (素晴らしい対応ですね、また届いていません).
    pub recurrence: Vec<String>,
    /// Text right after a positive word that denies it (とは思えない, ほどではない).
    pub denying_tails: Vec<String>,
    /// Predicates of absence (ありませんでした, 見当たらない, 感じなかった): a negative word followed
    /// in its clause by a topic particle and one of them is said to be absent (不満な点は特に
    /// ありませんでした, 汚れは一切見当たりません), so it is negated like 不満はない.
    pub absence_tails: Vec<String>,
    /// Endings that make the clause before them a wish (〜てほしい): what is wished for is not
    /// there yet, so praise words before them are hopes.
    pub wish_endings: Vec<String>,
    /// Lexicon: item (same syntax as rule items) → polarity weight.
    pub words: BTreeMap<String, Spanned<f64>>,
    /// Lexicon entries with many alternatives, one per line: the same as a `words` entry whose
    /// item is the words joined by `|` (and named so in evidence).
    #[serde(default, skip_serializing)]
    pub group: Vec<LexiconGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LexiconGroup {
    pub weight: Spanned<f64>,
    pub words: Vec<Spanned<String>>,
}

fn no_version() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    /// Items match within one sentence; `not` excludes the sentence.
    #[default]
    Sentence,
    /// Items match anywhere in the customer's words; `not` excludes the whole interaction.
    Document,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    pub id: Spanned<String>,
    pub label: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<Spanned<String>>,
    #[serde(default = "one")]
    pub weight: Spanned<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    #[serde(default)]
    pub scope: Scope,
    /// A topic mention that is often only the setting of another matter (a device named in a
    /// question about a plan): in a question or a procedure asked for, its weight counts only
    /// when no other topic reached the threshold (`decide::topics`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub setting: bool,
}

fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}
