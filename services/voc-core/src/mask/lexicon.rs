//! The masker's word lists (`config/masking/ja.toml`): honorifics, self-introduction phrases,
//! signature markers, spellings of the at sign and the dot, digit readings and prefectures.
//! Compiled into the binary and parsed once; a malformed file fails the first use loudly, and
//! a unit test parses it, so it cannot ship broken.

use std::collections::BTreeMap;
use std::sync::LazyLock;

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
