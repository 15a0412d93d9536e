//! Matching compiled rules against one document (the customer's masked words, tokenised).
//!
//! Hits are computed once per atom for the whole document — one Aho-Corasick pass for every
//! literal and regex prefix, one hash lookup per token for every lemma, each regex from where
//! one of its prefixes first occurs — and rules are then decided from those hits, so the cost
//! grows with the text, not with the number of rules.

use std::ops::Range;

use super::compile::{Item, Rule};
use super::file::Scope;
use super::{Atoms, RuleSet};
use crate::tokenize::Morpheme;

/// Where an atom matched: a byte span, the tokens it covers and its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    /// First token index and one past the last.
    pub tok: usize,
    pub tok_end: usize,
    pub sentence: usize,
}

/// A tokenised document with its sentence boundaries.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub text: &'a str,
    pub morphemes: &'a [Morpheme<'a>],
    pub sentences: Vec<Range<usize>>,
}

const SENTENCE_END: &[char] = &['。', '!', '?', '\n'];

impl<'a> Document<'a> {
    pub fn new(text: &'a str, morphemes: &'a [Morpheme<'a>]) -> Self {
        let mut sentences = Vec::new();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if SENTENCE_END.contains(&c) {
                let end = i + c.len_utf8();
                sentences.push(start..end);
                start = end;
            }
        }
        if start < text.len() {
            sentences.push(start..text.len());
        }
        Self {
            text,
            morphemes,
            sentences,
        }
    }

    /// The text from byte `from` to the end of sentence `sentence`; empty when `from` is already
    /// past it (a token can straddle a sentence end: `?!` is one symbol to the tokenizer).
    pub fn rest_of_sentence(&self, from: usize, sentence: usize) -> &'a str {
        let end = self.sentences.get(sentence).map_or(from, |s| s.end);
        self.text.get(from..end.max(from)).unwrap_or("")
    }

    pub fn sentence_of(&self, byte: usize) -> usize {
        self.sentences
            .partition_point(|s| s.end <= byte)
            .min(self.sentences.len().saturating_sub(1))
    }

    fn hit(&self, start: usize, end: usize) -> Hit {
        let tok = self.morphemes.partition_point(|m| m.end <= start);
        let tok_end = self
            .morphemes
            .partition_point(|m| m.start < end)
            .max(tok + 1);
        Hit {
            start,
            end,
            tok,
            tok_end,
            sentence: self.sentence_of(start),
        }
    }
}

/// Hits of every atom in the document, indexed by atom id, and the atoms that have any.
pub(crate) struct AtomHits {
    by_atom: Vec<Vec<Hit>>,
    /// Atom ids with at least one hit, each once, in no particular order: a document hits a few
    /// dozen of the rules' thousands of atoms, so per-document work visits only these. Hits are
    /// added only through [`AtomHits::push`], which keeps this list whole: the per-thread table
    /// is emptied by it.
    touched: Vec<usize>,
}

/// Hits of every atom in the document.
pub(crate) fn atom_hits(atoms: &Atoms, doc: &Document<'_>) -> AtomHits {
    let mut by_atom = SPARE_HITS.with_borrow_mut(std::mem::take);
    by_atom.resize_with(atoms.specs.len(), Vec::new);
    let mut out = AtomHits {
        by_atom,
        touched: Vec::new(),
    };
    // Per regex, the first byte where one of its prefixes occurs (none: it cannot match).
    let mut regex_from = vec![usize::MAX; atoms.regexes.len()];
    if let Some(ac) = &atoms.literal_automaton {
        for m in ac.find_overlapping_iter(doc.text) {
            let p = m.pattern().as_usize();
            match atoms.literal_atoms.get(p) {
                Some(&atom) => out.push(atom, doc.hit(m.start(), m.end())),
                None => {
                    let from = &mut regex_from[atoms.trigger_regex[p - atoms.literal_atoms.len()]];
                    *from = (*from).min(m.start());
                }
            }
        }
    }
    for (i, m) in doc.morphemes.iter().enumerate() {
        if let Some(entries) = atoms.lemmas.get(m.base) {
            for &(atom, negated_only) in entries {
                if !negated_only || m.negated {
                    out.push(
                        atom,
                        Hit {
                            start: m.start,
                            end: m.end,
                            tok: i,
                            tok_end: i + 1,
                            sentence: doc.sentence_of(m.start),
                        },
                    );
                }
            }
        }
    }
    for (r, from) in atoms.regexes.iter().zip(regex_from) {
        if !r.triggered {
            for m in r.regex.find_iter(doc.text) {
                out.push(r.atom, doc.hit(m.start(), m.end()));
            }
            continue;
        }
        // The same matches as `find_iter` over the whole text: none starts before `from`, the
        // search still sees the text before it (for `^` and `\b`), and no match is empty.
        let mut at = from;
        while at <= doc.text.len() {
            let Some(m) = r.regex.find_at(doc.text, at) else {
                break;
            };
            out.push(r.atom, doc.hit(m.start(), m.end()));
            at = m.end();
        }
    }
    for &a in &out.touched {
        out.by_atom[a].sort_by_key(|h| (h.start, h.end));
    }
    out
}

