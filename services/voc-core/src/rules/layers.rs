//! Rules files that build on another: `extends = "ja-contact-center"` (the bundled default) or
//! `extends = "base.toml"` (a path relative to the extending file). A company adds its own
//! topics, product names, classes and lexicon entries, and overrides weights, in a few lines
//! instead of a copy of the default.
//!
//! How a file merges onto the one it extends (the base's order is kept, new entries follow):
//! - `version`: both are kept, `acme@3+ja-contact-center@2026-11-29`, so a stored tag names the
//!   rules that made it even when only the base changed;
//! - `[settings]`, `keywords.max`, `[complaint_defaults]`, `[channel_topics]`,
//!   `[complaint_topics]`: key by key;
//! - `[labels]`: by id (a known id is renamed, a new one added);
//! - `[[rule]]`: by id (the same id replaces the base rule in place, a new id is appended);
//!   `disable = ["id", …]` switches base rules off;
//! - `[sentiment.words]`: by item (the extending file's weight wins);
//! - `[classes]`, `keywords.stop` and the `[sentiment]` word lists: appended.
//!
//! A file may also be split into parts by concern: `include = ["labels.toml", …]` (relative to
//! it) merges each part, in order, beneath the file itself, by the same rules. Parts have no
//! `version` and may not include or extend others. The bundled default is split this way
//! (`config/rules/ja-contact-center/`), its parts embedded in the binary.
//!
//! Spans stay exact: each file's spans are shifted by its offset in the chain, so an error
//! names the file and line it is in, whichever file that is.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::compile::RulesError;
use serde::Deserialize;

use super::file::{ModelSource, RuleDef, RulesFile, Settings};
use super::{BUNDLED_MODELS, BUNDLED_PARTS, DEFAULT_RULES, DEFAULT_RULES_NAME};

/// How many files a chain may hold (a loop of `extends` stops here).
const MAX_DEPTH: usize = 4;

/// The bundled default, by the name an `extends` uses for it.
pub const BUNDLED_NAME: &str = "ja-contact-center";

/// One file of a chain: its name for messages, its text, and where its spans start.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
    pub offset: usize,
}

/// The files of a chain, base first, and their merge.
#[derive(Debug)]
pub(crate) struct Chain {
    pub sources: Vec<Source>,
    pub merged: RulesFile,
}

impl Chain {
    /// The file and line of a (shifted) span; `0..0` means the top file as a whole.
    pub fn locate(&self, span: Range<usize>) -> (&str, usize) {
        locate(&self.sources, span)
    }
}

/// Reads `name`/`text` and every file it extends, and merges them.
///
/// Errors: a file that cannot be read or parsed, an `extends` loop or chain deeper than
/// `MAX_DEPTH`, a `disable` naming no base rule; each names the file and line.
pub(crate) fn load(name: &str, text: &str) -> Result<Chain, RulesError> {
    let mut stack: Vec<(String, String, RulesFile)> = Vec::new();
    let (mut name, mut text) = (name.to_string(), text.to_string());
    // Files by canonical path, so `a.toml` and `./a.toml` are one file when looking for a loop.
    let canonical = |n: &str| std::fs::canonicalize(n).unwrap_or_else(|_| PathBuf::from(n));
    let mut seen = vec![canonical(&name)];
    loop {
        let file = parse(&name, &text)?;
        let next = file
            .extends
            .as_ref()
            .map(|e| (e.get_ref().trim().to_string(), e.span()));
        let parts = parts_of(&name, &text, &file)?;
        stack.push((name.clone(), text.clone(), file));
        // Beneath the file (the stack is top first): its parts, last part first.
        stack.extend(parts.into_iter().rev());
        let Some((target, span)) = next else { break };
        let (from, from_line) = (name.clone(), line_of(&text, span));
        let here = |message: String| RulesError {
            file: from.clone(),
            line: from_line,
            rule: None,
            message,
        };
        if seen.len() >= MAX_DEPTH {
            return Err(here(format!(
                "`extends` chain longer than {MAX_DEPTH} files: merge some of them"
            )));
        }
        let (next_name, next_text) = if target == BUNDLED_NAME || target == DEFAULT_RULES_NAME {
            (
                format!("{BUNDLED_NAME} (bundled)"),
                DEFAULT_RULES.to_string(),
            )
        } else {
            read_relative(&name, &target, "extended").map_err(here)?
        };
        let key = canonical(&next_name);
        if seen.contains(&key) {
            return Err(here(format!("`extends` loops back to {next_name}")));
        }
        seen.push(key);
        (name, text) = (next_name, next_text);
    }
    // Base first; spans shifted so they are unique across the chain.
    stack.reverse();
    let mut sources = Vec::new();
    let mut merged: Option<RulesFile> = None;
    let mut offset = 0;
    for (name, text, mut file) in stack {
        shift(&mut file, offset);
        sources.push(Source {
            name: name.clone(),
            text: text.clone(),
            offset,
        });
        merged = Some(match merged {
            None => file,
            Some(base) => merge(base, file).map_err(|(span, message)| {
                let (file, line) = locate(&sources, span);
                RulesError {
                    file: file.to_string(),
                    line,
                    rule: None,
                    message,
                }
            })?,
        });
        offset += text.len() + 1;
    }
    Ok(Chain {
        sources,
        merged: merged.expect("a chain has a file"),
    })
}

