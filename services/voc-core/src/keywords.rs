//! Keywords (docs/TAXONOMY.md): content words of the customer's turns. Nouns are joined into compounds
//! (充電 + ケーブル → 充電ケーブル), verbs and adjectives are given in base form, and negation that
//! changes the meaning stays in the keyword (起動しない, つながらない, 良くない).

use std::collections::HashSet;

use crate::mask::in_placeholder;
use crate::tokenize::{Morpheme, WordSource};

/// Digits from which a number is an identifier (order, ticket, model or phone number), never part
/// of a keyword: 3日 and iPhone15 are words, 8812 in 注文番号 8812-3345 is not.
const MAX_KEYWORD_DIGITS: usize = 3;

/// Keywords of a tokenised text, in order of first appearance, without duplicates.
pub fn extract(
    text: &str,
    morphemes: &[Morpheme<'_>],
    stop: &HashSet<String>,
    max: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: String| {
        if out.len() < max
            && !stop.contains(&k)
            && !out.contains(&k)
            && is_meaningful(&k)
            && is_safe(&k)
        {
            out.push(k);
        }
    };
    let mut i = 0;
    while i < morphemes.len() {
        let m = &morphemes[i];
        if in_placeholder(text, m) {
            i += 1;
            continue;
        }
        if starts_compound(morphemes, i) {
            let mut j = i + 1;
            loop {
                let next = |k: usize| {
                    morphemes.get(k).is_some_and(|n| {
                        continues_compound(&morphemes[k - 1], n) && !in_placeholder(text, n)
                    })
                };
                if next(j) {
                    j += 1;
                } else if joins(morphemes, j) && next(j + 1) {
                    j += 2;
                } else {
                    break;
                }
            }
            let run = &morphemes[i..j];
            let last = &run[run.len() - 1];
            if !is_count(run) && !is_noise(run) {
                let compound = &text[run[0].start..last.end];
                // サ変 noun + する/できる in the negative: 起動しない, ログインできない.
                let next = morphemes.get(j);
                match next {
                    Some(v) if last.pos1 == "サ変接続" && v.negated && v.base == "する" => {
                        push(format!("{compound}しない"))
                    }
                    Some(v) if last.pos1 == "サ変接続" && v.negated && v.base == "できる" => {
                        push(format!("{compound}できない"))
                    }
                    _ => push(compound.to_string()),
                }
            }
            i = j;
            continue;
        }
        if (m.is_verb() || m.is_adjective()) && m.pos1 == "自立" && !stop.contains(m.base) {
            push(if m.negated {
                negative_form(m)
            } else {
                m.base.to_string()
            });
        }
        i += 1;
    }
    out
}

fn starts_compound(ms: &[Morpheme<'_>], i: usize) -> bool {
    let m = &ms[i];
    if !is_word(m) {
        return false;
    }
    match m.pos {
        "名詞" => !matches!(m.pos1, "非自立" | "代名詞" | "副詞可能" | "接尾" | "特殊"),
        // 再 + 設定 → 再設定
        "接頭詞" => {
            m.pos1 == "名詞接続"
                && ms
                    .get(i + 1)
                    .is_some_and(|n| n.is_noun() && continues_compound(m, n))
        }
        _ => false,
    }
}

/// Whether the symbol at `j` joins the words on either side into one (Wi-Fi, 1.5倍): written
/// without spaces, a hyphen between letters or a point between digits.
fn joins(ms: &[Morpheme<'_>], j: usize) -> bool {
    let (Some(prev), Some(sym), Some(next)) = (
        j.checked_sub(1).and_then(|p| ms.get(p)),
        ms.get(j),
        ms.get(j + 1),
    ) else {
        return false;
    };
    let tight = prev.end == sym.start && sym.end == next.start;
    let ends = |a: &str, b: &str, f: fn(&char) -> bool| {
        a.chars().next_back().is_some_and(|c| f(&c)) && b.chars().next().is_some_and(|c| f(&c))
    };
    tight
        && match sym.surface {
            "-" => ends(prev.surface, next.surface, char::is_ascii_alphabetic),
            "." => ends(prev.surface, next.surface, char::is_ascii_digit),
            _ => false,
        }
}

/// Whether `m` continues a noun compound after `prev`. A number starts its own run
/// (年会費 | 1,100円), so counts and identifiers never stick to the noun before them.
fn continues_compound(prev: &Morpheme<'_>, m: &Morpheme<'_>) -> bool {
    is_word(m)
        && !(m.pos1 == "数" && prev.pos1 != "数" && prev.surface != ".")
        && m.is_noun()
        && !matches!(m.pos1, "非自立" | "代名詞" | "副詞可能" | "特殊")
        && !(m.pos1 == "接尾" && m.pos2 == "人名")
}

/// A token that can be part of a keyword: it has a letter, kana, kanji or digit, and is not a
/// number long enough to be an identifier. IPADIC files unknown symbols (?, (, -) as nouns;
/// they would glue neighbours together (通信障害?最悪).
fn is_word(m: &Morpheme<'_>) -> bool {
    // IPADIC's own entries are words unless tagged 記号, and hold digits only as numbers (数):
    // only those and unknown tokens need a look.
    if m.source == WordSource::System && m.pos != "記号" && m.pos1 != "数" {
        return true;
    }
    m.surface.chars().any(char::is_alphanumeric)
        && m.surface.bytes().filter(u8::is_ascii_digit).count() < MAX_KEYWORD_DIGITS
}

/// Runs of kana the dictionary does not know (ょうかあっはいはい): fillers and recognition noise.
fn is_noise(run: &[Morpheme<'_>]) -> bool {
    run.iter().any(|m| {
        m.source == WordSource::Unknown
            && m.surface.chars().all(|c| matches!(c, 'ぁ'..='ゖ' | 'ー'))
    })
}

/// A keyword may reach storage and dashboards only if it holds no digits of an identifier and no
/// at sign. Its text was masked as a whole before it was cut into words, so whatever the masker
/// knows is already a placeholder, and placeholders are never keywords.
fn is_safe(k: &str) -> bool {
    k.bytes().filter(u8::is_ascii_digit).count() <= MAX_KEYWORD_DIGITS && !k.contains(['@', '＠'])
}

/// 3日, 30分, 2週間: a number with a counter says nothing on its own. 二重 and 2倍 are words
/// (double charge, twice the price), not counts, though IPADIC tags 重 and 倍 as counters.
fn is_count(run: &[Morpheme<'_>]) -> bool {
    if run.len() == 2 && run[0].pos1 == "数" && matches!(run[1].base, "重" | "倍") {
        return false;
    }
    run.iter().any(|m| m.pos1 == "数")
        && run
            .iter()
            .all(|m| m.pos1 == "数" || m.pos2 == "助数詞" || m.pos1 == "接尾")
        && run.iter().any(|m| m.pos2 == "助数詞")
        || run.iter().all(|m| m.pos1 == "数")
}

/// One kana, a lone symbol or ASCII punctuation is noise; a single kanji (音, 箱, 色) is not; nor
/// is a word that starts with a small kana or a long-vowel mark (a fragment of a longer word).
fn is_meaningful(k: &str) -> bool {
    let mut chars = k.chars();
    if k.starts_with([
        'ぁ', 'ぃ', 'ぅ', 'ぇ', 'ぉ', 'っ', 'ゃ', 'ゅ', 'ょ', 'ゎ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ',
        'ッ', 'ャ', 'ュ', 'ョ', 'ヮ', 'ー', '々',
    ]) {
        return false;
    }
    match (chars.next(), chars.next()) {
        (None, _) => false,
        (Some(c), None) => is_kanji(c),
        _ => k.chars().any(|c| c.is_alphanumeric()),
    }
}

fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々')
}

/// The plain negative of a verb or adjective from its base form and 活用型:
/// 届く → 届かない, 使える → 使えない, する → しない, 来る → 来ない, 良い → 良くない.
pub fn negative_form(m: &Morpheme<'_>) -> String {
    let base = m.base;
    if m.is_adjective() {
        return match base.strip_suffix('い') {
            Some(stem) => format!("{stem}くない"),
            None => format!("{base}ない"),
        };
    }
    let ct = m.conj_type;
    if ct.starts_with("一段") || ct.starts_with("カ変") {
        if base == "くる" {
            return "こない".into();
        }
        if let Some(stem) = base.strip_suffix('る') {
            return format!("{stem}ない");
        }
    }
    if ct.starts_with("サ変")
        && let Some(stem) = base
            .strip_suffix("する")
            .or_else(|| base.strip_suffix("ずる"))
    {
        return format!("{stem}しない");
    }
    if ct.starts_with("五段") {
        let mut chars: Vec<char> = base.chars().collect();
        if let Some(last) = chars.last_mut() {
            let a_row = match *last {
                'う' => 'わ',
                'く' => 'か',
                'ぐ' => 'が',
                'す' => 'さ',
                'つ' => 'た',
                'ぬ' => 'な',
                'ぶ' => 'ば',
                'む' => 'ま',
                'る' => 'ら',
                other => other,
            };
            *last = a_row;
            return format!("{}ない", chars.into_iter().collect::<String>());
        }
    }
    format!("{base}ない")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tests::m;

    #[test]
    fn negative_forms_follow_the_conjugation() {
        let v = |base: &'static str, ct: &'static str| Morpheme {
            conj_type: ct,
            ..m(base, "動詞", "自立", base)
        };
        assert_eq!(negative_form(&v("届く", "五段・カ行イ音便")), "届かない");
        assert_eq!(negative_form(&v("つながる", "五段・ラ行")), "つながらない");
        assert_eq!(negative_form(&v("使う", "五段・ワ行促音便")), "使わない");
        assert_eq!(negative_form(&v("使える", "一段")), "使えない");
        assert_eq!(negative_form(&v("する", "サ変・スル")), "しない");
        assert_eq!(negative_form(&v("くる", "カ変・クル")), "こない");
        assert_eq!(
            negative_form(&m("良い", "形容詞", "自立", "良い")),
            "良くない"
        );
    }

    #[test]
    fn counts_are_not_keywords_but_double_is() {
        let n = |s: &'static str| Morpheme {
            pos1: "数",
            ..m(s, "名詞", "数", s)
        };
        let counter = |s: &'static str| Morpheme {
            pos2: "助数詞",
            ..m(s, "名詞", "接尾", s)
        };
        assert!(is_count(&[n("3"), counter("日")]));
        assert!(!is_count(&[n("二"), counter("重")]));
        assert!(!is_count(&[m("請求", "名詞", "サ変接続", "請求")]));
    }

    #[test]
    fn single_kana_and_symbols_are_not_keywords() {
        assert!(!is_meaningful("の"));
        assert!(!is_meaningful("-"));
        assert!(is_meaningful("音"));
        assert!(is_meaningful("アプリ"));
    }
}
