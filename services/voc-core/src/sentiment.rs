//! Lexicon sentiment with negation, intensifiers and contrast, over the customer's words.
//!
//! Each lexicon hit contributes its weight once per token (longest entry wins where entries
//! overlap). A negated word flips: 良くない turns negative, 不満はない turns only weakly positive
//! (docs/TAXONOMY.md: 「特に不満はありません」 is not negative, nor much of a compliment). Cues right
//! after an intensifier (すごく, 本当に) count more; cues before a contrastive connective (良いけど、…)
//! count less, because the point of a Japanese sentence comes after the contrast.

use std::ops::Range;

use crate::rules::matcher::{AtomHits, Document, Firing, Hit};
use crate::rules::{Label, LexiconEntry, RuleSet};

/// The source name of the generic negated-verb cue.
pub(crate) const NEGATED_VERB: &str = "negated_verb";
/// The prefix of the source of a positive cue turned against the voice as sarcasm.
pub(crate) const IRONY: &str = "irony:";

/// One contribution to the score, kept for evidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cue {
    pub span: Range<usize>,
    pub weight: f64,
    /// The lexicon item or rule id that produced it.
    pub source: String,
    /// A negative word the customer negated (悪くない, 不満はない): a problem denied.
    pub denied_negative: bool,
    /// Routine courtesy (`sentiment.courtesy`, not intensified unless hoped for:
    /// ありがとうございます, 〜していただけると大変助かります; not 本当に助かりました), or any good
    /// only hoped for (〜があれば楽しめる, 〜してくれると嬉しい).
    pub routine: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentimentScore {
    pub score: f64,
    pub cues: Vec<Cue>,
}