/// The parts a file includes, read and parsed: `(name, text, file)` in include order. A part of
/// the bundled default is taken from the binary; any other is read relative to its file.
fn parts_of(
    name: &str,
    text: &str,
    file: &RulesFile,
) -> Result<Vec<(String, String, RulesFile)>, RulesError> {
    let bundled = name.ends_with(BUNDLED_SUFFIX);
    let mut parts = Vec::new();
    for include in &file.include {
        let here = |message: String| RulesError {
            file: name.to_string(),
            line: line_of(text, include.span()),
            rule: None,
            message,
        };
        let target = include.get_ref().trim();
        let (part_name, part_text) = if bundled {
            let (_, embedded) = BUNDLED_PARTS
                .iter()
                .find(|(n, _)| *n == target)
                .ok_or_else(|| here(format!("the bundled rules have no part {target}")))?;
            (format!("{target}{BUNDLED_SUFFIX}"), embedded.to_string())
        } else {
            read_relative(name, target, "included").map_err(here)?
        };
        let part = parse(&part_name, &part_text)?;
        let nested = if part.extends.is_some() {
            Some("extends")
        } else if !part.include.is_empty() {
            Some("include")
        } else if !part.version.get_ref().is_empty() {
            Some("version")
        } else {
            None
        };
        if let Some(key) = nested {
            return Err(RulesError {
                file: part_name,
                line: 1,
                rule: None,
                message: format!(
                    "an included part may not have `{key}`: it belongs in the file that includes it"
                ),
            });
        }
        parts.push((part_name, part_text, part));
    }
    Ok(parts)
}

/// How the bundled default and its parts are named in messages.
pub const BUNDLED_SUFFIX: &str = " (bundled)";

/// A rules file with everything it extends merged in, as TOML: what `voc rules check --merged`
/// prints and what `diff` compares, so an extension's diff is the one of its merged result.
pub fn merged_table(name: &str, text: &str) -> Result<toml::Table, RulesError> {
    let chain = load(name, text)?;
    toml::Table::try_from(&chain.merged).map_err(|e| RulesError {
        file: name.to_string(),
        line: 0,
        rule: None,
        message: format!("cannot write the merged rules: {e}"),
    })
}

/// The file and line of a (shifted) span among `sources`; `0..0` means the top file as a whole.
fn locate(sources: &[Source], span: Range<usize>) -> (&str, usize) {
    let top = sources.last().expect("a chain has a file");
    if span == (0..0) {
        return (&top.name, 1);
    }
    let src = sources
        .iter()
        .rev()
        .find(|s| s.offset <= span.start)
        .unwrap_or(top);
    (&src.name, line_of(&src.text, span.start - src.offset..0))
}

