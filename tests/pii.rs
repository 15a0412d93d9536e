//! Personal data never reaches storage or logs: a corpus full of every pattern the masker claims
//! (ASCII, full-width and spaced variants; in customer and agent turns, in texts and in id fields)
//! goes through the real pipeline, then every ClickHouse table of the database and the worker's
//! log are scanned for any trace of it.

use std::time::Duration;

use voc_tests::pipeline::Pipeline;

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
        &["5500", "５５００"],
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
    p.produce(&messages);
    p.wait_for("all stored", Duration::from_secs(120), || {
        p.stored() == messages.len() as u64
    });
    std::thread::sleep(Duration::from_secs(1));

    let tables = p.ch.q(&format!(
        "SELECT name FROM system.tables WHERE database = '{}'",
        p.db
    ));
    let mut dump = String::new();
    for table in tables.lines() {
        dump.push_str(
            &p.ch
                .q(&format!("SELECT * FROM {}.`{table}` FORMAT TSV", p.db)),
        );
    }
    assert!(
        dump.contains("<TEL>") && dump.contains("<EMAIL>") && dump.contains("<CARD>"),
        "the masked text is stored"
    );
    let log = std::fs::read_to_string(&w.log).unwrap_or_default();
    for (said, fragments) in PII {
        for f in *fragments {
            assert!(
                !dump.contains(f),
                "{f:?} (from {said:?}) is stored in ClickHouse"
            );
            assert!(
                !log.contains(f),
                "{f:?} (from {said:?}) is in the worker log"
            );
        }
    }
    assert!(w.terminate().success());
}
