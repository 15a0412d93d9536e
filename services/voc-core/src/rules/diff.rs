//! What changed between two rules files, for review before a rollout or a re-tag: rules added,
//! removed and modified (by id, with the fields that changed), and every other setting changed.
//! Compares the files as written (TOML values), so reordering or reformatting is no change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use toml::{Table, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModifiedRule {
    pub id: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RulesDiff {
    pub old_version: String,
    pub new_version: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub modified: Vec<ModifiedRule>,
    /// Other changes, one line each: `settings.topic_threshold: 1.0 → 1.2`,
    /// `sentiment.words: +3 -1 ~2`.
    pub other: Vec<String>,
}

impl RulesDiff {
    /// Whether anything that can change a tag differs (the version aside).
    pub fn changes_rules(&self) -> bool {
        !(self.added.is_empty()
            && self.removed.is_empty()
            && self.modified.is_empty()
            && self.other.is_empty())
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "version: {} → {}", self.old_version, self.new_version);
        if !self.changes_rules() {
            let _ = writeln!(out, "no rule or setting changed");
        }
        for id in &self.added {
            let _ = writeln!(out, "+ added    {id}");
        }
        for id in &self.removed {
            let _ = writeln!(out, "- removed  {id}");
        }
        for m in &self.modified {
            let _ = writeln!(out, "~ modified {} ({})", m.id, m.fields.join(", "));
        }
        for o in &self.other {
            let _ = writeln!(out, "~ {o}");
        }
        out
    }
}

/// Diffs two rules files' sources (both already known to compile).
pub fn diff(old_src: &str, new_src: &str) -> Result<RulesDiff, toml::de::Error> {
    Ok(diff_tables(&old_src.parse()?, &new_src.parse()?))
}

/// Diffs two rules files as TOML tables (e.g. each merged with what it extends).
pub fn diff_tables(old: &Table, new: &Table) -> RulesDiff {
    let version = |t: &Table| {
        t.get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut d = RulesDiff {
        old_version: version(old),
        new_version: version(new),
        ..RulesDiff::default()
    };
    let (old_rules, new_rules) = (rules_by_id(old), rules_by_id(new));
    for (id, rule) in &new_rules {
        match old_rules.get(id) {
            None => d.added.push(id.clone()),
            Some(before) if before != rule => d.modified.push(ModifiedRule {
                id: id.clone(),
                fields: changed_keys(before, rule),
            }),
            Some(_) => {}
        }
    }
    d.removed = old_rules
        .keys()
        .filter(|id| !new_rules.contains_key(*id))
        .cloned()
        .collect();
    // Rule order is the order of evidence in the output: a reordering changes stored tags.
    let kept = |order: &[String], other: &BTreeMap<String, Table>| -> Vec<String> {
        order
            .iter()
            .filter(|id| other.contains_key(*id))
            .cloned()
            .collect()
    };
    if kept(&rule_order(old), &new_rules) != kept(&rule_order(new), &old_rules) {
        d.other
            .push("rule order changed (evidence is listed in rule order)".into());
    }
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if key == "rule" || key == "version" || key == "description" {
            continue;
        }
        describe(key, old.get(key), new.get(key), &mut d.other);
    }
    d
}

fn rule_order(t: &Table) -> Vec<String> {
    t.get("rule")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn rules_by_id(t: &Table) -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    for rule in t
        .get("rule")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(table) = rule.as_table() {
            let id = table
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            out.insert(id, table.clone());
        }
    }
    out
}

fn changed_keys(a: &Table, b: &Table) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Appends one line per changed setting under `path`; tables of entries (lexicons, defaults)
/// are summarised as counts, so a 1,000-word lexicon edit stays one readable line.
fn describe(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Some(Value::Table(x)), Some(Value::Table(y))) => {
            // Tables of plain entries (a lexicon) become one line of counts; others are walked.
            let nested = x.values().chain(y.values()).any(Value::is_table);
            if !nested && (x.len() > 4 || y.len() > 4) {
                let added = y.keys().filter(|k| !x.contains_key(*k)).count();
                let removed = x.keys().filter(|k| !y.contains_key(*k)).count();
                let changed = y
                    .iter()
                    .filter(|(k, v)| x.get(*k).is_some_and(|old| old != *v))
                    .count();
                out.push(format!("{path}: +{added} -{removed} ~{changed}"));
            } else {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    describe(&format!("{path}.{k}"), x.get(k), y.get(k), out);
                }
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() > 4 || y.len() > 4 => {
            let added = y.iter().filter(|v| !x.contains(v)).count();
            let removed = x.iter().filter(|v| !y.contains(v)).count();
            out.push(format!("{path}: +{added} -{removed}"));
        }
        _ => out.push(format!("{path}: {} → {}", show(a), show(b))),
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(unset)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 60 {
                s.chars().take(60).collect::<String>() + "…"
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
version = "r@1"
[settings]
topic_threshold = 1.0
[sentiment.words]
"良い" = 1.0
"悪い" = -1.0
[[rule]]
id = "a"
label = "churn"
any = ["解約"]
[[rule]]
id = "b"
label = "churn"
any = ["退会"]
"#;

    #[test]
    fn reports_added_removed_modified_and_settings() {
        let new = r#"
version = "r@2"
[settings]
topic_threshold = 1.5
[sentiment.words]
"良い" = 1.0
"最悪" = -2.0
[[rule]]
id = "c"
label = "churn"
any = ["乗り換え"]
[[rule]]
id = "a"
label = "churn"
any = ["解約", "やめる"]
weight = 2.0
"#;
        let d = diff(OLD, new).expect("both parse");
        assert_eq!(
            (d.old_version.as_str(), d.new_version.as_str()),
            ("r@1", "r@2")
        );
        assert_eq!(d.added, ["c"]);
        assert_eq!(d.removed, ["b"]);
        assert_eq!(d.modified.len(), 1);
        assert_eq!(d.modified[0].id, "a");
        assert_eq!(d.modified[0].fields, ["any", "weight"]);
        assert!(
            d.other
                .contains(&"settings.topic_threshold: 1.0 → 1.5".to_string()),
            "{:?}",
            d.other
        );
        assert!(d.other.iter().any(|o| o.starts_with("sentiment.words.")));
        let text = d.render();
        assert!(
            text.contains("+ added    c") && text.contains("- removed  b"),
            "{text}"
        );
    }

    #[test]
    fn reformatting_is_no_change_but_rule_order_is() {
        let reformatted = r#"
version = "r@1"
[[rule]]
id = "a"
any = [ "解約" ]
label = "churn"
[[rule]]
id = "b"
label = "churn"
any = ["退会"]
[sentiment.words]
"悪い" = -1.0
"良い" = 1.0
[settings]
topic_threshold = 1.0
"#;
        let d = diff(OLD, reformatted).expect("both parse");
        assert!(!d.changes_rules(), "{d:?}");
        let a = "[[rule]]\nid = \"a\"\nlabel = \"churn\"\nany = [\"解約\"]\n";
        let b = "[[rule]]\nid = \"b\"\nlabel = \"churn\"\nany = [\"退会\"]\n";
        assert!(OLD.contains(a) && OLD.contains(b));
        let swapped = OLD.replace(a, "").replace(b, &format!("{b}{a}"));
        let d = diff(OLD, &swapped).expect("both parse");
        assert!(d.other.iter().any(|o| o.starts_with("rule order")), "{d:?}");
    }
}
