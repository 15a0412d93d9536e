//! Keywords (TAXONOMY.md): content words of the customer's turns. Nouns are joined into compounds
//! (充電 + ケーブル → 充電ケーブル), verbs and adjectives are given in base form, and negation that
//! changes the meaning stays in the keyword (起動しない, つながらない, 良くない).

use std::collections::HashSet;

use crate::tokenize::Morpheme;

/// Keywords of a tokenised text, in order of first appearance, without duplicates.
pub fn extract(
    text: &str,
    morphemes: &[Morpheme<'_>],
    stop: &HashSet<String>,
    max: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: String| {
        if out.len() < max && !stop.contains(&k) && !out.contains(&k) && is_meaningful(&k) {
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
            while j < morphemes.len()
                && continues_compound(&morphemes[j])
                && !in_placeholder(text, &morphemes[j])
            {
                j += 1;
            }
            let run = &morphemes[i..j];
            let last = &run[run.len() - 1];
            if !is_count(run) {
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
    match m.pos {
        "名詞" => !matches!(m.pos1, "非自立" | "代名詞" | "副詞可能" | "接尾" | "特殊"),
        // 再 + 設定 → 再設定
        "接頭詞" => {
            m.pos1 == "名詞接続"
                && ms
                    .get(i + 1)
                    .is_some_and(|n| n.is_noun() && continues_compound(n))
        }
        _ => false,
    }
}

fn continues_compound(m: &Morpheme<'_>) -> bool {
    m.is_noun()
        && !matches!(m.pos1, "非自立" | "代名詞" | "副詞可能" | "特殊")
        && !(m.pos1 == "接尾" && m.pos2 == "人名")
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

/// Placeholders left by masking (<TEL>, <NAME>) are not keywords.
/// lindera may glue a bracket to neighbouring symbols (`-<`), so any token holding one counts.
fn in_placeholder(text: &str, m: &Morpheme<'_>) -> bool {
    m.surface.contains(['<', '>'])
        || (text[..m.start].ends_with('<') && text[m.end..].starts_with('>'))
}

/// One kana, a lone symbol or ASCII punctuation is noise; a single kanji (音, 箱, 色) is not.
fn is_meaningful(k: &str) -> bool {
    let mut chars = k.chars();
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
