//! Text normalisation: one canonical form for everything downstream (masking, tokenising, rules).
//!
//! NFKC folds full-width ASCII and half-width katakana; control, zero-width and bidi characters are
//! dropped (they hide text from rules and can reorder what a reader sees), and so are ideographic
//! variation selectors (葛󠄀 is 葛) and emoji ZWJ sequences, whole (🙅‍♀️ leaves nothing behind);
//! spacing voicing marks join the kana before them (ロク゛イン is ログイン); runs of repeated marks
//! (！！！, ーーー, 。。。) and whitespace collapse. Spoken-Japanese clean-up removes fillers
//! (えー, あのー, えっと, まあ) and recognises あいづち turns (はい, ええ alone).

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Characters removed outright: zero-width and bidirectional formatting controls.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        // Combining enclosing keycap (0️⃣ is 0), tag characters, ideographic variation selectors.
        | '\u{20E3}' | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}'
        // Emoji skin tones: the emoji stays, its tone says nothing about the customer's view.
        | '\u{1F3FB}'..='\u{1F3FF}'
        // Combining voicing marks left over when NFKC found no kana to compose them with.
        | '\u{3099}' | '\u{309A}')
}

/// Spacing voicing marks (゛ ゜ and half-width ﾞ ﾟ) typed after a kana, as old input methods and
/// OCR do: their combining forms, which NFKC composes with the kana (ク + ゛ → グ). NFKC alone maps
/// ゛ to a space plus the combining mark, which splits the word.
fn combining_voicing(c: char) -> char {
    match c {
        '\u{309B}' | '\u{FF9E}' => '\u{3099}',
        '\u{309C}' | '\u{FF9F}' => '\u{309A}',
        c => c,
    }
}

/// Emoji and the marks that build emoji sequences (Unicode Extended_Pictographic, approximated by
/// its blocks).
fn is_pictographic(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2300}'..='\u{23FF}'
        | '\u{2B00}'..='\u{2BFF}' | '\u{2190}'..='\u{21FF}' | '\u{3030}' | '\u{303D}'
        | '\u{3297}' | '\u{3299}' | '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}'
        | '\u{2122}' | '\u{2139}')
}

/// Parts of an emoji sequence other than the pictographs: ZWJ, variation selectors, skin tones, tags.
fn is_emoji_joiner(c: char) -> bool {
    matches!(c,
        '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
}

/// Removes every emoji ZWJ sequence whole (🙅‍♀️, 👨‍👩‍👧): with the joiner dropped alone, its parts
/// (♀) would glue onto the next word. Single emoji stay.
fn drop_zwj_sequences(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\u{200D}') {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_pictographic(c) || c == '\u{200D}' {
            let mut j = i;
            while j < chars.len() && (is_pictographic(chars[j]) || is_emoji_joiner(chars[j])) {
                j += 1;
            }
            if chars[i..j].contains(&'\u{200D}') {
                i = j;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Marks whose runs carry emphasis, not meaning: ！！！ and ーーー become one.
fn collapses(c: char) -> bool {
    matches!(
        c,
        '!' | '?'
            | '。'
            | '、'
            | '.'
            | ','
            | '・'
            | '~'
            | 'ー'
            | '-'
            | '…'
            | '♪'
            | '☆'
            | '★'
            | '*'
    )
}

/// Canonical form of one piece of text. Idempotent: `normalize(&normalize(x)) == normalize(x)`.
pub fn normalize(text: &str) -> String {
    let once = normalize_pass(text);
    // A pass leaves no control, invisible or doubled mark behind, so its output is a fixed point
    // whenever it is already NFKC: the usual case, checked without a second full pass.
    if plainly_nfkc(&once) || unicode_normalization::is_nfkc(&once) {
        return once;
    }
    // NFKC can (rarely) compose characters that the collapse step brought together; another pass
    // reaches the fixed point, which is what makes the function idempotent.
    let twice = normalize_pass(&once);
    if twice == once {
        once
    } else {
        normalize_pass(&twice)
    }
}

/// Whether every character is one NFKC leaves alone and that never composes with a neighbour
/// (ASCII, kana, the common CJK ideographs and Japanese punctuation): then NFKC is the identity,
/// known from range checks alone. Most turns are like this.
fn plainly_nfkc(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c,
            '\n' | ' '..='~'
            | '\u{3001}'..='\u{3002}' // 、。
            | '\u{300C}'..='\u{300F}' // 「」『』
            | '\u{301C}'               // 〜
            | '\u{3041}'..='\u{3096}' // hiragana
            | '\u{30A1}'..='\u{30FC}' // katakana, ・, ー
            | '\u{4E00}'..='\u{9FFF}') // CJK unified ideographs
    })
}

