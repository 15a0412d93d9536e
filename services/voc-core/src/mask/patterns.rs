//! The typed patterns: e-mail, card, My Number, phone, postal code and street address, each a
//! regular expression plus a check of the match (digit count, Luhn, My Number check digit, digit
//! boundaries). They are exact about the written forms; what they miss, the shape layers
//! ([`super::digits`], [`super::email`]) catch.
//!
//! Every pattern accepts full-width digits, hyphen/dash variants and ideographic spaces directly,
//! so match offsets refer to the original string and nothing else is rewritten.

use regex::{Captures, Regex};
use std::ops::Range;
use std::sync::LazyLock;

use super::lexicon::LEXICON;
use super::{PiiKind, Spans};

// ---- character classes (pattern fragments) ----
const D: &str = "[0-9０-９]";
/// Hyphens/dashes seen between digits in raw text (incl. katakana ー, half-width ｰ).
const HY: &str = "[\\-‐‑–—―−ー－ｰ]";
/// Separators allowed between digit groups of a number.
const SEP: &str = "[\\-‐‑–—―−ー－ｰ 　.．]";
pub(super) const SEP_CHARS: &str = "-‐‑–—―−ー－ｰ 　.．";
const SP: &str = "[ 　]";
/// Town-name characters. Hiragana particles are excluded so that a sentence
/// ("東京都に住んでいて…") cannot be glued onto a later number.
const TOWN: &str = r"[[\p{Han}\p{Katakana}\p{Hiragana}ー々ヶ]--[はにでをへともやの]]";
const MUNI: &str = r"[\p{Han}ヶケ]{1,6}[市区町村郡]";
const BNAME: &str = r"[\p{Han}\p{Katakana}ーA-Za-zＡ-Ｚａ-ｚ]";
/// Prefectures, from the masking lexicon: an address starts at one of them.
fn prefectures() -> String {
    let names: Vec<String> = LEXICON
        .address
        .prefectures
        .iter()
        .map(|p| regex::escape(p))
        .collect();
    names.join("|")
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

pub(super) static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re("[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\\-．＿－]+[@＠]\
        (?:[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-－]+[.．])+[A-Za-zＡ-Ｚａ-ｚ]{2,}")
});
/// 13–19 digits, first group of 4; where it may end is decided in `card`.
pub(super) static CARD: LazyLock<Regex> =
    LazyLock::new(|| re(&format!("{D}{{4}}(?:{SEP}?{D}){{9,15}}")));
/// A card's security code or a PIN after its name: three or four digits that mean nothing
/// without the word before them.
pub(super) static SECURITY_CODE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        "(?:セキュリティー?コード|[Cc][Vv][Vv]2?|[Cc][Vv][Cc]2?|CID|暗証番号|(?:PIN|[Pp]in)(?:コード|番号)?|ピン(?:コード|番号))\
         (?:は|:|：|{SP})*({D}{{3,4}})"
    ))
});
pub(super) static MYNUM: LazyLock<Regex> = LazyLock::new(|| {
    let n = format!("{D}{{4}}{SEP}?{D}{{4}}{SEP}?{D}{{4}}");
    re(&format!(
        "(?:マイナンバー|個人番号)(?:は|：|:)?{SP}?({n})|({n})"
    ))
});
pub(super) static TEL: LazyLock<Regex> = LazyLock::new(|| {
    let tail = format!("{D}{{1,4}}{SEP}?{D}{{1,4}}{SEP}?{D}{{3,4}}");
    re(&format!(
        "[(（][0０]{D}{{1,4}}[)）]{SP}?{D}{{1,4}}{SEP}?{D}{{3,4}}\
         |[+＋][8８][1１]{SEP}?(?:[(（][0０][)）]{SEP}?)?{tail}\
         |[0０]{D}{{1,4}}[(（]{D}{{1,4}}[)）]{D}{{3,4}}\
         |[0０]{tail}"
    ))
});
pub(super) static POSTAL: LazyLock<Regex> = LazyLock::new(|| {
    let n = format!("{D}{{3}}{SEP}?{D}{{4}}");
    re(&format!(
        "〒{SP}?({n})|郵便番号(?:は|：|:|、|,|{SP})*({D}{{3}}(?:{SEP}|の)?{D}{{4}})|({D}{{3}}{HY}{D}{{4}})"
    ))
});
/// Block number + optional room, shared by both address patterns; `first` is
/// the pattern of the leading number. Every alternative needs a digit, so
/// digit-free text is never touched.
fn block(first: &str) -> String {
    let n = format!("{D}+");
    let k = "[〇一二三四五六七八九十百千]+";
    // 北一条西二丁目 (Hokkaido's grid): a 条 before the 丁目.
    let jo = format!("(?:(?:{first}|{k})条[東西南北]?)?");
    format!(
        "(?:{jo}(?:{first}|{k})丁目(?:{HY}|の?[、,]|の)?{n}(?:番地?|{HY}|の)?(?:{n}号?)?\
         |{jo}{k}丁目{k}番地?(?:{k}号)?\
         |{k}番地(?:(?:の|{HY}){k}号?)?\
         |{first}丁目\
         |{first}番(?:地(?:(?:{HY}|の)?{n}号?)?|{HY}?{n}号?)\
         |{first}(?:(?:{HY}|の){n}){{1,2}})\
         (?:{HY}{n}|{SP}?(?:{BNAME}{{1,20}}{SP}?)?{n}(?:号室|号|階|[FＦ]))?"
    )
}
/// Town characters (ending on one), then the block. After a space the first
/// number is capped at 3 digits so "大阪市北区 2026-11-22" stays a date.
/// `joined` also lets the parts be said one by one (千葉県の、船橋市本町の、5の12の3).
fn town_block(joined: bool) -> String {
    let (b, b3) = (block(&format!("{D}+")), block(&format!("{D}{{1,3}}")));
    let join = if joined { "|の?[、,]" } else { "" };
    // の inside a town's name (丸の内, 霞ヶ関の…): only before a kanji, so a sentence's の
    // (東京都の店) needs the block after it to be an address at all.
    let town = format!("(?:{TOWN}|の\\p{{Han}})");
    format!("(?:(?:{town}|{SP}{join}){{0,30}}{town})(?:{SP}{b3}|(?:の?[、,])?{b})")
}
pub(super) static ADDR_PREF: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        "(?:{})(?:の?[、,])?{}",
        prefectures(),
        town_block(true)
    ))
});
pub(super) static ADDR_MUNI: LazyLock<Regex> = LazyLock::new(|| {
    let b = block(&format!("{D}+"));
    re(&format!("{MUNI}(?:の?[、,])?(?:{}|{b})", town_block(true)))
});

