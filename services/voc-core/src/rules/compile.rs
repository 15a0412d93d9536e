//! Compiling a rules file into matchers, once at start-up. Every mistake is reported with the file,
//! line and rule id, so a support lead editing the file can fix it.
//!
//! Item syntax (in `any`, `not`, `patterns` and the sentiment lexicon):
//! - `請求`        literal text, matched anywhere in the (normalised, masked) sentence;
//! - `=届く`       a word by its base form, in any conjugation (届く, 届きます, 届かない);
//! - `!届く`       the same word, negated only (届かない, 届きません, 届いていない);
//! - `/二重.{0,3}請求/` a regular expression;
//! - `a|b|=c`      any of several alternatives;
//! - `@staff`      any entry of the class `staff` (`[classes]`), itself an alternative;
//! - patterns join items with ` ... `: each next item within `window` tokens after the previous.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::file::{ModelDef, ModelSource, RuleDef, Scope, Settings};
use super::layers::{self, Chain};
use super::{BUNDLED_MODELS, Label, ModelGate, RuleSet};
use crate::labels::VoiceType;
use crate::model::TextModel;

/// A rules file that cannot be used: where, which rule, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{message}", rule.as_ref().map(|r| format!("rule `{r}`: ")).unwrap_or_default())]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub rule: Option<String>,
    pub message: String,
}

/// One alternative of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AtomSpec {
    Literal(String),
    Lemma { base: String, negated_only: bool },
    Regex(String),
}

/// Atoms are numbered; every item refers to atom ids, and a document's hits are computed once
/// per atom (one Aho-Corasick pass for all literals and regex prefixes, one hash lookup per token
/// for lemmas, each regex from the first place one of its prefixes occurs).
#[derive(Debug)]
pub(crate) struct Atoms {
    pub specs: Vec<AtomSpec>,
    pub literal_automaton: Option<AhoCorasick>,
    /// Aho-Corasick pattern index → atom id, for the literals. The automaton's later patterns
    /// are regex prefixes ([`super::triggers`]): pattern `literal_atoms.len() + k` is a prefix of
    /// regex `trigger_regex[k]`.
    pub literal_atoms: Vec<usize>,
    pub trigger_regex: Vec<usize>,
    /// Base form → (atom id, negated only).
    pub lemmas: foldhash::HashMap<String, Vec<(usize, bool)>>,
    pub regexes: Vec<AtomRegex>,
}

/// A regex atom, compiled.
#[derive(Debug)]
pub(crate) struct AtomRegex {
    pub atom: usize,
    pub regex: Regex,
    /// Its matches all begin with one of its prefixes in the literal automaton, so it runs only
    /// from the first place one occurs; otherwise it runs over the whole text.
    pub triggered: bool,
}

/// An item: atom ids, any of which matches.
pub(crate) type Item = Vec<usize>;

#[derive(Debug)]
pub(crate) struct Rule {
    pub id: String,
    pub label: Label,
    pub weight: f64,
    pub any: Vec<Item>,
    pub patterns: Vec<Vec<Item>>,
    pub not: Vec<Item>,
    pub window: usize,
    pub scope: Scope,
    /// Only the setting of another matter in a voice that asks (`RuleDef::setting`).
    pub setting: bool,
}

#[derive(Debug)]
pub(crate) struct LexiconEntry {
    /// The item as written, for evidence.
    pub name: String,
    pub item: Item,
    pub weight: f64,
    /// Named in `sentiment.courtesy`: routine politeness, counted once (set at start-up).
    pub courtesy: bool,
}