fn line_of(text: &str, span: Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

fn parse(name: &str, text: &str) -> Result<RulesFile, RulesError> {
    let err = |line: usize, message: String| RulesError {
        file: name.to_string(),
        line,
        rule: None,
        message,
    };
    let mut file: RulesFile = toml::from_str(text).map_err(|e| {
        err(
            e.span().map(|s| line_of(text, s)).unwrap_or(1),
            e.message().to_string(),
        )
    })?;
    // A lexicon group is a `words` entry written one word per line.
    for group in std::mem::take(&mut file.sentiment.group) {
        let item = group
            .words
            .iter()
            .map(|w| w.get_ref().trim())
            .collect::<Vec<_>>()
            .join("|");
        if item.is_empty() {
            return Err(err(
                line_of(text, group.weight.span()),
                "a lexicon group needs `words`".into(),
            ));
        }
        if file.sentiment.words.contains_key(&item) {
            return Err(err(
                line_of(text, group.weight.span()),
                format!("lexicon entry {item:?} is written twice"),
            ));
        }
        file.sentiment.words.insert(item, group.weight);
    }
    // `[settings]` is kept as a table so an extending file names only what it changes; each key
    // is checked here, in its own file, so a mistake is reported at its line.
    for (key, value) in &file.settings {
        let one = toml::Table::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = Settings::deserialize(toml::Value::Table(one)) {
            return Err(err(
                line_of_key(text, "settings", key),
                format!("[settings] {key}: {e}"),
            ));
        }
    }
    if let Some(model) = &file.model.file {
        let target = model.get_ref().trim();
        file.model.source = Some(if target.is_empty() {
            ModelSource::Off
        } else if let Some(file_name) = name.strip_suffix(BUNDLED_SUFFIX) {
            // Bundled models are named by their path from config/rules/, as the parts are.
            let path = relative_to(file_name, target);
            let (bundled, _) = BUNDLED_MODELS
                .iter()
                .find(|(n, _)| Path::new(n) == path)
                .ok_or_else(|| {
                    err(
                        line_of(text, model.span()),
                        format!("the bundled rules have no model {target}"),
                    )
                })?;
            ModelSource::Bundled(bundled)
        } else {
            ModelSource::Path(relative_to(name, target))
        });
    }
    if file.extends.is_none()
        && let Some(first) = file.disable.first()
    {
        return Err(err(
            line_of(text, first.span()),
            "`disable` needs `extends`: there are no rules to switch off".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for rule in &file.rules {
        let id = rule.get_ref().id.get_ref();
        if !seen.insert(id.trim()) {
            return Err(RulesError {
                rule: Some(id.clone()),
                ..err(
                    line_of(text, rule.get_ref().id.span()),
                    "duplicate rule id".into(),
                )
            });
        }
    }
    Ok(file)
}

/// The line of `key = …` in the `[table]` of a TOML text (1 if it cannot be found).
fn line_of_key(text: &str, table: &str, key: &str) -> usize {
    let header = format!("[{table}]");
    let start = text.find(&header).unwrap_or(0);
    text[start..]
        .lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| line_of(text, start..start) + i)
}

/// Reads `target` relative to the file `from`: its name for messages and its text, or what went
/// wrong (`what` says how the file is used: extended, included).
fn read_relative(from: &str, target: &str, what: &str) -> Result<(String, String), String> {
    let path = relative_to(from, target);
    std::fs::read_to_string(&path)
        .map(|text| (path.display().to_string(), text))
        .map_err(|e| format!("cannot read the {what} rules file {}: {e}", path.display()))
}

/// `target` relative to the directory of the file `from` (itself a path, or the bundled name).
fn relative_to(from: &str, target: &str) -> PathBuf {
    let target = Path::new(target);
    if target.is_absolute() {
        return target.to_path_buf();
    }
    Path::new(from)
        .parent()
        .map(|dir| dir.join(target))
        .unwrap_or_else(|| target.to_path_buf())
}

fn moved<T>(s: &mut Spanned<T>, by: usize)
where
    T: Clone,
{
    let span = s.span();
    *s = Spanned::new(span.start + by..span.end + by, s.get_ref().clone());
}

/// Shifts every span of `file` by `by` bytes.
fn shift(file: &mut RulesFile, by: usize) {
    if by == 0 {
        return;
    }
    moved(&mut file.version, by);
    if let Some(e) = file.extends.as_mut() {
        moved(e, by);
    }
    file.classes
        .values_mut()
        .flatten()
        .chain(file.disable.iter_mut())
        .chain(file.complaint_defaults.values_mut())
        .chain(file.channel_topics.values_mut())
        .chain(file.complaint_topics.values_mut())
        .chain(file.model.file.iter_mut())
        .for_each(|s| moved(s, by));
    for (_, threshold) in file.model.thresholds_mut() {
        if let Some(t) = threshold {
            moved(t, by);
        }
    }
    file.model
        .another_topic_for
        .values_mut()
        .for_each(|t| moved(t, by));
    file.sentiment.words.values_mut().for_each(|w| moved(w, by));
    for rule in &mut file.rules {
        let r = rule.get_mut();
        moved(&mut r.id, by);
        moved(&mut r.label, by);
        moved(&mut r.weight, by);
        r.any
            .iter_mut()
            .chain(r.patterns.iter_mut())
            .chain(r.not.iter_mut())
            .for_each(|s| moved(s, by));
        moved(rule, by);
    }
}

/// Merges `top` onto `base` (see the module docs). Errors carry the span at fault.
fn merge(mut base: RulesFile, top: RulesFile) -> Result<RulesFile, (Range<usize>, String)> {
    // Included parts have no version: the version is the files' that have one.
    let (t, b) = (top.version.get_ref().trim(), base.version.get_ref().trim());
    base.version = match (t.is_empty(), b.is_empty()) {
        (true, _) => base.version,
        (false, true) => top.version,
        (false, false) => Spanned::new(top.version.span(), format!("{t}+{b}")),
    };
    base.extends = None;
    base.include.clear();
    if top.description.is_some() {
        base.description = top.description;
    }
    base.settings.extend(top.settings);
    for (list, more) in [
        (&mut base.labels.topics, top.labels.topics),
        (&mut base.labels.voice_types, top.labels.voice_types),
        (&mut base.labels.complaint_types, top.labels.complaint_types),
    ] {
        for (id, name) in more {
            match list.iter_mut().find(|(known, _)| *known == id) {
                Some(entry) => entry.1 = name,
                None => list.push((id, name)),
            }
        }
    }
    for (class, entries) in top.classes {
        base.classes.entry(class).or_default().extend(entries);
    }
    for id in &top.disable {
        let before = base.rules.len();
        base.rules
            .retain(|r| r.get_ref().id.get_ref() != id.get_ref());
        if base.rules.len() == before {
            return Err((
                id.span(),
                format!(
                    "disable: the extended rules have no rule `{}`",
                    id.get_ref()
                ),
            ));
        }
    }
    for rule in top.rules {
        let id = rule.get_ref().id.get_ref().clone();
        match base
            .rules
            .iter_mut()
            .find(|r: &&mut Spanned<RuleDef>| *r.get_ref().id.get_ref() == id)
        {
            Some(slot) => *slot = rule,
            None => base.rules.push(rule),
        }
    }
    base.keywords.stop.extend(top.keywords.stop);
    if top.keywords.max.is_some() {
        base.keywords.max = top.keywords.max;
    }
    let (s, t) = (&mut base.sentiment, top.sentiment);
    s.intensifiers.extend(t.intensifiers);
    s.contrast.extend(t.contrast);
    s.excess.extend(t.excess);
    s.conditional.extend(t.conditional);
    s.hypothetical.extend(t.hypothetical);
    s.worry.extend(t.worry);
    s.courtesy.extend(t.courtesy);
    s.own_mishap.extend(t.own_mishap);
    s.own_mishap_verbs.extend(t.own_mishap_verbs);
    s.own_mishap_subjects.extend(t.own_mishap_subjects);
    s.asked_failures.extend(t.asked_failures);
    s.irony.extend(t.irony);
    s.recurrence.extend(t.recurrence);
    s.wish_endings.extend(t.wish_endings);
    s.denying_tails.extend(t.denying_tails);
    s.absence_tails.extend(t.absence_tails);
    s.negated_verb_exceptions.extend(t.negated_verb_exceptions);
    s.negated_verb_not_before.extend(t.negated_verb_not_before);
    s.words.extend(t.words);
    base.complaint_defaults.extend(top.complaint_defaults);
    base.channel_topics.extend(top.channel_topics);
    base.complaint_topics.extend(top.complaint_topics);
    if top.model.file.is_some() {
        // Another model: the base's thresholds were chosen for the base's model.
        base.model = top.model;
    } else {
        let mut top = top.model;
        let moves_another_topic = top.another_topic.is_some();
        for ((_, mine), (_, theirs)) in base
            .model
            .thresholds_mut()
            .into_iter()
            .zip(top.thresholds_mut())
        {
            if theirs.is_some() {
                *mine = theirs.take();
            }
        }
        // Per-topic thresholds are set against `another_topic`: a file that moves it restates
        // them, or an inherited one could end up looser than the threshold it tightened.
        if moves_another_topic {
            base.model.another_topic_for = top.another_topic_for;
        } else {
            base.model.another_topic_for.extend(top.another_topic_for);
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("voc-layers-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("temp file");
        path.display().to_string()
    }

    #[test]
    fn an_extending_file_overrides_by_id_and_appends() {
        let dir = temp_dir("merge");
        write(
            &dir,
            "base.toml",
            "version = \"b@1\"\n[settings]\nwindow = 8\n[labels]\ntopics = [[\"billing\", \"料金\"]]\n\
             [classes]\nstaff = [\"店員\"]\n[[rule]]\nid = \"a\"\nlabel = \"churn\"\nany = [\"解約\"]\n\
             [[rule]]\nid = \"b\"\nlabel = \"churn\"\nany = [\"退会\"]\n",
        );
        let top = "version = \"acme@1\"\nextends = \"base.toml\"\ndisable = [\"b\"]\n[settings]\nwindow = 4\n\
                   [labels]\ntopics = [[\"billing\", \"お支払い\"], [\"ev\", \"EV\"]]\n\
                   [classes]\nstaff = [\"係員\"]\n[[rule]]\nid = \"a\"\nlabel = \"churn\"\nany = [\"やめる\"]\n\
                   [[rule]]\nid = \"c\"\nlabel = \"churn\"\nany = [\"他社\"]\n";
        let top_name = write(&dir, "acme.toml", top);
        let chain = load(&top_name, top).expect("chain loads");
        let m = &chain.merged;
        assert_eq!(m.version.get_ref(), "acme@1+b@1");
        assert_eq!(m.settings["window"].as_integer(), Some(4));
        assert_eq!(
            m.labels.topics,
            [
                ("billing".to_string(), "お支払い".to_string()),
                ("ev".to_string(), "EV".to_string())
            ]
        );
        assert_eq!(
            m.classes["staff"]
                .iter()
                .map(|s| s.get_ref().as_str())
                .collect::<Vec<_>>(),
            ["店員", "係員"]
        );
        let ids: Vec<&str> = m
            .rules
            .iter()
            .map(|r| r.get_ref().id.get_ref().as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(m.rules[0].get_ref().any[0].get_ref(), "やめる");
        // Spans lead back to the file each part came from.
        let (file, line) = chain.locate(m.rules[1].get_ref().id.span());
        assert!(file.ends_with("acme.toml") && line == 15, "{file}:{line}");
        let (file, line) = chain.locate(m.classes["staff"][0].span());
        assert!(file.ends_with("base.toml") && line == 7, "{file}:{line}");
    }

    #[test]
    fn a_file_split_into_parts_merges_them_and_errors_name_the_part() {
        let dir = temp_dir("parts");
        std::fs::create_dir_all(dir.join("p")).expect("parts dir");
        write(
            &dir,
            "p/labels.toml",
            "[labels]\ntopics = [[\"billing\", \"料金\"]]\n",
        );
        write(
            &dir,
            "p/lexicon.toml",
            "[sentiment.words]\n\"最悪\" = -2.0\n\n[[sentiment.group]]\nweight = -1.5\nwords = [\n  \"面倒\",\n  \"めんどう\",\n]\n",
        );
        write(
            &dir,
            "p/rules.toml",
            "[[rule]]\nid = \"billing.any\"\nlabel = \"topic:billing\"\nany = [\n  \"請求\",\n]\n",
        );
        let main = "version = \"m@1\"\ninclude = [\"p/labels.toml\", \"p/lexicon.toml\", \"p/rules.toml\"]\n";
        let name = write(&dir, "main.toml", main);
        let chain = load(&name, main).expect("parts load");
        let m = &chain.merged;
        assert_eq!(m.version.get_ref(), "m@1", "parts add no version");
        assert_eq!(m.labels.topics[0].0, "billing");
        assert_eq!(
            m.sentiment.words["面倒|めんどう"].get_ref(),
            &-1.5,
            "a group is an entry of its words joined by |"
        );
        let (file, line) = chain.locate(m.rules[0].get_ref().id.span());
        assert!(file.ends_with("p/rules.toml") && line == 2, "{file}:{line}");

        write(&dir, "p/bad.toml", "version = \"x\"\n");
        let bad = "version = \"m@1\"\ninclude = [\"p/bad.toml\"]\n";
        let err = load(&name, bad).unwrap_err();
        assert!(err.file.ends_with("p/bad.toml"), "{err}");
        assert!(err.message.contains("`version`"), "{err}");
        let err = load(&name, "version = \"m@1\"\n\ninclude = [\"p/none.toml\"]\n").unwrap_err();
        assert!(err.file.ends_with("main.toml") && err.line == 3, "{err}");
    }

    #[test]
    fn loops_missing_files_and_unknown_disables_are_errors() {
        let dir = temp_dir("errors");
        let a = write(&dir, "a.toml", "version = \"a\"\nextends = \"b.toml\"\n");
        write(&dir, "b.toml", "version = \"b\"\nextends = \"a.toml\"\n");
        let err = load(&a, &std::fs::read_to_string(&a).expect("read")).unwrap_err();
        assert!(err.message.contains("loops back"), "{err}");
        let err = load(&a, "version = \"a\"\n\nextends = \"nope.toml\"\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("cannot read"), "{err}");
        let err = load(
            &a,
            "version = \"a\"\nextends = \"ja-contact-center\"\ndisable = [\"no.such.rule\"]\n",
        )
        .unwrap_err();
        assert!(err.file.ends_with("a.toml") && err.line == 3, "{err}");
        assert!(err.message.contains("no.such.rule"), "{err}");
    }

    #[test]
    fn each_file_is_checked_where_it_is_written() {
        let dir = temp_dir("checks");
        let a = write(&dir, "a.toml", "version = \"a\"\n");
        let err = load(&a, "version = \"a\"\nextends = \"ja-contact-center\"\n\n[settings]\nwindow = 4\ntopic_threshold = \"x\"\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.contains("topic_threshold")),
            (6, true),
            "{err}"
        );
        let err = load(&a, "version = \"a\"\ndisable = [\"x\"]\n").unwrap_err();
        assert!(
            err.line == 2 && err.message.contains("needs `extends`"),
            "{err}"
        );
        let dup = "version = \"a\"\nextends = \"ja-contact-center\"\n[[rule]]\nid = \"z\"\nlabel = \"churn\"\nany = [\"a\"]\n[[rule]]\nid = \"z\"\nlabel = \"churn\"\nany = [\"b\"]\n";
        let err = load(&a, dup).unwrap_err();
        assert_eq!((err.line, err.rule.as_deref()), (8, Some("z")), "{err}");
        // `./a.toml` is the file itself: a loop, not a long chain.
        let err = load(&a, "version = \"a\"\nextends = \"./a.toml\"\n").unwrap_err();
        assert!(err.message.contains("loops back"), "{err}");
    }

    #[test]
    fn a_model_is_named_relative_to_its_file_and_can_be_switched_off() {
        use crate::RuleSet;
        let dir = temp_dir("model");
        // The bundled default brings its model; an extension keeps it and may move a threshold.
        let ext = write(
            &dir,
            "ext.toml",
            "version = \"e\"\nextends = \"ja-contact-center\"\n[model]\ncomplaint = 0.9\n",
        );
        let rules = RuleSet::load(Path::new(&ext)).expect("compiles");
        let gate = rules
            .model
            .as_ref()
            .expect("the bundled model is inherited");
        let bundled = RuleSet::bundled().expect("bundled");
        let base = bundled.model.as_ref().expect("the bundled model");
        assert!((gate.complaint - 0.9).abs() < 1e-6 && gate.topic == base.topic);
        let off = write(
            &dir,
            "off.toml",
            "version = \"o\"\nextends = \"ja-contact-center\"\n[model]\nfile = \"\"\n",
        );
        assert!(
            RuleSet::load(Path::new(&off))
                .expect("compiles")
                .model
                .is_none()
        );
        // A missing file and a threshold that is no probability name the file and line.
        let missing = write(
            &dir,
            "missing.toml",
            "version = \"m\"\nextends = \"ja-contact-center\"\n\n[model]\nfile = \"none.json.gz\"\n",
        );
        let err = RuleSet::load(Path::new(&missing)).unwrap_err();
        assert!(err.file.ends_with("missing.toml") && err.line == 5, "{err}");
        assert!(err.message.contains("none.json.gz"), "{err}");
        let bad = write(
            &dir,
            "bad.toml",
            "version = \"b\"\nextends = \"ja-contact-center\"\n[model]\nfile = \"off.toml\"\n",
        );
        let err = RuleSet::load(Path::new(&bad)).unwrap_err();
        assert!(err.message.contains("not valid"), "{err}");
        let range = write(
            &dir,
            "range.toml",
            "version = \"r\"\nextends = \"ja-contact-center\"\n[model]\ntopic = 1.5\n",
        );
        let err = RuleSet::load(Path::new(&range)).unwrap_err();
        assert!(err.message.contains("topic is a probability"), "{err}");
        assert!(err.file.ends_with("range.toml") && err.line == 4, "{err}");
        // A company's own model brings its own thresholds: the default's were chosen for the
        // default's model.
        let own = write(
            &dir,
            "own.toml",
            "version = \"w\"\nextends = \"ja-contact-center\"\n[model]\nfile = \"ja-model.json.gz\"\n",
        );
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../config/rules/ja-contact-center/model.json.gz"
            ),
            dir.join("ja-model.json.gz"),
        )
        .expect("copy the model");
        let rules = RuleSet::load(Path::new(&own)).expect("compiles");
        let gate = rules.model.as_ref().expect("its model");
        assert!(
            (gate.complaint - 0.5).abs() < 1e-6 && gate.veto.is_none(),
            "{gate:?}"
        );
        assert!(gate.another_topic_for.is_empty(), "{gate:?}");
    }

    #[test]
    fn a_topic_may_have_its_own_threshold_for_joining_placed_voices() {
        use crate::RuleSet;
        let dir = temp_dir("another_topic_for");
        let bundled = RuleSet::bundled().expect("bundled");
        let base = bundled.model.as_ref().expect("the bundled model");
        // An extension adds one topic's threshold key by key: the default's others stay.
        let ext = write(
            &dir,
            "ext.toml",
            "version = \"e\"\nextends = \"ja-contact-center\"\n[model]\nanother_topic_for = { billing = 0.9 }\n",
        );
        let rules = RuleSet::load(Path::new(&ext)).expect("compiles");
        let gate = rules
            .model
            .as_ref()
            .expect("the bundled model is inherited");
        assert!(
            (gate.another_topic("billing") - 0.9).abs() < 1e-6,
            "{gate:?}"
        );
        for (topic, p) in &base.another_topic_for {
            assert!(
                (gate.another_topic(topic) - p).abs() < 1e-6,
                "{topic}: {gate:?}"
            );
        }
        assert_eq!(gate.another_topic("cancellation"), base.another_topic);
        // One that moves `another_topic` restates the per-topic ones it keeps: the inherited
        // ones were set against the threshold it replaces.
        let moved = write(
            &dir,
            "moved.toml",
            "version = \"m\"\nextends = \"ja-contact-center\"\n[model]\nanother_topic = 0.7\n",
        );
        let rules = RuleSet::load(Path::new(&moved)).expect("compiles");
        let gate = rules
            .model
            .as_ref()
            .expect("the bundled model is inherited");
        assert!(gate.another_topic_for.is_empty(), "{gate:?}");
        assert!(
            (gate.another_topic("product") - 0.7).abs() < 1e-6,
            "{gate:?}"
        );
        // An unknown topic and a value that is no probability name the file and line.
        let unknown = write(
            &dir,
            "unknown.toml",
            "version = \"u\"\nextends = \"ja-contact-center\"\n[model]\nanother_topic_for = { produkt = 0.6 }\n",
        );
        let err = RuleSet::load(Path::new(&unknown)).unwrap_err();
        assert!(err.message.contains("unknown topic `produkt`"), "{err}");
        assert!(err.file.ends_with("unknown.toml") && err.line == 4, "{err}");
        // ... with the model switched off too.
        let off = write(
            &dir,
            "off.toml",
            "version = \"o\"\nextends = \"ja-contact-center\"\n[model]\nfile = \"\"\nanother_topic_for = { produkt = 0.6 }\n",
        );
        let err = RuleSet::load(Path::new(&off)).unwrap_err();
        assert!(err.message.contains("unknown topic `produkt`"), "{err}");
        let range = write(
            &dir,
            "range.toml",
            "version = \"r\"\nextends = \"ja-contact-center\"\n[model]\nanother_topic_for = { billing = 2.0 }\n",
        );
        let err = RuleSet::load(Path::new(&range)).unwrap_err();
        assert!(err.message.contains("billing is a probability"), "{err}");
        assert!(err.file.ends_with("range.toml") && err.line == 4, "{err}");
    }
}
