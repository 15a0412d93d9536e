//! The decision: from the rules that fired and the sentiment score to the tags of docs/TAXONOMY.md.
//! One function per label, in the order they depend on each other: topics, voice (with the
//! sentiment it implies), complaint type, severity, then the evidence for what was decided.

use crate::analyze::Evidence;
use crate::labels::{Sentiment, VoiceType};
use crate::message::Channel;
use crate::rules::matcher::{self, Firing};
use crate::rules::{Label, RuleSet};
use crate::sentiment::{self, SentimentScore};

/// What the decision reads: the rules, the rules that fired, the sentiment score.
pub(crate) struct Fired<'a> {
    pub rules: &'a RuleSet,
    pub firings: &'a [Firing],
    pub sentiment: &'a SentimentScore,
}

impl Fired<'_> {
    fn label(&self, f: &Firing) -> &Label {
        &self.rules.rules[f.rule].label
    }

    /// Summed weight of the fired rules whose label matches.
    fn weight(&self, pred: impl Fn(&Label) -> bool) -> f64 {
        self.firings
            .iter()
            .filter(|f| pred(self.label(f)))
            .map(|f| self.rules.rules[f.rule].weight)
            .sum()
    }

    fn any(&self, label: &Label) -> bool {
        self.firings.iter().any(|f| self.label(f) == label)
    }

    fn voice_weight(&self, v: VoiceType) -> f64 {
        self.weight(|l| *l == Label::Voice(v))
    }

    pub fn escalation(&self) -> bool {
        self.any(&Label::Severity(3))
    }
}

/// Topics: each rule adds its weight once per distinct item matched, so weak cues add up;
/// reported in declaration order. A channel may name a default (reviews are about the product).
pub(crate) fn topics(fired: &Fired<'_>, channel: Channel) -> Vec<String> {
    let rules = fired.rules;
    let score = |id: &str| -> f64 {
        fired
            .firings
            .iter()
            .filter(|f| matches!(fired.label(f), Label::Topic(t) if t == id))
            .map(|f| rules.rules[f.rule].weight * f.matched as f64)
            .sum()
    };
    let mut topics: Vec<String> = rules
        .topics
        .iter()
        .filter(|(id, _)| score(id) >= rules.settings.topic_threshold)
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
    topics
}

/// The voice type, and the sentiment it leaves: a complaint is negative, anything else is not.
pub(crate) fn voice(fired: &Fired<'_>) -> (VoiceType, Sentiment) {
    let rules = fired.rules;
    let senti = fired.sentiment;
    let threshold = rules.settings.sentiment_threshold;
    let mut sentiment = if senti.score <= -threshold {
        Sentiment::Negative
    } else if senti.score >= threshold {
        Sentiment::Positive
    } else {
        Sentiment::Neutral
    };
    // Priority on ties: a procedure asked for, then a question, then a request.
    let other_voice = [
        VoiceType::Procedure,
        VoiceType::Question,
        VoiceType::Request,
    ]
    .into_iter()
    .map(|v| (Some(v), fired.voice_weight(v)))
    .fold(
        (None, 0.0),
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
        && fired.weight(|l| matches!(l, Label::Complaint(_))) >= rules.settings.failure_weight;
    let decisive = if failure_stated {
        senti.score.min(-threshold)
    } else if other_voice.1 > 0.0 {
        senti.score - generic
    } else {
        senti.score
    };
    if fired.escalation()
        || decisive <= -threshold
        || fired.voice_weight(VoiceType::Complaint) >= 1.0
    {
        return (VoiceType::Complaint, Sentiment::Negative);
    }
    if sentiment == Sentiment::Negative {
        sentiment = Sentiment::Neutral;
    }
    let voice = match other_voice {
        (Some(v), s) if s > 0.0 => v,
        _ if sentiment == Sentiment::Positive || fired.voice_weight(VoiceType::Praise) >= 1.0 => {
            VoiceType::Praise
        }
        _ => VoiceType::Other,
    };
    (voice, sentiment)
}

/// The complaint type of a complaint: the highest summed weight, plus a bonus for the problem
/// raised first (ties go to it too); else the default of its first topic that has one; else the
/// rules' fallback.
pub(crate) fn complaint_type(fired: &Fired<'_>, topics: &[String]) -> String {
    let rules = fired.rules;
    let first_of = |ct: &str| {
        fired
            .firings
            .iter()
            .filter(|f| matches!(fired.label(f), Label::Complaint(x) if x == ct))
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
        let s = fired.weight(|l| matches!(l, Label::Complaint(x) if x == ct)) + bonus;
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
}

/// A complaint with no topic gets the topic its complaint type implies, if the rules name one.
pub(crate) fn topic_of_complaint(rules: &RuleSet, topics: &mut Vec<String>, complaint: &str) {
    if topics.is_empty()
        && let Some((_, topic)) = rules.complaint_topics.iter().find(|(c, _)| c == complaint)
    {
        topics.push(topic.clone());
    }
}

/// 0 for anything but a complaint; 3 on escalation, 2 on strong emotion, repetition or harm,
/// else 1.
pub(crate) fn severity(fired: &Fired<'_>, voice: VoiceType) -> u8 {
    if voice != VoiceType::Complaint {
        0
    } else if fired.escalation() {
        3
    } else if fired.any(&Label::Severity(2)) {
        2
    } else {
        1
    }
}

pub(crate) fn churn_risk(fired: &Fired<'_>) -> bool {
    fired.any(&Label::Churn)
}

/// What was decided, for [`evidence`].
pub(crate) struct Decided<'a> {
    pub topics: &'a [String],
    pub voice: VoiceType,
    pub complaint_type: Option<&'a str>,
    pub severity: u8,
}

/// The rules behind what was decided (a complaint-type rule on a non-complaint decided
/// nothing), then up to five sentiment cues of weight 0.5 or more, with their polarity.
pub(crate) fn evidence(fired: &Fired<'_>, decided: &Decided<'_>, text: &str) -> Vec<Evidence> {
    let rules = fired.rules;
    let mut evidence: Vec<Evidence> = fired
        .firings
        .iter()
        .filter(|f| match fired.label(f) {
            Label::Topic(t) => decided.topics.contains(t),
            Label::Voice(v) => *v == decided.voice,
            Label::Complaint(c) => decided.complaint_type == Some(c.as_str()),
            Label::Severity(n) => *n == decided.severity,
            Label::Churn => true,
            // Reported below with the other sentiment cues, with their polarity.
            Label::Sentiment => false,
        })
        .map(|f| Evidence {
            label: fired.label(f).as_evidence(),
            rule: rules.rules[f.rule].id.clone(),
            text: matcher::snippet(text, f.span.clone()),
        })
        .collect();
    evidence.extend(
        fired
            .sentiment
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
    evidence
}
