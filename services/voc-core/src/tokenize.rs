//! Tokenising with lindera (IPADIC) into [`Morpheme`]s that borrow from the text and dictionary.
//!
//! A [`Tokenizer`] owns one lindera `Segmenter`; the dictionary inside is `Arc`-backed and memory
//! mapped, so cloning a tokenizer per thread costs nothing and shares the dictionary.

use std::borrow::Cow;

use lindera::dictionary::{Dictionary, UserDictionary};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;

/// Which dictionary a word came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordSource {
    /// IPADIC.
    System,
    /// The user dictionary: the company's own product and service names.
    User,
    /// No dictionary: lindera's unknown-word model (variant kanji, new katakana words, names).
    Unknown,
}

/// One morpheme: a span of the analysed text plus the IPADIC features the rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Morpheme<'a> {
    pub surface: &'a str,
    /// Byte range in the text that was tokenised.
    pub start: usize,
    pub end: usize,
    /// 品詞 and its first two subcategories, e.g. 名詞 / サ変接続 / *.
    pub pos: &'a str,
    pub pos1: &'a str,
    pub pos2: &'a str,
    /// 活用型, e.g. 五段・カ行イ音便, 一段, サ変・スル, 形容詞・アウオ段.
    pub conj_type: &'a str,
    /// Dictionary (base) form; the surface for unknown words.
    pub base: &'a str,
    /// Set by [`mark_negation`]: the word is negated by what follows it (届かない, 不満はありません).
    pub negated: bool,
    pub source: WordSource,
}

impl Morpheme<'_> {
    pub fn is_noun(&self) -> bool {
        self.pos == "名詞"
    }
    pub fn is_verb(&self) -> bool {
        self.pos == "動詞"
    }
    pub fn is_adjective(&self) -> bool {
        self.pos == "形容詞"
    }
    /// Content words open a new clause for negation scope: nouns, independent verbs and adjectives,
    /// adverbs. Suffix-like and dependent forms (て-いる, ない as 形容詞) continue the chain.
    fn is_content(&self) -> bool {
        match self.pos {
            "名詞" => !matches!(self.pos1, "非自立" | "接尾"),
            "動詞" | "形容詞" => {
                self.pos1 == "自立" && !is_negator(self) && !is_light_verb(self)
            }
            "副詞" | "連体詞" | "接頭詞" => true,
            _ => false,
        }
    }
}

/// ない/ぬ(ん)/ず and 無い/なし: the words that negate what comes before them. The explanatory
/// ん of 「〜んです」 is a 名詞 in IPADIC and does not negate.
fn is_negator(m: &Morpheme<'_>) -> bool {
    match m.pos {
        "助動詞" => matches!(m.base, "ない" | "ぬ" | "ん" | "ず"),
        "形容詞" => matches!(m.base, "ない" | "無い"),
        "名詞" => matches!(m.base, "なし" | "無し"),
        _ => false,
    }
}

/// ある/いる/する/なる/できる and the like carry negation through to the word before them
/// (不満はありません, 起動しない, 使えなくなった).
fn is_light_verb(m: &Morpheme<'_>) -> bool {
    m.pos == "動詞"
        && matches!(
            m.base,
            "ある" | "いる" | "する" | "なる" | "おる" | "くる" | "いく"
        )
}

/// Particles that end a negation scope: a new case or topic starts after them
/// (「返金がない」 negates 返金, but in 「書類がなく、対応も」 the scope stops at the comma).
fn is_scope_break(m: &Morpheme<'_>) -> bool {
    m.pos == "記号" || (m.pos == "助詞" && matches!(m.pos1, "終助詞" | "並立助詞"))
}

/// Words that accept what a concession gives up (なくてもいい, なくても大丈夫).
const ACCEPTING: [&str; 7] = ["いい", "よい", "良い", "大丈夫", "構う", "かまう", "平気"];