struct Ctx<'s> {
    chain: &'s Chain,
    specs: Vec<AtomSpec>,
    index: HashMap<AtomSpec, usize>,
    /// Class name → its entries, with where each is written.
    classes: HashMap<String, Vec<(AtomSpec, Range<usize>)>>,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        rule: Option<&str>,
        message: impl Into<String>,
    ) -> RulesError {
        let (file, line) = self.chain.locate(span);
        RulesError {
            file: file.to_string(),
            line,
            rule: rule.map(str::to_string),
            message: message.into(),
        }
    }

    fn atom(&mut self, spec: AtomSpec) -> usize {
        if let Some(id) = self.index.get(&spec) {
            return *id;
        }
        let id = self.specs.len();
        self.specs.push(spec.clone());
        self.index.insert(spec, id);
        id
    }

    fn item(&mut self, text: &Spanned<String>, rule: Option<&str>) -> Result<Item, RulesError> {
        let raw = text.get_ref().trim();
        if raw.is_empty() {
            return Err(self.err(text.span(), rule, "empty item"));
        }
        let mut atoms = Vec::new();
        // A regex may itself contain `|`, so it is taken whole rather than split.
        let alternatives: Vec<&str> = if raw.starts_with('/') {
            vec![raw]
        } else {
            raw.split('|').map(str::trim).collect()
        };
        for alt in alternatives {
            let negated_class = alt.strip_prefix("!@");
            if let Some(class) = alt.strip_prefix('@').or(negated_class) {
                let Some(specs) = self.classes.get(class).cloned() else {
                    let mut known: Vec<&str> = self.classes.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    let known = if known.is_empty() {
                        "no [classes] are defined".to_string()
                    } else {
                        format!("classes: {}", known.join(", "))
                    };
                    return Err(self.err(
                        text.span(),
                        rule,
                        format!("unknown class `@{class}` ({known})"),
                    ));
                };
                for (spec, entry_span) in specs {
                    let spec = match (negated_class.is_some(), spec) {
                        (false, spec) => spec,
                        (true, AtomSpec::Lemma { base, .. }) => AtomSpec::Lemma {
                            base,
                            negated_only: true,
                        },
                        (true, AtomSpec::Literal(word) | AtomSpec::Regex(word)) => {
                            // The entry is at fault (perhaps in another file), not the rule.
                            let (file, line) = self.chain.locate(entry_span);
                            return Err(RulesError {
                                file: file.to_string(),
                                line,
                                rule: rule.map(str::to_string),
                                message: format!(
                                    "class `{class}` is used negated (`!@{class}`), so its entries \
                                     must be words by base form: write `={word}`, not `{word}`"
                                ),
                            });
                        }
                    };
                    atoms.push(self.atom(spec));
                }
                continue;
            }
            let spec = self.alternative(alt, raw, text.span(), rule)?;
            atoms.push(self.atom(spec));
        }
        Ok(atoms)
    }

    /// One alternative of an item (`請求`, `=届く`, `!届く`, `/regex/`) as an atom spec, not yet
    /// numbered: class entries become atoms only where a rule uses them.
    fn alternative(
        &self,
        alt: &str,
        raw: &str,
        span: Range<usize>,
        rule: Option<&str>,
    ) -> Result<AtomSpec, RulesError> {
        let spec = if let Some(body) = alt.strip_prefix('/') {
            let Some(pattern) = body.strip_suffix('/') else {
                return Err(self.err(
                    span.clone(),
                    rule,
                    format!("regex item {alt:?} must end with `/`"),
                ));
            };
            if let Err(e) = Regex::new(pattern) {
                return Err(self.err(
                    span.clone(),
                    rule,
                    format!("invalid regex {pattern:?}: {e}"),
                ));
            }
            AtomSpec::Regex(pattern.to_string())
        } else if let Some(base) = alt.strip_prefix('=') {
            AtomSpec::Lemma {
                base: base.to_string(),
                negated_only: false,
            }
        } else if let Some(base) = alt.strip_prefix('!') {
            AtomSpec::Lemma {
                base: base.to_string(),
                negated_only: true,
            }
        } else {
            AtomSpec::Literal(alt.to_string())
        };
        let empty = match &spec {
            AtomSpec::Literal(s) | AtomSpec::Regex(s) => s.is_empty(),
            AtomSpec::Lemma { base, .. } => base.is_empty(),
        };
        if empty || alt.contains("...") {
            return Err(self.err(
                span.clone(),
                rule,
                format!("empty alternative or stray `...` in item {raw:?}"),
            ));
        }
        Ok(spec)
    }
}