// ---- public checksum helpers ----

/// Luhn check over ASCII digits; false for empty or non-digit input.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum = digits.bytes().rev().enumerate().fold(0u32, |acc, (i, b)| {
        let d = u32::from(b - b'0');
        let d = if i % 2 == 1 {
            d * 2 - if d > 4 { 9 } else { 0 }
        } else {
            d
        };
        (acc + d) % 10 // reduce as we go: no overflow on huge input
    });
    sum == 0
}

/// My Number (個人番号) check digit: 12 ASCII digits, weights 6,5,4,3,2,7,6,5,4,3,2.
pub fn my_number_valid(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = b[..11]
        .iter()
        .zip(W)
        .map(|(&x, w)| u32::from(x - b'0') * w)
        .sum();
    let r = sum % 11;
    u32::from(b[11] - b'0') == if r <= 1 { 0 } else { 11 - r }
}

/// Domestic number (leading 0) with the right digit count for its prefix.
fn tel_valid(d: &str) -> bool {
    let b = d.as_bytes();
    match b.len() {
        // 090/080/070 mobile, 050 IP phone, 0800 free dial (0800 starts with 080).
        11 => ["090", "080", "070", "050"]
            .iter()
            .any(|p| d.starts_with(p)),
        // Landline 0 + area code; 0X0 prefixes are non-geographic and never 10
        // digits. 0120/0570 pass this rule.
        10 => b[0] == b'0' && b[1] != b'0' && b[2] != b'0',
        _ => false,
    }
}

pub(super) fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

pub(super) fn is_digit(c: char) -> bool {
    ascii_digit(c).is_some()
}

pub(super) fn digits(s: &str) -> String {
    s.chars().filter_map(ascii_digit).collect()
}

/// Char before byte `i` (with its start), as the masked text would show it.
pub(super) fn before(t: &str, sp: &Spans, i: usize) -> Option<(usize, char)> {
    let (j, c) = t[..i].char_indices().next_back()?;
    Some((j, if sp.claimed(j) { '>' } else { c }))
}

/// Char at byte `i` (with the index after it), as the masked text would show it.
pub(super) fn after(t: &str, sp: &Spans, i: usize) -> Option<(usize, char)> {
    let c = t[i..].chars().next()?;
    Some((i + c.len_utf8(), if sp.claimed(i) { '<' } else { c }))
}

/// Digit boundary on one side. `loose` also refuses a separator followed by a
/// digit or a placeholder (a number continuing after a hyphen). Treating the
/// placeholder like a digit keeps this answer stable once a neighbour is masked.
fn edge_ok(
    t: &str,
    sp: &Spans,
    i: usize,
    loose: bool,
    step: fn(&str, &Spans, usize) -> Option<(usize, char)>,
    ph: char,
) -> bool {
    match step(t, sp, i) {
        Some((_, c)) if is_digit(c) => false,
        Some((j, c)) if loose && SEP_CHARS.contains(c) => {
            !step(t, sp, j).is_some_and(|(_, c2)| is_digit(c2) || c2 == ph)
        }
        _ => true,
    }
}

fn bounded(t: &str, sp: &Spans, r: &Range<usize>, loose: bool) -> bool {
    edge_ok(t, sp, r.start, loose, before, '>') && edge_ok(t, sp, r.end, loose, after, '<')
}

type Accept = fn(&str, &Captures, &Spans) -> Option<Range<usize>>;

