//! E-mail addresses written around spam filters: the at sign spelt out or swapped for a symbol
//! (`hanako(at)example.jp`, `ichiro アットマーク example.com`, `taro★example.ne.jp（★を@に）`),
//! spaces around `@` and the dots (`jiro.sato ＠ example . co . jp`), the dot spelt out
//! (`example ドット com`).
//!
//! The shape is a local part, a spelling of the at sign, then a domain whose last label is a
//! common top-level or second-level domain (`com`, `jp`, `ne.jp` …): a known ending keeps
//! ordinary sentences with "at" and full stops out.

use std::sync::LazyLock;

use regex::Regex;

use super::lexicon::{INDEX, LEXICON};

/// Endings of the domains customers write; with a spelt-out at sign, one must end the address.
const TLDS: &str = "com|net|org|jp|info|biz|io|me|co|ne|ac|or|go|ed|gr|lg|ad|us|uk|cn|kr|tw|de|fr|\
app|dev|xyz|tokyo|mobi|edu|gov|cc|tv|ai|so|to";

fn alternatives(words: &[String]) -> String {
    let mut words: Vec<&String> = words.iter().collect();
    // Longest first, so アットマーク wins over アット.
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let words: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
    words.join("|")
}

/// A spelling of the at sign or the dot: a word in brackets, a Japanese word alone, a Latin word
/// between spaces, or (for the at sign) symbols standing in for it.
fn spelling(words: &[String], symbols: Option<&[String]>) -> String {
    let sp = "[ \u{3000}]*";
    let (latin, japanese): (Vec<String>, Vec<String>) = words
        .iter()
        .cloned()
        .partition(|w| w.chars().all(|c| c.is_ascii_alphabetic()));
    let all = alternatives(words);
    let mut forms = vec![
        format!("{sp}[(\\[<{{（［＜｛【][ \u{3000}]*(?:{all})[ \u{3000}]*[)\\]>}}）］＞｝】]{sp}"),
        format!("{sp}(?:{}){sp}", alternatives(&japanese)),
        format!("[ \u{3000}]+(?:{})[ \u{3000}]+", alternatives(&latin)),
    ];
    if let Some(symbols) = symbols {
        forms.push(format!("{sp}(?:{})+{sp}", alternatives(symbols)));
    }
    format!("(?:{})", forms.join("|"))
}

/// Whether an address written around filters may be in `text`: a spelling of the at sign with
/// a Latin letter or digit on each side (spaces and brackets aside), the Latin word (at) only as
/// a word of its own. A quick look before [`OBFUSCATED`], whose search is costly.
pub(super) fn may_hold_obfuscated(text: &str) -> bool {
    let alnum = |c: Option<char>| {
        c.is_some_and(|c| c.is_ascii_alphanumeric() || ('Ａ'..='ｚ').contains(&c))
    };
    // Spaces, brackets and a doubled at sign (mori.y@@example.com) between the parts.
    let filler = |c: char| " \u{3000}()[]<>{}（）［］＜＞｛｝【】@＠".contains(c);
    INDEX.at_spellings_in_text.find_iter(text).any(|m| {
        let word = &text[m.range()];
        let before = text[..m.start()].chars().rev().find(|&c| !filler(c));
        let after = text[m.end()..].chars().find(|&c| !filler(c));
        let latin_word = word.bytes().all(|b| b.is_ascii_alphabetic());
        let own_word = !latin_word
            || (!alnum(text[..m.start()].chars().next_back())
                && !alnum(text[m.end()..].chars().next()));
        own_word && alnum(before) && alnum(after)
    })
}

pub(super) static OBFUSCATED: LazyLock<Regex> = LazyLock::new(|| {
    let l = &*LEXICON;
    let local = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\\-．＿－]*";
    let label = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-－]*";
    let at = spelling(&l.at_words, Some(&l.at_symbols));
    let dot = format!(
        "(?:[ \u{3000}]*[.．。][ \u{3000}]*|{})",
        spelling(&l.dot_words, None)
    );
    // The local part may be spelt with dots too (yamada . taro (at) …).
    let pattern = format!("(?i){local}(?:{dot}{local})*{at}(?:{label}{dot})+(?:{TLDS})(?-u:\\b)");
    #[allow(clippy::expect_used)] // built from the shipped lexicon, tested below
    Regex::new(&pattern).expect("valid e-mail pattern")
});

/// An address read out in katakana, as speech recognition writes a dictated one
/// (ケー、ドット、カトウ、アットマーク、イグザンプル、ドット、コム): katakana words, the at sign's
/// word, then a domain of katakana words joined by ドット.
pub(super) static SPOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let l = &*LEXICON;
    // A local part keeps its dots, underscores and hyphens (sato.k, yui_n).
    let word = "[\\p{Katakana}ーA-Za-z0-9][\\p{Katakana}ーA-Za-z0-9._\\-]*";
    let sep = "[、,・ \u{3000}]*";
    let joiner = "(?:ドット|ハイフン|アンダーバー|アンダースコア|ピリオド)";
    let at = alternatives(&l.at_words);
    let pattern = format!(
        "{word}(?:{sep}(?:{joiner}{sep})?{word}){{0,8}}{sep}(?:{at}){sep}{word}(?:{sep}ドット{sep}{word}){{1,4}}"
    );
    #[allow(clippy::expect_used)] // built from the shipped lexicon, tested below
    Regex::new(&pattern).expect("valid spoken e-mail pattern")
});

#[cfg(test)]
mod tests {
    use super::super::mask;

    fn m(s: &str) -> String {
        mask(s).text
    }

    #[test]
    fn addresses_written_around_filters_are_masked() {
        for s in [
            "hanako(at)example.jp",
            "hanako (at) example (dot) jp",
            "ichiro アットマーク example.com",
            "ichiro アット example ドット com",
            "jiro.sato ＠ example . co . jp",
            "jiro.sato @ example.co.jp",
            "taro★example.ne.jp",
            "taro_01[at]mail.example.org",
            "saburo at example dot com",
            "ＨＡＮＡＫＯ＠ＥＸＡＭＰＬＥ．ＪＰ",
            "nakamura-y（アット）example（ドット）jp",
            "hayashi-k[アット]example[ドット]jp",
            "inoue.a あっと example.com",
            "mori.y@@example.com",
            "yamada . taro (at) example . com",
            "yamada ドット taro アット example ドット com",
        ] {
            let out = m(&format!("連絡は{s}までお願いします"));
            assert_eq!(out, "連絡は<EMAIL>までお願いします", "{s}");
        }
        assert_eq!(m("taro★example.ne.jp（★を@に）"), "<EMAIL>（★を@に）");
        assert_eq!(
            m("メールは、ケー、ドット、カトウ、アットマーク、イグザンプル、ドット、コムです"),
            "メールは、<EMAIL>です"
        );
    }

    #[test]
    fn sentences_with_at_and_full_stops_are_not_addresses() {
        for s in [
            "I am at home. Then I called",
            "★5です。最高",
            "4.5点です",
            "ver.2.1 at the shop",
        ] {
            assert_eq!(m(s), s, "{s}");
        }
    }
}