/// Parses and compiles a rules file and the files it extends; `file` names it in errors.
pub(crate) fn compile(src: &str, file: &str) -> Result<RuleSet, RulesError> {
    let chain = layers::load(file, src)?;
    let parsed = chain.merged.clone();
    let mut ctx = Ctx {
        chain: &chain,
        specs: Vec::new(),
        index: HashMap::new(),
        classes: HashMap::new(),
    };
    for (name, entries) in &parsed.classes {
        let label = format!("classes.{name}");
        let rid = Some(label.as_str());
        let mut specs = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.get_ref().contains(['|', '@']) && !entry.get_ref().starts_with('/') {
                return Err(ctx.err(
                    entry.span(),
                    rid,
                    format!(
                        "class `{name}`: entry {:?} must be one word or pattern (no `|` or `@`)",
                        entry.get_ref()
                    ),
                ));
            }
            let raw = entry.get_ref().trim();
            specs.push((ctx.alternative(raw, raw, entry.span(), rid)?, entry.span()));
        }
        ctx.classes.insert(name.clone(), specs);
    }
    let settings: Settings = Settings::deserialize(toml::Value::Table(parsed.settings.clone()))
        .map_err(|e| ctx.err(0..0, None, format!("[settings]: {e}")))?;

    let version = parsed.version.get_ref().trim().to_string();
    if version.is_empty() {
        return Err(ctx.err(parsed.version.span(), None, "`version` must not be empty"));
    }
    let topics: Vec<String> = parsed
        .labels
        .topics
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let voice_types: Vec<String> = parsed
        .labels
        .voice_types
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let complaint_types: Vec<String> = parsed
        .labels
        .complaint_types
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    // The decision chooses between exactly these voice types; a file names them (and may
    // rename their display names) but cannot add or drop one.
    for id in &voice_types {
        if let Err(e) = id.parse::<VoiceType>() {
            return Err(ctx.err(0..0, None, format!("labels.voice_types: {e}")));
        }
    }
    for required in VoiceType::NAMES {
        if !voice_types.iter().any(|v| v == required) {
            return Err(ctx.err(
                0..0,
                None,
                format!("labels.voice_types must include `{required}`"),
            ));
        }
    }
    let s = &settings;
    if !complaint_types.contains(&s.complaint_fallback) {
        return Err(ctx.err(
            0..0,
            None,
            format!(
                "settings.complaint_fallback `{}` is not a complaint type",
                s.complaint_fallback
            ),
        ));
    }
    let mut complaint_defaults = Vec::new();
    for (topic, ct) in &parsed.complaint_defaults {
        if !topics.contains(topic) {
            return Err(ctx.err(
                ct.span(),
                None,
                format!("complaint_defaults: unknown topic `{topic}`"),
            ));
        }
        if !complaint_types.contains(ct.get_ref()) {
            return Err(ctx.err(
                ct.span(),
                None,
                format!(
                    "complaint_defaults: unknown complaint type `{}`",
                    ct.get_ref()
                ),
            ));
        }
        complaint_defaults.push((topic.clone(), ct.get_ref().clone()));
    }

    let channels = ["phone", "chat", "email", "sns", "review", "form", "other"];
    let mut channel_topics = Vec::new();
    for (channel, topic) in &parsed.channel_topics {
        if !channels.contains(&channel.as_str()) {
            return Err(ctx.err(
                topic.span(),
                None,
                format!("channel_topics: unknown channel `{channel}`"),
            ));
        }
        if !topics.contains(topic.get_ref()) {
            return Err(ctx.err(
                topic.span(),
                None,
                format!("channel_topics: unknown topic `{}`", topic.get_ref()),
            ));
        }
        channel_topics.push((channel.clone(), topic.get_ref().clone()));
    }

    let mut complaint_topics = Vec::new();
    for (ct, topic) in &parsed.complaint_topics {
        if !complaint_types.contains(ct) || !topics.contains(topic.get_ref()) {
            return Err(ctx.err(
                topic.span(),
                None,
                format!(
                    "complaint_topics: `{ct} = {}` needs a known complaint type and topic",
                    topic.get_ref()
                ),
            ));
        }
        complaint_topics.push((ct.clone(), topic.get_ref().clone()));
    }

    let mut rules = Vec::with_capacity(parsed.rules.len());
    let mut seen = HashSet::new();
    for def in &parsed.rules {
        let rule = compile_rule(&mut ctx, def, &topics, &complaint_types, s.window)?;
        if !seen.insert(rule.id.clone()) {
            return Err(ctx.err(def.get_ref().id.span(), Some(&rule.id), "duplicate rule id"));
        }
        rules.push(rule);
    }

    let mut lexicon = Vec::with_capacity(parsed.sentiment.words.len());
    for (word, weight) in &parsed.sentiment.words {
        let spanned = Spanned::new(weight.span(), word.clone());
        let item = ctx.item(&spanned, Some("sentiment.words"))?;
        if !weight.get_ref().is_finite() {
            return Err(ctx.err(
                weight.span(),
                Some("sentiment.words"),
                format!("weight of {word:?} is not a number"),
            ));
        }
        lexicon.push(LexiconEntry {
            name: word.clone(),
            item,
            weight: *weight.get_ref(),
            courtesy: parsed.sentiment.courtesy.contains(word),
        });
    }

    let s = &parsed.sentiment;
    for (name, list) in [
        ("sentiment.worry", &s.worry),
        ("sentiment.courtesy", &s.courtesy),
        ("sentiment.own_mishap", &s.own_mishap),
        ("sentiment.own_mishap_verbs", &s.own_mishap_verbs),
        ("sentiment.own_mishap_subjects", &s.own_mishap_subjects),
        ("sentiment.asked_failures", &s.asked_failures),
    ] {
        // An empty entry would match every sentence.
        if list.iter().any(|w| w.trim().is_empty()) {
            return Err(ctx.err(0..0, Some(name), "an entry is empty"));
        }
    }
    let own_mishap = if s.own_mishap.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&s.own_mishap)
                .map_err(|e| ctx.err(0..0, Some("sentiment.own_mishap"), e.to_string()))?,
        )
    };
    for (name, list) in [
        ("sentiment.worry", &s.worry),
        ("sentiment.courtesy", &s.courtesy),
    ] {
        if let Some(w) = list.iter().find(|w| !lexicon.iter().any(|e| &e.name == *w)) {
            return Err(ctx.err(
                0..0,
                Some(name),
                format!("`{w}` is not an entry of sentiment.words"),
            ));
        }
    }

    let atoms = build_atoms(&ctx)?;
    let mut lexicon_by_atom = vec![Vec::new(); atoms.specs.len()];
    for (i, entry) in lexicon.iter().enumerate() {
        for &atom in &entry.item {
            lexicon_by_atom[atom].push(i);
        }
    }
    // Every literal and lemma the rules name, for questions by word (is this the company's own?).
    let terms = atoms
        .specs
        .iter()
        .filter_map(|a| match a {
            AtomSpec::Literal(l) => Some(l.clone()),
            AtomSpec::Lemma { base, .. } => Some(base.clone()),
            AtomSpec::Regex(_) => None,
        })
        .collect();
    let model = load_model(&ctx, &parsed.model, &topics)?;
    Ok(RuleSet {
        version,
        terms,
        model,
        source: chain
            .sources
            .iter()
            .rev()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        settings: settings.clone(),
        topics: parsed.labels.topics,
        voice_types: parsed.labels.voice_types,
        complaint_types: parsed.labels.complaint_types,
        complaint_defaults,
        channel_topics,
        complaint_topics,
        stop_words: parsed.keywords.stop.into_iter().collect(),
        max_keywords: parsed.keywords.max.unwrap_or(20),
        intensifiers: parsed.sentiment.intensifiers.into_iter().collect(),
        contrast: parsed.sentiment.contrast.into_iter().collect(),
        excess: parsed.sentiment.excess.into_iter().collect(),
        conditional: parsed.sentiment.conditional,
        hypothetical: parsed.sentiment.hypothetical,
        worry: parsed.sentiment.worry,
        own_mishap,
        own_mishap_verbs: parsed.sentiment.own_mishap_verbs,
        own_mishap_subjects: parsed.sentiment.own_mishap_subjects,
        asked_failures: parsed.sentiment.asked_failures,
        irony: parsed.sentiment.irony,
        recurrence: parsed.sentiment.recurrence,
        wish_endings: parsed.sentiment.wish_endings,
        denying_tails: parsed.sentiment.denying_tails,
        absence_tails: parsed.sentiment.absence_tails,
        negated_verb_exceptions: parsed
            .sentiment
            .negated_verb_exceptions
            .into_iter()
            .collect(),
        negated_verb_not_before: parsed.sentiment.negated_verb_not_before,
        rules,
        lexicon,
        lexicon_by_atom,
        atoms,
    })
}

