//! What re-tagging history with new rules changes: per label, how many interactions gain or
//! lose it, and examples with the evidence that made the difference. Pure: the caller fetches
//! stored tags and computes new ones; this compares and counts.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use crate::analyze::{Evidence, Tags};
use crate::labels::Sentiment;

/// The labels of one interaction as flat ids: `topic:billing`, `voice:complaint`,
/// `complaint:billing`, `sentiment:negative`, `severity:2`, `churn` (the names evidence uses).
pub fn labels(t: &Tags) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = t.topics.iter().map(|x| format!("topic:{x}")).collect();
    out.insert(format!("voice:{}", t.voice_type));
    if let Some(c) = &t.complaint_type {
        out.insert(format!("complaint:{c}"));
    }
    out.insert(format!("sentiment:{}", t.sentiment));
    out.insert(format!("severity:{}", t.severity));
    if t.churn_risk {
        out.insert("churn".into());
    }
    out
}

/// Whether the aggregate tables (topic volume, keyword frequency) group or count these two
/// differently: then the hour they fall in must be rebuilt.
pub fn aggregates_differ(old: &Tags, new: &Tags) -> bool {
    old.topics != new.topics
        || old.voice_type != new.voice_type
        || old.complaint_type != new.complaint_type
        || (old.sentiment == Sentiment::Negative) != (new.sentiment == Sentiment::Negative)
        || old.keywords != new.keywords
}

/// One label's counts before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LabelChange {
    pub label: String,
    pub old: u64,
    pub new: u64,
    pub gained: u64,
    pub lost: u64,
}

/// A changed interaction, with why it changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub interaction_id: String,
    pub occurred_at: String,
    /// The stored (masked) customer text, shortened.
    pub text: String,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
    /// New rules' evidence for the labels gained.
    pub evidence_new: Vec<Evidence>,
    /// Old evidence for the labels lost.
    pub evidence_old: Vec<Evidence>,
}

/// The diff of a whole re-tag run.
#[derive(Debug, Clone, Serialize)]
pub struct RetagReport {
    pub new_rules_version: String,
    /// Rules versions of the stored tags, with how many interactions each had.
    pub old_rules_versions: BTreeMap<String, u64>,
    pub interactions: u64,
    /// Interactions whose labels change.
    pub changed: u64,
    /// Interactions whose keywords change.
    pub keywords_changed: u64,
    /// Every label seen before or after, with its counts.
    pub labels: Vec<LabelChange>,
    pub examples: Vec<Example>,
    #[serde(skip)]
    counts: BTreeMap<String, LabelChange>,
    #[serde(skip)]
    max_examples: usize,
    #[serde(skip)]
    signatures: HashSet<Vec<String>>,
}

const EXAMPLE_CHARS: usize = 120;

impl RetagReport {
    pub fn new(new_rules_version: &str, max_examples: usize) -> Self {
        Self {
            new_rules_version: new_rules_version.to_string(),
            old_rules_versions: BTreeMap::new(),
            interactions: 0,
            changed: 0,
            keywords_changed: 0,
            labels: Vec::new(),
            examples: Vec::new(),
            counts: BTreeMap::new(),
            max_examples,
            signatures: HashSet::new(),
        }
    }

    /// Counts one interaction: `old` as stored, `new` from the new rules.
    pub fn add(&mut self, old: &Tags, new: &Tags, occurred_at: &str, text: &str) {
        self.interactions += 1;
        *self
            .old_rules_versions
            .entry(old.rules_version.clone())
            .or_default() += 1;
        let before = labels(old);
        let after = labels(new);
        for l in &before {
            self.entry(l).old += 1;
        }
        for l in &after {
            self.entry(l).new += 1;
        }
        let gained: Vec<String> = after.difference(&before).cloned().collect();
        let lost: Vec<String> = before.difference(&after).cloned().collect();
        for l in &gained {
            self.entry(l).gained += 1;
        }
        for l in &lost {
            self.entry(l).lost += 1;
        }
        if old.keywords != new.keywords {
            self.keywords_changed += 1;
        }
        if gained.is_empty() && lost.is_empty() {
            return;
        }
        self.changed += 1;
        // One example per kind of change, so a reviewer sees the variety, not the same case N times.
        let signature: Vec<String> = gained
            .iter()
            .map(|l| format!("+{l}"))
            .chain(lost.iter().map(|l| format!("-{l}")))
            .collect();
        if self.examples.len() < self.max_examples && self.signatures.insert(signature) {
            let pick = |ev: &[Evidence], wanted: &[String]| -> Vec<Evidence> {
                ev.iter()
                    .filter(|e| wanted.contains(&e.label))
                    .cloned()
                    .collect()
            };
            self.examples.push(Example {
                interaction_id: new.interaction_id.clone(),
                occurred_at: occurred_at.to_string(),
                text: shorten(text, EXAMPLE_CHARS),
                evidence_new: pick(&new.evidence, &gained),
                evidence_old: pick(&old.evidence, &lost),
                gained,
                lost,
            });
        }
    }

    fn entry(&mut self, label: &str) -> &mut LabelChange {
        self.counts
            .entry(label.to_string())
            .or_insert_with(|| LabelChange {
                label: label.to_string(),
                ..LabelChange::default()
            })
    }

