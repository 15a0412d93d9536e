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

use super::lexicon::{INDEX, LEXICON, NameCue, char_bit};
use crate::tokenize::{Morpheme, WordSource};

/// Longest run of words taken as one name (family name, space, given name).
const MAX_NAME_WORDS: usize = 4;
/// A signature or closing line longer than this is a sentence, not a name.
const MAX_SIGNATURE_CHARS: usize = 40;

fn is_person_name(m: &Morpheme<'_>) -> bool {
    m.pos1 == "固有名詞" && m.pos2 == "人名"
}

fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}' | '々')
}

fn has_kanji(s: &str) -> bool {
    s.chars().any(is_kanji)
}

/// Whether a word IPADIC calls a person's name stands as one without a name position around it.
/// IPADIC's name lists hold many everyday words in kana (スマート, コール, マイ as surnames or given
/// names) and single kanji (毛 + 玉 of 毛玉 read as family and given name): those count only next
/// to a kanji name of two or more characters, which always stands as one (田中, 佐々木).
///
/// A name glued to another noun is part of a place, shop or company name (北野天満宮, 仙台駅前
/// 店): a person named in a sentence is followed by a particle, an honorific or a title.
fn stands_as_name(text: &str, ms: &[Morpheme<'_>], i: usize) -> bool {
    let strong = |n: &Morpheme<'_>| {
        is_person_name(n) && has_kanji(n.surface) && n.surface.chars().count() >= 2
    };
    let glued = |a: &Morpheme<'_>, b: &Morpheme<'_>| text[a.end..b.start].is_empty();
    let compound = |n: &Morpheme<'_>| {
        n.pos == "名詞" && !is_person_name(n) && !(n.pos1 == "接尾" && n.pos2 == "人名")
    };
    let prev = i.checked_sub(1).map(|p| &ms[p]);
    let next = ms.get(i + 1);
    if prev.is_some_and(|p| glued(p, &ms[i]) && compound(p) && !is_title(p))
        || next.is_some_and(|n| glued(&ms[i], n) && compound(n) && !is_title(n))
    {
        return false;
    }
    strong(&ms[i]) || prev.is_some_and(strong) || next.is_some_and(strong)
}

/// An honorific, a title or a name suffix: what makes the words before it a name position.
fn is_title(m: &Morpheme<'_>) -> bool {
    INDEX.honorifics.contains(m.surface) || INDEX.name_suffixes.contains(m.surface)
}

/// A variant kanji of names: listed in the lexicon, or a CJK compatibility or supplementary
/// ideograph (﨑, 𠮷).
fn has_variant_kanji(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
            || INDEX.variant_kanji.contains(&c)
    })
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
    // 一 of 一郎 and 三 of 三郎 are numerals to IPADIC.
    let numeral_in_name = m.pos1 == "数" && m.surface.chars().count() == 1 && has_kanji(m.surface);
    m.pos == "名詞"
        && (matches!(m.pos1, "一般" | "固有名詞") || numeral_in_name || is_name_ending(m))
}

/// 子 of 花子 read as a suffix after an unknown 﨑花: the end of a given name.
fn is_name_ending(m: &Morpheme<'_>) -> bool {
    m.pos1 == "接尾" && INDEX.given_name_endings.contains(m.surface)
}

/// A role taking an honorific (お客様, 店員さん) rather than a name.
/// A longer word ending in a role is one too (地上スタッフ, 担当オペレーター).
fn is_role(word: &str) -> bool {
    if INDEX.not_names.contains(word) {
        return true;
    }
    // Every ending of the word, as a set look-up: a role suffix (員) or a role of two or more
    // characters (スタッフ of 地上スタッフ).
    word.char_indices().any(|(k, c)| {
        let tail = &word[k..];
        (k + c.len_utf8() == word.len() && INDEX.role_suffixes.contains(tail))
            || (k > 0 && tail.chars().nth(1).is_some() && INDEX.not_names.contains(tail))
    })
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
        if !name_like(m) || (!is_person_name(m) && !is_name_ending(m) && is_role(m.surface)) {
            break;
        }
        end += 1;
        words += 1;
    }
    start..end
}