fn compile_rule(
    ctx: &mut Ctx<'_>,
    def: &Spanned<RuleDef>,
    topics: &[String],
    complaint_types: &[String],
    default_window: usize,
) -> Result<Rule, RulesError> {
    let d = def.get_ref();
    let id = d.id.get_ref().trim().to_string();
    if id.is_empty() {
        return Err(ctx.err(d.id.span(), None, "rule id must not be empty"));
    }
    let rid = Some(id.as_str());
    let label = Label::parse(d.label.get_ref(), topics, complaint_types)
        .map_err(|m| ctx.err(d.label.span(), rid, m))?;
    if d.any.is_empty() && d.patterns.is_empty() {
        return Err(ctx.err(def.span(), rid, "a rule needs `any` or `patterns`"));
    }
    let weight = *d.weight.get_ref();
    if !weight.is_finite() {
        return Err(ctx.err(d.weight.span(), rid, "weight must be a finite number"));
    }
    let any = d
        .any
        .iter()
        .map(|i| ctx.item(i, rid))
        .collect::<Result<_, _>>()?;
    let not = d
        .not
        .iter()
        .map(|i| ctx.item(i, rid))
        .collect::<Result<_, _>>()?;
    let mut patterns = Vec::new();
    for p in &d.patterns {
        let parts: Vec<&str> = p.get_ref().split("...").map(str::trim).collect();
        if parts.len() < 2 || parts.iter().any(|x| x.is_empty()) {
            return Err(ctx.err(
                p.span(),
                rid,
                format!(
                    "pattern {:?} needs two or more items joined by ` ... `",
                    p.get_ref()
                ),
            ));
        }
        let items = parts
            .into_iter()
            .map(|part| ctx.item(&Spanned::new(p.span(), part.to_string()), rid))
            .collect::<Result<_, _>>()?;
        patterns.push(items);
    }
    Ok(Rule {
        id,
        label,
        weight,
        any,
        patterns,
        not,
        window: d.window.unwrap_or(default_window),
        scope: d.scope,
        setting: d.setting,
    })
}

