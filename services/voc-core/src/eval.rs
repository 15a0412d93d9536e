//! Accuracy figures of predicted tags against gold labels (the `labels` of a labeled JSONL).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::Tags;
use crate::labels::{Sentiment, VoiceType};

/// Gold labels as in `data/eval/dev.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldLabels {
    pub topics: Vec<String>,
    pub voice_type: VoiceType,
    pub complaint_type: Option<String>,
    pub sentiment: Sentiment,
    pub severity: u8,
    pub churn_risk: bool,
}

/// Counts for one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, gold: bool, pred: bool) {
        match (gold, pred) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

/// Per-label counts of one field plus how many items were exactly right.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldReport {
    pub labels: BTreeMap<String, Counts>,
    pub correct: u32,
    pub total: u32,
}

impl FieldReport {
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.total)
    }
    pub fn micro_f1(&self) -> f64 {
        let mut sum = Counts::default();
        for c in self.labels.values() {
            sum.tp += c.tp;
            sum.fp += c.fp;
            sum.fn_ += c.fn_;
        }
        sum.f1()
    }
    pub fn macro_f1(&self) -> f64 {
        if self.labels.is_empty() {
            return 0.0;
        }
        self.labels.values().map(Counts::f1).sum::<f64>() / self.labels.len() as f64
    }

    fn add_multi(&mut self, gold: &[String], pred: &[String]) {
        for l in gold.iter().chain(pred) {
            self.labels.entry(l.clone()).or_default();
        }
        for (label, c) in self.labels.iter_mut() {
            c.add(gold.contains(label), pred.contains(label));
        }
        let mut g = gold.to_vec();
        let mut p = pred.to_vec();
        g.sort();
        p.sort();
        self.total += 1;
        self.correct += u32::from(g == p);
    }

    fn add_single(&mut self, gold: &str, pred: &str) {
        self.add_multi(&[gold.to_string()], &[pred.to_string()]);
    }
}

/// Every figure `voc eval` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub items: u32,
    pub topics: FieldReport,
    pub voice_type: FieldReport,
    /// Over the items whose gold voice type is complaint.
    pub complaint_type: FieldReport,
    pub sentiment: FieldReport,
    pub severity: FieldReport,
    /// Severity 3 as a yes/no label.
    pub escalation: Counts,
    pub churn_risk: Counts,
    pub churn_correct: u32,
    /// Gold complaints, and how many of them got no topic at all.
    pub complaints: u32,
    pub complaints_without_topic: u32,
}

impl EvalReport {
    pub fn add(&mut self, gold: &GoldLabels, pred: &Tags) {
        self.items += 1;
        self.topics.add_multi(&gold.topics, &pred.topics);
        self.voice_type
            .add_single(gold.voice_type.as_str(), pred.voice_type.as_str());
        if gold.voice_type == VoiceType::Complaint {
            self.complaints += 1;
            self.complaints_without_topic += u32::from(pred.topics.is_empty());
            let none = "(none)".to_string();
            self.complaint_type.add_single(
                gold.complaint_type.as_ref().unwrap_or(&none),
                pred.complaint_type.as_ref().unwrap_or(&none),
            );
        }
        self.sentiment
            .add_single(gold.sentiment.as_str(), pred.sentiment.as_str());
        self.severity
            .add_single(&gold.severity.to_string(), &pred.severity.to_string());
        self.escalation.add(gold.severity == 3, pred.severity == 3);
        self.churn_risk.add(gold.churn_risk, pred.churn_risk);
        self.churn_correct += u32::from(gold.churn_risk == pred.churn_risk);
    }

    /// Whether this set can measure `figure`: recall needs a gold positive, F1 any positive at
    /// all, the complaint figures a gold complaint.
    pub fn is_defined(&self, figure: &str) -> bool {
        match figure {
            "escalation_recall" => self.escalation.tp + self.escalation.fn_ > 0,
            "churn_f1" => self.churn_risk.tp + self.churn_risk.fn_ + self.churn_risk.fp > 0,
            "complaint_recall" | "complaints_without_topic" | "complaint_type_accuracy" => {
                self.complaints > 0
            }
            _ => self.items > 0,
        }
    }