thread_local! {
    /// The per-atom table of the thread's last document, emptied: one table per thread instead
    /// of thousands of slots allocated and freed per document.
    static SPARE_HITS: std::cell::RefCell<Vec<Vec<Hit>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Above this many hits, an atom's list is freed rather than kept for the next document, so a
/// document with thousands of hits of one atom does not leave that memory with the thread.
const KEPT_HITS: usize = 256;

impl Drop for AtomHits {
    fn drop(&mut self) {
        for &a in &self.touched {
            let hits = &mut self.by_atom[a];
            if hits.capacity() > KEPT_HITS {
                *hits = Vec::new();
            } else {
                hits.clear();
            }
        }
        let table = std::mem::take(&mut self.by_atom);
        // While the thread itself ends, its storage may be gone: then the table is just dropped.
        let _ = SPARE_HITS.try_with(|spare| *spare.borrow_mut() = table);
    }
}

impl AtomHits {
    /// Hits per atom id, each list in text order.
    pub fn by_atom(&self) -> &[Vec<Hit>] {
        &self.by_atom
    }

    /// The atoms with at least one hit, in no particular order.
    pub fn touched(&self) -> &[usize] {
        &self.touched
    }

    fn push(&mut self, atom: usize, hit: Hit) {
        let hits = &mut self.by_atom[atom];
        if hits.is_empty() {
            self.touched.push(atom);
        }
        hits.push(hit);
    }
}

/// The hits of an item (any of its atoms), in text order.
pub(crate) fn item_hits(item: &Item, hits: &[Vec<Hit>]) -> Vec<Hit> {
    let mut out: Vec<Hit> = item.iter().flat_map(|a| hits[*a].iter().copied()).collect();
    if item.len() > 1 {
        out.sort_by_key(|h| (h.start, h.end));
    }
    out
}

/// The earliest hit of an item (any of its atoms) that `allowed` accepts, by (start, end): the
/// first element of [`item_hits`] filtered by `allowed`, without collecting. Each atom's hits
/// are already in that order, so the first allowed hit per atom is that atom's candidate.
fn first_allowed(item: &Item, hits: &[Vec<Hit>], allowed: &impl Fn(&Hit) -> bool) -> Option<Hit> {
    item.iter()
        .filter_map(|a| hits[*a].iter().find(|h| allowed(h)).copied())
        .min_by_key(|h| (h.start, h.end))
}

/// Decides whether `rule` fires; returns the byte span that is its evidence and how many of its
/// items and patterns matched (weak topic cues add up).
pub(crate) fn fire(
    rule: &Rule,
    hits: &[Vec<Hit>],
    doc: &Document<'_>,
) -> Option<(Range<usize>, usize)> {
    // Most rules have no hit at all in a given document: decide that without allocating.
    let any_hit = |item: &Item| item.iter().any(|a| !hits[*a].is_empty());
    if !rule.any.iter().any(any_hit) && !rule.patterns.iter().any(|p| p.iter().all(any_hit)) {
        return None;
    }
    let mut excluded = Vec::new();
    for item in &rule.not {
        for h in item.iter().flat_map(|a| &hits[*a]) {
            match rule.scope {
                Scope::Document => return None,
                Scope::Sentence => {
                    if excluded.is_empty() {
                        excluded = vec![false; doc.sentences.len().max(1)];
                    }
                    excluded[h.sentence] = true;
                }
            }
        }
    }
    let allowed = |h: &Hit| excluded.is_empty() || !excluded[h.sentence];
    let mut best: Option<Range<usize>> = None;
    let mut matched = 0;
    let mut consider = |span: Range<usize>| {
        matched += 1;
        if best.as_ref().is_none_or(|b| span.start < b.start) {
            best = Some(span);
        }
    };
    for item in &rule.any {
        if let Some(h) = first_allowed(item, hits, &allowed) {
            consider(h.start..h.end);
        }
    }
    for pattern in &rule.patterns {
        if !pattern.iter().all(any_hit) {
            continue;
        }
        if let Some(span) = match_pattern(pattern, hits, rule, &allowed) {
            consider(span);
        }
    }
    best.map(|b| (b, matched))
}

/// Ordered items, each starting within `window` tokens after the previous one ends.
fn match_pattern(
    pattern: &[Item],
    hits: &[Vec<Hit>],
    rule: &Rule,
    allowed: &impl Fn(&Hit) -> bool,
) -> Option<Range<usize>> {
    let per_item: Vec<Vec<Hit>> = pattern.iter().map(|i| item_hits(i, hits)).collect();
    'first: for first in per_item[0].iter().filter(|h| allowed(h)) {
        let mut prev = *first;
        for next_hits in &per_item[1..] {
            let next = next_hits.iter().find(|h| {
                h.start >= prev.end
                    && h.tok.saturating_sub(prev.tok_end) <= rule.window
                    && (rule.scope == Scope::Document || h.sentence == prev.sentence)
                    && allowed(h)
            });
            match next {
                Some(h) => prev = *h,
                None => continue 'first,
            }
        }
        return Some(first.start..prev.end);
    }
    None
}

