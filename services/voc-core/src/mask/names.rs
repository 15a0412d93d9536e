//! Person names, found on the morphemes of the (already pattern-masked) text.
//!
//! A name is masked wherever it stands in one of these positions:
//! - **the dictionary says so**: any word IPADIC tags 固有名詞・人名 (田中, 一郎), with or without
//!   an honorific;
//! - **before an honorific** (様, さん, 先生 … in the lexicon): the name-like words right before it,
//!   known or not (スズキ様, 髙橋さん, 山﨑さん), unless they are a role (お客様, 運転手さん);
//! - **a self-introduction**: the words before と申します and the like, after 私、/名前は and
//!   before です, or a line that opens with an unknown word and です (髙橋です。);
//! - **a signature**: the noun-only line after a `--`/`――` line, or a short noun-only last line.
//!
//! Words that are the company's own (from the user dictionary, or terms the rules name) are never
//! masked as names: a product called ひかり stays ひかり.

use std::ops::Range;

use super::lexicon::LEXICON;
use crate::tokenize::{Morpheme, WordSource};

/// Longest run of words taken as one name (family name, space, given name).
const MAX_NAME_WORDS: usize = 4;
/// A signature or closing line longer than this is a sentence, not a name.
const MAX_SIGNATURE_CHARS: usize = 40;

fn is_person_name(m: &Morpheme<'_>) -> bool {
    m.pos1 == "固有名詞" && m.pos2 == "人名"
}

fn has_kanji(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '々'))
}

/// Whether a word IPADIC calls a person's name stands as one without a name position around it.
/// IPADIC's name lists hold many everyday words in kana (スマート, コール, マイ as surnames or given
/// names) and single kanji (毛 + 玉 of 毛玉 read as family and given name): those count only next
/// to a kanji name of two or more characters, which always stands as one (田中, 佐々木).
fn stands_as_name(ms: &[Morpheme<'_>], i: usize) -> bool {
    let strong = |n: &Morpheme<'_>| {
        is_person_name(n) && has_kanji(n.surface) && n.surface.chars().count() >= 2
    };
    strong(&ms[i])
        || i.checked_sub(1).is_some_and(|p| strong(&ms[p]))
        || ms.get(i + 1).is_some_and(strong)
}

fn is_space(m: &Morpheme<'_>) -> bool {
    m.surface.trim().is_empty()
}

/// A word that can be (part of) a name: a noun that is not a pronoun, number, adverbial or
/// dependent noun, or any word the dictionary does not know (variant kanji, katakana names).
fn name_like(m: &Morpheme<'_>) -> bool {
    if m.source == WordSource::Unknown {
        return m.surface.chars().any(char::is_alphabetic);
    }
    m.pos == "名詞" && matches!(m.pos1, "一般" | "固有名詞")
}

/// A role taking an honorific (お客様, 店員さん) rather than a name.
fn is_role(word: &str) -> bool {
    let l = &*LEXICON;
    l.not_names.iter().any(|n| n == word) || l.role_suffixes.iter().any(|s| word.ends_with(s))
}

