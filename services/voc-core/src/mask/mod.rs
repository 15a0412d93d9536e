//! Personal-data masking: the one owner of every masking rule in voc. Everything stored, logged,
//! flagged or exported is text that went through here.
//!
//! Layers, each erring towards masking, applied kind by kind so that `mask` is idempotent (a later
//! layer only searches the gaps earlier ones left, and a claimed span reads as its placeholder):
//! 1. [`patterns`]: the written forms, exactly (e-mail, card with Luhn, My Number with its check
//!    digit, phone by prefix and length, postal code, street address);
//! 2. [`email`]: e-mail addresses written around filters (`(at)`, `アットマーク`, `★`, spaced dots);
//! 3. [`digits`]: any number by shape: digits of any width, kanji numerals and katakana readings,
//!    with any separators (`080の1111の2222`), 10 or more of them masked unless clearly an amount,
//!    date or time;
//! 4. [`names`]: person names on the morphemes, by dictionary and by position (after the text is
//!    tokenised; see [`mask_names`]).
//!
//! Placeholders are typed where the type is known (`<TEL>`, `<EMAIL>`, `<CARD>`, `<NAME>` …) and
//! `<NUM>` otherwise. The word lists (honorifics, self-introduction phrases, readings,
//! prefectures) are data: `config/masking/ja.toml`.

use std::collections::BTreeMap;
use std::ops::Range;

mod digits;
pub(crate) use digits::{is_separator as is_number_separator, kanji_digit};
mod email;
mod lexicon;
mod names;
mod patterns;

pub use lexicon::MASKING_LEXICON;
pub use names::{mask_names, name_spans};
pub use patterns::{luhn_valid, my_number_valid};

use patterns::{
    ADDR_MUNI, ADDR_PREF, CARD, EMAIL, MYNUM, POSTAL, SECURITY_CODE, TEL, card, my_number, postal,
    scan, security_code, tel, whole,
};

/// The kinds of personal data voc masks, each with its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Tel,
    Email,
    Card,
    Postal,
    MyNumber,
    Address,
    /// A person's name (by dictionary or position).
    Name,
    /// A long number of no known type: membership, account or ticket numbers.
    Num,
}

impl PiiKind {
    pub const ALL: [PiiKind; 8] = [
        PiiKind::Tel,
        PiiKind::Email,
        PiiKind::Card,
        PiiKind::Postal,
        PiiKind::MyNumber,
        PiiKind::Address,
        PiiKind::Name,
        PiiKind::Num,
    ];

    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Tel => "<TEL>",
            PiiKind::Email => "<EMAIL>",
            PiiKind::Card => "<CARD>",
            PiiKind::Postal => "<POSTAL>",
            PiiKind::MyNumber => "<MYNUMBER>",
            PiiKind::Address => "<ADDRESS>",
            PiiKind::Name => "<NAME>",
            PiiKind::Num => "<NUM>",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    /// Kinds replaced, in order of appearance (may repeat).
    pub found: Vec<PiiKind>,
}

/// Spans claimed so far: start byte → (end byte, kind).
#[derive(Default)]
pub(crate) struct Spans(BTreeMap<usize, (usize, PiiKind)>);

impl Spans {
    fn claimed(&self, i: usize) -> bool {
        self.0
            .range(..=i)
            .next_back()
            .is_some_and(|(_, &(end, _))| end > i)
    }
    /// Unclaimed stretches of `0..len`.
    fn gaps(&self, len: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0;
        for (&s, &(e, _)) in &self.0 {
            if s > at {
                out.push(at..s);
            }
            at = e;
        }
        if at < len {
            out.push(at..len);
        }
        out
    }
}

/// What a quick look at the text found: which layers can have anything to do.
struct Presence {
    /// An ASCII or full-width digit, or an at sign: the typed patterns may match.
    digit_or_at: bool,
    /// An ASCII letter: an e-mail written around filters may be there.
    latin: bool,
    /// Digits and kanji numerals (kana readings are looked for only when there are few).
    digit_like: usize,
}

