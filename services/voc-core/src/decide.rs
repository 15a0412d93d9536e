//! The decision: from the rules that fired and the sentiment score to the tags of docs/TAXONOMY.md.
//! One function per label, in the order they depend on each other: topics, voice (with the
//! sentiment it implies), complaint type, severity, then the evidence for what was decided.

use crate::analyze::Evidence;
use crate::labels::{Sentiment, VoiceType};
use crate::message::Channel;
use crate::model::{HeadLabel, Prediction};
use crate::own_mishap::OwnMishaps;
use crate::rules::matcher::{self, Firing};
use crate::rules::{Label, RuleSet};
use crate::sentiment::{self, SentimentScore};

/// What the decision reads: the rules, the rules that fired, the sentiment score, and the
/// model's probabilities when the rules name a model.
pub(crate) struct Fired<'a> {
    pub rules: &'a RuleSet,
    pub firings: &'a [Firing],
    pub sentiment: &'a SentimentScore,
    /// Sentences where the customer owns a mishap.
    pub own: &'a OwnMishaps,
    pub prediction: Option<&'a Prediction<'a>>,
}

impl Fired<'_> {
    fn label(&self, f: &Firing) -> &Label {
        &self.rules.rules[f.rule].label
    }

    /// Summed weight of the fired rules whose label matches.
    fn weight(&self, pred: impl Fn(&Label) -> bool) -> f64 {
        self.weight_where(|f| pred(self.label(f)))
    }

    /// Summed weight of the firings that `pred` keeps.
    fn weight_where(&self, pred: impl Fn(&Firing) -> bool) -> f64 {
        self.firings
            .iter()
            .filter(|f| pred(f))
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

    /// Whether the model gives `class` of `head` at least the rules' threshold for it
    /// (`threshold` picks it from the gate); false without a model.
    fn model_says(
        &self,
        head: HeadLabel,
        class: &str,
        threshold: impl Fn(&crate::rules::ModelGate) -> f32,
    ) -> bool {
        self.model()
            .is_some_and(|(gate, p)| p.prob(head, class).is_some_and(|x| x >= threshold(gate)))
    }

    /// The rules' model gate and its prediction, if the text had any of its features: on a text
    /// it knows nothing of, its probabilities are only its priors, and priors decide nothing.
    fn model(&self) -> Option<(&crate::rules::ModelGate, &Prediction<'_>)> {
        let prediction = self.prediction.filter(|p| p.features() > 0)?;
        Some((self.rules.model.as_ref()?, prediction))
    }
}

/// The polarity of a sentiment score alone: past the threshold either way, else neutral.
fn polarity(score: f64, threshold: f64) -> Sentiment {
    if score <= -threshold {
        Sentiment::Negative
    } else if score >= threshold {
        Sentiment::Positive
    } else {
        Sentiment::Neutral
    }
}

/// Topics: each rule adds its weight once per distinct item matched, so weak cues add up;
/// reported in declaration order. The model adds a topic the rules missed when its probability
/// reaches `[model] topic` (`another_topic`, or the topic's own in `another_topic_for`, when
/// the rules found topics already: it then adds to a voice already placed). A channel may name
/// a default (reviews are about the product). In a question or a procedure asked for, a topic that only `setting`
/// rules reached (the device named in 冷蔵庫の延長保証に入れますか) is dropped when another
/// topic was reached without them: the voice is about that matter. Returns the topics and
/// those the model added.
pub(crate) fn topics(
    fired: &Fired<'_>,
    channel: Channel,
    voice: VoiceType,
) -> (Vec<String>, Vec<String>) {
    let rules = fired.rules;
    let threshold = rules.settings.topic_threshold;
    let score = |id: &str, settings: bool| -> f64 {
        fired
            .firings
            .iter()
            .filter(|f| matches!(fired.label(f), Label::Topic(t) if t == id))
            .filter(|f| settings || !rules.rules[f.rule].setting)
            .map(|f| rules.rules[f.rule].weight * f.matched as f64)
            .sum()
    };
    let mut by_rules: Vec<bool> = rules
        .topics
        .iter()
        .map(|(id, _)| score(id, true) >= threshold)
        .collect();
    if matches!(voice, VoiceType::Question | VoiceType::Procedure) {
        let matter: Vec<bool> = (rules.topics.iter())
            .map(|(id, _)| score(id, false) >= threshold)
            .collect();
        if matter.contains(&true) {
            by_rules = matter;
        }
    }
    let found = by_rules.contains(&true);
    let (mut topics, mut added) = (Vec::new(), Vec::new());
    for ((id, _), by_rule) in rules.topics.iter().zip(by_rules) {
        if by_rule {
            topics.push(id.clone());
        } else if fired.model_says(HeadLabel::Topics, id, |g| {
            if found { g.another_topic(id) } else { g.topic }
        }) {
            topics.push(id.clone());
            added.push(id.clone());
        }
    }
    if topics.is_empty()
        && let Some((_, topic)) = rules
            .channel_topics
            .iter()
            .find(|(c, _)| c == channel.as_str())
    {
        topics.push(topic.clone());
    }
    (topics, added)
}