/// Scores the document from lexicon hits and fired sentiment rules.
pub(crate) fn score(
    rules: &RuleSet,
    atom_hits: &AtomHits,
    doc: &Document<'_>,
    firings: &[Firing],
) -> SentimentScore {
    let hits = atom_hits.by_atom();
    let s = &rules.settings;
    let dampened = contrast_dampened(rules, doc);
    let atoms = &rules.atoms;

    // Candidate cues from the lexicon, longest first so a longer entry (不満足) wins over a
    // shorter one inside it (不満).
    // Only entries with a hit, visited in file order as before (ties keep their order).
    let mut entries: Vec<usize> = atom_hits
        .touched()
        .iter()
        .flat_map(|&a| rules.lexicon_by_atom[a].iter().copied())
        .collect();
    entries.sort_unstable();
    entries.dedup();
    let mut candidates: Vec<(Hit, f64, &LexiconEntry, bool)> = Vec::new();
    for entry in entries.iter().map(|i| &rules.lexicon[*i]) {
        for &atom in &entry.item {
            let negation_built_in = matches!(
                atoms.specs[atom],
                crate::rules::AtomSpec::Lemma {
                    negated_only: true,
                    ..
                }
            );
            for h in &hits[atom] {
                // A polite ask (予約できませんか) reports nothing; kept as a problem denied, so the
                // model does not read a complaint into its negation either.
                if negation_built_in && entry.weight < 0.0 && invited(doc, h) {
                    candidates.push((*h, 0.0, entry, true));
                    continue;
                }
                let last = h.tok_end.saturating_sub(1);
                let negated = !negation_built_in
                    && (doc.morphemes.get(last).is_some_and(|m| m.negated)
                        || (entry.weight > 0.0 && denied(rules, doc, h))
                        || (entry.weight < 0.0 && absent(rules, doc, h)));
                let w = match (negated, entry.weight > 0.0) {
                    (false, _) => entry.weight,
                    (true, true) => entry.weight * -s.negated_positive_factor.abs(),
                    (true, false) => entry.weight * s.negated_negative_factor,
                };
                candidates.push((*h, w, entry, negated && entry.weight < 0.0));
            }
        }
    }
    candidates.sort_by_key(|(h, _, _, _)| (std::cmp::Reverse(h.end - h.start), h.start));

    let mut used = vec![false; doc.morphemes.len() + 1];
    // Which cue (index into `cues`) covers a token, for excess (〜すぎる) to find its word.
    let mut cue_of_token: Vec<Option<usize>> = vec![None; doc.morphemes.len()];
    let mut cues = Vec::new();
    for (h, w, entry, denied_negative) in candidates {
        let toks = h.tok..h.tok_end.min(doc.morphemes.len());
        if toks.clone().any(|t| used[t]) {
            continue;
        }
        for t in toks {
            used[t] = true;
            cue_of_token[t] = Some(cues.len());
        }
        let mut w = w;
        let intensified = intensified(rules, doc, h.tok);
        if intensified {
            w *= s.intensifier_factor;
        }
        // Searched once: both the weight and the routine flag depend on it.
        let hoped = w > 0.0 && hoped_for(rules, doc, &h);
        let hope = if w > 0.0 {
            hope_factor(rules, doc, &h, hoped)
        } else if made_so(rules, doc, &h) {
            0.0
        } else {
            1.0
        };
        w *= hope;
        cues.push(Cue {
            // Intensified and stated (本当に助かりました) it is gratitude; hoped for (〜していただける
            // と大変助かります) it is still the politeness of a request.
            // A good only hoped for (〜していただけると楽になります) is routine too: it praises
            // nothing that happened.
            routine: w > 0.0
                && ((!intensified || hope < 1.0) && entry.courtesy || hope < 1.0 && hoped),
            span: h.start..h.end,
            weight: w,
            source: format!("lexicon:{}", entry.name),
            denied_negative,
        });
    }
    apply_excess(rules, doc, &cue_of_token, &mut cues);
    apply_negated_verbs(rules, doc, &cue_of_token, &mut cues);
    for c in &mut cues {
        let tok = doc.morphemes.partition_point(|m| m.end <= c.span.start);
        if dampened.get(tok).copied().unwrap_or(false) {
            c.weight *= s.before_contrast_weight;
        }
    }
    for f in firings {
        let rule = &rules.rules[f.rule];
        if rule.label == Label::Sentiment {
            let tok = doc.morphemes.partition_point(|m| m.end <= f.span.start);
            let w = if dampened.get(tok).copied().unwrap_or(false) {
                rule.weight * s.before_contrast_weight
            } else {
                rule.weight
            };
            cues.push(Cue {
                span: f.span.clone(),
                weight: w,
                source: rule.id.clone(),
                denied_negative: false,
                routine: false,
            });
        }
    }
    for c in cues.iter_mut().filter(|c| c.weight < 0.0) {
        if asked_hypothetically(rules, doc, &c.span) {
            c.weight *= s.hypothetical_negative_factor;
        }
    }
    apply_irony(rules, doc, &mut cues);
    keep_courtesy_once(&mut cues);
    cues.sort_by_key(|c| c.span.start);
    SentimentScore {
        score: cues.iter().map(|c| c.weight).sum(),
        cues,
    }
}

