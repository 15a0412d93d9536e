//! Digit runs by shape: the layer that catches numbers however they are written or said.
//!
//! A number is read as a chain of digits, where a digit is an ASCII or full-width digit, a kanji
//! numeral used positionally (〇八〇, 一一一一) or a katakana reading when a whole katakana run is
//! made of readings (ゼロキュウゼロ), and where up to [`MAX_GAP`] separator characters may stand
//! between two digits: hyphens and dashes of every width, 長音, の, spaces, dots, commas and
//! brackets (`080の1111の2222`, `（03）1234 － 5678`, `0 9 0 1 1 1 1 2 2 2 2`).
//!
//! A chain of [`MIN_DIGITS`] or more digits is personal data until shown otherwise: Japanese phone
//! numbers have 10 or 11 digits, card numbers 13–19, My Numbers 12, and membership and account
//! numbers are of the same lengths. Groups that are clearly something else are cut out first and
//! split the chain: an amount (followed by 円 or a counter, led by ¥, or grouped in thousands),
//! a date (YYYY-MM-DD) and a time (followed by `:`). What is left is typed by shape: zero-led up
//! to 16 digits or after `+` is `<TEL>`, 13–19 digits `<CARD>` (whatever the Luhn check says),
//! 12 digits with a valid check digit `<MYNUMBER>`, anything else `<NUM>`.

use std::ops::Range;

use super::lexicon::INDEX;
use super::patterns::{ascii_digit, my_number_valid};
use super::{PiiKind, Spans};

/// Digits from which a chain is masked.
pub(super) const MIN_DIGITS: usize = 10;
/// Separator characters allowed between two digits of one number (`" - "`, `"）　"`, `"の、"`).
const MAX_GAP: usize = 3;

/// Characters that may separate the digit groups of one number.
pub(crate) fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\n'
            | '-'
            | '‐'
            | '‑'
            | '–'
            | '—'
            | '―'
            | '−'
            | '－'
            | 'ｰ'
            | 'ー'
            | '~'
            | '〜'
            | 'の'
            | 'ノ'
            | '、'
            | ','
            | '，'
            | '.'
            | '．'
            | '・'
            | '('
            | ')'
            | '（'
            | '）'
            | '['
            | ']'
            | '「'
            | '」'
    )
}

/// Positional kanji numerals: 〇 and 零 are 0, 一 to 九 their digits. 十, 百 and 千 are not
/// positional, so 三十一 is no chain.
pub(crate) fn kanji_digit(c: char) -> Option<u8> {
    Some(match c {
        // ○ (U+25CB) is what input methods give for 〇 as often as not.
        '〇' | '○' | '零' => 0,
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Katakana that can be part of a spoken digit; ノ is a separator (080ノ1111), not a reading.
fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー') && c != 'ノ'
}

/// Hiragana that can be part of a spoken digit; の is a separator (080の1111), not a reading.
fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | 'ー') && c != 'の'
}

/// The katakana of a hiragana character (same UTF-8 length), so one table reads both scripts.
fn to_katakana(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        c => c,
    }
}

/// Characters after a number that make it a quantity, not an identifier.
fn is_unit(c: char) -> bool {
    matches!(
        c,
        '円' | '万'
            | '千'
            | '億'
            | '兆'
            | '%'
            | '％'
            | '年'
            | '月'
            | '日'
            | '時'
            | '分'
            | '秒'
            | '歳'
            | '才'
            | '個'
            | '件'
            | '回'
            | '台'
            | '本'
            | '枚'
            | '人'
            | '名'
            | '度'
            | '階'
            | '点'
            | '倍'
            | '割'
            | '週'
            | '泊'
            | '杯'
            | '冊'
            | '箱'
            | '型'
            | '位'
    )
}

/// One digit of a chain: its value and byte range in the text.
#[derive(Debug, Clone)]
struct Digit {
    value: u8,
    at: Range<usize>,
}

/// A run of digits with nothing between them (`1234` in `090-1234-5678`).
#[derive(Debug, Clone)]
struct Group {
    digits: Vec<u8>,
    at: Range<usize>,
}

