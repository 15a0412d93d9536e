//! Where a rule regex can start: the literals every one of its matches begins with.
//!
//! The matcher adds these literals to its one Aho-Corasick pass over the document, and runs a
//! regex only from the first place one of them occurs (or not at all). That replaces a pass of
//! all regexes at once (`RegexSet`, an overlapping DFA over the whole text), which cost 7 % of
//! the analysis (BENCHMARKS.md §1). The literals come from `regex-syntax`'s prefix extraction:
//! for a finite sequence of prefixes, every match of the regex begins with one of them.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// Up to this many characters in a class are expanded into literals (`[0-9０-９一二三…]`
/// yields one literal per character); a larger class (`[ぁ-ん]`) has no useful prefix.
const CLASS_CHARS: usize = 64;
/// At most this many prefixes per regex; beyond, prefixes are shortened or given up.
const TOTAL: usize = 500;

/// The prefixes of `pattern` (parsed as `regex::Regex::new` parses it), if every match must
/// begin with one of them and none is empty; `None` when the regex must be run over the whole
/// text: a prefix set too large, an empty prefix, a match that can be empty, or a pattern that
/// does not parse (the caller has already compiled it, so that would be a bug).
pub(crate) fn prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    if hir.properties().minimum_len().unwrap_or(0) == 0 {
        return None;
    }
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_class(CLASS_CHARS)
        .limit_total(TOTAL)
        .extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(p: &str) -> Option<Vec<String>> {
        prefixes(p).map(|v| {
            let mut s: Vec<String> = v
                .into_iter()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect();
            s.sort();
            s
        })
    }

    #[test]
    fn alternatives_and_small_classes_give_their_literals() {
        assert_eq!(
            strings("また(値上げ|止ま)"),
            Some(vec!["また値上げ".into(), "また止ま".into()])
        );
        let digits = strings("[0-9０-９]+円").unwrap();
        assert_eq!(digits.len(), 20);
        assert!(digits.iter().all(|d| d.chars().count() <= 2));
    }

    #[test]
    fn no_prefixes_where_a_match_could_start_anywhere() {
        // A large class, an optional start that can be empty, and an empty match.
        assert_eq!(strings("[ぁ-んァ-ヶ一-龯]方が"), None);
        assert_eq!(strings("(?m)x?$"), None);
        assert_eq!(strings("a*"), None);
    }

    /// The property the matcher relies on, over regexes shaped like the rules' (alternations,
    /// numeral classes, `(?m)` and `$`, gaps, `(?i)`): every match starts where one of the
    /// prefixes occurs. `rules::tests` checks it for every bundled regex over the labeled sets.
    #[test]
    fn every_match_starts_at_a_prefix() {
        let patterns = [
            "(経ちます|経った|経って)",
            "[0-9０-９一二三四五六七八九十何数]+(分|時間|日)(も|以上)(かか|待)",
            "(?m)((です|ます|ない|の|ん)か(ね|な)?|っけ)([。!?\n]|$)",
            "(どこ|どう|何)(で|から)?.{0,12}(でき|見れ)(ます|る)(か|\\?)",
            "(?i)(sns|x)(に|で)(書|晒)",
        ];
        let texts = [
            "三日も待ったのに、まだ届かないんですか?何時間以上かかるの",
            "どこでこれ確認できますか?10分もかかった。もう経ったっけ",
            "SNSに書きます。xで晒すからね。ないかな\nそうなんか",
        ];
        for p in patterns {
            let re = regex::Regex::new(p).unwrap();
            let pre = prefixes(p).unwrap_or_else(|| panic!("{p}: no prefixes"));
            for t in texts {
                for m in re.find_iter(t) {
                    assert!(
                        pre.iter().any(|l| t.as_bytes()[m.start()..].starts_with(l)),
                        "{p}: match {:?} in {t:?} starts at no prefix",
                        m.as_str()
                    );
                }
            }
        }
    }
}