fn build_atoms(ctx: &Ctx<'_>) -> Result<Atoms, RulesError> {
    let mut literals = Vec::new();
    let mut literal_atoms = Vec::new();
    let mut lemmas: foldhash::HashMap<String, Vec<(usize, bool)>> = foldhash::HashMap::default();
    let mut regexes = Vec::new();
    for (id, spec) in ctx.specs.iter().enumerate() {
        match spec {
            AtomSpec::Literal(s) => {
                literals.push(s.clone());
                literal_atoms.push(id);
            }
            AtomSpec::Lemma { base, negated_only } => {
                lemmas
                    .entry(base.clone())
                    .or_default()
                    .push((id, *negated_only));
            }
            // Validated when the item was read.
            AtomSpec::Regex(p) => regexes.push(AtomRegex {
                atom: id,
                regex: Regex::new(p).map_err(|e| ctx.err(0..0, None, e.to_string()))?,
                triggered: false,
            }),
        }
    }
    let mut patterns: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
    let mut trigger_regex = Vec::new();
    for (k, r) in regexes.iter_mut().enumerate() {
        if let Some(prefixes) = super::triggers::prefixes(r.regex.as_str()) {
            r.triggered = true;
            trigger_regex.extend(std::iter::repeat_n(k, prefixes.len()));
            patterns.extend(prefixes);
        }
    }
    let literal_automaton = if patterns.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .map_err(|e| {
                    ctx.err(0..0, None, format!("cannot build the literal matcher: {e}"))
                })?,
        )
    };
    Ok(Atoms {
        specs: ctx.specs.clone(),
        literal_automaton,
        literal_atoms,
        trigger_regex,
        lemmas,
        regexes,
    })
}

