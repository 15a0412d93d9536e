//! `analyze`: one validated interaction in, its tags out — the function every entry point calls.
//!
//! Only the customer's words are judged (docs/TAXONOMY.md); agent, bot and system turns are context and
//! never stored. Each customer turn is normalised, cleaned of fillers, skipped if it is only
//! あいづち, and masked before tokenising, so keywords and evidence only ever see masked text.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::keywords;
use crate::mask::{mask, mask_names};
use crate::message::{Channel, Interaction, Speaker};
use crate::normalize::{is_backchannel, normalize, strip_fillers};
use crate::rules::matcher::{self, Document, Firing};
use crate::rules::{Label, RuleSet};
use crate::sentiment;
use crate::tokenize::{Morpheme, TokenizeError, Tokenizer, WordSource, mark_negation};

/// Why a rule fired, on which (masked) text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub rule: String,
    pub text: String,
}

/// The tags of one interaction: exactly the `voc tag` output of docs/CONTRACT.md §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tags {
    pub interaction_id: String,
    pub topics: Vec<String>,
    pub voice_type: String,
    pub complaint_type: Option<String>,
    pub sentiment: String,
    pub sentiment_score: f64,
    pub severity: u8,
    pub churn_risk: bool,
    pub keywords: Vec<String>,
    pub evidence: Vec<Evidence>,
    pub rules_version: String,
}

/// Tags plus what the store needs: the customer's masked text.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub tags: Tags,
    /// Customer turns, normalised and masked, joined by newlines. The only text ever stored.
    pub customer_text: String,
    /// How many pieces of personal data were masked.
    pub pii_masked: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
}

/// Rules plus a tokenizer. Cheap to clone: give each worker thread its own clone.
#[derive(Debug, Clone)]
pub struct Analyzer {
    rules: Arc<RuleSet>,
    tokenizer: Tokenizer,
}

impl Analyzer {
    pub fn new(rules: Arc<RuleSet>, tokenizer: Tokenizer) -> Self {
        Self { rules, tokenizer }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The customer's turns as the analysis reads them: normalised, fillers removed, turns of
    /// あいづち alone dropped; not yet masked.
    fn customer_turns(interaction: &Interaction) -> impl Iterator<Item = String> + '_ {
        interaction
            .turns
            .iter()
            .filter(|t| t.speaker == Speaker::Customer)
            .map(|turn| strip_fillers(&normalize(&turn.text)))
            .filter(|clean| !clean.is_empty() && !is_backchannel(clean))
    }

    /// The customer's words, normalised and masked (all but names, which need the morphemes).
    ///
    /// The turns are masked together, joined by newlines: a number dictated over two turns
    /// (090の1234の / 5678です) is one number.
    pub fn customer_document(interaction: &Interaction) -> (String, usize) {
        let masked = mask(&Self::customer_text_unmasked(interaction));
        let found = masked.found.len();
        (masked.text, found)
    }