fn presence(text: &str) -> Presence {
    let mut p = Presence {
        digit_or_at: false,
        latin: false,
        digit_like: 0,
    };
    // Bytes, not chars: ASCII decides most of it; of the rest only full-width forms (EF BC/BD
    // ..) and the ten kanji numerals matter, recognised by their three bytes.
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let x = b[i];
        if x < 0x80 {
            match x {
                b'0'..=b'9' => {
                    p.digit_or_at = true;
                    p.digit_like += 1;
                }
                b'@' => p.digit_or_at = true,
                b'A'..=b'Z' | b'a'..=b'z' => p.latin = true,
                _ => {}
            }
            i += 1;
            continue;
        }
        let width = match x {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        if width == 3 && i + 2 < b.len() {
            match (x, b[i + 1], b[i + 2]) {
                // ０-９ (EF BC 90-99), ＠ (EF BC A0), Ａ-Ｚ (EF BC A1-BA), ａ-ｚ (EF BD 81-9A)
                (0xEF, 0xBC, 0x90..=0x99) => {
                    p.digit_or_at = true;
                    p.digit_like += 1;
                }
                (0xEF, 0xBC, 0xA0) => p.digit_or_at = true,
                (0xEF, 0xBC, 0xA1..=0xBA) | (0xEF, 0xBD, 0x81..=0x9A) => p.latin = true,
                // 〇 一 二 三 四 五 六 七 八 九 零
                (0xE3, 0x80, 0x87)
                | (0xE4, 0xB8, 0x80 | 0x83 | 0x89)
                | (0xE4, 0xBA, 0x8C | 0x94)
                | (0xE4, 0xB9, 0x9D)
                | (0xE5, 0x9B, 0x9B)
                | (0xE5, 0x85, 0xAB | 0xAD)
                | (0xE9, 0x9B, 0xB6) => p.digit_like += 1,
                _ => {}
            }
        }
        i += width;
    }
    p
}

/// Replaces personal data in `text` with typed placeholders: every layer but names, which need
/// the morphemes ([`mask_names`]). Works on raw and on normalised text; normalised text
/// (NFKC, voicing marks joined) is what the analysis passes.
pub fn mask(text: &str) -> Masked {
    render(text, &claim(text))
}

/// Where personal data stands in `text` (byte ranges, in order) and of which kind: what [`mask`]
/// replaces, for audits that need to see what was masked.
pub fn detect(text: &str) -> Vec<(Range<usize>, PiiKind)> {
    claim(text)
        .0
        .into_iter()
        .map(|(s, (e, k))| (s..e, k))
        .collect()
}

/// Runs every text layer over `text`, each over the gaps the earlier ones left: the pattern layers
/// line by line (no pattern spans a line, and a line without a digit costs nothing), then the
/// digit chains over the whole text (a number may be dictated over two turns).
fn claim(text: &str) -> Spans {
    let mut sp = Spans::default();
    // A number of ten digits lies within one line or two neighbouring ones (a number dictated
    // over two turns): only then is the whole text read for digit chains.
    let (mut enough_digits, mut readings, mut previous_line_digits) = (false, false, 0);
    let mut start = 0;
    for line in text.split('\n') {
        let within = start..start + line.len();
        start = within.end + 1;
        let p = presence(line);
        let cues = cues(line);
        enough_digits |= p.digit_like + previous_line_digits >= digits::MIN_DIGITS;
        previous_line_digits = p.digit_like;
        readings |= cues.readings_in_a_row;
        claim_line(text, &within, &p, &cues, &mut sp);
    }
    if enough_digits || readings {
        digits::scan(text, &mut sp, readings);
    }
    sp
}

/// Kana and kanji cues of the layers: a dictated number reads as readings back to back or one
/// separator apart (ゼロキュウゼロ, ゼロ、キュウ), a spoken address has アット, a kanji address 丁目
/// or 番地.
struct Cues {
    readings_in_a_row: bool,
    spoken_at: bool,
    kanji_address: bool,
}

fn cues(line: &str) -> Cues {
    let index = &*lexicon::INDEX;
    let mut c = Cues {
        readings_in_a_row: false,
        spoken_at: false,
        kanji_address: false,
    };
    let mut last_reading_end = usize::MAX;
    for m in index.cues_in_text.find_iter(line) {
        match index.cue_kinds[m.pattern().as_usize()] {
            lexicon::Cue::Reading => {
                c.readings_in_a_row |= last_reading_end <= m.start()
                    && line[last_reading_end..m.start()].chars().nth(1).is_none();
                last_reading_end = m.end();
            }
            lexicon::Cue::SpokenAt => c.spoken_at = true,
            lexicon::Cue::KanjiAddress => c.kanji_address = true,
        }
    }
    c
}