/// A `[model]` threshold `key` as a probability; an error naming its line when outside 0–1.
fn probability(ctx: &Ctx<'_>, key: &str, v: &toml::Spanned<f64>) -> Result<f32, RulesError> {
    if !(0.0..=1.0).contains(v.get_ref()) {
        return Err(ctx.err(
            v.span(),
            None,
            format!("[model] {key} is a probability: between 0 and 1"),
        ));
    }
    Ok(*v.get_ref() as f32)
}

/// Loads the model a `[model]` table names, with its thresholds (defaults in [`ModelDef`]).
/// Errors name the file and line of the key at fault.
fn load_model(
    ctx: &Ctx<'_>,
    def: &ModelDef,
    topics: &[String],
) -> Result<Option<ModelGate>, RulesError> {
    // Checked with or without a model: a typo must not wait for the model to be switched on.
    let mut another_topic_for = Vec::new();
    for (topic, v) in &def.another_topic_for {
        if !topics.contains(topic) {
            return Err(ctx.err(
                v.span(),
                None,
                format!("[model] another_topic_for: unknown topic `{topic}`"),
            ));
        }
        another_topic_for.push((
            topic.clone(),
            probability(ctx, &format!("another_topic_for.{topic}"), v)?,
        ));
    }
    let (Some(file), Some(source)) = (&def.file, &def.source) else {
        return Ok(None);
    };
    let fail = |what: String| ctx.err(file.span(), None, format!("[model] file: {what}"));
    let bytes: std::borrow::Cow<'static, [u8]> = match source {
        ModelSource::Off => return Ok(None),
        ModelSource::Bundled(name) => BUNDLED_MODELS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| std::borrow::Cow::Borrowed(*b))
            .ok_or_else(|| fail(format!("the bundled rules have no model {name}")))?,
        ModelSource::Path(path) => std::fs::read(path)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?,
    };
    let model = TextModel::from_bytes(&bytes).map_err(|e| fail(e.to_string()))?;
    let mut def = def.clone();
    for (key, value) in def.thresholds_mut() {
        if let Some(v) = value {
            probability(ctx, key, v)?;
        }
    }
    let p = |v: &Option<toml::Spanned<f64>>| v.as_ref().map(|v| *v.get_ref() as f32);
    let topic = p(&def.topic).unwrap_or(0.5);
    Ok(Some(ModelGate {
        model,
        complaint: p(&def.complaint).unwrap_or(0.5),
        veto: p(&def.veto),
        topic,
        another_topic: p(&def.another_topic).unwrap_or(topic),
        another_topic_for,
        positive: p(&def.positive).unwrap_or(0.5),
        voice: p(&def.voice).unwrap_or(0.5),
        sentiment: p(&def.sentiment),
        complaint_type: p(&def.complaint_type),
    }))
}