/// Splits `text[range]` into digits, keeping the separators between them as text. Returns the
/// chains: groups with the separator text that follows each.
fn chains(text: &str, range: Range<usize>, kana: bool) -> Vec<Vec<(Group, String)>> {
    let mut out: Vec<Vec<(Group, String)>> = Vec::new();
    let mut chain: Vec<(Group, String)> = Vec::new();
    let mut gap = String::new();
    let mut gap_chars = 0;
    let mut gap_ok = true;
    let hay = &text[range.clone()];
    let mut chars = hay.char_indices().peekable();
    let close = |chain: &mut Vec<(Group, String)>, out: &mut Vec<Vec<(Group, String)>>| {
        if !chain.is_empty() {
            if let Some(last) = chain.last_mut() {
                last.1.clear();
            }
            out.push(std::mem::take(chain));
        }
    };
    while let Some((i, c)) = chars.next() {
        let start = range.start + i;
        // Digits at this position: one character, or a kana run of readings.
        let mut found: Vec<Digit> = Vec::new();
        // Where the characters looked at end; a kana run read only in part ends the chain there.
        let mut consumed = start + c.len_utf8();
        if let Some(d) = ascii_digit(c) {
            found.push(Digit {
                value: d as u8 - b'0',
                at: start..start + c.len_utf8(),
            });
        } else if let Some(d) = kanji_digit(c) {
            found.push(Digit {
                value: d,
                at: start..start + c.len_utf8(),
            });
        } else if kana && (is_katakana(c) || is_hiragana(c)) && c != 'ー' && c != 'ノ' {
            let same: fn(char) -> bool = if is_katakana(c) {
                is_katakana
            } else {
                is_hiragana
            };
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if !same(n) {
                    break;
                }
                end = j + n.len_utf8();
                chars.next();
            }
            consumed = range.start + end;
            let run: String = hay[i..end].chars().map(to_katakana).collect();
            match readings(&run, start, !is_katakana(c)) {
                Some((ds, led)) => {
                    if led {
                        close(&mut chain, &mut out);
                        gap.clear();
                        gap_chars = 0;
                        gap_ok = true;
                    }
                    found = ds;
                }
                None => {
                    close(&mut chain, &mut out);
                    gap.clear();
                    gap_chars = 0;
                    gap_ok = true;
                    continue;
                }
            }
        }
        if found.is_empty() {
            if is_separator(c) {
                gap.push(c);
                gap_chars += 1;
                if gap_chars > MAX_GAP {
                    gap_ok = false;
                }
            } else {
                close(&mut chain, &mut out);
                gap.clear();
                gap_chars = 0;
                gap_ok = true;
            }
            continue;
        }
        for d in found {
            let adjacent = gap.is_empty()
                && chain
                    .last()
                    .is_some_and(|(g, sep)| sep.is_empty() && g.at.end == d.at.start);
            if adjacent {
                if let Some((g, _)) = chain.last_mut() {
                    g.digits.push(d.value);
                    g.at.end = d.at.end;
                }
                continue;
            }
            if !gap_ok {
                close(&mut chain, &mut out);
            } else if let Some(last) = chain.last_mut() {
                last.1 = std::mem::take(&mut gap);
            }
            chain.push((
                Group {
                    digits: vec![d.value],
                    at: d.at,
                },
                String::new(),
            ));
            gap.clear();
            gap_chars = 0;
            gap_ok = true;
        }
        if chain.last().is_some_and(|(g, _)| g.at.end < consumed) {
            close(&mut chain, &mut out);
        }
    }
    close(&mut chain, &mut out);
    out
}