/// The pattern layers over one line, in their order.
fn claim_line(text: &str, within: &Range<usize>, p: &Presence, c: &Cues, sp: &mut Spans) {
    let line = &text[within.clone()];
    if p.digit_or_at {
        scan(text, within, &EMAIL, PiiKind::Email, sp, whole);
    }
    // The spoken form first: it takes a local part said with ドット (yamada ドット taro アット …)
    // whole, where the written form would take only what follows the last spelt-out dot.
    if c.spoken_at {
        scan(text, within, &email::SPOKEN, PiiKind::Email, sp, whole);
    }
    if p.latin && email::may_hold_obfuscated(line) {
        scan(text, within, &email::OBFUSCATED, PiiKind::Email, sp, whole);
    }
    if p.digit_or_at {
        scan(text, within, &CARD, PiiKind::Card, sp, card);
        scan(
            text,
            within,
            &SECURITY_CODE,
            PiiKind::Card,
            sp,
            security_code,
        );
        scan(text, within, &MYNUM, PiiKind::MyNumber, sp, my_number);
        scan(text, within, &TEL, PiiKind::Tel, sp, tel);
        scan(text, within, &POSTAL, PiiKind::Postal, sp, postal);
    }
    // An address may be written in kanji numerals alone (十五丁目二十番地).
    if p.digit_or_at || c.kanji_address {
        // Prefecture-led first, so "住所東京都…" does not pull 住所 into a municipality.
        scan(text, within, &ADDR_PREF, PiiKind::Address, sp, whole);
        scan(text, within, &ADDR_MUNI, PiiKind::Address, sp, whole);
    }
    if p.digit_or_at {
        digits::scan_labelled(text, within, sp);
    }
}

/// The text with every claimed span replaced by its placeholder.
fn render(text: &str, sp: &Spans) -> Masked {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::with_capacity(sp.0.len());
    let mut at = 0;
    for (&s, &(e, kind)) in &sp.0 {
        out.push_str(&text[at..s]);
        out.push_str(kind.placeholder());
        found.push(kind);
        at = e;
    }
    out.push_str(&text[at..]);
    Masked { text: out, found }
}

/// Whether a morpheme is (part of) a placeholder left by masking (`<TEL>`, `<NAME>`): never a
/// keyword, never a name. lindera may glue a bracket to neighbouring symbols (`-<`), so any token
/// holding one counts.
pub fn in_placeholder(text: &str, m: &crate::tokenize::Morpheme<'_>) -> bool {
    let b = text.as_bytes();
    m.surface.bytes().any(|x| x == b'<' || x == b'>')
        || (m.start > 0 && b[m.start - 1] == b'<' && b.get(m.end) == Some(&b'>'))
}

/// Masks the interaction id, the key rows are deduplicated by: only personal data in its written
/// forms (a phone number, e-mail or card number as such). The shape layers would turn distinct
/// machine ids (`call-20261122-0000000001`) into one `<NUM>`, merging interactions.
pub fn mask_key(value: &str) -> String {
    if !presence(value).digit_or_at {
        return value.to_string();
    }
    let mut sp = Spans::default();
    let all = 0..value.len();
    scan(value, &all, &EMAIL, PiiKind::Email, &mut sp, whole);
    scan(value, &all, &CARD, PiiKind::Card, &mut sp, card);
    scan(value, &all, &MYNUM, PiiKind::MyNumber, &mut sp, my_number);
    scan(value, &all, &TEL, PiiKind::Tel, &mut sp, tel);
    render(value, &sp).text
}

/// Digits an id's own number may have (membership and customer numbers).
pub const MAX_ID_DIGITS: usize = 12;

/// Masks a free-text identifier (customer, agent, queue or product id): a producer
/// may put a phone number or an e-mail address where an id belongs. Normalised and cleaned of
/// spoken fillers first, as customer text is, so a full-width, oddly spaced or transcribed value
/// is caught as well as a tidy one.
///
/// A number of no known kind up to [`MAX_ID_DIGITS`] digits is left: ids are numbers
/// (C1234567890), and masking them would merge customers whose repeat contacts the flagger
/// counts. Longer runs are masked as in text.
pub fn mask_identifier(value: &str) -> String {
    const _: () = assert!(MAX_ID_DIGITS < 13, "a card-length run is never an id");
    use crate::normalize::{normalize, strip_fillers};
    let clean = strip_fillers(&normalize(value));
    let mut sp = claim(&clean);
    let digits = |r: Range<usize>| clean[r].chars().filter(char::is_ascii_digit).count();
    sp.0.retain(|&start, &mut (end, kind)| {
        kind != PiiKind::Num || digits(start..end) > MAX_ID_DIGITS
    });
    if sp.0.is_empty() {
        value.to_string()
    } else {
        render(&clean, &sp).text
    }
}

#[cfg(test)]
mod tests;