/// Whether morpheme `i` opens a line or a clause: the text starts or a line breaks before it, or
/// a space or a punctuation mark stands right before it (lindera drops spaces, so look at the
/// text).
fn clause_start(text: &str, ms: &[Morpheme<'_>], i: usize) -> bool {
    let before = &text[..ms[i].start];
    i == 0
        || before.ends_with(['\n', ' ', '\u{3000}'])
        || ms[i - 1].pos == "記号"
        || before.ends_with(['。', '、', '!', '?', '」', ')', '」'])
}

/// Words that are a name rather than an everyday noun: a Japanese one the dictionary does not know, a
/// kanji proper noun, a kana proper noun standing alone (スズキ, not コス of コスパ), or a word the
/// dictionary could only split into single kanji (佐 + 籐 of 佐籐).
fn is_strong(run: &[Morpheme<'_>]) -> bool {
    let single_kanji = |m: &Morpheme<'_>| m.surface.chars().count() == 1 && has_kanji(m.surface);
    // A Latin word the dictionary does not know is a product (iPhone), not a Japanese name.
    let japanese = |w: &Morpheme<'_>| !w.surface.is_ascii();
    let proper = |w: &Morpheme<'_>| w.pos1 == "固有名詞" || w.source == WordSource::Unknown;
    // Kana proper nouns count when the run is proper nouns alone (タナカ ハナコ), not inside a
    // common word (コス + パ). Place names (固有名詞・地域) are places: 目的地は京都です.
    let all_proper = run.iter().all(proper);
    run.iter().any(|w| {
        (w.source == WordSource::Unknown && japanese(w))
            || (w.pos1 == "固有名詞"
                && w.pos2 != "地域"
                && (has_kanji(w.surface) && w.pos2 != "組織" || all_proper))
    }) || (run.len() >= 2 && run.iter().all(single_kanji))
        || (run.len() >= 2
            && run
                .last()
                .is_some_and(|w| single_kanji(w) && INDEX.given_name_endings.contains(w.surface)))
}

/// Indices of the morphemes lying within `bytes` (morphemes are in text order).
fn within(ms: &[Morpheme<'_>], bytes: Range<usize>) -> Range<usize> {
    let from = ms.partition_point(|m| m.start < bytes.start);
    let to = ms.partition_point(|m| m.end <= bytes.end);
    from..to.max(from)
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
    // For each word, the index of the next word that could start or be a name (a proper noun,
    // an unknown word, a lone kanji), computed once from the back.
    let mut next_cue = vec![usize::MAX; ms.len() + 1];
    for (i, w) in ms.iter().enumerate().rev() {
        let cue = w.source == WordSource::Unknown
            || w.pos1 == "固有名詞"
            || (w.pos == "名詞" && w.surface.chars().nth(1).is_none() && has_kanji(w.surface));
        next_cue[i] = if cue { i } else { next_cue[i + 1] };
    }
    for (i, m) in ms.iter().enumerate() {
        // Every rule below starts at a noun or an unknown word (particles, verbs and marks are
        // about half the words).
        if m.pos != "名詞" && m.source != WordSource::Unknown {
            continue;
        }
        if is_person_name(m) && stands_as_name(text, ms, i) {
            runs.push(i..i + 1);
        }
        // A word the dictionary cannot read that holds a variant kanji is a name (髙橋から電話,
        // 山﨑が担当). Taken with the kanji nouns glued to it (山 + 﨑).
        if m.source == WordSource::Unknown && has_variant_kanji(m.surface) && !is_role(m.surface) {
            let glued_kanji = |n: &Morpheme<'_>| n.pos == "名詞" && has_kanji(n.surface);
            let start = if i > 0 && glued_kanji(&ms[i - 1]) && ms[i - 1].end == m.start {
                i - 1
            } else {
                i
            };
            let end = if ms
                .get(i + 1)
                .is_some_and(|n| glued_kanji(n) && n.start == m.end)
            {
                i + 2
            } else {
                i + 1
            };
            runs.push(start..end);
        }
        // A given name the dictionary does not know after a family name it does (岡田 康平).
        let given_name_after = |n: &Morpheme<'_>| {
            n.pos == "名詞"
                && matches!(n.pos1, "一般" | "固有名詞")
                && has_kanji(n.surface)
                && n.surface.chars().count() <= 3
                // Written apart (岡田 康平): glued, it is a place or a company (伸和交通).
                && !text[m.end..n.start].is_empty()
                && text[m.end..n.start].trim().is_empty()
                && !is_title(n)
                && !is_role(n.surface)
        };
        if is_person_name(m)
            && has_kanji(m.surface)
            && m.surface.chars().nth(1).is_some()
            && ms.get(i + 1).is_some_and(given_name_after)
        {
            runs.push(i..i + 2);
        }
        // A given name after a kanji proper noun the dictionary read as a place (松本 茂).
        if is_person_name(m)
            && i > 0
            && ms[i - 1].pos1 == "固有名詞"
            && !is_person_name(&ms[i - 1])
            && has_kanji(ms[i - 1].surface)
            && ms[i - 1].surface.chars().count() >= 2
            && text[ms[i - 1].end..m.start].trim().is_empty()
        {
            runs.push(i - 1..i + 1);
        }
        // Honorifics and self-introduction words are short and start with one of few
        // characters: rule most words out before hashing them.
        let short = m.surface.len() <= INDEX.short_word_bytes
            && m.surface
                .chars()
                .next()
                .is_some_and(|c| INDEX.short_word_first_chars & char_bit(c) != 0);
        // Before an honorific.
        if short && INDEX.honorifics.contains(m.surface) {
            let r = run_before(ms, i);
            if !r.is_empty() && !is_role(&text_of(text, ms, &r)) {
                runs.push(r);
            }
        }
        // X と申します (every phrase starts with と, っ or で).
        if text[m.end..].starts_with(['と', 'っ', 'で'])
            && name_like(m)
            && followed_by(text, ms, i, &l.self_introduction_after)
        {
            let r = run_before(ms, i + 1);
            if !is_role(&text_of(text, ms, &r)) {
                runs.push(r);
            }
        }
        // 私、X です / 私は X と申します.
        if short && INDEX.self_introduction_before.contains(m.surface) {
            let mut j = i + 1;
            while ms
                .get(j)
                .is_some_and(|p| is_space(p) || matches!(p.surface, "は" | "、" | "," | ":" | "："))
            {
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
        // A clause, or what a person is said to be, opening with a word the dictionary does not
        // know or a proper noun, then です (髙橋です。, @サポート 山﨑です!, 担当はスズキです).
        // The topic must be a person (担当は, 店員は, 私は): 目的地は京都です names a place.
        // Cheap first: a proper noun, an unknown word or a lone kanji among the next words.
        let candidate = next_cue[i] < i + MAX_NAME_WORDS
            && ms[i + 1..(i + MAX_NAME_WORDS + 1).min(ms.len())]
                .iter()
                .any(|w| w.surface == "です" || w.surface == "で");
        let after_topic = || {
            i > 1
                && ms[i - 1].surface == "は"
                && ms[i - 1].pos == "助詞"
                && (is_role(ms[i - 2].surface)
                    || INDEX.self_introduction_before.contains(ms[i - 2].surface))
        };
        if candidate && (clause_start(text, ms, i) || after_topic()) {
            let r = run_after(ms, i);
            if is_strong(&ms[r.clone()]) && copula_ends_clause(text, ms, r.end) {
                runs.push(r);
            }
        }
    }
    runs.extend(signature_runs(text, ms));
    // Names the dictionary cannot split into words (hiragana readings: わたなべ ゆうき): by
    // position in the text alone.
    let by_text = introduced_names(text)
        .into_iter()
        .chain(named_before_copula(text, ms));

    let mut spans: Vec<Range<usize>> = runs
        .into_iter()
        .filter(|r| !r.is_empty())
        .flat_map(|r| {
            // Protected words split a run: the company's own words stay.
            ms[r]
                .iter()
                .filter(|w| !protected(w) && !is_space(w) && !super::in_placeholder(text, w))
                .map(|w| w.start..w.end)
                .collect::<Vec<_>>()
        })
        .chain(by_text)
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

/// Whether `c` ends a clause: what a name introduced in the text runs up to.
fn is_clause_mark(c: char) -> bool {
    matches!(
        c,
        '\n' | '。'
            | '、'
            | ','
            | '.'
            | '!'
            | '?'
            | '「'
            | '」'
            | '('
            | ')'
            | ':'
            | '：'
            | '『'
            | '』'
    )
}

/// Longest name taken by characters before an honorific.
const MAX_NAME_CHARS: usize = 8;

/// Characters a name is written in: kanji (any block), katakana, Latin letters.
fn is_name_char(c: char) -> bool {
    is_kanji(c) || matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー') || c.is_ascii_alphabetic()
}

/// A chunk of text that may be a name: trimmed, not empty, at most [`MAX_CHUNK_CHARS`], not a role.
fn name_chunk(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    const MAX_CHUNK_CHARS: usize = 16;
    let chunk = &text[r.clone()];
    let lead = chunk.len() - chunk.trim_start().len();
    let trimmed = chunk.trim();
    let n = trimmed.chars().count();
    (n > 0 && n <= MAX_CHUNK_CHARS && !is_role(trimmed) && !trimmed.contains('<'))
        .then(|| r.start + lead..r.start + lead + trimmed.len())
}

/// Byte ranges of names introduced in the text, whatever script they are in: the clause before
/// と申します (and the like), and what follows a label (名前は…) up to です or the clause's end.
fn introduced_names(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    // One pass over the text for all three kinds of cue.
    for found in INDEX.name_cues_in_text.find_iter(text) {
        let chunk = match INDEX.name_cue_kinds[found.pattern().as_usize()] {
            NameCue::Introduction => before_introduction(text, found.start()),
            NameCue::Honorific => before_honorific(text, found.start(), found.end()),
            NameCue::Label => after_label(text, found.end()),
        };
        out.extend(chunk);
    }
    out
}

/// The clause before と申します (私は田中と申します: the pronoun is not the name).
fn before_introduction(text: &str, at: usize) -> Option<Range<usize>> {
    let mut start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| is_clause_mark(c))
        .map_or(0, |(k, c)| k + c.len_utf8());
    let head = text[start..at].trim_start();
    start = at - head.len();
    for w in &LEXICON.self_introduction_before {
        if let Some(rest) = head.strip_prefix(w.as_str()) {
            let rest = rest.trim_start_matches(['は', 'が', ' ', '\u{3000}']);
            start = at - rest.len();
            break;
        }
    }
    name_chunk(text, start..at)
}

/// The name characters before an honorific, by characters: lindera may glue an unknown name to
/// it (﨑様).
fn before_honorific(text: &str, at: usize, end: usize) -> Option<Range<usize>> {
    let l = &*LEXICON;
    // 様子, 氏名, 殿堂, ちゃんと: the honorific's characters starting another word.
    let rest = &text[end..];
    let next = rest.chars().next();
    let suffixed = l.name_suffixes.iter().any(|x| rest.starts_with(x.as_str()));
    if next.is_some_and(is_kanji) && !suffixed
        || l.not_honorifics
            .iter()
            .any(|w| text[at..].starts_with(w.as_str()))
    {
        return None;
    }
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_name_char(c))
        .take(MAX_NAME_CHARS)
        .last()
        .map_or(at, |(k, _)| k);
    // One character before a kana honorific is a verb's stem (行くんです), not a name;
    // one-character names are the dictionary's (林さん, 森様).
    text[start..at].chars().nth(1)?;
    name_chunk(text, start..at)
}

/// What follows a label (名前は…), up to です or the clause's end.
fn after_label(text: &str, label_end: usize) -> Option<Range<usize>> {
    const ENDS: [&str; 8] = [
        "です",
        "でござ",
        "と申",
        "とい",
        "と言",
        "になっ",
        "になり",
        "で、",
    ];
    let after = &text[label_end..];
    let skipped = after.len()
        - after
            .trim_start_matches(['は', ':', '：', '、', ',', '=', ' ', '\u{3000}'])
            .len();
    if skipped == 0 {
        return None; // 名前の変更: a label only when a name follows it
    }
    let from = label_end + skipped;
    let rest = &text[from..];
    let mut end = rest.find(is_clause_mark).unwrap_or(rest.len());
    for e in ENDS {
        if let Some(k) = rest[..end].find(e) {
            end = end.min(k);
        }
    }
    name_chunk(text, from..from + end)
}

/// Names said as a clause of their own before です, by characters (山﨑健太です。): the clause is
/// written in name characters only and holds a kanji word the dictionary does not know or calls
/// a person's name, or ends in a given name's last character after two or more words (スズキ一郎).
fn named_before_copula(text: &str, ms: &[Morpheme<'_>]) -> Vec<Range<usize>> {
    const MAX_CLAUSE_CHARS: usize = 10;
    let mut out = Vec::new();
    for phrase in ["です", "でございます"] {
        for (at, _) in text.match_indices(phrase) {
            let Some((start, _)) = text[..at]
                .char_indices()
                .rev()
                .take_while(|&(_, c)| is_name_char(c) || c == ' ' || c == '\u{3000}')
                .take(MAX_CLAUSE_CHARS)
                .last()
            else {
                continue;
            };
            let before = &text[..start];
            let opens = before.is_empty()
                || before.ends_with(is_clause_mark)
                || before.ends_with([' ', '\u{3000}', '!', '?', '>']);
            if !opens {
                continue;
            }
            let words = &ms[within(ms, start..at)];
            let last = text[start..at].trim_end().chars().next_back();
            // Kana words count elsewhere: here they are as often slang (コスパ, リピ) as names.
            let strong = words.iter().any(|m| {
                (m.source == WordSource::Unknown || is_person_name(m)) && has_kanji(m.surface)
            }) || (words.len() >= 2
                && last.is_some_and(|c| {
                    INDEX
                        .given_name_endings
                        .contains(c.encode_utf8(&mut [0; 4]) as &str)
                }));
            if strong {
                out.extend(name_chunk(text, start..at));
            }
        }
    }
    out
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
        let words: Vec<usize> = within(ms, line.clone()).collect();
        let nouns_only = words.iter().all(|&i| {
            let m = &ms[i];
            is_space(m) || m.pos == "名詞" || m.pos == "記号" || m.source == WordSource::Unknown
        });
        let nouns: Vec<Morpheme<'_>> = words.iter().map(|&i| ms[i].clone()).collect();
        let strong = is_strong(&nouns);
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