/// A fired rule: which one, and the evidence span.
#[derive(Debug, Clone)]
pub(crate) struct Firing {
    pub rule: usize,
    pub span: Range<usize>,
    /// Distinct items and patterns of the rule that matched.
    pub matched: usize,
}

/// Every rule of the set that fires on the document, in file order.
pub(crate) fn fire_all(rules: &RuleSet, hits: &[Vec<Hit>], doc: &Document<'_>) -> Vec<Firing> {
    rules
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            fire(r, hits, doc).map(|(span, matched)| Firing {
                rule: i,
                span,
                matched,
            })
        })
        .collect()
}

/// A readable snippet for evidence: short spans grow to their clause, long ones are capped.
pub(crate) fn snippet(text: &str, span: Range<usize>) -> String {
    const CLAUSE: &[char] = &['、', '。', '!', '?', '\n', ','];
    const MAX_CHARS: usize = 40;
    let (mut start, mut end) = (span.start, span.end);
    if text[start..end].chars().count() < 6 {
        start = text[..start]
            .rfind(CLAUSE)
            .map(|i| i + text[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        end = text[end..]
            .find(CLAUSE)
            .map(|i| end + i)
            .unwrap_or(text.len());
    }
    let s = &text[start..end];
    if s.chars().count() <= MAX_CHARS {
        return s.to_string();
    }
    // Keep the matched part visible: centre the window on it.
    let before = text[start..span.start].chars().count();
    let skip = before.saturating_sub(MAX_CHARS / 3);
    s.chars().skip(skip).take(MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_grows_short_spans_to_the_clause() {
        let t = "先月の請求が二重です、困ります。";
        let start = t.find("請求").unwrap_or(0);
        assert_eq!(
            snippet(t, start..start + "請求".len()),
            "先月の請求が二重です"
        );
    }

    #[test]
    fn snippet_caps_long_text() {
        let t = "あ".repeat(100);
        assert_eq!(snippet(&t, 0..t.len()).chars().count(), 40);
    }

    #[test]
    fn sentences_split_on_terminators() {
        let d = Document::new("届かない。困る!\n次", &[]);
        assert_eq!(d.sentences.len(), 4);
        assert_eq!(d.sentence_of(0), 0);
        assert_eq!(d.sentence_of("届かない。".len()), 1);
    }
}
