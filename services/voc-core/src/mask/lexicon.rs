//! The masker's word lists (`config/masking/ja.toml`): honorifics, self-introduction phrases,
//! signature markers, spellings of the at sign and the dot, digit readings and prefectures.
//! Compiled into the binary and parsed once; a malformed file fails the first use loudly, and
//! a unit test parses it, so it cannot ship broken.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Deserialize;

/// The masking lexicon as shipped with voc.
pub const MASKING_LEXICON: &str = include_str!("../../../../config/masking/ja.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lexicon {
    pub honorifics: Vec<String>,
    pub name_suffixes: Vec<String>,
    pub not_honorifics: Vec<String>,
    pub not_names: Vec<String>,
    pub role_suffixes: Vec<String>,
    pub given_name_endings: Vec<String>,
    pub variant_kanji: Vec<String>,
    pub name_labels: Vec<String>,
    pub self_introduction_before: Vec<String>,
    pub self_introduction_after: Vec<String>,
    pub signature_markers: Vec<String>,
    pub at_words: Vec<String>,
    pub at_symbols: Vec<String>,
    pub dot_words: Vec<String>,
    pub id_labels: Vec<String>,
    pub digit_readings: BTreeMap<String, u8>,
    pub address: Address,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Address {
    pub prefectures: Vec<String>,
}

pub(crate) static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    // The file is part of the source tree and parsed by a unit test: a failure here is a build
    // that skipped its tests.
    #[allow(clippy::expect_used)]
    toml::from_str(MASKING_LEXICON).expect("config/masking/ja.toml is a valid masking lexicon")
});

/// The lexicon made fast to ask: word sets for per-morpheme questions, and one automaton per
/// list searched in the text, so each list costs one pass however long it is.
#[derive(Debug)]
pub(crate) struct Index {
    pub honorifics: WordSet,
    pub name_suffixes: WordSet,
    pub not_names: WordSet,
    pub role_suffixes: WordSet,
    pub given_name_endings: WordSet,
    pub self_introduction_before: WordSet,
    pub variant_kanji: foldhash::HashSet<char>,
    /// Honorifics, self-introduction phrases and name labels, in one automaton.
    pub name_cues_in_text: AhoCorasick,
    pub name_cue_kinds: Vec<NameCue>,
    /// Every spelling of the at sign: whether an obfuscated e-mail address may be there.
    pub at_spellings_in_text: AhoCorasick,
    pub id_labels_in_text: AhoCorasick,
    /// What makes the kana and kanji layers worth running, in one automaton: digit readings of
    /// two or more kana (ゼロ, はち), a spoken at sign (アット), a kanji address's 丁目 or 番地.
    pub cues_in_text: AhoCorasick,
    pub cue_kinds: Vec<Cue>,
    /// Digit readings (katakana) by first character, longest first.
    pub readings_by_first: foldhash::HashMap<char, Vec<(String, u8)>>,
    /// Longest honorific or self-introduction word, in bytes, and a bit per first character:
    /// most words are ruled out before any hashing.
    pub short_word_bytes: usize,
    pub short_word_first_chars: u64,
}

pub(crate) type WordSet = foldhash::HashSet<String>;

/// What a cue found in the text calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    Reading,
    SpokenAt,
    KanjiAddress,
}

/// A bit for a character, for quick membership tests with false positives only.
pub(crate) fn char_bit(c: char) -> u64 {
    1 << (c as u32 % 64)
}

/// What a name cue found in the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameCue {
    Honorific,
    Introduction,
    Label,
}

fn set(words: &[String]) -> WordSet {
    words.iter().cloned().collect()
}

fn automaton<I: IntoIterator<Item = String>>(patterns: I) -> AhoCorasick {
    #[allow(clippy::expect_used)] // plain literal patterns from the shipped lexicon
    // A DFA: built once, searched for every text.
    // Its prefilter would stop at every common candidate (さん, いち): the DFA alone is faster.
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(false)
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns)
        .expect("the lexicon's phrases build an automaton")
}

fn hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            c => c,
        })
        .collect()
}

pub(crate) static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let l = &*LEXICON;
    let long: Vec<&String> = l
        .digit_readings
        .keys()
        .filter(|r| r.chars().count() >= 2)
        .collect();
    let cues: Vec<(String, Cue)> = long
        .iter()
        .flat_map(|r| [(r.to_string(), Cue::Reading), (hiragana(r), Cue::Reading)])
        .chain(["アット", "あっと"].map(|w| (w.to_string(), Cue::SpokenAt)))
        .chain(["丁目", "番地"].map(|w| (w.to_string(), Cue::KanjiAddress)))
        .collect();
    let short_words = l.honorifics.iter().chain(&l.self_introduction_before);
    let name_cues: Vec<(String, NameCue)> = l
        .honorifics
        .iter()
        .map(|w| (w.clone(), NameCue::Honorific))
        .chain(
            l.self_introduction_after
                .iter()
                .map(|w| (w.clone(), NameCue::Introduction)),
        )
        .chain(l.name_labels.iter().map(|w| (w.clone(), NameCue::Label)))
        .collect();
    Index {
        honorifics: set(&l.honorifics),
        name_suffixes: set(&l.name_suffixes),
        not_names: set(&l.not_names),
        role_suffixes: set(&l.role_suffixes),
        at_spellings_in_text: automaton(l.at_words.iter().chain(&l.at_symbols).cloned()),
        given_name_endings: set(&l.given_name_endings),
        self_introduction_before: set(&l.self_introduction_before),
        variant_kanji: l
            .variant_kanji
            .iter()
            .filter_map(|v| v.chars().next())
            .collect(),
        name_cues_in_text: automaton(name_cues.iter().map(|(p, _)| p.clone())),
        name_cue_kinds: name_cues.iter().map(|&(_, k)| k).collect(),
        id_labels_in_text: automaton(l.id_labels.iter().cloned()),
        readings_by_first: {
            let mut by: foldhash::HashMap<char, Vec<(String, u8)>> = Default::default();
            for (r, &v) in &l.digit_readings {
                if let Some(c) = r.chars().next() {
                    by.entry(c).or_default().push((r.clone(), v));
                }
            }
            for list in by.values_mut() {
                list.sort_by_key(|(r, _)| std::cmp::Reverse(r.len()));
            }
            by
        },
        cues_in_text: automaton(cues.iter().map(|(p, _)| p.clone())),
        cue_kinds: cues.iter().map(|&(_, k)| k).collect(),
        short_word_bytes: short_words.clone().map(String::len).max().unwrap_or(0),
        short_word_first_chars: short_words
            .filter_map(|w| w.chars().next())
            .fold(0, |bits, c| bits | char_bit(c)),
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lexicon_parses_and_is_complete() {
        let l: Lexicon = toml::from_str(MASKING_LEXICON).expect("valid");
        assert_eq!(l.address.prefectures.len(), 47);
        assert!(l.honorifics.iter().any(|h| h == "様"));
        assert!(l.digit_readings.values().all(|&d| d <= 9));
        // Every digit has a reading, so a whole dictated number can be read.
        for d in 0..=9u8 {
            assert!(l.digit_readings.values().any(|&x| x == d), "{d}");
        }
    }
}
