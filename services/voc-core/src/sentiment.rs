//! Lexicon sentiment with negation, intensifiers and contrast, over the customer's words.
//!
//! Each lexicon hit contributes its weight once per token (longest entry wins where entries
//! overlap). A negated word flips: 良くない turns negative, 不満はない turns only weakly positive
//! (TAXONOMY.md: 「特に不満はありません」 is not negative, nor much of a compliment). Cues right
//! after an intensifier (すごく, 本当に) count more; cues before a contrastive connective (良いけど、…)
//! count less, because the point of a Japanese sentence comes after the contrast.

use std::ops::Range;

use crate::rules::matcher::{Document, Firing, Hit};
use crate::rules::{Label, RuleSet};

/// One contribution to the score, kept for evidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cue {
    pub span: Range<usize>,
    pub weight: f64,
    /// The lexicon item or rule id that produced it.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sentiment {
    pub score: f64,
    pub cues: Vec<Cue>,
}

/// Scores the document from lexicon hits and fired sentiment rules.
pub(crate) fn score(
    rules: &RuleSet,
    hits: &[Vec<Hit>],
    doc: &Document<'_>,
    firings: &[Firing],
) -> Sentiment {
    let s = &rules.settings;
    let dampened = contrast_dampened(rules, doc);
    let atoms = &rules.atoms;

    // Candidate cues from the lexicon, longest first so a longer entry (不満足) wins over a
    // shorter one inside it (不満).
    let mut candidates: Vec<(Hit, f64, &str)> = Vec::new();
    for entry in &rules.lexicon {
        for &atom in &entry.item {
            let negation_built_in = matches!(
                atoms.specs[atom],
                crate::rules::AtomSpec::Lemma {
                    negated_only: true,
                    ..
                }
            );
            for h in &hits[atom] {
                let last = h.tok_end.saturating_sub(1);
                let negated =
                    !negation_built_in && doc.morphemes.get(last).is_some_and(|m| m.negated);
                let w = match (negated, entry.weight > 0.0) {
                    (false, _) => entry.weight,
                    (true, true) => entry.weight * -s.negated_positive_factor.abs(),
                    (true, false) => entry.weight * s.negated_negative_factor,
                };
                candidates.push((*h, w, entry.name.as_str()));
            }
        }
    }
    candidates.sort_by_key(|(h, _, _)| (std::cmp::Reverse(h.end - h.start), h.start));

    let mut used = vec![false; doc.morphemes.len() + 1];
    let mut cues = Vec::new();
    for (h, w, name) in candidates {
        let toks = h.tok..h.tok_end.min(used.len());
        if toks.clone().any(|t| used[t]) {
            continue;
        }
        toks.for_each(|t| used[t] = true);
        let mut w = w;
        if intensified(rules, doc, h.tok) {
            w *= s.intensifier_factor;
        }
        if dampened.get(h.tok).copied().unwrap_or(false) {
            w *= s.before_contrast_weight;
        }
        if w > 0.0 {
            let sentence = &doc.text[doc.sentences[h.sentence].clone()];
            let rest = &doc.text[h.end..doc.sentences[h.sentence].end];
            if WISH.iter().any(|m| rest.contains(m)) {
                w *= s.wish_positive_factor;
            } else if is_question(sentence) {
                w *= s.question_positive_factor;
            }
        }
        cues.push(Cue {
            span: h.start..h.end,
            weight: w,
            source: format!("lexicon:{name}"),
        });
    }
    for f in firings {
        let rule = &rules.rules[f.rule];
        if rule.label == Label::Sentiment {
            let tok = doc.morphemes.partition_point(|m| m.end <= f.span.start);
            let mut w = rule.weight;
            if dampened.get(tok).copied().unwrap_or(false) {
                w *= s.before_contrast_weight;
            }
            cues.push(Cue {
                span: f.span.clone(),
                weight: w,
                source: rule.id.clone(),
            });
        }
    }
    cues.sort_by_key(|c| c.span.start);
    Sentiment {
        score: cues.iter().map(|c| c.weight).sum(),
        cues,
    }
}

/// Endings that make the clause before them a wish: what is wished for is not there yet.
const WISH: &[&str] = &[
    "てほしい",
    "て欲しい",
    "てください",
    "て下さい",
    "てもらいたい",
    "ていただきたい",
    "ようにして",
];

/// A sentence that asks rather than states.
fn is_question(sentence: &str) -> bool {
    let s = sentence.trim_end_matches(['。', '\n', ' ']);
    s.ends_with('?')
        || s.ends_with('か')
        || s.ends_with("かな")
        || s.contains("ですか")
        || s.contains("ますか")
}

/// An intensifier right before the cue, possibly across one particle (すごく|丁寧, 本当に|困る).
fn intensified(rules: &RuleSet, doc: &Document<'_>, tok: usize) -> bool {
    let before = |k: usize| tok.checked_sub(k).and_then(|i| doc.morphemes.get(i));
    [before(1), before(2)]
        .into_iter()
        .flatten()
        .any(|m| rules.intensifiers.contains(m.base))
}

/// For each token, whether a contrastive connective follows it in the same sentence.
fn contrast_dampened(rules: &RuleSet, doc: &Document<'_>) -> Vec<bool> {
    let mut out = vec![false; doc.morphemes.len()];
    let mut pending = false;
    let mut sentence = usize::MAX;
    for (i, m) in doc.morphemes.iter().enumerate().rev() {
        let s = doc.sentence_of(m.start);
        if s != sentence {
            sentence = s;
            pending = false;
        }
        out[i] = pending;
        let contrastive = matches!(m.pos, "助詞" | "接続詞")
            && rules.contrast.contains(m.base)
            && (m.pos != "助詞" || m.pos1 == "接続助詞");
        if contrastive {
            pending = true;
        }
    }
    out
}