/// `accept` turns a match into the range to mask.
/// Runs `re` over every unclaimed gap within `within` (a line: no pattern spans one).
pub(super) fn scan(
    t: &str,
    within: &Range<usize>,
    re: &Regex,
    kind: PiiKind,
    sp: &mut Spans,
    accept: Accept,
) {
    for gap in sp.gaps(t.len()) {
        let (start, end) = (gap.start.max(within.start), gap.end.min(within.end));
        if start >= end {
            continue;
        }
        // Cutting the haystack at the gap end makes a claimed span behave like
        // its placeholder: no pattern can match '<'.
        let hay = &t[..end];
        let mut pos = start;
        while pos < hay.len() {
            let Some(c) = re.captures_at(hay, pos) else {
                break;
            };
            let Some(m) = c.get(0) else { break };
            match accept(t, &c, sp).filter(|r| r.start < r.end) {
                Some(r) => {
                    pos = r.end;
                    sp.0.insert(r.start, (r.end, kind));
                }
                None => pos = skip(hay, m.start()),
            }
        }
    }
}

/// Next search start after a rejected match: one char on, and past the rest of
/// a digit run (a match starting mid-run fails the digit boundary anyway; this
/// keeps long digit strings linear).
fn skip(hay: &str, i: usize) -> usize {
    let mut chars = hay[i..].char_indices();
    let Some((_, first)) = chars.next() else {
        return hay.len();
    };
    let mut end = i + first.len_utf8();
    if is_digit(first) {
        for (k, c) in chars {
            if !is_digit(c) {
                break;
            }
            end = i + k + c.len_utf8();
        }
    }
    end
}

pub(super) fn whole(_: &str, c: &Captures, _: &Spans) -> Option<Range<usize>> {
    c.get(0).map(|m| m.range())
}

/// Longest prefix of the match that ends on a group end, has 13–19 digits,
/// groups of >= 3 digits and a valid Luhn sum (so "4111 … 1111 12/26" keeps "12").
pub(super) fn card(t: &str, c: &Captures, sp: &Spans) -> Option<Range<usize>> {
    let m = c.get(0)?;
    if !edge_ok(t, sp, m.start(), false, before, '>') {
        return None;
    }
    let (mut ds, mut ends, mut group, mut min_group) = (String::new(), Vec::new(), 0, usize::MAX);
    let mut it = m.as_str().char_indices().peekable();
    while let Some((i, ch)) = it.next() {
        let Some(d) = ascii_digit(ch) else { continue };
        ds.push(d);
        group += 1;
        if it.peek().is_none_or(|&(_, n)| !is_digit(n)) {
            min_group = min_group.min(group);
            group = 0;
            ends.push((m.start() + i + ch.len_utf8(), ds.len(), min_group));
        }
    }
    ends.into_iter()
        .rev()
        .find(|&(end, n, g)| {
            (13..=19).contains(&n)
                && g >= 3
                && luhn_valid(&ds[..n])
                && edge_ok(t, sp, end, false, after, '<')
        })
        .map(|(end, ..)| m.start()..end)
}

pub(super) fn security_code(t: &str, c: &Captures, sp: &Spans) -> Option<Range<usize>> {
    let g = c.get(1)?;
    bounded(t, sp, &g.range(), false).then(|| g.range())
}

pub(super) fn my_number(t: &str, c: &Captures, sp: &Spans) -> Option<Range<usize>> {
    if let Some(g) = c.get(1) {
        // After マイナンバー/個人番号 the context decides; no checksum needed.
        return bounded(t, sp, &g.range(), false).then(|| g.range());
    }
    let g = c.get(2)?;
    // "+81" + 10 digits is also 12 digits: a leading '+' means a phone number.
    let intl = before(t, sp, g.start()).is_some_and(|(_, p)| p == '+' || p == '＋');
    (!intl && bounded(t, sp, &g.range(), true) && my_number_valid(&digits(g.as_str())))
        .then(|| g.range())
}

pub(super) fn tel(t: &str, c: &Captures, sp: &Spans) -> Option<Range<usize>> {
    let m = c.get(0)?;
    if !bounded(t, sp, &m.range(), false) {
        return None;
    }
    let d = digits(m.as_str());
    let national = if m.as_str().starts_with(['+', '＋']) {
        let rest = d.get(2..)?; // drop the 81
        if rest.starts_with('0') {
            rest.to_string()
        } else {
            format!("0{rest}")
        }
    } else {
        d
    };
    tel_valid(&national).then(|| m.range())
}

pub(super) fn postal(t: &str, c: &Captures, sp: &Spans) -> Option<Range<usize>> {
    if let Some(g) = c.get(3) {
        // Bare NNN-NNNN: only with no other number around it.
        return bounded(t, sp, &g.range(), true).then(|| g.range());
    }
    let (g, keep_word) = match c.get(1) {
        Some(g) => (g, false),     // "〒" goes into the placeholder
        None => (c.get(2)?, true), // "郵便番号" stays as a word
    };
    let r = if keep_word {
        g.range()
    } else {
        c.get(0)?.range()
    };
    bounded(t, sp, &g.range(), false).then_some(r)
}
