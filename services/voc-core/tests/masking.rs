//! Personal data through the whole analysis (`voc tag`): whatever surface form it takes, none of
//! it reaches the stored customer text, keywords or evidence.
//!
//! - every class of input reported to slip through (dictated, spaced, kanji and obfuscated forms;
//!   names without honorifics; ids glued to nouns) as a regression test with the right value;
//! - a property-based generator of personal data in every surface form, inside sentences, in
//!   customer and agent turns;
//! - the annotated corpora (`voc mask report`) held to their recorded floors;
//! - odd spellings of a text (BOM, variation selectors, spacing voicing marks, emoji sequences)
//!   tagged exactly as the clean one.

mod common;

use std::path::Path;

use proptest::prelude::*;
use voc_core::pii_eval::{self, Annotation, MaskReport, leaks};
use voc_core::{Analyzer, Limits, Tags, parse_message};

fn analyzer() -> &'static Analyzer {
    static A: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    A.get_or_init(common::analyzer)
}

fn message(id: &str, customer: &str, agent: &str) -> voc_core::Interaction {
    let v = serde_json::json!({
        "interaction_id": id, "channel": "phone", "occurred_at": "2026-11-22T10:00:00+09:00",
        "turns": [
            {"speaker": "agent", "text": agent},
            {"speaker": "customer", "text": customer},
        ]
    });
    parse_message(v.to_string().as_bytes(), &Limits::default()).expect("valid message")
}

/// Everything the analysis lets out of the masker: stored text, keywords, evidence.
fn stored(customer: &str) -> (String, Tags) {
    let a = analyzer()
        .analyze(&message(
            "m",
            customer,
            "ご本人確認のため、お名前とお電話番号をお願いします",
        ))
        .expect("analyse");
    let mut out = a.customer_text.clone();
    for k in &a.tags.keywords {
        out.push('|');
        out.push_str(k);
    }
    for e in &a.tags.evidence {
        out.push('|');
        out.push_str(&e.text);
    }
    (out, a.tags)
}

fn assert_masked(customer: &str, values: &[&str]) {
    let (out, _) = stored(customer);
    for v in values {
        assert!(!leaks(v, &out), "{v:?} leaked from {customer:?}: {out:?}");
    }
}

#[test]
fn numbers_dictated_group_by_group() {
    for (said, value) in [
        (
            "折り返しは080の1111の2222までお願いします",
            "080の1111の2222",
        ),
        ("06の1234の5678です", "06の1234の5678"),
        ("携帯は090ー1111ー2222です", "090ー1111ー2222"),
        ("えー、080の、えー、2468の、1357です", "08024681357"),
        (
            "番号はぜろきゅうぜろ、いちにさんよん、ごーろくななはちです",
            "09012345678",
        ),
        (
            "ゼロハチゼロ ヨンヨンロクイチ ニーサンキュウナナです",
            "08044612397",
        ),
    ] {
        assert_masked(said, &[value]);
    }
    let (out, _) = stored("折り返しは080の1111の2222までお願いします");
    assert!(out.starts_with("折り返しは<TEL>まで"), "{out}");
}

#[test]
fn numbers_with_spaces_around_or_inside_separators() {
    for (said, value) in [
        ("電話番号:080 - 1111 - 2222", "08011112222"),
        ("自宅は（03）1234 － 5678です", "0312345678"),
        ("0 9 0 1 1 1 1 2 2 2 2 に折り返してください", "09011112222"),
        ("０９０　１１１１　２２２２", "09011112222"),
    ] {
        assert_masked(said, &[value]);
    }
}

#[test]
fn kanji_numerals_alone_or_mixed() {
    for said in [
        "〇八〇－一一一一－二二二二に電話ください",
        "080の一一一一の2222です",
        "電話は〇九〇の一二三四の五六七八",
    ] {
        let (out, _) = stored(said);
        assert!(out.contains("<TEL>"), "{said} -> {out}");
        assert!(!out.contains("一一一一") && !out.contains("2222"), "{out}");
    }
}

