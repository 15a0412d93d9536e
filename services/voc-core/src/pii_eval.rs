//! Masking quality, measured (`voc mask report`): on lines annotated with the personal data they
//! hold (`"pii": ["080の1234の5678", "髙橋"]`), which values survive into what voc stores (leaks)
//! and which masked spans cover none of them (false positives); on any line, how many words get
//! masked and of which kind, so over-masking of amounts, dates and model numbers shows.
//!
//! A value leaks when what voc would store (the masked customer text, keywords and evidence)
//! still holds it after folding both sides (NFKC, kanji digits as digits, separators and spaces
//! dropped); a value of six or more digits leaks when any six of its consecutive digits survive,
//! so a number masked only in part counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::{AnalyzeError, Analyzer};
use crate::mask::{PiiKind, detect, is_number_separator, kanji_digit, name_spans};
use crate::message::Interaction;
use crate::normalize::normalize;

/// Consecutive digits that identify a number when they survive masking.
const DIGIT_WINDOW: usize = 6;

/// One masked span: its kind and the text it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedSpan {
    pub kind: PiiKind,
    pub original: String,
}

/// What masking did to one interaction.
#[derive(Debug, Clone)]
pub struct LineAudit {
    pub interaction_id: String,
    /// Words (morphemes) of the customer's text as stored.
    pub tokens: usize,
    pub spans: Vec<MaskedSpan>,
    /// Annotated values that survived (empty when the line has no annotation).
    pub leaked: Vec<String>,
    /// Masked spans that cover no annotated value (only for annotated lines).
    pub false_positives: Vec<MaskedSpan>,
}

/// Figures over many lines.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MaskReport {
    pub lines: usize,
    /// Lines that could not be read as interactions (not audited).
    pub unparsed: usize,
    pub tokens: usize,
    /// Masked spans per kind (placeholder names without brackets).
    pub masked: BTreeMap<String, usize>,
    /// Lines carrying a `pii` annotation, and of them those with at least one value.
    pub annotated_lines: usize,
    pub lines_with_pii: usize,
    pub values: usize,
    pub leaked_values: usize,
    /// Annotated lines where a value survived.
    pub leaky_lines: usize,
    pub false_positives: usize,
    /// Annotated lines without personal data on which something was masked anyway.
    pub clean_lines_masked: usize,
}

impl MaskReport {
    pub fn add(&mut self, line: &LineAudit, annotated: bool, values: usize) {
        self.lines += 1;
        self.tokens += line.tokens;
        for s in &line.spans {
            let name = s.kind.placeholder().trim_matches(['<', '>']).to_string();
            *self.masked.entry(name).or_default() += 1;
        }
        if !annotated {
            return;
        }
        self.annotated_lines += 1;
        self.values += values;
        self.leaked_values += line.leaked.len();
        self.false_positives += line.false_positives.len();
        if values > 0 {
            self.lines_with_pii += 1;
            self.leaky_lines += usize::from(!line.leaked.is_empty());
        } else {
            self.clean_lines_masked += usize::from(!line.spans.is_empty());
        }
    }

    /// Share of annotated lines with personal data that leaked nothing.
    pub fn clean_line_rate(&self) -> f64 {
        if self.lines_with_pii == 0 {
            return 1.0;
        }
        1.0 - self.leaky_lines as f64 / self.lines_with_pii as f64
    }

    /// Masked spans per 1,000 words of customer text.
    pub fn masked_per_1000_tokens(&self) -> f64 {
        let n: usize = self.masked.values().sum();
        if self.tokens == 0 {
            0.0
        } else {
            n as f64 * 1000.0 / self.tokens as f64
        }
    }
}

/// A line's optional annotation: the personal data its text holds.
#[derive(Debug, Deserialize)]
pub struct Annotation {
    pub pii: Option<Vec<String>>,
}

/// Folds text for comparison: normalised, kanji digits as ASCII, no separators of numbers (the
/// masker's own set) or spaces.
fn fold(s: &str) -> String {
    normalize(s)
        .chars()
        .filter_map(|c| {
            if let Some(d) = kanji_digit(c) {
                return Some(char::from(b'0' + d));
            }
            if c.is_whitespace() || is_number_separator(c) || c == '/' {
                return None;
            }
            Some(c.to_ascii_lowercase())
        })
        .collect()
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether personal data `value` survives in `stored` text (a stored field, a log line), in any
/// width, spacing or kanji spelling of its digits, or in part (six consecutive digits).
pub fn leaks(value: &str, stored: &str) -> bool {
    survives(value, &fold(stored))
}

/// Stored text folded once, to look for many values in it ([`leaks`] folds it every time).
#[derive(Debug, Clone)]
pub struct Stored(String);

impl Stored {
    pub fn new(text: &str) -> Self {
        Self(fold(text))
    }

    /// Whether `value` survives here, as [`leaks`] decides.
    pub fn holds(&self, value: &str) -> bool {
        survives(value, &self.0)
    }
}

/// Whether `value` survives in `stored` (already folded).
fn survives(value: &str, stored: &str) -> bool {
    let v = fold(value);
    if v.is_empty() {
        return false;
    }
    let d = digits_of(&v);
    if d.len() >= DIGIT_WINDOW {
        // Within one run of digits (separators are folded away): 二重 and 二重 elsewhere in the
        // text are no 22.
        let runs: Vec<&str> = stored
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| r.len() >= DIGIT_WINDOW)
            .collect();
        return (0..=d.len() - DIGIT_WINDOW)
            .any(|i| runs.iter().any(|r| r.contains(&d[i..i + DIGIT_WINDOW])));
    }
    if !d.is_empty() && d.len() == v.len() {
        // A short number: as a whole digit run of its own.
        return stored
            .split(|c: char| !c.is_ascii_digit())
            .any(|run| run == d);
    }
    // A value survives in part too: the family name of a full name (山田<NAME>), the local part of
    // an address (yamada ドット <EMAIL>). Its parts are its runs of letters, kana or kanji
    // between separators; domain endings and generic words are no one's.
    stored.contains(&v) || parts(value).any(|p| stored.contains(&p))
}