/// A kana run (in katakana) read as digits (longest reading first). A katakana run must be made
/// of readings alone (ゼロハチゼロ; サンキュー is no number); a hiragana run may have particles
/// glued on either side (番号はぜろはちぜろです), so its longest stretch of three or more readings
/// counts (に, し alone are particles). Returns the digits and whether text of the run precedes
/// them.
fn readings(run: &str, start: usize, hiragana: bool) -> Option<(Vec<Digit>, bool)> {
    // The longest reading at `at`, looked up by its first character.
    let one = |at: usize| {
        let rest = &run[at..];
        let first = rest.chars().next()?;
        INDEX
            .readings_by_first
            .get(&first)?
            .iter()
            .find(|(r, _)| rest.starts_with(r.as_str()))
            .map(|(r, v)| (r.len(), *v))
    };
    // Stretches of readings back to back, in one walk: where no reading starts, the next
    // character starts a new stretch.
    let mut best: Vec<Digit> = Vec::new();
    let mut best_from = 0;
    let mut current: Vec<Digit> = Vec::new();
    let mut from = 0;
    let mut at = 0;
    while at < run.len() {
        match one(at) {
            Some((len, value)) => {
                if current.is_empty() {
                    from = at;
                }
                current.push(Digit {
                    value,
                    at: start + at..start + at + len,
                });
                at += len;
            }
            None => {
                if current.len() > best.len() {
                    best = std::mem::take(&mut current);
                    best_from = from;
                }
                current.clear();
                at += run[at..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if current.len() > best.len() {
        best = current;
        best_from = from;
    }
    let whole = best_from == 0 && best.last().is_some_and(|d| d.at.end == start + run.len());
    if !hiragana {
        // Readings may be said one by one (ゼロ、キュウ、ゼロ): a lone one counts, and the chain
        // still needs ten digits.
        return (!best.is_empty() && whole).then_some((best, false));
    }
    (best.len() >= 3).then_some((best, best_from > 0))
}

/// Whether a group is clearly a quantity or part of a date or time: a unit or counter after it
/// (円, 年, 個, 番), `¥` before it, or `:` or `/` joining it to another number (10:15, 12/28).
/// A label's colon (番号:0120…) joins nothing.
fn is_quantity(text: &str, g: &Group) -> bool {
    let after = text[g.at.end..].trim_start_matches([' ', '\u{3000}']);
    let before = &text[..g.at.start];
    let mut next = after.chars();
    let mut prev = before.chars().rev();
    let joiner = |c: Option<char>| matches!(c, Some(':' | '：' | '/' | '／'));
    let digit = |c: Option<char>| c.and_then(ascii_digit).is_some();
    let n1 = next.next();
    let p1 = prev.next();
    n1.is_some_and(is_unit)
        || matches!(p1, Some('¥' | '￥' | '$' | '＄'))
        || (joiner(n1) && digit(next.next()))
        || (joiner(p1) && digit(prev.next()))
}

/// Marks amounts grouped in thousands (1,234,567): a group of 1–3 digits, then groups of exactly
/// three, all joined by commas.
fn mark_thousands(chain: &[(Group, String)], skip: &mut [bool]) {
    let comma = |s: &str| s == "," || s == "，";
    let mut s = 0;
    while s < chain.len() {
        let mut e = s;
        while e + 1 < chain.len() && comma(&chain[e].1) && chain[e + 1].0.digits.len() == 3 {
            e += 1;
        }
        if e > s && chain[s].0.digits.len() <= 3 {
            skip[s..=e].iter_mut().for_each(|x| *x = true);
        }
        s = e + 1;
    }
}

/// Whether groups `k..k+3` are a date: YYYY, month and day joined by `-` or `.`.
fn is_date(chain: &[(Group, String)], k: usize) -> bool {
    let Some(three) = chain.get(k..k + 3) else {
        return false;
    };
    let num = |g: &Group| g.digits.iter().fold(0u32, |n, &d| n * 10 + u32::from(d));
    let dash = |s: &str| matches!(s, "-" | "." | "‐" | "－" | "．" | "−");
    three[0].0.digits.len() == 4
        && matches!(num(&three[0].0), 1900..=2099)
        && (1..=2).contains(&three[1].0.digits.len())
        && (1..=12).contains(&num(&three[1].0))
        && (1..=2).contains(&three[2].0.digits.len())
        && (1..=31).contains(&num(&three[2].0))
        && dash(&three[0].1)
        && dash(&three[1].1)
}

/// Whether a chain is a software version (Chrome 124.0.6367.91, ver.2.10.3): points only, after a
/// Latin word or バージョン.
fn is_version(text: &str, chain: &[(Group, String)]) -> bool {
    let before = text[..chain[0].0.at.start].trim_end_matches([' ', '.']);
    chain.len() >= 2
        && chain[..chain.len() - 1].iter().all(|(_, s)| s == ".")
        && (before.ends_with(|c: char| c.is_ascii_alphabetic()) || before.ends_with("バージョン"))
}

/// The kind a number of this shape most likely is; `plus` when a `+` leads it.
fn kind_of(digits: &[u8], plus: bool) -> PiiKind {
    let n = digits.len();
    if plus || (digits[0] == 0 && n <= 16) {
        return PiiKind::Tel;
    }
    if (13..=19).contains(&n) {
        return PiiKind::Card;
    }
    let ascii: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    if n == 12 && my_number_valid(&ascii) {
        return PiiKind::MyNumber;
    }
    PiiKind::Num
}

/// The numbers of a chain: runs of groups that are not quantities, dates or times, each with its
/// byte range and digits.
fn numbers(text: &str, chain: &[(Group, String)]) -> Vec<(Range<usize>, Vec<u8>)> {
    let n = chain.len();
    let mut skip: Vec<bool> = chain.iter().map(|(g, _)| is_quantity(text, g)).collect();
    mark_thousands(chain, &mut skip);
    for k in 0..n {
        if is_date(chain, k) {
            skip[k..k + 3].iter_mut().for_each(|s| *s = true);
        }
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < n {
        if skip[k] {
            k += 1;
            continue;
        }
        let mut j = k;
        while j < n && !skip[j] {
            j += 1;
        }
        let run = &chain[k..j];
        let digits: Vec<u8> = run.iter().flat_map(|(g, _)| g.digits.clone()).collect();
        out.push((run[0].0.at.start..run[j - k - 1].0.at.end, digits));
        k = j;
    }
    out
}

/// Masks every chain of [`MIN_DIGITS`] or more digits in the unclaimed parts of `text`.
/// `kana`: read kana digit readings too (only when a first look found them).
pub(super) fn scan(text: &str, sp: &mut Spans, kana: bool) {
    for gap in sp.gaps(text.len()) {
        for chain in chains(text, gap.clone(), kana) {
            if is_version(text, &chain) {
                continue;
            }
            let closes = chain.iter().any(|(_, s)| s.contains([')', '）']));
            for (mut at, digits) in numbers(text, &chain) {
                if digits.len() < MIN_DIGITS {
                    continue;
                }
                let lead = text[gap.start..at.start].chars().next_back();
                let plus = matches!(lead, Some('+' | '＋'));
                // Take a leading + or an opening bracket that the number closes.
                if plus || (closes && matches!(lead, Some('(' | '（'))) {
                    at.start -= lead.map_or(0, char::len_utf8);
                }
                sp.0.insert(at.start, (at.end, kind_of(&digits, plus)));
            }
        }
    }
}

/// Digits after a label that makes them someone's identifier (口座, 会員番号, 記号 of a ゆうちょ
/// account): every number of 4 or more digits starting before the end of the clause is masked,
/// however short, since an account or membership number identifies a person at any length.
pub(super) fn scan_labelled(text: &str, line: &Range<usize>, sp: &mut Spans) {
    let mut windows: Vec<Range<usize>> = Vec::new();
    for label in INDEX.id_labels_in_text.find_iter(&text[line.clone()]) {
        let from = line.start + label.end();
        // To the end of the clause: masking never adds or removes these marks, so a second pass
        // sees the same window (idempotence).
        let to = text[from..]
            .find(['。', '\n', '!', '?'])
            .map_or(text.len(), |k| from + k);
        windows.push(from..to);
    }
    for window in windows {
        for gap in sp.gaps(text.len()) {
            let (s, e) = (gap.start.max(window.start), gap.end.min(window.end));
            if s >= e {
                continue;
            }
            // The whole of a number that starts in the window, however far it runs.
            for chain in chains(text, s..gap.end, false) {
                if chain[0].0.at.start >= e {
                    break;
                }
                for (at, digits) in numbers(text, &chain) {
                    if digits.len() >= 4 {
                        sp.0.insert(at.start, (at.end, PiiKind::Num));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mask;

    fn m(s: &str) -> String {
        mask(s).text
    }

    #[test]
    fn dictated_and_spaced_phone_numbers_are_phone_numbers() {
        for s in [
            "080の1111の2222",
            "06の1234の5678",
            "090ー1111ー2222",
            "080 - 1111 - 2222",
            "0 9 0 1 1 1 1 2 2 2 2",
            "〇八〇－一一一一－二二二二",
            "080の一一一一の2222",
            "ゼロハチゼロ、イチニサンヨン、ゴーロクナナハチ",
            "ぜろはちぜろ いちにさんよん ごーろくななはち",
            "まるきゅうまる、ろくろくさんよん、いちにいはちご",
            "０８０の、１１１１の、２２２２",
            "090、1234、5678",
            "080ノ1111ノ2222",
            "〇八〇○一一一一○二二二二",
            "ゼロ、キュウ、ゼロ、イチ、ニ、サン、ヨン、ゴ、ロク、ナナ、ハチ",
        ] {
            assert_eq!(
                m(&format!("折り返しは{s}までお願いします")),
                "折り返しは<TEL>までお願いします",
                "{s}"
            );
        }
        assert_eq!(m("番号は（03）1234 － 5678です"), "番号は<TEL>です");
        // 番 after a number is no counter that makes it a quantity.
        assert_eq!(m("080の1111の2222番まで"), "<TEL>番まで");
        assert_eq!(m("+81 90 1111 2222"), "<TEL>");
    }

    #[test]
    fn long_runs_are_never_stored_whatever_a_card_check_says() {
        assert_eq!(m("カードは5555 5555 5555 4445です"), "カードは<CARD>です");
        assert_eq!(m("4242424242424242 12/28"), "<CARD> 12/28");
        assert_eq!(m("会員番号は1234567890です"), "会員番号は<NUM>です");
        assert_eq!(m("41111111111111111111111"), "<NUM>");
    }

    #[test]
    fn account_and_membership_numbers_after_their_label_at_any_length() {
        assert_eq!(
            m("ゆうちょの記号が14090、番号が38271651です。注文番号は8812-3345"),
            "ゆうちょの記号が<NUM>、番号が<NUM>です。注文番号は8812-3345"
        );
        assert_eq!(
            m("口座(普通 5520918)から引かれた"),
            "口座(普通 <NUM>)から引かれた"
        );
        assert_eq!(m("会員番号:0048-1234"), "会員番号:<NUM>");
        assert_eq!(m("口座から3,000円引かれた"), "口座から3,000円引かれた");
        // A number running past any length limit is taken whole, and masking again changes
        // nothing.
        let long = format!("会員番号は{}1234-5678-9012です", "、".repeat(40));
        let once = m(&long);
        assert!(!once.contains("9012"), "{once}");
        assert_eq!(m(&once), once);
    }

    #[test]
    fn a_number_dictated_over_two_turns_is_one_number() {
        assert_eq!(m("電話は090の1234の\n5678です"), "電話は<TEL>です");
    }

    #[test]
    fn long_kana_runs_and_separator_runs_are_read_whole() {
        // Read in one walk (each start is not tried again), so a huge run is cheap.
        let kana = "いち".repeat(20_000);
        assert_eq!(m(&kana), "<NUM>");
        let seps = "1-.".repeat(50_000);
        assert!(!m(&seps).contains("1-.1-.1"));
    }

    #[test]
    fn amounts_dates_times_and_short_numbers_stay() {
        for s in [
            "1,234,567,890円の請求",
            "¥12,800と3万円",
            "2026-11-22 10:15に電話",
            "2026.11.22 14:00-15:00",
            "注文番号8812-3345",
            "2026年11月22日10時",
            "1 2 3 4 5",
            "三十一日",
            "一つ一つ確認",
            "シ",
            "ゴゴ",
            "サンキュー",
            "Chrome 124.0.6367.91 で見ています",
            "バージョン10.2.3.4567",
            "にしてください、ごめんなさい",
        ] {
            assert_eq!(m(s), s, "{s}");
        }
    }
}