#[test]
fn card_like_runs_are_never_stored_whatever_the_luhn_check_says() {
    for (said, value) in [
        ("カードは5555 5555 5555 4445です", "5555555555554445"),
        ("4242424242424242 12/28 で払いました", "4242424242424242"),
        ("番号 1234-5678-9012-3456 のカードです", "1234567890123456"),
        ("セキュリティコードは737です", "737"),
    ] {
        assert_masked(said, &[value]);
    }
}

#[test]
fn obfuscated_email_addresses() {
    for (said, value) in [
        ("連絡はhanako(at)example.jpまで", "hanako"),
        ("ichiro アットマーク example.com に送って", "ichiro"),
        ("jiro.sato ＠ example . co . jp です", "jiro.sato"),
        ("taro★example.ne.jp（★を@に）", "taro"),
        (
            "ケー、ドット、カトウ、アットマーク、イグザンプル、ドット、コムです",
            "カトウ",
        ),
    ] {
        assert_masked(said, &[value]);
    }
}

#[test]
fn names_without_honorifics_and_in_name_positions() {
    for (said, value) in [
        ("田中一郎です。請求が二重になっています", "田中"),
        ("私、佐々木です。解約したいです", "佐々木"),
        ("田中と申しますが、届いていません", "田中"),
        ("よろしくお願いします。\n--\n山田花子", "山田"),
        ("スズキ様の件で電話しました", "スズキ"),
        ("髙橋さんに対応してもらいました", "髙橋"),
        ("山﨑さんが担当でした", "山﨑"),
        ("わたなべ ゆうき と申します", "わたなべ"),
        ("名前はナカムラユイ、連絡ください", "ナカムラ"),
        ("佐籐です。電話がつながりません", "佐籐"),
    ] {
        let (out, tags) = stored(said);
        assert!(!leaks(value, &out), "{value} leaked from {said:?}: {out}");
        assert!(tags.keywords.iter().all(|k| !k.contains(value)), "{value}");
    }
    // Roles taking an honorific are not names.
    let (out, _) = stored("運転手さんとお客様と店員さんの対応が悪い");
    assert!(!out.contains("<NAME>"), "{out}");
    // Staff titles of other industries too: the tagger needs them to see who served.
    let (out, tags) = stored("仲居さんの心配りが細やかで、女将さんも親切でした");
    assert!(!out.contains("<NAME>"), "{out}");
    assert_eq!(tags.topics, ["agent_response"], "{out}");
}

#[test]
fn no_digits_of_an_identifier_and_no_noise_in_any_keyword() {
    for said in [
        "加湿器(注文番号 8812-3345)が壊れた",
        "型番KX-2200の掃除機が動かない",
        "通信障害?最悪",
        "🙅\u{200D}♀\u{FE0F}解約したい",
        "ょうかあっはいはい…",
        "?アプリが落ちる",
    ] {
        let (_, tags) = stored(said);
        for k in &tags.keywords {
            assert!(
                k.chars().filter(char::is_ascii_digit).count() <= 3,
                "{said}: {k}"
            );
            assert!(k.chars().all(|c| c.is_alphanumeric()), "{said}: {k}");
            assert!(!k.starts_with(['ょ', 'ー', '♀']), "{said}: {k}");
        }
    }
    let keywords = stored("加湿器(注文番号 8812-3345)が壊れた").1.keywords;
    assert!(keywords.contains(&"加湿器".to_string()), "{keywords:?}");
    assert!(
        keywords
            .iter()
            .all(|k| !k.contains("8812") && !k.contains("3345")),
        "{keywords:?}"
    );
}

/// Tags of a text, without the id (which differs by construction).
fn tags_of(customer: &str) -> Tags {
    let mut t = stored(customer).1;
    t.interaction_id.clear();
    t
}