/// The name-like run of words ending just before `end` (exclusive), at most
/// [`MAX_NAME_WORDS`] long, spaces allowed inside. Empty when the word before is not name-like.
fn run_before(ms: &[Morpheme<'_>], end: usize) -> Range<usize> {
    let mut start = end;
    let mut words = 0;
    while start > 0 && words < MAX_NAME_WORDS {
        let m = &ms[start - 1];
        if is_space(m) && start < end && start >= 2 && name_like(&ms[start - 2]) {
            start -= 1;
            continue;
        }
        if !name_like(m) || (!is_person_name(m) && is_role(m.surface)) {
            break;
        }
        start -= 1;
        words += 1;
    }
    start..end
}

/// The name-like run starting at `start`, for words that follow 私、 or a signature marker.
fn run_after(ms: &[Morpheme<'_>], start: usize) -> Range<usize> {
    let mut end = start;
    let mut words = 0;
    while end < ms.len() && words < MAX_NAME_WORDS {
        let m = &ms[end];
        if is_space(m) && end > start && ms.get(end + 1).is_some_and(name_like) {
            end += 1;
            continue;
        }
        if !name_like(m) || (!is_person_name(m) && is_role(m.surface)) {
            break;
        }
        end += 1;
        words += 1;
    }
    start..end
}

fn text_of(text: &str, ms: &[Morpheme<'_>], r: &Range<usize>) -> String {
    if r.is_empty() {
        return String::new();
    }
    text[ms[r.start].start..ms[r.end - 1].end].to_string()
}

/// Whether the text right after morpheme `i` begins with one of `phrases`.
fn followed_by(text: &str, ms: &[Morpheme<'_>], i: usize, phrases: &[String]) -> bool {
    let rest = &text[ms[i].end..];
    phrases.iter().any(|p| rest.starts_with(p.as_str()))
}

/// Whether morphemes `at..` read です (or でございます) and then the sentence or clause ends.
fn copula_ends_clause(text: &str, ms: &[Morpheme<'_>], at: usize) -> bool {
    let Some(m) = ms.get(at) else { return false };
    let rest = &text[m.start..];
    let after = if let Some(r) = rest.strip_prefix("です") {
        r
    } else if let Some(r) = rest.strip_prefix("でございます") {
        r
    } else {
        return false;
    };
    after.is_empty() || after.starts_with(['。', '、', ',', '.', '!', '?', '\n', ' ', 'が', 'け'])
}

/// Byte ranges of `text` holding person names. `protected` says which words are the company's
/// own (rules terms, user dictionary) and never names.
pub fn name_spans(
    text: &str,
    ms: &[Morpheme<'_>],
    protected: &dyn Fn(&Morpheme<'_>) -> bool,
) -> Vec<Range<usize>> {
    let l = &*LEXICON;
    // Morpheme index ranges to mask.
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        if is_person_name(m) && stands_as_name(ms, i) {
            runs.push(i..i + 1);
        }
        // Before an honorific.
        if l.honorifics.iter().any(|h| h == m.surface) {
            let r = run_before(ms, i);
            if !r.is_empty() && !is_role(&text_of(text, ms, &r)) {
                runs.push(r);
            }
        }
        // X と申します.
        if name_like(m) && followed_by(text, ms, i, &l.self_introduction_after) {
            let r = run_before(ms, i + 1);
            if !is_role(&text_of(text, ms, &r)) {
                runs.push(r);
            }
        }
        // 私、X です / 名前は X です.
        if l.self_introduction_before.iter().any(|w| w == m.surface) {
            let mut j = i + 1;
            while ms.get(j).is_some_and(|p| {
                is_space(p) || matches!(p.surface, "は" | "、" | "," | ":" | "が" | "の")
            }) {
                j += 1;
            }
            let r = run_after(ms, j);
            if !r.is_empty()
                && !is_role(&text_of(text, ms, &r))
                && (copula_ends_clause(text, ms, r.end)
                    || followed_by(text, ms, r.end - 1, &l.self_introduction_after))
            {
                runs.push(r);
            }
        }
        // A line opening with a word the dictionary does not know (or a proper noun), then です.
        let line_start = i == 0 || text[..m.start].ends_with('\n');
        if line_start {
            let r = run_after(ms, i);
            let strong = ms[r.clone()]
                .iter()
                .any(|w| w.source == WordSource::Unknown || w.pos1 == "固有名詞");
            if strong && copula_ends_clause(text, ms, r.end) {
                runs.push(r);
            }
        }
    }
    runs.extend(signature_runs(text, ms));

    let mut spans: Vec<Range<usize>> = runs
        .into_iter()
        .filter(|r| !r.is_empty())
        .flat_map(|r| {
            // Protected words split a run: the company's own words stay.
            ms[r]
                .iter()
                .filter(|w| !protected(w) && !is_space(w))
                .map(|w| w.start..w.end)
                .collect::<Vec<_>>()
        })
        .collect();
    spans.sort_by_key(|r| (r.start, r.end));
    // Merge overlapping spans and spans with only spaces between them (山田 太郎 is one name).
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end || text[last.end..s.start].trim().is_empty() => {
                last.end = last.end.max(s.end);
            }
            _ => merged.push(s),
        }
    }
    merged
}

/// Morpheme ranges of signature lines: the line after a marker line (`-`, `――`, `＿＿`), the rest
/// of a marker line, and a short last line; each only when it is nouns alone.
fn signature_runs(text: &str, ms: &[Morpheme<'_>]) -> Vec<Range<usize>> {
    let l = &*LEXICON;
    let mut lines: Vec<Range<usize>> = Vec::new(); // byte ranges of lines
    let mut at = 0;
    for line in text.split('\n') {
        lines.push(at..at + line.len());
        at += line.len() + 1;
    }
    let is_marker = |c: char| l.signature_markers.iter().any(|m| m.starts_with(c));
    let mut out = Vec::new();
    let mut after_marker = false;
    for (k, line) in lines.iter().enumerate() {
        let s = &text[line.clone()];
        let body = s.trim_start_matches(is_marker).trim();
        let marked = s.starts_with(is_marker);
        let last = k == lines.len() - 1 && k > 0;
        let signed = (marked && !body.is_empty()) || after_marker;
        let candidate = signed || last;
        after_marker = marked && body.is_empty();
        if !candidate || body.chars().count() > MAX_SIGNATURE_CHARS || body.is_empty() {
            continue;
        }
        let words: Vec<usize> = (0..ms.len())
            .filter(|&i| ms[i].start >= line.start && ms[i].end <= line.end)
            .collect();
        let nouns_only = words.iter().all(|&i| {
            let m = &ms[i];
            is_space(m) || m.pos == "名詞" || m.pos == "記号" || m.source == WordSource::Unknown
        });
        let strong = words.iter().any(|&i| {
            let m = &ms[i];
            m.source == WordSource::Unknown || m.pos1 == "固有名詞"
        });
        // After a marker any noun line is a signature; a plain last line needs a name-like word.
        if nouns_only && (signed || strong) {
            out.extend(
                words
                    .iter()
                    .filter(|&&i| name_like(&ms[i]) && !is_role(ms[i].surface))
                    .map(|&i| i..i + 1),
            );
        }
    }
    out
}

/// Replaces every name span with `<NAME>`. Returns the new text and how many names were masked,
/// or `None` when there were none.
pub fn mask_names(
    text: &str,
    ms: &[Morpheme<'_>],
    protected: &dyn Fn(&Morpheme<'_>) -> bool,
) -> Option<(String, usize)> {
    let spans = name_spans(text, ms, protected);
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for s in &spans {
        out.push_str(&text[last..s.start]);
        out.push_str(super::PiiKind::Name.placeholder());
        last = s.end;
    }
    out.push_str(&text[last..]);
    Some((out, spans.len()))
}