    /// The customer's turns, cleaned and joined by newlines, before masking: for audits only.
    pub fn customer_text_unmasked(interaction: &Interaction) -> String {
        Self::customer_turns(interaction)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn analyze(&self, interaction: &Interaction) -> Result<Analysis, AnalyzeError> {
        let (text, pii) = Self::customer_document(interaction);
        self.analyze_document(&interaction.interaction_id, interaction.channel, text, pii)
    }

    /// Re-tags a stored interaction: its customer text as stored (already normalised and
    /// masked). Gives the same tags as [`Self::analyze`] gave for the original message with the
    /// same rules, so a re-tag with new rules changes only what the rules change.
    pub fn analyze_stored(
        &self,
        interaction_id: &str,
        channel: Channel,
        customer_text: &str,
    ) -> Result<Analysis, AnalyzeError> {
        // Masked again with today's masker: history gains what it learnt since (idempotent on
        // text it already masked).
        let masked = mask(customer_text);
        self.analyze_document(interaction_id, channel, masked.text, masked.found.len())
    }

    fn analyze_document(
        &self,
        id: &str,
        channel: Channel,
        mut text: String,
        mut pii: usize,
    ) -> Result<Analysis, AnalyzeError> {
        let mut morphemes = self.tokenizer.tokenize(&text)?;
        if let Some(masked) = mask_names(&text, &morphemes, &|m| self.is_own_word(m)) {
            pii += masked.1;
            text = masked.0;
            morphemes = self.tokenizer.tokenize(&text)?;
        }
        mark_negation(&mut morphemes);
        let tags = self.decide(id, channel, &text, &morphemes);
        drop(morphemes);
        Ok(Analysis {
            tags,
            customer_text: text,
            pii_masked: pii,
        })
    }

    /// The company's own words (user dictionary, terms the rules name): never masked as names.
    pub fn is_own_word(&self, m: &Morpheme<'_>) -> bool {
        m.source == WordSource::User
            || self.rules.knows_term(m.surface)
            || self.rules.knows_term(m.base)
    }

    fn decide(&self, id: &str, channel: Channel, text: &str, morphemes: &[Morpheme<'_>]) -> Tags {
        let rules = &*self.rules;
        let doc = Document::new(text, morphemes);
        let hits = matcher::atom_hits(&rules.atoms, &doc);
        let firings = matcher::fire_all(rules, &hits, &doc);
        let senti = sentiment::score(rules, &hits, &doc, &firings);
        let label_of = |f: &Firing| &rules.rules[f.rule].label;
        let sum = |pred: &dyn Fn(&Label) -> bool| -> f64 {
            firings
                .iter()
                .filter(|f| pred(label_of(f)))
                .map(|f| rules.rules[f.rule].weight)
                .sum()
        };
        let any = |label: Label| firings.iter().any(|f| *label_of(f) == label);

        // Topics: each rule adds its weight once per distinct item matched, so weak cues add up;
        // reported in declaration order. A channel may name a default (reviews are about the product).
        let topic_score = |id: &str| -> f64 {
            firings
                .iter()
                .filter(|f| matches!(label_of(f), Label::Topic(t) if t == id))
                .map(|f| rules.rules[f.rule].weight * f.matched as f64)
                .sum()
        };
        let mut topics: Vec<String> = rules
            .topics
            .iter()
            .filter(|(id, _)| topic_score(id) >= rules.settings.topic_threshold)
            .map(|(id, _)| id.clone())
            .collect();
        if topics.is_empty()
            && let Some((_, topic)) = rules
                .channel_topics
                .iter()
                .find(|(c, _)| c == channel.as_str())
        {
            topics.push(topic.clone());
        }

        let escalation = any(Label::Severity(3));
        let threshold = rules.settings.sentiment_threshold;
        let mut sentiment = if senti.score <= -threshold {
            "negative"
        } else if senti.score >= threshold {
            "positive"
        } else {
            "neutral"
        };

        let voice_score = |v: &str| sum(&|l| matches!(l, Label::Voice(x) if x == v));
        // Priority on ties: a procedure asked for, then a question, then a request.
        let other_voice = ["procedure", "question", "request"]
            .into_iter()
            .map(|v| (v, voice_score(v)))
            .fold(
                ("", 0.0),
                |acc, (v, s)| if s > acc.1 { (v, s) } else { acc },
            );
        // A request or question that gives its reason (〜してほしい、間に合わなくて) is not a
        // complaint on the strength of a generic negated verb alone: that is often the customer's
        // own situation, not the company's failure.
        let generic: f64 = senti
            .cues
            .iter()
            .filter(|c| c.source == sentiment::NEGATED_VERB)
            .map(|c| c.weight)
            .sum();
        // A stated failure wins over the request or question that follows it (docs/TAXONOMY.md): a
        // complaint-type rule that fired in a voice scoring negative at all decides.
        let failure_stated = senti.score < 0.0
            && sum(&|l| matches!(l, Label::Complaint(_))) >= rules.settings.failure_weight;
        let decisive = if failure_stated {
            senti.score.min(-threshold)
        } else if other_voice.1 > 0.0 {
            senti.score - generic
        } else {
            senti.score
        };
        let voice_type = if escalation || decisive <= -threshold || voice_score("complaint") >= 1.0
        {
            sentiment = "negative";
            "complaint".to_string()
        } else {
            if sentiment == "negative" {
                sentiment = "neutral";
            }
            if other_voice.1 > 0.0 {
                other_voice.0.to_string()
            } else if sentiment == "positive" || voice_score("praise") >= 1.0 {
                "praise".to_string()
            } else {
                "other".to_string()
            }
        };
        let is_complaint = voice_type == "complaint";

        let complaint_type = is_complaint.then(|| {
            // Highest summed weight, plus a bonus for the problem raised first; ties go to it too.
            let first_of = |ct: &str| {
                firings
                    .iter()
                    .filter(|f| matches!(label_of(f), Label::Complaint(x) if x == ct))
                    .map(|f| f.span.start)
                    .min()
            };
            let earliest = rules
                .complaint_types
                .iter()
                .filter_map(|(ct, _)| first_of(ct))
                .min();
            let mut best: Option<(&str, f64, usize)> = None;
            for (ct, _) in &rules.complaint_types {
                let Some(first) = first_of(ct) else { continue };
                let bonus = if Some(first) == earliest {
                    rules.settings.first_mention_bonus
                } else {
                    0.0
                };
                let s = sum(&|l| matches!(l, Label::Complaint(x) if x == ct)) + bonus;
                if best.is_none_or(|b| s > b.1 || (s == b.1 && first < b.2)) {
                    best = Some((ct, s, first));
                }
            }
            best.map(|b| b.0.to_string())
                .or_else(|| {
                    topics.iter().find_map(|t| {
                        rules
                            .complaint_defaults
                            .iter()
                            .find(|(topic, _)| topic == t)
                            .map(|(_, ct)| ct.clone())
                    })
                })
                .unwrap_or_else(|| rules.settings.complaint_fallback.clone())
        });

        if topics.is_empty()
            && let Some(ct) = &complaint_type
            && let Some((_, topic)) = rules.complaint_topics.iter().find(|(c, _)| c == ct)
        {
            topics.push(topic.clone());
        }

        let severity = if !is_complaint {
            0
        } else if escalation {
            3
        } else if any(Label::Severity(2)) {
            2
        } else {
            1
        };
        let churn_risk = any(Label::Churn);

        let mut evidence: Vec<Evidence> = firings
            .iter()
            .filter(|f| {
                // Only evidence for what was decided: a complaint-type rule on a non-complaint
                // decided nothing.
                match &rules.rules[f.rule].label {
                    Label::Topic(t) => topics.contains(t),
                    Label::Voice(v) => *v == voice_type,
                    Label::Complaint(c) => complaint_type.as_deref() == Some(c),
                    Label::Severity(n) => *n == severity,
                    Label::Churn => true,
                    // Reported below with the other sentiment cues, with their polarity.
                    Label::Sentiment => false,
                }
            })
            .map(|f| Evidence {
                label: rules.rules[f.rule].label.as_evidence(),
                rule: rules.rules[f.rule].id.clone(),
                text: matcher::snippet(text, f.span.clone()),
            })
            .collect();
        evidence.extend(
            senti
                .cues
                .iter()
                .filter(|c| c.weight.abs() >= 0.5)
                .take(5)
                .map(|c| Evidence {
                    label: if c.weight < 0.0 {
                        "sentiment:negative"
                    } else {
                        "sentiment:positive"
                    }
                    .to_string(),
                    rule: c.source.clone(),
                    text: matcher::snippet(text, c.span.clone()),
                }),
        );

        Tags {
            interaction_id: id.to_string(),
            topics,
            voice_type,
            complaint_type,
            sentiment: sentiment.to_string(),
            sentiment_score: ((senti.score / 3.0).tanh() * 100.0).round() / 100.0,
            severity,
            churn_risk,
            keywords: keywords::extract(text, morphemes, &rules.stop_words, rules.max_keywords),
            evidence,
            rules_version: rules.version.clone(),
        }
    }
}