    /// Fills [`Self::labels`] from the counts (call before serialising or rendering).
    pub fn finish(&mut self) {
        self.labels = self.counts.values().cloned().collect();
    }

    /// The report for people: changed labels only, then the examples.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let old: Vec<String> = self
            .old_rules_versions
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        let _ = writeln!(
            out,
            "re-tag of {} interactions: rules {} → {}",
            self.interactions,
            if old.is_empty() {
                "-".to_string()
            } else {
                old.join(", ")
            },
            self.new_rules_version
        );
        let pct = |n: u64| {
            if self.interactions == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.interactions as f64
            }
        };
        let _ = writeln!(
            out,
            "labels change in {} ({:.1}%), keywords in {} ({:.1}%)",
            self.changed,
            pct(self.changed),
            self.keywords_changed,
            pct(self.keywords_changed)
        );
        let changed: Vec<&LabelChange> = self
            .labels
            .iter()
            .filter(|c| c.gained > 0 || c.lost > 0)
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<32} {:>8} {:>8} {:>8} {:>8}",
                "label", "old", "new", "gained", "lost"
            );
            for c in &changed {
                let _ = writeln!(
                    out,
                    "{:<32} {:>8} {:>8} {:>8} {:>8}",
                    c.label,
                    c.old,
                    c.new,
                    format!("+{}", c.gained),
                    format!("-{}", c.lost)
                );
            }
        }
        let same = self.labels.len() - changed.len();
        if same > 0 {
            let _ = writeln!(out, "({same} labels unchanged)");
        }
        if !self.examples.is_empty() {
            let _ = writeln!(out, "\nexamples:");
        }
        for e in &self.examples {
            let _ = writeln!(
                out,
                "- {} ({})  「{}」",
                e.interaction_id, e.occurred_at, e.text
            );
            for l in &e.gained {
                let why: Vec<String> = e
                    .evidence_new
                    .iter()
                    .filter(|ev| &ev.label == l)
                    .map(|ev| format!("{} 「{}」", ev.rule, ev.text))
                    .collect();
                let _ = writeln!(out, "    + {l}  {}", why.join("; "));
            }
            for l in &e.lost {
                let why: Vec<String> = e
                    .evidence_old
                    .iter()
                    .filter(|ev| &ev.label == l)
                    .map(|ev| format!("was {} 「{}」", ev.rule, ev.text))
                    .collect();
                let _ = writeln!(out, "    - {l}  {}", why.join("; "));
            }
        }
        out
    }
}

fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace('\n', " / ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(topics: &[&str], voice: &str, sentiment: &str, keywords: &[&str]) -> Tags {
        Tags {
            interaction_id: "i-1".into(),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            voice_type: voice.parse().expect("voice type"),
            complaint_type: (voice == "complaint").then(|| "billing".to_string()),
            sentiment: sentiment.parse().expect("sentiment"),
            sentiment_score: 0.0,
            severity: u8::from(voice == "complaint"),
            churn_risk: false,
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            evidence: vec![Evidence {
                label: "topic:billing".into(),
                rule: "topic.billing.new".into(),
                text: "請求".into(),
            }],
            rules_version: "r@2".into(),
        }
    }

    #[test]
    fn counts_gains_losses_and_keeps_one_example_per_kind_of_change() {
        let mut old = tags(&["delivery"], "question", "neutral", &["配送"]);
        old.rules_version = "r@1".into();
        let new = tags(&["billing"], "complaint", "negative", &["配送"]);
        let mut report = RetagReport::new("r@2", 10);
        report.add(&old, &new, "2026-11-01T00:00:00Z", "請求が\n二重です");
        report.add(&old, &new, "2026-11-01T00:00:00Z", "請求が二重です");
        report.add(&new, &new, "2026-11-01T00:00:00Z", "同じ");
        report.finish();
        let get = |l: &str| report.labels.iter().find(|c| c.label == l).cloned();
        let billing = get("topic:billing").expect("billing counted");
        assert_eq!(
            (billing.old, billing.new, billing.gained, billing.lost),
            (1, 3, 2, 0)
        );
        let delivery = get("topic:delivery").expect("delivery counted");
        assert_eq!((delivery.old, delivery.new, delivery.lost), (2, 0, 2));
        assert_eq!(report.changed, 2);
        assert_eq!(report.keywords_changed, 0);
        assert_eq!(report.examples.len(), 1, "the same change is shown once");
        let ex = &report.examples[0];
        assert_eq!(ex.text, "請求が / 二重です");
        assert!(ex.gained.contains(&"complaint:billing".to_string()));
        assert_eq!(ex.evidence_new[0].rule, "topic.billing.new");
        assert_eq!(report.old_rules_versions.get("r@1"), Some(&2));
        let text = report.render();
        assert!(text.contains("topic:billing"), "{text}");
        assert!(
            text.contains("+ topic:billing  topic.billing.new"),
            "{text}"
        );
    }

    #[test]
    fn aggregate_relevance() {
        let a = tags(&["billing"], "question", "neutral", &["請求"]);
        let mut b = a.clone();
        b.sentiment = crate::labels::Sentiment::Positive;
        b.severity = 0;
        assert!(
            !aggregates_differ(&a, &b),
            "positive vs neutral is not counted"
        );
        b.keywords.push("二重".into());
        assert!(aggregates_differ(&a, &b));
    }
}