/// What the model decided that the rules did not, for the evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModelDecided {
    /// The voice type: a complaint it added, the type left after it overruled a complaint, praise
    /// it made positive, a voice the rules could not place.
    pub voice: bool,
    /// Topics the model added.
    pub topics: Vec<String>,
    /// The sentiment (positive for a voice the rules left neutral, or any polarity the model
    /// is sure of).
    pub sentiment: bool,
    /// The complaint type.
    pub complaint_type: bool,
}

/// The voice type, and the sentiment it leaves: a complaint is negative, anything else is not.
/// The model may turn a voice the rules judged otherwise into a complaint, overrule a complaint
/// it finds very unlikely (never an escalation), turn a neutral voice positive, or place a voice
/// the rules could only call `other`, each when its probability reaches the rules' `[model]`
/// threshold.
pub(crate) fn voice(fired: &Fired<'_>) -> (VoiceType, Sentiment, ModelDecided) {
    let rules = fired.rules;
    let senti = fired.sentiment;
    let threshold = rules.settings.sentiment_threshold;
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
    let asks = other_voice.1 > 0.0;
    // In a voice that asks, requests or applies, routine courtesy (ありがとうございます,
    // 助かりました) is politeness around the ask, not praise: it does not make the voice positive.
    let courteous: f64 = if asks {
        (senti.cues.iter())
            .filter(|c| c.weight > 0.0 && c.routine)
            .map(|c| c.weight)
            .sum()
    } else {
        0.0
    };
    let mut sentiment = if senti.score > 0.0 {
        polarity((senti.score - courteous).max(0.0), threshold)
    } else {
        polarity(senti.score, threshold)
    };
    // In a voice that asks, requests or applies, a mishap the customer owns (パスワードを間違えて
    // ロックされました、自分のミスです) is the customer's own situation, not a failure of the
    // company, and so is worry (不安です) when nothing else is negative: they count for the
    // sentiment, not for a complaint. Worry beside a failure (アプリが重く、消えないか心配) is
    // about that failure.
    let owned = |c: &sentiment::Cue| asks && c.weight < 0.0 && fired.own.contains(&c.span);
    let worry = |c: &sentiment::Cue| c.weight < 0.0 && sentiment::is_worry(rules, c);
    let only_worry = senti
        .cues
        .iter()
        .filter(|c| c.weight < 0.0 && !owned(c))
        .all(worry);
    let own_situation = |c: &sentiment::Cue| owned(c) || (asks && only_worry && worry(c));
    let sum = |pred: &dyn Fn(&sentiment::Cue) -> bool| -> f64 {
        senti
            .cues
            .iter()
            .filter(|c| pred(c))
            .map(|c| c.weight)
            .sum()
    };
    let mine = sum(&own_situation);
    let worried = sum(&worry);
    let company = senti.score - mine;
    // A request or question that gives its reason (〜してほしい、間に合わなくて) is not a
    // complaint on the strength of a generic negated verb alone: that is often the customer's
    // own situation, not the company's failure.
    let generic = sum(&|c| c.source == sentiment::NEGATED_VERB && !own_situation(c));
    // A stated failure wins over the request or question that follows it (docs/TAXONOMY.md): a
    // complaint-type rule that fired in a voice scoring negative at all decides; not one that
    // fired on the customer's own mishap. Worry still counts here: 態度が怖かった is the staff's.
    let failure_stated = senti.score - sum(&owned) < 0.0
        && fired.weight_where(|f| {
            matches!(fired.label(f), Label::Complaint(_)) && !(asks && fired.own.contains(&f.span))
        }) >= rules.settings.failure_weight;
    // Sarcasm (praise turned against a failure) is a complaint however mild its words: the
    // praise is what misleads a reader, and the model, into calling it praise.
    let sarcastic = senti.score < 0.0
        && senti
            .cues
            .iter()
            .any(|c| c.source.starts_with(sentiment::IRONY));
    let decisive = if failure_stated || sarcastic {
        senti.score.min(-threshold)
    } else if asks {
        company - generic
    } else {
        senti.score
    };
    // The model may overrule a complaint the rules found only in the words' polarity or a
    // complaint rule, never an escalation.
    // Nor a voice whose complaint rules are decisive on their own (weight 2 and more: 迷惑です,
    // a nuisance stated), which one word can carry and a character model misreads.
    let vetoed = !fired.escalation()
        && !sarcastic
        && fired.voice_weight(VoiceType::Complaint) < 2.0
        && fired.model().is_some_and(|(gate, p)| {
            gate.veto.is_some_and(|veto| {
                p.prob(HeadLabel::Voice, VoiceType::Complaint.as_str())
                    .is_some_and(|x| x < veto)
            })
        });
    let rules_complaint = fired.escalation()
        || decisive <= -threshold
        || fired.voice_weight(VoiceType::Complaint) >= 1.0;
    if rules_complaint && !vetoed {
        return (
            VoiceType::Complaint,
            Sentiment::Negative,
            ModelDecided::default(),
        );
    }
    // News passed on without a negative word (金利が引き上げられるとのこと: a `voice:other`
    // rule) is an announcement, not the customer's complaint, though the model reads 引き上げ as
    // one; with one (部品がないので直せないとのこと) the model may still judge it.
    let reported =
        fired.voice_weight(VoiceType::Other) >= 1.0 && senti.cues.iter().all(|c| c.weight >= 0.0);
    // Not against the words' own praise (さすがですね、翌日に届きました), nor where the customer
    // denies a problem (画質は悪くない, 不満はない), nor where every negative word is the
    // customer's own situation in a voice that asks (the model reads worry as a complaint).
    let denied = senti.cues.iter().any(|c| c.denied_negative);
    let all_own = mine < 0.0
        && senti
            .cues
            .iter()
            .filter(|c| c.weight < 0.0)
            .all(own_situation);
    if senti.score < threshold
        && !(reported || denied || all_own)
        && fired.model_says(HeadLabel::Voice, VoiceType::Complaint.as_str(), |g| {
            g.complaint
        })
    {
        let by_model = ModelDecided {
            voice: true,
            ..ModelDecided::default()
        };
        return (VoiceType::Complaint, Sentiment::Negative, by_model);
    }
    // Not a complaint, so not negative; but a worried question is (docs/TAXONOMY.md).
    if sentiment == Sentiment::Negative && !(asks && worried <= -threshold) {
        sentiment = Sentiment::Neutral;
    }
    // Past here a rules' complaint was overruled: whatever the voice becomes is the model's.
    let mut by_model = ModelDecided {
        voice: rules_complaint,
        ..ModelDecided::default()
    };
    if sentiment == Sentiment::Neutral
        && fired.model_says(HeadLabel::Sentiment, Sentiment::Positive.as_str(), |g| {
            g.positive
        })
    {
        sentiment = Sentiment::Positive;
        by_model.sentiment = true;
    }
    let voice = match other_voice {
        (Some(v), s) if s > 0.0 => v,
        _ if fired.voice_weight(VoiceType::Praise) >= 1.0 => VoiceType::Praise,
        _ if sentiment == Sentiment::Positive => {
            by_model.voice |= by_model.sentiment;
            VoiceType::Praise
        }
        _ if reported => VoiceType::Other,
        _ => match model_voice(fired) {
            Some(v) => {
                by_model.voice = true;
                v
            }
            None => VoiceType::Other,
        },
    };
    (voice, sentiment, by_model)
}

