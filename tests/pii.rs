//! Personal data never reaches storage or logs: a corpus full of every pattern the masker claims
//! (ASCII, full-width and spaced variants; in customer and agent turns, in texts and in id fields)
//! and the annotated surface-form corpus (`tests/fixtures/pii-surface-forms.jsonl`: dictated,
//! spaced, kanji and obfuscated numbers and addresses, names without honorifics) go through the
//! real pipeline, then every cell of every ClickHouse table and every line of the worker's log are
//! scanned for any trace of it, in any width, spacing or spelling (`voc_core::pii_eval::Stored`).

use std::time::Duration;

use voc_core::pii_eval::Stored;
use voc_tests::pipeline::Pipeline;

/// (id, text, personal data in it) of the annotated surface-form corpus.
fn surface_forms() -> Vec<(String, String, Vec<String>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/pii-surface-forms.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("tests/fixtures/pii-surface-forms.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("fixture line");
            let s = |k: &str| v[k].as_str().expect("string field").to_string();
            let pii = v["pii"]
                .as_array()
                .expect("pii list")
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            (s("interaction_id"), s("text"), pii)
        })
        .filter(|(_, _, pii): &(_, _, Vec<String>)| !pii.is_empty())
        .collect()
}

/// (what is said, tell-tale fragments that must not be stored anywhere)
const PII: &[(&str, &[&str])] = &[
    ("電話番号は090-1234-5678です", &["1234-5678", "12345678"]),
    (
        "携帯は０８０－８７６５－４３２１です",
        &["8765", "４３２１"],
    ),
    ("自宅は03 2468 1357です", &["2468 1357", "24681357"]),
    ("海外からは+81-90-1357-9246です", &["1357-9246", "13579246"]),
    (
        "メールはtaro.yamada@example.co.jpです",
        &["taro.yamada", "example.co.jp"],
    ),
    (
        "連絡先：ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ",
        &["hanako", "ｈａｎａｋｏ"],
    ),
    (
        "カードは4111 1111 1111 1111です",
        &["1111 1111", "4111111111111111"],
    ),
    (
        "カード番号５５００－００００－００００－０００４",
        &["5500-0000", "５５００－００００", "5500000000000004"],
    ),
    ("〒150-0002に送ってください", &["150-0002"]),
    (
        "マイナンバーは1234 5678 9018です",
        &["9018", "123456789018"],
    ),
    ("住所は東京都渋谷区渋谷2-21-1です", &["渋谷2-21", "2-21-1"]),
    ("山田太郎様宛にお願いします", &["山田", "太郎"]),
    // A typo: one digit too many. Still somebody's phone number.
    ("折り返しは090-2468-13579まで", &["2468-1357", "24681357"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_any_table_or_log() {
    let p = Pipeline::new(2);
    p.migrate();
    let w = p.spawn_worker("pii");
    let mut messages = Vec::new();
    for (i, (said, _)) in PII.iter().enumerate() {
        messages.push(serde_json::json!({
            "interaction_id": format!("pii-turns-{i}"), "channel": "phone", "occurred_at": "2026-11-22T10:00:00+09:00",
            "product": "hikari-net", "customer_id": "090-1234-5678", "agent_id": "taro.yamada@example.co.jp",
            "turns": [
                {"speaker": "agent", "text": format!("確認します。{said}")},
                {"speaker": "customer", "text": format!("請求が二重です。{said}。至急確認してください")},
            ]
        }));
        messages.push(serde_json::json!({
            "interaction_id": format!("pii-text-{i}"), "channel": "email", "occurred_at": "2026-11-22T11:00:00+09:00",
            "text": format!("アプリにログインできません。{said}")
        }));
    }
    // Every surface form in a customer turn and an agent turn; its numbers also in the id fields.
    let forms = surface_forms();
    for (id, text, pii) in &forms {
        // Numbers that are personal data by their shape (a phone number, a card number); a
        // membership number of up to 12 digits in an id field is that id, kept on purpose
        // (`mask_identifier`).
        let number = pii.iter().find(|v| {
            let d: String = v.chars().filter(char::is_ascii_digit).collect();
            d.len() >= 6 && (d.starts_with('0') || d.len() > 12)
        });
        messages.push(serde_json::json!({
            "interaction_id": format!("sf-{id}"), "channel": "phone",
            "occurred_at": "2026-11-22T12:00:00+09:00", "product": "hikari-net",
            "customer_id": number, "queue": number,
            "turns": [
                {"speaker": "agent", "text": format!("復唱します。{text}")},
                {"speaker": "customer", "text": format!("アプリにログインできません。{text}")},
            ]
        }));
    }
    p.produce(&messages);
    p.wait_for("all stored", Duration::from_secs(120), || {
        p.stored() == messages.len() as u64
    });
    std::thread::sleep(Duration::from_secs(1));

    let tables = p.ch.q(&format!(
        "SELECT name FROM system.tables WHERE database = '{}'",
        p.db
    ));
    // Every column but numbers and times: a version in milliseconds can hold "8765" by chance,
    // and personal data is text.
    let mut dump = String::new();
    for table in tables.lines() {
        let columns = p.ch.q(&format!(
            "SELECT name FROM system.columns WHERE database = '{}' AND table = '{table}' \
             AND NOT match(type, '^(Nullable[(])?(U?Int|Float|Decimal|Date|DateTime|Enum|AggregateFunction)')",
            p.db
        ));
        let columns: Vec<String> = columns.lines().map(|c| format!("`{c}`")).collect();
        if columns.is_empty() {
            continue;
        }
        dump.push_str(&p.ch.q(&format!(
            "SELECT {} FROM {}.`{table}` FORMAT TSV",
            columns.join(", "),
            p.db
        )));
    }
    assert!(
        dump.contains("<TEL>") && dump.contains("<EMAIL>") && dump.contains("<CARD>"),
        "the masked text is stored"
    );
    let log = std::fs::read_to_string(&w.log).unwrap_or_default();
    for (said, fragments) in PII {
        for f in *fragments {
            let at = dump.find(f);
            assert!(
                at.is_none(),
                "{f:?} (from {said:?}) is stored in ClickHouse: {:?}",
                at.map(|i| dump[..i].chars().rev().take(80).collect::<String>())
            );
            assert!(
                !log.contains(f),
                "{f:?} (from {said:?}) is in the worker log"
            );
        }
    }
    // The surface forms, in every cell and every log line, however they are spelt.
    // Numeric columns (counts, scores, averages such as 0.2222222) and binary aggregate states
    // (uniqExact hashes) hold no text: their digits would only match a number's by chance.
    let binary = |c: &str| {
        c.chars()
            .any(|x| x == '\u{FFFD}' || (x.is_control() && x != '\n'))
    };
    // Numbers are checked apart below: the text columns that may hold one are known.
    let numeric = |c: &str| c.parse::<f64>().is_ok() || matches!(c, "nan" | "inf" | "-inf");
    let cells: Vec<(&str, Stored)> = dump
        .split(['\t', '\n'])
        .filter(|c| !c.is_empty() && !numeric(c) && !binary(c))
        .map(|c| (c, Stored::new(c)))
        .collect();
    let lines: Vec<Stored> = log.lines().map(Stored::new).collect();
    // The id columns the surface forms were sent in, whole numbers included (a card number
    // stored raw there would parse as a number above).
    let ids = p.ch.q(&format!(
        "SELECT customer_id, queue, agent_id, product FROM {}.interactions FORMAT TSV",
        p.db
    ));
    let id_cells: Vec<(&str, Stored)> = ids
        .split(['\t', '\n'])
        .filter(|c| !c.is_empty())
        .map(|c| (c, Stored::new(c)))
        .collect();
    let mut values = 0;
    for (id, _, pii) in &forms {
        // Every cell is searched for every value, across messages: a value of two characters
        // (はな) or a three-digit code would match other words (ではなく) and ids (sf-pf-123).
        // Those are checked message by message in voc-core's tests/masking.rs.
        for v in pii.iter().filter(|v| v.chars().count() >= 4) {
            values += 1;
            let cell = cells.iter().chain(&id_cells).find(|(_, c)| c.holds(v));
            assert!(
                cell.is_none(),
                "{v:?} (surface form {id}) is stored in ClickHouse: {:?}",
                cell.map(|(raw, _)| raw)
            );
            assert!(
                !lines.iter().any(|l| l.holds(v)),
                "{v:?} (surface form {id}) is in the worker log"
            );
        }
    }
    assert!(
        values > 150,
        "the surface-form corpus was read ({values} values)"
    );
    assert!(w.terminate().success());
}