#[test]
fn odd_spellings_are_tagged_like_clean_ones() {
    for (odd, clean) in [
        ("ロク゛インできない", "ログインできない"),
        ("ﾛｸﾞｲﾝできない", "ログインできない"),
        (
            "葛\u{E0100}飾の店で買った商品が壊れた",
            "葛飾の店で買った商品が壊れた",
        ),
        ("🙅\u{200D}♀\u{FE0F}解約したい", "解約したい"),
        ("請求が\u{200B}二重です", "請求が二重です"),
    ] {
        assert_eq!(tags_of(odd), tags_of(clean), "{odd}");
    }
    // A byte-order mark before the message is not part of it.
    let json =
        r#"{"interaction_id":"b","occurred_at":"2026-11-22T10:00:00+09:00","text":"届きません"}"#;
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat();
    let a = parse_message(&with_bom, &Limits::default()).expect("BOM accepted");
    let b = parse_message(json.as_bytes(), &Limits::default()).expect("valid");
    assert_eq!(a, b);
}

// ---- generated personal data in every surface form ----

fn digits_str(ds: &[u8]) -> String {
    ds.iter().map(|d| char::from(b'0' + d)).collect()
}

/// A digit in one of its spellings: ASCII, full-width, kanji, katakana or hiragana reading.
fn spell(d: u8, style: usize) -> String {
    const KANJI: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const KATA: [&str; 10] = [
        "ゼロ",
        "イチ",
        "ニ",
        "サン",
        "ヨン",
        "ゴ",
        "ロク",
        "ナナ",
        "ハチ",
        "キュウ",
    ];
    const HIRA: [&str; 10] = [
        "ぜろ",
        "いち",
        "に",
        "さん",
        "よん",
        "ご",
        "ろく",
        "なな",
        "はち",
        "きゅう",
    ];
    let d = usize::from(d);
    match style % 5 {
        0 => char::from(b'0' + d as u8).to_string(),
        1 => char::from_u32(0xFF10 + d as u32).map_or_else(String::new, String::from),
        2 => KANJI[d].to_string(),
        3 => KATA[d].to_string(),
        _ => HIRA[d].to_string(),
    }
}

const SEPARATORS: [&str; 12] = [
    "", "-", " ", "の", "ー", "－", " - ", "、", "　", ".", "の、", "‐",
];

/// A phone number (mobile or landline) as groups, said in one style with one separator.
fn phone() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(0..10u8, 11),
        0..2usize,
        0..5usize,
        0..SEPARATORS.len(),
    )
        .prop_map(|(mut ds, kind, style, sep)| {
            let sizes: &[usize] = if kind == 0 {
                ds[0] = 0;
                ds[1] = [9, 8, 7][usize::from(ds[1]) % 3];
                ds[2] = 0;
                &[3, 4, 4]
            } else {
                ds.truncate(10);
                ds[0] = 0;
                ds[1] = ds[1] % 9 + 1;
                &[2, 4, 4]
            };
            // Readings are said with a separator between groups, as speech recognition writes.
            let sep = if style >= 3 && SEPARATORS[sep].is_empty() {
                "、"
            } else {
                SEPARATORS[sep]
            };
            let mut at = 0;
            let groups: Vec<String> = sizes
                .iter()
                .map(|&n| {
                    at += n;
                    ds[at - n..at].iter().map(|&d| spell(d, style)).collect()
                })
                .collect();
            (groups.join(sep), digits_str(&ds))
        })
}

fn card() -> impl Strategy<Value = (String, String)> {
    (prop::collection::vec(0..10u8, 16), 0..2usize, 0..4usize).prop_map(|(ds, full, sep)| {
        let s = digits_str(&ds);
        let sep = ["", " ", "-", "　"][sep];
        let text = [&s[..4], &s[4..8], &s[8..12], &s[12..]].join(sep);
        let text = if full == 1 {
            text.chars()
                .map(|c| match c {
                    '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    c => c,
                })
                .collect()
        } else {
            text
        };
        (text, s)
    })
}

fn email() -> impl Strategy<Value = (String, String)> {
    (
        "[a-z]{3,8}(\\.[a-z]{2,6})?",
        "[a-z]{4,8}",
        0..8usize,
        0..3usize,
    )
        .prop_map(|(local, dom, at, tld)| {
            let at = [
                "@",
                "＠",
                "(at)",
                " アットマーク ",
                "[at]",
                " @ ",
                "★",
                "（アット）",
            ][at];
            let tld = ["com", "co.jp", "ne.jp"][tld];
            (format!("{local}{at}{dom}.{tld}"), local)
        })
}