/// Routine courtesy (`sentiment.courtesy`: ありがとう, 助かる) counts once per voice, by its
/// strongest positive cue: thanks after every answer of a chat add up to no more than one thanks.
/// Courtesy intensified (本当に助かりました) or turned against the voice as irony is not routine
/// and stays.
fn keep_courtesy_once(cues: &mut Vec<Cue>) {
    let courtesy = |c: &Cue| c.weight > 0.0 && c.routine;
    let Some(best) = (cues.iter().enumerate())
        .filter(|(_, c)| courtesy(c))
        .max_by(|a, b| a.1.weight.total_cmp(&b.1.weight).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
    else {
        return;
    };
    let mut i = 0;
    cues.retain(|c| {
        let keep = i == best || !courtesy(c);
        i += 1;
        keep
    });
}

/// Polite asks built on a negation (予約できませんか, お願いできないでしょうか): they invite, they
/// report no failure.
const INVITATIONS: [&str; 3] = ["ませんか", "ませんでしょうか", "ないでしょうか"];

/// Verbs of being able or being done a favour, the ones a polite ask negates (できる, もらえる).
const INVITING_VERBS: [&str; 5] = ["できる", "もらえる", "いただける", "くれる", "くださる"];

/// Whether a negated word is a polite ask: a verb of ability or favour followed right away by an
/// invitation, in a sentence that does not ask why (どうしてログインできないでしょうか reports).
fn invited(doc: &Document<'_>, h: &Hit) -> bool {
    let rest = doc.rest_of_sentence(h.end, h.sentence);
    let sentence = &doc.text[doc.sentences[h.sentence].clone()];
    doc.morphemes
        .get(h.tok)
        .is_some_and(|m| INVITING_VERBS.contains(&m.base))
        && INVITATIONS.iter().any(|i| rest.starts_with(i))
        && !REPORTED.iter().any(|w| sentence.contains(w))
}

/// The first `n` characters of `s`, borrowed (no allocation per cue on the hot path).
fn first_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Whether the text right after a positive word denies it (美味しいとは思えない).
fn denied(rules: &RuleSet, doc: &Document<'_>, h: &Hit) -> bool {
    let tail = first_chars(doc.rest_of_sentence(h.end, h.sentence), 8);
    rules
        .denying_tails
        .iter()
        .any(|t| tail.contains(t.as_str()))
}

/// Whether the clause after a negative word says it is absent: within its first few characters a
/// topic particle (は, も, が), then within a few more a predicate of absence, not asked about
/// (不満な点は特にありませんでした, 待たされることはなかった, 悪いところが見当たりません; not
/// 不具合はありませんか, nor 不具合があって連絡もありません, where the clause goes on first).
fn absent(rules: &RuleSet, doc: &Document<'_>, h: &Hit) -> bool {
    // Characters allowed before the particle (な点, ところ, やほこり) and between it and the
    // predicate (特に, 一切, まったく).
    const BEFORE: usize = 5;
    const BETWEEN: usize = 4;
    let rest = doc.rest_of_sentence(h.end, h.sentence);
    let clause = rest.split(['、', '，', ',']).next().unwrap_or("");
    let absence_at = |from: &str| {
        rules.absence_tails.iter().any(|t| {
            from.strip_prefix(t.as_str())
                .is_some_and(|r| !r.starts_with('か'))
        })
    };
    clause
        .char_indices()
        .take(BEFORE + 1)
        // ではない denies what comes before it (期待していたほどの料理ではありませんでした), it does
        // not say anything is absent.
        .filter(|&(i, c)| matches!(c, 'は' | 'も' | 'が') && !clause[..i].ends_with('で'))
        .any(|(i, c)| {
            let after = &clause[i + c.len_utf8()..];
            after
                .char_indices()
                .map(|(j, _)| &after[j..])
                .take(BETWEEN + 1)
                .any(absence_at)
        })
}

/// Sarcasm: in a voice that also reports a failure (a negative cue of weight 0.5 or more),
/// positive words count against it in a sentence marked as ironic (さすが, 👏), or followed in
/// their sentence by a mark of recurrence and then a failure (素晴らしい対応ですね、三回目の再配達も
/// 来ませんでした): praise does not introduce a problem that keeps coming back.
fn apply_irony(rules: &RuleSet, doc: &Document<'_>, cues: &mut [Cue]) {
    const FAILURE: f64 = -0.5;
    let failures: Vec<usize> = cues
        .iter()
        .filter(|c| c.weight <= FAILURE)
        .map(|c| c.span.start)
        .collect();
    if failures.is_empty() {
        return;
    }
    for c in cues.iter_mut().filter(|c| c.weight > 0.0) {
        let range = doc.sentences[doc.sentence_of(c.span.start)].clone();
        let sentence = &doc.text[range.clone()];
        let marked = rules.irony.iter().any(|m| sentence.contains(m.as_str()));
        // Marks are whole words: また, not the また of たまたま or または.
        let recurring = || {
            let after = c.span.end.clamp(range.start, range.end);
            rules.recurrence.iter().any(|m| {
                doc.text[after..range.end]
                    .match_indices(m.as_str())
                    .map(|(i, _)| (after + i, after + i + m.len()))
                    .filter(|&(s, e)| at_morpheme_bounds(doc, s, e))
                    .any(|(_, mark)| failures.iter().any(|&f| f >= mark && f < range.end))
            })
        };
        if marked || recurring() {
            c.weight = -c.weight;
            c.source = format!("{IRONY}{}", c.source);
        }
    }
}

/// Whether `start..end` of the text begins and ends where morphemes do.
fn at_morpheme_bounds(doc: &Document<'_>, start: usize, end: usize) -> bool {
    let m = &doc.morphemes;
    m.binary_search_by_key(&start, |x| x.start).is_ok()
        && m.get(m.partition_point(|x| x.end < end))
            .is_some_and(|x| x.end == end)
}

/// Excess (高すぎる, 優秀すぎる): strengthens the sentiment word it follows; after a word with no
/// polarity of its own (高い, 多い, 大きい) it is a complaint by itself. Only the dependent すぎる
/// counts: 予定日を過ぎても is time passing, not excess.
fn apply_excess(
    rules: &RuleSet,
    doc: &Document<'_>,
    cue_of_token: &[Option<usize>],
    cues: &mut Vec<Cue>,
) {
    let s = &rules.settings;
    for (i, m) in doc.morphemes.iter().enumerate() {
        if m.pos != "動詞" || m.pos1 == "自立" || !rules.excess.contains(m.base) || i == 0 {
            continue;
        }
        match cue_of_token[i - 1] {
            // A mildly positive scalar word in excess (早すぎる, 軽すぎる) is a complaint; a
            // strongly positive one (美味しすぎる) is praise, intensified.
            Some(c) if cues[c].weight > 0.0 && cues[c].weight < 1.0 => {
                cues[c].weight = s.excess_weight;
                cues[c].source = format!("excess:{}", cues[c].source);
            }
            Some(c) => cues[c].weight *= s.intensifier_factor,
            None => {
                let prev = &doc.morphemes[i - 1];
                cues.push(Cue {
                    span: prev.start..m.end,
                    weight: s.excess_weight,
                    source: "excess".into(),
                    denied_negative: false,
                    routine: false,
                });
            }
        }
    }
}

/// Any other negated action verb in the customer's words (鳴らない, 反映されない, 来ない) is
/// taken as a failure report, unless the verb is an exception (わからない) or what follows makes
/// it a condition, invitation or instruction (来ないと, 〜ませんか, 〜ないでください).
fn apply_negated_verbs(
    rules: &RuleSet,
    doc: &Document<'_>,
    cue_of_token: &[Option<usize>],
    cues: &mut Vec<Cue>,
) {
    for (i, m) in doc.morphemes.iter().enumerate() {
        let verb_like =
            (m.pos == "動詞" && m.pos1 == "自立") || (m.pos == "名詞" && m.pos1 == "サ変接続");
        if !verb_like
            || !m.negated
            || cue_of_token[i].is_some()
            || rules.negated_verb_exceptions.contains(m.base)
        {
            continue;
        }
        // A サ変 noun is only a verb when する/できる carries the negation (起動しない).
        if m.pos == "名詞"
            && !doc
                .morphemes
                .get(i + 1)
                .is_some_and(|n| matches!(n.base, "する" | "できる" | "される"))
        {
            continue;
        }
        let after = doc.rest_of_sentence(m.end, doc.sentence_of(m.start));
        // The negation chain after a verb is short: 〜ないと, 〜ませんか, 〜れないでしょうか.
        let tail = first_chars(after, 9);
        if rules
            .negated_verb_not_before
            .iter()
            .any(|b| tail.contains(b.as_str()))
        {
            continue;
        }
        cues.push(Cue {
            span: m.start..m.end,
            weight: rules.settings.negated_verb_weight,
            source: NEGATED_VERB.into(),
            denied_negative: false,
            routine: false,
        });
    }
}

/// How much a positive word counts given its sentence: a wish for it (丁寧に書いてほしい) says
/// it is lacking, a question (どれがいいですか) or a conditional hope (〜てくれると嬉しい) does not
/// praise anything. `hoped` is [`hoped_for`] of the same cue.
fn hope_factor(rules: &RuleSet, doc: &Document<'_>, h: &Hit, hoped: bool) -> f64 {
    let s = &rules.settings;
    let range = doc.sentences[h.sentence].clone();
    let sentence = &doc.text[range.clone()];
    let rest = doc.rest_of_sentence(h.end, h.sentence);
    if looked_for(&doc.text[h.start..h.end], rest, &rules.wish_endings) {
        s.question_positive_factor
    } else if rules.wish_endings.iter().any(|m| wished(rest, m)) {
        s.wish_positive_factor
    } else if is_question(sentence) || hoped {
        s.question_positive_factor
    } else {
        1.0
    }
}

/// Whether a positive word's sentence only hopes for it (`sentiment.conditional`: 〜てくれると
/// 嬉しい, 〜があれば楽しめる).
fn hoped_for(rules: &RuleSet, doc: &Document<'_>, h: &Hit) -> bool {
    let sentence = &doc.text[doc.sentences[h.sentence].clone()];
    (rules.conditional.iter()).any(|c| sentence.contains(c.as_str()))
}

/// Whether a negative word in its く form is the state asked for (最終バスを遅くしてほしい,
/// 文字を小さくしてください): the customer wants it so, which reports nothing wrong.
fn made_so(rules: &RuleSet, doc: &Document<'_>, h: &Hit) -> bool {
    let rest = doc.rest_of_sentence(h.end, h.sentence);
    doc.text[h.start..h.end].ends_with('く')
        && rest
            .strip_prefix('し')
            .is_some_and(|r| rules.wish_endings.iter().any(|e| r.starts_with(e.as_str())))
}

/// Verbs of asking for information or a pointer (教えて, 紹介して): a positive word as their object
/// (いいところを教えてください, おすすめを紹介してほしい) is what is looked for, not a quality wished
/// for; as their manner (丁寧に教えてほしい) it still is one.
const INFORMATION_VERBS: [&str; 5] = ["教え", "紹介し", "探し", "調べ", "案内し"];

/// Whether `rest` holds the wish ending `ending` as a wish: one the honorific まし follows
/// (親身に相談に乗ってくださいました) says what was done, not what is wanted, unless a
/// condition follows (説明してくださいましたら幸いです).
fn wished(rest: &str, ending: &str) -> bool {
    rest.match_indices(ending).any(|(i, _)| {
        let after = &rest[i + ending.len()..];
        !after.starts_with("まし") || after.starts_with("ましたら")
    })
}

/// Whether the positive word `word`, followed by `rest`, is the object of an information verb at
/// the nearest wish ending (いいところを教えてください, おすすめを1件紹介してほしい); not a manner
/// (分かりやすく手順を教えてほしい, 丁寧に教えてほしい).
fn looked_for(word: &str, rest: &str, endings: &[String]) -> bool {
    let Some(i) = (endings.iter()).filter_map(|e| rest.find(e.as_str())).min() else {
        return false;
    };
    let before = &rest[..i];
    !word.ends_with(['く', 'に'])
        && !rest.starts_with('に')
        && before.contains('を')
        && INFORMATION_VERBS.iter().any(|v| before.ends_with(v))
}

/// Words that ask why or say it keeps happening: a why-question protests what it supposes (なぜ
/// 本人が来られない場合は委任状が必要なんですか), and 何度 or 〜ても report a case that happened.
const REPORTED: [&str; 6] = ["なぜ", "どうして", "何で", "なんで", "何度", "何回"];

/// A question's copula right after a word: 故障でしょうか asks whether it is one.
const ASKED_COPULA: [&str; 6] = [
    "でしょうか",
    "ですか",
    "なのでしょうか",
    "なんでしょうか",
    "なのか",
    "なんですか",
];

/// Whether a negative cue is a case the customer asks about rather than one that happened: in a
/// question, within a few words before a marker of a supposed case (壊れた場合、修理は無料ですか),
/// or a few words after one at the question's very end (解約したら作品は見られなくなりますか), or
/// a word of failure itself asked about (`asked_failures`: 故障でしょうか, 不良品ですか).
/// Markers are whole words (時 is not 時間, たら not たらい回し); not one that says since when or
/// how often (着いた時から, 時がある, 時も), nor 時 as a clock time or a time pointed at (9時,
/// その時). A why-question, a repeat (何度…ても, 毎回: `recurrence`) and a question that only ends
/// a statement (〜んですけど？) report.
fn asked_hypothetically(rules: &RuleSet, doc: &Document<'_>, span: &Range<usize>) -> bool {
    let sentence = doc.sentence_of(span.start);
    let Some(range) = doc.sentences.get(sentence).cloned() else {
        return false;
    };
    if span.end > range.end {
        return false;
    }
    let text = &doc.text[range.clone()];
    let ending = text.trim_end_matches(['。', '\n', ' ', '?', '？', '!', '！']);
    if !is_question(text)
        || ["けど", "けれど", "が", "のに"]
            .iter()
            .any(|e| ending.ends_with(e))
        || REPORTED.iter().any(|w| text.contains(w))
        || concessive(text)
        || rules.recurrence.iter().any(|w| text.contains(w.as_str()))
    {
        return false;
    }
    // 故障でしょうか: whether it is a failure is what is asked (or is it normal?). Only a word of
    // failure: 放置ですか？ accuses.
    let rest = doc.rest_of_sentence(span.end, sentence);
    let word = &doc.text[span.clone()];
    if ASKED_COPULA.iter().any(|a| rest.starts_with(a))
        && rules
            .asked_failures
            .iter()
            .any(|f| word.ends_with(f.as_str()))
    {
        return true;
    }
    let words = &doc.morphemes;
    let marker = |i: usize| {
        let m = &words[i];
        let after = words.get(i + 1).map_or("", |n| n.surface);
        let before = i.checked_sub(1).map(|j| &words[j]);
        rules.hypothetical.iter().any(|x| x == m.surface)
            && !matches!(after, "が" | "も" | "から" | "まで")
            && !(matches!(m.surface, "時" | "とき")
                && before.is_some_and(|b| {
                    b.pos1 == "数" || matches!(b.surface, "その" | "あの" | "この" | "どの" | "何")
                }))
    };
    let first = words.partition_point(|m| m.end <= range.start);
    let cue_first = words.partition_point(|m| m.end <= span.start);
    let cue_end = words.partition_point(|m| m.end <= span.end);
    let last = words.partition_point(|m| m.start < range.end);
    let inside = (cue_end..last.min(cue_end + 4)).any(marker);
    let at_the_end = !rest.contains(['、', ',']) && rest.chars().count() <= 12;
    let before = (first.max(cue_first.saturating_sub(8))..cue_first).any(marker);
    inside || (at_the_end && before)
}

/// Whether a cue is a lexicon entry of worry (`sentiment.worry`: 不安, 心配).
pub(crate) fn is_worry(rules: &RuleSet, cue: &Cue) -> bool {
    cue.source
        .strip_prefix("lexicon:")
        .is_some_and(|name| rules.worry.iter().any(|w| w == name))
}

/// A concessive 〜ても (電話しても繋がらない), not 〜てもらう or 〜てもいい.
fn concessive(text: &str) -> bool {
    text.match_indices("ても")
        .any(|(i, m)| !matches!(text[i + m.len()..].chars().next(), Some('ら' | 'い')))
}

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

/// For each token, whether a contrastive connective follows it in the same sentence. A connective
/// with nothing after it (〜違うんですけど。) softens the sentence rather than contrasting it.
fn contrast_dampened(rules: &RuleSet, doc: &Document<'_>) -> Vec<bool> {
    let mut out = vec![false; doc.morphemes.len()];
    let mut pending = false;
    let mut content_after = false;
    let mut sentence = usize::MAX;
    for (i, m) in doc.morphemes.iter().enumerate().rev() {
        let s = doc.sentence_of(m.start);
        if s != sentence {
            sentence = s;
            pending = false;
            content_after = false;
        }
        out[i] = pending;
        let contrastive = matches!(m.pos, "助詞" | "接続詞")
            && rules.contrast.contains(m.base)
            && (m.pos != "助詞" || m.pos1 == "接続助詞");
        if contrastive && content_after {
            pending = true;
        }
        if matches!(m.pos, "名詞" | "動詞" | "形容詞" | "副詞") {
            content_after = true;
        }
    }
    out
}