/// The model's polarity when its probability reaches the rules' `[model] sentiment` and differs
/// from the one the voice type left: docs/TAXONOMY.md judges sentiment apart from the voice type
/// (a complaint may end satisfied, a worried question is negative).
///
/// It never contradicts the words' own polarity: where the lexicon score is past the threshold
/// (迷惑です, 最高でした), the model may only restore that polarity, not turn it neutral or over.
pub(crate) fn model_sentiment(fired: &Fired<'_>, current: Sentiment) -> Option<Sentiment> {
    let (gate, p) = fired.model()?;
    let lexicon = polarity(
        fired.sentiment.score,
        fired.rules.settings.sentiment_threshold,
    );
    p.best(HeadLabel::Sentiment, |_| true)
        .filter(|(_, x)| gate.sentiment.is_some_and(|t| *x >= t))
        .and_then(|(c, _)| c.parse::<Sentiment>().ok())
        .filter(|s| *s != current && (lexicon == Sentiment::Neutral || lexicon == *s))
}

/// The model's likeliest voice type other than complaint and `other`, if its probability reaches
/// the rules' `[model] voice`.
fn model_voice(fired: &Fired<'_>) -> Option<VoiceType> {
    let (gate, p) = fired.model()?;
    p.best(HeadLabel::Voice, |_| true)
        .filter(|(_, x)| *x >= gate.voice)
        .and_then(|(c, _)| c.parse::<VoiceType>().ok())
        .filter(|v| !matches!(v, VoiceType::Complaint | VoiceType::Other))
}