fn name() -> impl Strategy<Value = (String, String)> {
    let family = prop::sample::select(vec![
        "田中",
        "佐藤",
        "鈴木",
        "髙橋",
        "渡邊",
        "山﨑",
        "齋藤",
        "スズキ",
        "タナカ",
    ]);
    let given = prop::sample::select(vec!["一郎", "花子", "美咲", "健太", ""]);
    (family, given, 0..6usize).prop_map(|(f, g, pos)| {
        let full = format!("{f}{g}");
        let said = match pos {
            0 => format!("{full}です。"),
            1 => format!("私、{f}です。"),
            2 => format!("{full}と申します。"),
            3 => format!("{f}様宛にお願いします。"),
            4 => format!("担当の{f}さんに伝えてください。"),
            _ => format!("名前は{full}です。"),
        };
        (said, f.to_string())
    })
}

fn around() -> impl Strategy<Value = (String, String)> {
    let before = prop::sample::select(vec![
        "",
        "えー、",
        "折り返しは",
        "連絡先は",
        "すみません、",
        "請求が二重です。",
    ]);
    let after = prop::sample::select(vec![
        "",
        "です",
        "までお願いします",
        "に電話ください。至急です",
        "、よろしく",
    ]);
    (before, after).prop_map(|(b, a)| (b.to_string(), a.to_string()))
}

proptest! {

    #[test]
    fn generated_personal_data_never_leaves_the_masker(
        (value_text, value) in prop_oneof![phone(), card(), email(), name()],
        (before, after) in around(),
        in_agent_turn: bool,
    ) {
        // A name comes in a sentence of its own (name() builds it); numbers and addresses inside
        // the sentences around them.
        let is_name = value_text.ends_with('。');
        let said = if is_name {
            format!("{}{value_text}", if before.ends_with(['、', '。']) { before.as_str() } else { "" })
        } else {
            format!("{before}{value_text}{after}")
        };
        // In an agent turn the text is never stored at all; in the customer's, it is masked.
        let (customer, agent) = if in_agent_turn {
            (format!("アプリが落ちます。{after}"), said.clone())
        } else {
            (said.clone(), "確認いたします".to_string())
        };
        let a = analyzer().analyze(&message("p", &customer, &agent)).expect("analyse");
        let mut out = a.customer_text.clone();
        for k in &a.tags.keywords { out.push('|'); out.push_str(k); }
        for e in &a.tags.evidence { out.push('|'); out.push_str(&e.text); }
        prop_assert!(!leaks(&value, &out), "{value:?} leaked from {said:?}: {out:?}");
    }
}

// ---- annotated corpora: the figures `voc mask report` prints, held to their floors ----

fn report(path: &Path) -> MaskReport {
    let text = std::fs::read_to_string(path).expect("annotated corpus");
    let mut r = MaskReport::default();
    for line in text.lines() {
        let msg = parse_message(line.as_bytes(), &Limits::default()).expect("valid message");
        let ann: Annotation = serde_json::from_str(line).expect("annotation");
        let pii = ann.pii.as_deref();
        let audit = pii_eval::audit(analyzer(), &msg, pii).expect("audit");
        r.add(&audit, pii.is_some(), pii.map_or(0, <[String]>::len));
    }
    r
}

#[test]
fn annotated_corpora_keep_their_floors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // (corpus, most leaky lines, most lines without personal data masked), as recorded in
    // data/eval/README.md from `voc mask report`. The blind half was never tuned on.
    for (file, max_leaky, max_clean_masked) in [
        ("tests/fixtures/pii-surface-forms.jsonl", 0, 0),
        ("data/eval/pii-tune.jsonl", 2, 2),
        ("data/eval/pii-blind.jsonl", 12, 0),
    ] {
        let r = report(&root.join(file));
        assert!(r.lines_with_pii > 50, "{file}: annotated lines missing");
        assert!(
            r.leaky_lines <= max_leaky,
            "{file}: {} lines leak personal data (floor {max_leaky})",
            r.leaky_lines
        );
        assert!(
            r.clean_lines_masked <= max_clean_masked,
            "{file}: {} lines without personal data masked (floor {max_clean_masked})",
            r.clean_lines_masked
        );
    }
}