/// A negator followed by て, も and a word of acceptance (使えなくてもいいです, 駐車場はなくても
/// 大丈夫です): a concession, which states no absence. Not any 〜なくても (使えなくても料金は
/// かかるんですか states the outage).
fn conceded(morphemes: &[Morpheme<'_>], negator: usize) -> bool {
    let particle = |k: usize, s: &str| {
        morphemes
            .get(k)
            .is_some_and(|m| m.pos == "助詞" && m.surface == s)
    };
    particle(negator + 1, "て")
        && particle(negator + 2, "も")
        && morphemes
            .get(negator + 3)
            .is_some_and(|m| ACCEPTING.contains(&m.base))
}

/// Words that turn 〜ないで into a request not to do it (止めないでください, 送らないでほしい,
/// 止めないでいただけますか).
const ASKING: [&str; 13] = [
    "くださる",
    "下さる",
    "くれる",
    "ほしい",
    "欲しい",
    "もらう",
    "もらえる",
    "いただく",
    "いただける",
    "頂く",
    "頂ける",
    "ちょうだい",
    "頂戴",
];

/// A negator followed by で and a word of asking (止めないでくださいね, 解約しないでほしい), or by で
/// that ends the clause (止めないでね, 忘れないで！): a prohibition, which asks that something not
/// happen, not a report that it failed. Not で before a comma (連絡しないで、勝手に…: "without").
fn prohibited(morphemes: &[Morpheme<'_>], negator: usize) -> bool {
    let after = |k: usize| morphemes.get(negator + k);
    morphemes[negator].base == "ない"
        && after(1).is_some_and(|m| m.pos == "助詞" && m.surface == "で")
        && after(2).is_some_and(|m| {
            ASKING.contains(&m.base)
                || (m.pos == "助詞" && m.pos1 == "終助詞")
                || (m.pos == "記号" && m.pos1 != "読点")
        })
}

/// A place (ところ) whose existence is asked about: in 買い物できるところはありませんか the
/// negation is the place's, not the verb's; in 便利なところはありません it states what is missing.
fn place_asked(morphemes: &[Morpheme<'_>], chain: std::ops::Range<usize>) -> bool {
    let place = morphemes[chain.clone()]
        .iter()
        .any(|m| m.pos == "名詞" && matches!(m.base, "ところ" | "とこ" | "所"));
    // か closes the chain or ends it (IPADIC tags it 副助詞／並立助詞／終助詞).
    let end = (chain.end + 1).min(morphemes.len());
    place
        && morphemes[chain.start..end]
            .iter()
            .any(|m| m.pos == "助詞" && m.surface == "か")
}

/// A word followed by しか (感謝しかありません, 不満しかない): the negator makes it the only
/// thing there is, which affirms the word rather than denying it.
fn exclusive(morphemes: &[Morpheme<'_>], word: usize) -> bool {
    morphemes
        .get(word + 1)
        .is_some_and(|m| m.pos == "助詞" && m.surface == "しか")
}

/// Marks each content word whose clause chain (the function words after it, up to the next
/// content word) contains a negator: 届か|ない, 届き|ませ|ん, 届い|て|い|ない, 不満|は|あり|ませ|ん;
/// not a conceded one (使え|なく|て|も|いい), nor a prohibition (止め|ない|で|ください), nor one
/// of a place asked about, nor one that is all there is (感謝|しか|あり|ませ|ん).
pub fn mark_negation(morphemes: &mut [Morpheme<'_>]) {
    let mut i = 0;
    while i < morphemes.len() {
        if !morphemes[i].is_content() && !is_light_verb(&morphemes[i]) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut negated = false;
        while j < morphemes.len() && !morphemes[j].is_content() && !is_scope_break(&morphemes[j]) {
            if is_negator(&morphemes[j]) && !conceded(morphemes, j) && !prohibited(morphemes, j) {
                negated = !negated;
            }
            j += 1;
        }
        if negated && (place_asked(morphemes, i + 1..j) || exclusive(morphemes, i)) {
            negated = false;
        }
        // A noun is only negated by a negator reached through a light verb or a particle, not
        // by a following negated content word (handled by that word's own chain).
        morphemes[i].negated = negated;
        // Suffixes glued to the word share its negation (高級|感 は ありません): a phrase that
        // ends on one is read by its last token.
        let mut k = i + 1;
        while k < j && morphemes[k].pos == "名詞" && morphemes[k].pos1 == "接尾" {
            morphemes[k].negated = negated;
            k += 1;
        }
        i += 1;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("lindera failed to segment text: {0}")]
pub struct TokenizeError(String);

/// A lindera segmenter over IPADIC. Clone it per worker thread: the dictionary is shared.
///
/// The segmenter lives for the rest of the process (a tokenizer is built once per process, and
/// its dictionary is memory-mapped): that lets the IPADIC features of each word be decoded once
/// and kept per thread, instead of re-validating and splitting them for every token.
#[derive(Clone, Copy)]
pub struct Tokenizer {
    segmenter: &'static Segmenter,
}

/// pos, pos1, pos2, conj_type, base of one dictionary word.
type Features = [&'static str; 5];

/// Decoded features per (segmenter, word kind, word id), per thread; cleared when it grows past
/// a bound, so memory stays small whatever the vocabulary.
const FEATURE_CACHE_MAX: usize = 200_000;

thread_local! {
    static FEATURES: std::cell::RefCell<foldhash::HashMap<(usize, u8, u32), Features>> =
        std::cell::RefCell::new(foldhash::HashMap::default());
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").finish_non_exhaustive()
    }
}

impl Tokenizer {
    pub fn new(dictionary: Dictionary, user_dictionary: Option<UserDictionary>) -> Self {
        Self {
            segmenter: Box::leak(Box::new(Segmenter::new(
                Mode::Normal,
                dictionary,
                user_dictionary,
            ))),
        }
    }

    /// Bare lindera segmentation, for benchmarks: the number of tokens, nothing else computed.
    pub fn bare_segment(&self, text: &str) -> Result<usize, TokenizeError> {
        self.segmenter
            .segment(Cow::Borrowed(text))
            .map(|t| t.len())
            .map_err(|e| TokenizeError(e.to_string()))
    }

    /// The features the analysis uses, decoded from the dictionary's NUL-joined entry.
    fn decode(seg: &'static Segmenter, kind: u8, id: usize) -> Features {
        let mut fields = match kind {
            0 => seg.dictionary.unknown_word_details_iter(id),
            1 => seg.dictionary.word_details_iter(id),
            _ => match seg.user_dictionary.as_ref() {
                Some(user) => user.word_details_iter(id),
                None => seg.dictionary.unknown_word_details_iter(id),
            },
        };
        let mut next = || fields.next().unwrap_or("*");
        let (pos, pos1, pos2, _pos3, conj_type, _conj_form, base) =
            (next(), next(), next(), next(), next(), next(), next());
        [pos, pos1, pos2, conj_type, base]
    }

    /// Splits `text` into morphemes (negation not yet marked).
    pub fn tokenize<'a>(&self, text: &'a str) -> Result<Vec<Morpheme<'a>>, TokenizeError> {
        let seg = self.segmenter;
        let tokens = seg
            .segment(Cow::Borrowed(text))
            .map_err(|e| TokenizeError(e.to_string()))?;
        let key = std::ptr::from_ref(seg) as usize;
        FEATURES.with_borrow_mut(|cache| {
            if cache.len() > FEATURE_CACHE_MAX {
                cache.clear();
            }
            let mut out = Vec::with_capacity(tokens.len());
            for token in tokens {
                let word = token.word_id;
                let (kind, source) = if word.is_unknown() {
                    (0, WordSource::Unknown)
                } else if word.is_system() {
                    (1, WordSource::System)
                } else {
                    (2, WordSource::User)
                };
                let id = word.id();
                let [pos, pos1, pos2, conj_type, base] = *cache
                    .entry((key, kind, id))
                    .or_insert_with(|| Self::decode(seg, kind, id as usize));
                let surface = text.get(token.byte_start..token.byte_end).unwrap_or("");
                out.push(Morpheme {
                    surface,
                    start: token.byte_start,
                    end: token.byte_end,
                    pos,
                    pos1,
                    pos2,
                    conj_type,
                    base: if base == "*" || base.is_empty() {
                        surface
                    } else {
                        base
                    },
                    negated: false,
                    source,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-built morpheme for tests that must not depend on the dictionary.
    pub(crate) fn m<'a>(
        surface: &'a str,
        pos: &'a str,
        pos1: &'a str,
        base: &'a str,
    ) -> Morpheme<'a> {
        Morpheme {
            surface,
            start: 0,
            end: 0,
            pos,
            pos1,
            pos2: "*",
            conj_type: "*",
            base,
            negated: false,
            source: WordSource::System,
        }
    }

    #[test]
    fn negation_reaches_through_auxiliaries_and_light_verbs() {
        // 届き ませ ん
        let mut v = vec![
            m("届き", "動詞", "自立", "届く"),
            m("ませ", "助動詞", "*", "ます"),
            m("ん", "助動詞", "*", "ん"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
        // 不満 は あり ませ ん
        let mut v = vec![
            m("不満", "名詞", "一般", "不満"),
            m("は", "助詞", "係助詞", "は"),
            m("あり", "動詞", "自立", "ある"),
            m("ませ", "助動詞", "*", "ます"),
            m("ん", "助動詞", "*", "ん"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
    }

    #[test]
    fn a_place_that_is_not_there_does_not_negate_what_is_done_there() {
        // 買い物 できる ところ は あり ませ ん か: the place is asked for, buying is not negated.
        let mut v = vec![
            m("買い物", "名詞", "サ変接続", "買い物"),
            m("できる", "動詞", "自立", "できる"),
            m("ところ", "名詞", "非自立", "ところ"),
            m("は", "助詞", "係助詞", "は"),
            m("あり", "動詞", "自立", "ある"),
            m("ませ", "助動詞", "*", "ます"),
            m("ん", "助動詞", "*", "ん"),
            m("か", "助詞", "終助詞", "か"),
        ];
        mark_negation(&mut v);
        assert!(!v[1].negated);
        // 便利 な ところ は あり ませ ん 。: stated, so what is missing stays negated.
        let mut v = vec![
            m("便利", "名詞", "形容動詞語幹", "便利"),
            m("な", "助動詞", "*", "だ"),
            m("ところ", "名詞", "非自立", "ところ"),
            m("は", "助詞", "係助詞", "は"),
            m("あり", "動詞", "自立", "ある"),
            m("ませ", "助動詞", "*", "ます"),
            m("ん", "助動詞", "*", "ん"),
            m("。", "記号", "句点", "。"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
    }

    #[test]
    fn a_conceded_negation_negates_nothing() {
        // 使え なく て も いい: "even if it cannot be used", no failure stated.
        let mut v = vec![
            m("使え", "動詞", "自立", "使える"),
            m("なく", "助動詞", "*", "ない"),
            m("て", "助詞", "接続助詞", "て"),
            m("も", "助詞", "係助詞", "も"),
            m("いい", "形容詞", "自立", "いい"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        // 使え なく て も 料金: a concession that accepts nothing, still negated.
        let mut v = vec![
            m("使え", "動詞", "自立", "使える"),
            m("なく", "助動詞", "*", "ない"),
            m("て", "助詞", "接続助詞", "て"),
            m("も", "助詞", "係助詞", "も"),
            m("料金", "名詞", "一般", "料金"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
        // 使え なく て 困る: a cause, still negated.
        let mut v = vec![
            m("使え", "動詞", "自立", "使える"),
            m("なく", "助動詞", "*", "ない"),
            m("て", "助詞", "接続助詞", "て"),
            m("困る", "動詞", "自立", "困る"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
    }

    #[test]
    fn a_prohibition_is_not_a_negation() {
        // 止め ない で ください: asks that the line not be stopped.
        let mut v = vec![
            m("止め", "動詞", "自立", "止める"),
            m("ない", "助動詞", "*", "ない"),
            m("で", "助詞", "接続助詞", "で"),
            m("ください", "動詞", "非自立", "くださる"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        // 止め ない で いただけ ます か: the potential form asks too.
        let mut v = vec![
            m("止め", "動詞", "自立", "止める"),
            m("ない", "助動詞", "*", "ない"),
            m("で", "助詞", "接続助詞", "で"),
            m("いただけ", "動詞", "非自立", "いただける"),
            m("ます", "助動詞", "*", "ます"),
            m("か", "助詞", "副助詞／並立助詞／終助詞", "か"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        // 止め ない で ね: a bare prohibition.
        let mut v = vec![
            m("止め", "動詞", "自立", "止める"),
            m("ない", "助動詞", "*", "ない"),
            m("で", "助詞", "接続助詞", "で"),
            m("ね", "助詞", "終助詞", "ね"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        // 連絡 し ない で 、: "without"; the light verb's chain stays negated.
        let mut v = vec![
            m("連絡", "名詞", "サ変接続", "連絡"),
            m("し", "動詞", "自立", "する"),
            m("ない", "助動詞", "*", "ない"),
            m("で", "助詞", "接続助詞", "で"),
            m("、", "記号", "読点", "、"),
        ];
        mark_negation(&mut v);
        assert!(v[1].negated);
        // 止め ない で 困る: a cause, still negated.
        let mut v = vec![
            m("止め", "動詞", "自立", "止める"),
            m("ない", "助動詞", "*", "ない"),
            m("で", "助詞", "接続助詞", "で"),
            m("困る", "動詞", "自立", "困る"),
        ];
        mark_negation(&mut v);
        assert!(v[0].negated);
    }

    #[test]
    fn a_word_that_is_all_there_is_is_not_negated() {
        // 感謝 しか あり ませ ん: nothing but gratitude.
        let mut v = vec![
            m("感謝", "名詞", "サ変接続", "感謝"),
            m("しか", "助詞", "係助詞", "しか"),
            m("あり", "動詞", "自立", "ある"),
            m("ませ", "助動詞", "*", "ます"),
            m("ん", "助動詞", "*", "ん"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        // 1 時間 しか 眠れ ない: the limit is the verb's, which stays negated.
        let mut v = vec![
            m("時間", "名詞", "一般", "時間"),
            m("しか", "助詞", "係助詞", "しか"),
            m("眠れ", "動詞", "自立", "眠れる"),
            m("ない", "助動詞", "*", "ない"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        assert!(v[2].negated);
    }

    #[test]
    fn negation_stops_at_the_next_content_word() {
        // 届い た 商品 が 動か ない: 届く is affirmative, 動く is negated.
        let mut v = vec![
            m("届い", "動詞", "自立", "届く"),
            m("た", "助動詞", "*", "た"),
            m("商品", "名詞", "一般", "商品"),
            m("が", "助詞", "格助詞", "が"),
            m("動か", "動詞", "自立", "動く"),
            m("ない", "助動詞", "*", "ない"),
        ];
        mark_negation(&mut v);
        assert!(!v[0].negated);
        assert!(!v[2].negated);
        assert!(v[4].negated);
    }
}
