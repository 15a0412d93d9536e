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

use super::lexicon::LEXICON;

/// Endings of the domains customers write; with a spelt-out at sign, one must end the address.
const TLDS: &str = "com|net|org|jp|info|biz|io|me|co|ne|ac|or|go|ed|gr|lg|ad|us|uk|cn|kr|tw|de|fr|\
app|dev|xyz|tokyo|mobi|edu|gov|cc|tv|ai|so|to";

fn alternatives(words: &[String]) -> String {
    let mut words: Vec<&String> = words.iter().collect();
    // Longest first, so アットマーク wins over アット.
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    // A word written with spaces around it in the lexicon (" at ") needs them in the text.
    let space = |on: bool| if on { "[ \u{3000}]+" } else { "" };
    words
        .iter()
        .map(|w| {
            let (lead, trail) = (w.starts_with(' '), w.ends_with(' '));
            format!("{}{}{}", space(lead), regex::escape(w.trim()), space(trail))
        })
        .collect::<Vec<_>>()
        .join("|")
}

pub(super) static OBFUSCATED: LazyLock<Regex> = LazyLock::new(|| {
    let l = &*LEXICON;
    let sp = "[ \u{3000}]*";
    let at_words = alternatives(&l.at_words);
    let at_symbols = alternatives(&l.at_symbols);
    let dot_words = alternatives(&l.dot_words);
    let local = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\\-．＿－]*";
    let label = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-－]*";
    let at = format!("(?:{sp}(?:{at_words}){sp}|{sp}(?:{at_symbols}){sp})");
    let dot = format!("(?:{sp}[.．。]{sp}|{sp}(?:{dot_words}){sp})");
    let pattern = format!("(?i){local}{at}(?:{label}{dot})+(?:{TLDS})(?-u:\\b)");
    #[allow(clippy::expect_used)] // built from the shipped lexicon, tested below
    Regex::new(&pattern).expect("valid e-mail pattern")
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
        ] {
            let out = m(&format!("連絡は{s}までお願いします"));
            assert_eq!(out, "連絡は<EMAIL>までお願いします", "{s}");
        }
        assert_eq!(m("taro★example.ne.jp（★を@に）"), "<EMAIL>（★を@に）");
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