    /// Share of gold complaints given no topic (lower is better); 0 when there are none.
    pub fn complaints_without_topic_rate(&self) -> f64 {
        if self.complaints == 0 {
            0.0
        } else {
            f64::from(self.complaints_without_topic) / f64::from(self.complaints)
        }
    }

    /// The headline figures, by name (the `voc eval --json` keys and `data/eval/sets.toml`'s).
    pub fn headline(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("topics_micro_f1", self.topics.micro_f1()),
            ("voice_type_accuracy", self.voice_type.accuracy()),
            (
                "complaint_recall",
                self.voice_type
                    .labels
                    .get("complaint")
                    .map_or(0.0, Counts::recall),
            ),
            (
                "complaints_without_topic",
                self.complaints_without_topic_rate(),
            ),
            ("complaint_type_accuracy", self.complaint_type.accuracy()),
            ("sentiment_macro_f1", self.sentiment.macro_f1()),
            ("severity_accuracy", self.severity.accuracy()),
            ("escalation_recall", self.escalation.recall()),
            ("churn_f1", self.churn_risk.f1()),
        ]
    }

    /// A plain-text report: one summary block, then per-label precision, recall and F1.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, value: String| {
            out.push_str(&format!("  {name:<34} {value}\n"))
        };
        out.push_str(&format!("items: {}\n\nsummary\n", self.items));
        line(
            &mut out,
            "topics micro-F1",
            format!("{:.3}", self.topics.micro_f1()),
        );
        line(
            &mut out,
            "topics exact-set accuracy",
            format!("{:.3}", self.topics.accuracy()),
        );
        line(
            &mut out,
            "voice_type accuracy",
            format!("{:.3}", self.voice_type.accuracy()),
        );
        line(
            &mut out,
            "voice_type macro-F1",
            format!("{:.3}", self.voice_type.macro_f1()),
        );
        line(
            &mut out,
            "complaint_type accuracy (gold complaints)",
            format!("{:.3}", self.complaint_type.accuracy()),
        );
        line(
            &mut out,
            "sentiment accuracy",
            format!("{:.3}", self.sentiment.accuracy()),
        );
        line(
            &mut out,
            "sentiment macro-F1",
            format!("{:.3}", self.sentiment.macro_f1()),
        );
        line(
            &mut out,
            "severity accuracy",
            format!("{:.3}", self.severity.accuracy()),
        );
        line(
            &mut out,
            "escalation (severity 3) recall",
            format!("{:.3}", self.escalation.recall()),
        );
        line(
            &mut out,
            "escalation (severity 3) precision",
            format!("{:.3}", self.escalation.precision()),
        );
        line(
            &mut out,
            "churn_risk accuracy",
            format!("{:.3}", ratio(self.churn_correct, self.items)),
        );
        line(
            &mut out,
            "churn_risk F1",
            format!("{:.3}", self.churn_risk.f1()),
        );
        for (name, field) in [
            ("topics", &self.topics),
            ("voice_type", &self.voice_type),
            ("complaint_type", &self.complaint_type),
            ("sentiment", &self.sentiment),
            ("severity", &self.severity),
        ] {
            out.push_str(&format!(
                "\n{name:<20} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}\n",
                "precision", "recall", "F1", "tp", "fp", "fn"
            ));
            for (label, c) in &field.labels {
                out.push_str(&format!(
                    "  {label:<18} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}\n",
                    c.precision(),
                    c.recall(),
                    c.f1(),
                    c.tp,
                    c.fp,
                    c.fn_
                ));
            }
        }
        out
    }
}

/// Whether a lower value of this headline figure is the better one.
pub fn lower_is_better(figure: &str) -> bool {
    figure == "complaints_without_topic"
}