fn normalize_pass(text: &str) -> String {
    if plainly_nfkc(text) {
        clean(text.chars(), text.len())
    } else {
        let text = drop_zwj_sequences(text);
        clean(text.chars().map(combining_voicing).nfkc(), text.len())
    }
}

/// Whitespace, controls, invisible characters and repeated marks, over NFKC characters.
fn clean(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len);
    for c in chars {
        // Kana, ideographs, ASCII letters and digits (most of a turn) are kept as they are: none
        // is whitespace, a control, invisible or a collapsing mark (ー and ・ are left out).
        if matches!(c, 'a'..='z' | 'A'..='Z' | '0'..='9'
            | '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{4E00}'..='\u{9FFF}')
        {
            out.push(c);
            continue;
        }
        let c = match c {
            // Line breaks separate sentences; every other whitespace or control is a space.
            '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{0085}' => '\n',
            c if c.is_whitespace() || c.is_control() => ' ',
            c if is_invisible(c) => continue,
            c => c,
        };
        let last = out.chars().next_back();
        match c {
            ' ' if matches!(last, None | Some(' ' | '\n')) => continue,
            '\n' => {
                if last == Some(' ') {
                    out.pop();
                }
                if matches!(out.chars().next_back(), None | Some('\n')) {
                    continue;
                }
            }
            c if collapses(c) && last == Some(c) => continue,
            _ => {}
        }
        out.push(c);
    }
    while out.ends_with([' ', '\n']) {
        out.pop();
    }
    out
}

/// The spoken-Japanese word lists (`config/normalize/ja.toml`): fillers and backchannels.
pub const NORMALIZE_LEXICON: &str = include_str!("../../../config/normalize/ja.toml");

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpokenLexicon {
    fillers: Vec<String>,
    backchannels: Vec<String>,
}

static SPOKEN: LazyLock<SpokenLexicon> = LazyLock::new(|| {
    toml::from_str(NORMALIZE_LEXICON).expect("config/normalize/ja.toml is a valid word list")
});

/// The backchannels as a set: every customer turn is checked against them.
static BACKCHANNELS: LazyLock<foldhash::HashSet<&'static str>> =
    LazyLock::new(|| SPOKEN.backchannels.iter().map(String::as_str).collect());

/// Spoken fillers, matched only where they stand alone: at the start or after a pause.
static FILLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(^|[、。,.!?\s])(?:{})[、,\s]*",
        SPOKEN.fillers.join("|")
    ))
    .expect("config/normalize/ja.toml: fillers are valid regular expressions")
});

