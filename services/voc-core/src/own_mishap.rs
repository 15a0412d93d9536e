//! Mishaps the customer owns: the sentences where a failure is the customer's own doing
//! (パスワードを間違えてロックされました。自分のミスです), which in a voice asking for help are not a
//! complaint about the company (docs/TAXONOMY.md, voice type). Errs towards the company: a subject
//! other than the customer, a guess (〜てしまったようで) or a denied admission (こちらのミスでは
//! ありません) leaves the sentence a possible complaint.

use std::ops::Range;

use crate::rules::RuleSet;
use crate::rules::matcher::Document;

/// Sentences (byte ranges of the text) where the customer owns a mishap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OwnMishaps(Vec<Range<usize>>);

impl OwnMishaps {
    /// Whether a span starts in one of them.
    pub fn contains(&self, span: &Range<usize>) -> bool {
        self.0
            .iter()
            .any(|r| r.start <= span.start && span.start < r.end)
    }

    fn add(&mut self, r: &Range<usize>) {
        if !self.0.contains(r) {
            self.0.push(r.clone());
        }
    }
}

/// What may follow a mishap without making it the customer's: a guess about someone else
/// (忘れてしまったようで, 落としてしまったのか), or what the customer was told.
const NOT_OWNED_AFTER: [&str; 6] = ["ようで", "ようです", "らしく", "らしい", "のか", "と言われ"];
/// What denies an admission right after it (こちらのミスではありません, 覚えはない).
const DENIED_AFTER: [&str; 5] = ["ではな", "じゃな", "ではあり", "では無", "覚えはな"];

/// Finds them: the clause of an admission (`own_mishap`: 自分のミス, 私の不注意), not denied,
/// quoted (「」) or reported (と言われ), and the sentence before it when the admission opens its
/// sentence, for that says what the mishap was; and a sentence where a verb of
/// `own_mishap_verbs`, as written before て, is followed by しまう or ちゃう (押してしまった,
/// 初期化しちゃった; not ロックされてしまった, which happened to the customer), unless it names a
/// subject other than the customer and family (店員は, 配送業者が; `own_mishap_subjects`) before
/// the verb, or guesses (〜てしまったようで).
pub(crate) fn find(rules: &RuleSet, doc: &Document<'_>) -> OwnMishaps {
    let mut own = OwnMishaps::default();
    // One pass over the text: a search per sentence and phrase cost more than the rest of the
    // decision (BENCHMARKS.md, rules `.12-02.2`).
    let hits = rules
        .own_mishap
        .iter()
        .flat_map(|ac| ac.find_iter(doc.text))
        .map(|m| (doc.sentence_of(m.start()), m.start(), m.end()));
    for (i, start, end) in hits {
        let Some(r) = doc.sentences.get(i) else {
            continue;
        };
        let text = &doc.text[r.clone()];
        let (at, after) = (start - r.start, &doc.text[end..r.end.max(end)]);
        let quoted = text[..at].matches('「').count() > text[..at].matches('」').count();
        let denied = DENIED_AFTER.iter().any(|d| after.starts_with(d));
        if quoted || denied || after.contains("と言われ") {
            continue;
        }
        // Only the admission's clause: in 自分のミスもありますが、対応が遅すぎます the rest is
        // about the company.
        let clause_end = text[at..].find('、').map_or(r.end, |k| r.start + at + k);
        own.add(&(r.start..clause_end));
        // An admission that opens its sentence (自分のミスなのですが) looks back at the one before.
        if text[..at].chars().count() <= 2
            && let Some(before) = i.checked_sub(1).and_then(|b| doc.sentences.get(b))
        {
            own.add(before);
        }
    }
    let words = doc.morphemes;
    for (j, m) in words.iter().enumerate() {
        if !matches!(m.base, "しまう" | "ちゃう" | "じゃう" | "ちまう") {
            continue;
        }
        let sentence = doc.sentence_of(m.start);
        let Some(range) = doc.sentences.get(sentence) else {
            continue;
        };
        let before = &doc.text[range.start..m.start];
        let verb = before
            .strip_suffix('て')
            .or_else(|| before.strip_suffix('で'))
            .unwrap_or(before);
        if !rules
            .own_mishap_verbs
            .iter()
            .any(|v| verb.ends_with(v.as_str()))
        {
            continue;
        }
        let after = doc.rest_of_sentence(m.end, sentence);
        let guessed = NOT_OWNED_AFTER
            .iter()
            .any(|g| after.trim_start_matches(['た', 'っ']).contains(g));
        let first = words.partition_point(|w| w.end <= range.start);
        let someone_else = (first..j).any(|k| {
            matches!(words[k].surface, "が" | "は")
                && matches!(words[k].pos1, "格助詞" | "係助詞")
                && k.checked_sub(1).is_some_and(|p| {
                    words[p].pos == "名詞"
                        && !rules
                            .own_mishap_subjects
                            .iter()
                            .any(|s| s == words[p].surface)
                })
        });
        if !someone_else && !guessed {
            own.add(range);
        }
    }
    own
}