/// The figures that fell more than `tolerance` below (or, for a lower-is-better figure, rose
/// above) their recorded value, as `name: measured (recorded r)` lines; empty when all hold.
pub fn regressions(
    recorded: &BTreeMap<String, f64>,
    measured: &[(&str, f64)],
    tolerance: f64,
) -> Vec<String> {
    measured
        .iter()
        .filter_map(|(name, value)| {
            let floor = *recorded.get(*name)?;
            let worse = if lower_is_better(name) {
                *value > floor + tolerance
            } else {
                *value < floor - tolerance
            };
            worse.then(|| format!("{name}: {value:.3} (recorded {floor:.3})"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(topics: &[&str], voice: &str, sentiment: &str, severity: u8) -> Tags {
        Tags {
            interaction_id: "x".into(),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            voice_type: voice.parse().expect("voice type"),
            complaint_type: None,
            sentiment: sentiment.parse().expect("sentiment"),
            sentiment_score: 0.0,
            severity,
            churn_risk: false,
            keywords: vec![],
            evidence: vec![],
            rules_version: "t".into(),
        }
    }

    fn gold(topics: &[&str], voice: &str, sentiment: &str, severity: u8) -> GoldLabels {
        GoldLabels {
            topics: topics.iter().map(|s| s.to_string()).collect(),
            voice_type: voice.parse().expect("voice type"),
            complaint_type: None,
            sentiment: sentiment.parse().expect("sentiment"),
            severity,
            churn_risk: false,
        }
    }

    #[test]
    fn counts_multi_label_topics() {
        let mut r = EvalReport::default();
        r.add(
            &gold(&["billing", "product"], "complaint", "negative", 1),
            &tags(&["billing", "delivery"], "complaint", "negative", 1),
        );
        let b = r.topics.labels["billing"];
        assert_eq!((b.tp, b.fp, b.fn_), (1, 0, 0));
        assert_eq!(r.topics.labels["delivery"].fp, 1);
        assert_eq!(r.topics.labels["product"].fn_, 1);
        // micro: tp 1, fp 1, fn 1 → P = R = 0.5
        assert!((r.topics.micro_f1() - 0.5).abs() < 1e-9);
        assert_eq!(r.topics.accuracy(), 0.0);
    }

    #[test]
    fn escalation_recall_counts_severity_three() {
        let mut r = EvalReport::default();
        r.add(
            &gold(&[], "complaint", "negative", 3),
            &tags(&[], "complaint", "negative", 3),
        );
        r.add(
            &gold(&[], "complaint", "negative", 3),
            &tags(&[], "complaint", "negative", 2),
        );
        assert!((r.escalation.recall() - 0.5).abs() < 1e-9);
        assert_eq!(r.severity.accuracy(), 0.5);
        assert!(r.render().contains("escalation (severity 3) recall"));
    }

    #[test]
    fn a_figure_below_its_floor_is_a_regression_whichever_way_is_better() {
        let recorded: BTreeMap<String, f64> = [
            ("topics_micro_f1".to_string(), 0.80),
            ("complaints_without_topic".to_string(), 0.20),
        ]
        .into();
        assert!(regressions(&recorded, &[("topics_micro_f1", 0.781)], 0.02).is_empty());
        assert_eq!(
            regressions(&recorded, &[("topics_micro_f1", 0.779)], 0.02),
            ["topics_micro_f1: 0.779 (recorded 0.800)"]
        );
        assert!(regressions(&recorded, &[("complaints_without_topic", 0.0)], 0.02).is_empty());
        assert_eq!(
            regressions(&recorded, &[("complaints_without_topic", 0.25)], 0.02).len(),
            1
        );
        // A figure with nothing recorded has no floor yet.
        assert!(regressions(&recorded, &[("churn_f1", 0.0)], 0.02).is_empty());
    }

    #[test]
    fn complaints_without_a_topic_are_counted() {
        let mut r = EvalReport::default();
        r.add(
            &gold(&["product"], "complaint", "negative", 1),
            &tags(&[], "complaint", "negative", 1),
        );
        r.add(
            &gold(&["product"], "complaint", "negative", 1),
            &tags(&["product"], "other", "neutral", 0),
        );
        assert_eq!(r.complaints_without_topic_rate(), 0.5);
        let h = r.headline();
        let recall = h
            .iter()
            .find(|(k, _)| *k == "complaint_recall")
            .map(|x| x.1);
        assert_eq!(recall, Some(0.5));
    }
}