/// Words of a value that identify someone on their own: two or more kana or kanji, or three or
/// more Latin letters, that are not a common domain word.
fn parts(value: &str) -> impl Iterator<Item = String> {
    const COMMON: [&str; 16] = [
        "com", "net", "org", "co", "jp", "ne", "example", "mail", "gmail", "yahoo", "docomo",
        "ezweb", "icloud", "outlook", "hotmail", "softbank",
    ];
    // Folded first, so a full-width ｃｏｍ is the com it stands for.
    normalize(value)
        .split(|c: char| !c.is_alphanumeric() || c.is_ascii_digit())
        .map(fold)
        .filter(|p| {
            let n = p.chars().count();
            let latin = p.is_ascii();
            (latin && n >= 3 || !latin && n >= 2) && !COMMON.contains(&p.as_str())
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// Whether a masked span covers an annotated value (either holds the other, folded).
fn covers(span: &str, value: &str) -> bool {
    let (s, v) = (fold(span), fold(value));
    let (sd, vd) = (digits_of(&s), digits_of(&v));
    // Numbers by their digits, whatever was said between the groups (080の、えー、2468).
    let by_digits = sd.len() >= 4 && vd.len() >= 4 && (sd.contains(&vd) || vd.contains(&sd));
    by_digits || (!s.is_empty() && !v.is_empty() && (s.contains(&v) || v.contains(&s)))
}

/// Masks and tags one interaction and compares the result with its annotation, if any.
pub fn audit(
    analyzer: &Analyzer,
    interaction: &Interaction,
    pii: Option<&[String]>,
) -> Result<LineAudit, AnalyzeError> {
    let raw = Analyzer::customer_text_unmasked(interaction);
    let mut spans: Vec<MaskedSpan> = detect(&raw)
        .into_iter()
        .map(|(r, kind)| MaskedSpan {
            kind,
            original: raw[r].to_string(),
        })
        .collect();
    let (doc, _) = Analyzer::customer_document(interaction);
    let morphemes = analyzer.tokenizer().tokenize(&doc)?;
    for r in name_spans(&doc, &morphemes, &|m| analyzer.is_own_word(m)) {
        spans.push(MaskedSpan {
            kind: PiiKind::Name,
            original: doc[r].to_string(),
        });
    }
    let analysis = analyzer.analyze(interaction)?;
    let tags = &analysis.tags;
    let mut stored = analysis.customer_text.clone();
    // A mark that folding keeps, so pieces do not run together (木 | 村 is not 木村).
    for piece in tags
        .keywords
        .iter()
        .chain(tags.evidence.iter().map(|e| &e.text))
    {
        stored.push('|');
        stored.push_str(piece);
    }
    let stored = fold(&stored);
    let values = pii.unwrap_or_default();
    let leaked = values
        .iter()
        .filter(|v| survives(v, &stored))
        .cloned()
        .collect();
    let false_positives = match pii {
        Some(values) => spans
            .iter()
            .filter(|s| !values.iter().any(|v| covers(&s.original, v)))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    Ok(LineAudit {
        interaction_id: tags.interaction_id.clone(),
        tokens: analyzer
            .tokenizer()
            .tokenize(&analysis.customer_text)?
            .len(),
        spans,
        leaked,
        false_positives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_survives_in_any_width_or_spacing_and_in_part() {
        let stored = fold("折り返しは０８０ー1234の5678まで");
        assert!(survives("080-1234-5678", &stored));
        assert!(survives("〇八〇一二三四五六七八", &stored));
        let partial = fold("番号は<TEL>5678です、下4桁 345678");
        assert!(survives("090-1234-5678", &partial));
        assert!(!survives("090-1234-5678", &fold("番号は<TEL>です")));
        assert!(survives("髙橋", &fold("髙橋さん")));
        assert!(!survives("髙橋", &fold("<NAME>さん")));
        // A short number only as a whole run: 737 is not in 17375.
        assert!(!survives("737", &fold("17375")));
        assert!(survives("737", &fold("コード 737")));
        // In part: the family name of a full name, the local part of an address.
        assert!(survives("山田 太郎", &fold("山田<NAME>様")));
        assert!(survives(
            "yamada.taro@example.com",
            &fold("yamada ドット <EMAIL>")
        ));
        assert!(!survives(
            "yamada.taro@example.com",
            &fold("<EMAIL>、example.comのサイト")
        ));
    }

    #[test]
    fn a_span_covers_a_value_when_either_holds_the_other() {
        assert!(covers("080の1234の5678", "080-1234-5678"));
        assert!(covers("髙橋", "髙橋 優子"));
        assert!(!covers("2026", "080-1234-5678"));
        assert!(covers("080の、2468の、1357", "080の、えー、2468の、1357"));
    }
}