/// Removes spoken fillers (えー, あのー, えっと, まあ, うーん) from a transcript turn.
pub fn strip_fillers(text: &str) -> String {
    let mut current = text.to_string();
    // Fillers come in runs (えー、あのー、); each pass removes the non-overlapping ones.
    for _ in 0..4 {
        let next = FILLER.replace_all(&current, "$1").into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current.trim_start_matches(['、', ',', ' ']).to_string()
}

/// Whether a turn is nothing but acknowledgement (はい, ええ, うん, そうですね, なるほど: the
/// `backchannels` of `config/normalize/ja.toml`).
pub fn is_backchannel(text: &str) -> bool {
    let mut any = false;
    for piece in text.split(|c: char| "、。,.!?~ー… ".contains(c)) {
        if piece.is_empty() {
            continue;
        }
        if !BACKCHANNELS.contains(piece) {
            return false;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `clean` keeps these characters without looking at them: that is right only if none of
    /// them is something it would change.
    #[test]
    fn the_characters_clean_keeps_unseen_need_no_cleaning() {
        let kept = ('a'..='z')
            .chain('A'..='Z')
            .chain('0'..='9')
            .chain('\u{3041}'..='\u{3096}')
            .chain('\u{30A1}'..='\u{30FA}')
            .chain('\u{4E00}'..='\u{9FFF}');
        for c in kept {
            assert!(
                !(c.is_whitespace() || c.is_control() || is_invisible(c) || collapses(c)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn the_plain_ranges_are_nfkc_stable_alone_and_in_pairs() {
        let plain: Vec<char> = ('\0'..='\u{FFFF}')
            .filter(|c| plainly_nfkc(&c.to_string()))
            .collect();
        assert!(plain.len() > 20_000);
        for c in &plain {
            let s = c.to_string();
            assert_eq!(s.nfkc().collect::<String>(), s, "U+{:04X}", *c as u32);
        }
        // No two of them compose: sample every kana and punctuation mark against each other.
        let small: Vec<char> = plain.iter().copied().filter(|c| *c < '\u{4E00}').collect();
        for a in &small {
            for b in &small {
                let s: String = [*a, *b].into_iter().collect();
                assert_eq!(s.nfkc().collect::<String>(), s);
            }
        }
    }
    use proptest::prelude::*;

    #[test]
    fn folds_width_and_collapses_runs() {
        assert_eq!(normalize("ＡＢＣ１２３ ｶﾀｶﾅ"), "ABC123 カタカナ");
        assert_eq!(normalize("最悪！！！すごーーーい。。"), "最悪!すごーい。");
        assert_eq!(normalize("  a \t\u{3000} b \n\n\n c  "), "a b\nc");
    }

    #[test]
    fn odd_spellings_of_the_same_word_come_out_the_same() {
        // Spacing and half-width voicing marks join the kana before them.
        assert_eq!(normalize("ロク゛イン"), "ログイン");
        assert_eq!(normalize("ﾛｸﾞｲﾝ"), "ログイン");
        assert_eq!(normalize("ロクﾞイン"), "ログイン");
        assert_eq!(normalize("ヘ゜ージ"), "ページ");
        assert_eq!(normalize("ア゛"), "ア");
        // Ideographic variation selectors and tags change the glyph, not the word.
        assert_eq!(normalize("葛\u{E0100}飾区の髙\u{E0101}橋"), "葛飾区の髙橋");
        // An emoji ZWJ sequence goes whole; a single emoji stays; a keycap is its digit.
        assert_eq!(normalize("🙅\u{200D}♀\u{FE0F}解約"), "解約");
        assert_eq!(normalize("👨\u{200D}👩\u{200D}👧 家族割"), "家族割");
        assert_eq!(normalize("👍🏽最高"), "👍最高");
        assert_eq!(normalize("0\u{FE0F}\u{20E3}9\u{FE0F}\u{20E3}"), "09");
    }

    #[test]
    fn drops_invisible_and_control_characters() {
        assert_eq!(
            normalize("請\u{200B}求\u{202E}が\u{0007}二重"),
            "請求が 二重"
        );
        assert_eq!(normalize("\u{FEFF}届かない"), "届かない");
    }

    #[test]
    fn strips_fillers_but_not_demonstratives() {
        assert_eq!(strip_fillers("えー、あのー、請求がですね"), "請求がですね");
        assert_eq!(strip_fillers("えっと 解約したいです"), "解約したいです");
        assert_eq!(
            strip_fillers("あの商品が届きません"),
            "あの商品が届きません"
        );
        assert_eq!(
            strip_fillers("まあ、いいです。うーん、でも高い"),
            "いいです。でも高い"
        );
    }

    #[test]
    fn recognises_backchannel_turns() {
        assert!(is_backchannel("はい。"));
        assert!(is_backchannel("はい、はい"));
        assert!(is_backchannel("ええ、そうですね"));
        assert!(!is_backchannel("はい、再起動してもだめです。"));
        assert!(!is_backchannel(""));
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,80}|[ 　\\t\\n！？ーｶﾞ゛ﾞ\u{3099}a-zＡ-Ｚ０-９。、]{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn normalize_leaves_no_invisible_or_control(s in "\\PC{0,40}[\u{200B}-\u{200F}\u{202A}-\u{202E}\u{0000}-\u{001F}]{1,5}\\PC{0,40}") {
            let out = normalize(&s);
            prop_assert!(!out.chars().any(|c| is_invisible(c) || (c.is_control() && c != '\n')));
        }

        #[test]
        fn strip_fillers_never_grows_text(s in "\\PC{0,60}") {
            prop_assert!(strip_fillers(&s).len() <= s.len());
        }
    }
}