/// The complaint type of a complaint: the highest summed weight, plus a bonus for the problem
/// raised first (ties go to it too); else the default of its first topic that has one; else the
/// rules' fallback. With a model, its likeliest type instead of the fallback, or instead of the
/// rules' choice when its probability reaches `[model] complaint_type`. Returns the type and
/// whether the model chose it.
pub(crate) fn complaint_type(fired: &Fired<'_>, topics: &[String]) -> (String, bool) {
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
    let from_rules = best.map(|b| b.0.to_string()).or_else(|| {
        topics.iter().find_map(|t| {
            rules
                .complaint_defaults
                .iter()
                .find(|(topic, _)| topic == t)
                .map(|(_, ct)| ct.clone())
        })
    });
    // The model's likeliest type replaces the rules' when it is sure enough, and stands in for
    // the fallback, which is no judgement at all.
    if let Some((gate, p)) = fired.model()
        && let Some((ct, x)) = p.best(HeadLabel::ComplaintType, |c| {
            rules.complaint_types.iter().any(|(id, _)| id == c)
        })
        && (from_rules.is_none() || gate.complaint_type.is_some_and(|t| x >= t))
    {
        let same = from_rules.as_deref() == Some(ct);
        return (ct.to_string(), !same);
    }
    let ct = from_rules.unwrap_or_else(|| rules.settings.complaint_fallback.clone());
    (ct, false)
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
    pub sentiment: Sentiment,
    pub by_model: ModelDecided,
}

/// The rules behind what was decided (a complaint-type rule on a non-complaint decided
/// nothing); for what the model decided, the sentence it finds strongest, with the rule
/// `model:NAME`; then up to five sentiment cues of weight 0.5 or more, with their polarity.
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
    if let Some(gate) = &rules.model {
        let mut wanted: Vec<(String, HeadLabel, &str)> = Vec::new();
        if decided.by_model.voice {
            let v = decided.voice.as_str();
            wanted.push((format!("voice:{v}"), HeadLabel::Voice, v));
        }
        if let Some(ct) = decided
            .complaint_type
            .filter(|_| decided.by_model.complaint_type)
        {
            wanted.push((format!("complaint:{ct}"), HeadLabel::ComplaintType, ct));
        }
        if decided.by_model.sentiment {
            let s = decided.sentiment.as_str();
            wanted.push((format!("sentiment:{s}"), HeadLabel::Sentiment, s));
        }
        for t in &decided.by_model.topics {
            wanted.push((format!("topic:{t}"), HeadLabel::Topics, t));
        }
        let pieces = sentence_spans(text);
        for (label, head, class) in wanted {
            // The sentence that adds most to the label; the whole text when none does.
            let at = fired
                .prediction
                .and_then(|p| p.strongest(&pieces, head, class))
                .map_or(0..text.len(), |best| pieces[best].clone());
            evidence.push(Evidence {
                label,
                rule: format!("model:{}", gate.model.name),
                text: matcher::snippet(text, at),
            });
        }
    }
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

/// The sentences of a text as byte ranges: ended by 。！？!? or a line break, the mark kept.
fn sentence_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '。' | '！' | '？' | '!' | '?' | '\n') {
            let end = i + c.len_utf8();
            // The mark alone is no sentence (a newline is trimmed away with the spaces).
            let mark = if c == '\n' { 0 } else { c.len_utf8() };
            if text[start..end].trim().len() > mark {
                spans.push(start..end);
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        spans.push(start..text.len());
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::sentence_spans;

    #[test]
    fn sentences_end_at_marks_and_line_breaks_and_keep_one_letter_lines() {
        let text = "届かない。\nA\n\n遅い！本当に";
        let pieces: Vec<&str> = sentence_spans(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(pieces, ["届かない。", "A\n", "遅い！", "本当に"]);
    }
}
