//! `voc tag` and `voc eval` as a user runs them (docs/CONTRACT.md §2–3): good lines tagged in order,
//! bad lines reported on stderr with their line number, exit code 1 when anything was rejected.

use voc_tests::{json_lines, run_voc};

const GOOD: &str = r#"{"interaction_id":"a1","channel":"chat","occurred_at":"2026-11-22T10:00:00+09:00","turns":[{"speaker":"customer","text":"ログインできません。"}]}"#;
const GOOD2: &str = r#"{"interaction_id":"a2","channel":"review","occurred_at":"2026-11-22T10:00:00Z","text":"とても使いやすくて満足しています。"}"#;

fn valid_with_text(id: &str, text: &str) -> String {
    serde_json::json!({"interaction_id": id, "occurred_at": "2026-11-22T10:00:00+09:00", "text": text}).to_string()
}

#[test]
fn tags_every_good_line_in_input_order_with_the_contract_fields() {
    let out = run_voc(&["tag"], format!("{GOOD}\n{GOOD2}\n").as_bytes(), &[]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["interaction_id"], "a1");
    assert_eq!(rows[1]["interaction_id"], "a2");
    let fields = [
        "interaction_id",
        "topics",
        "voice_type",
        "complaint_type",
        "sentiment",
        "sentiment_score",
        "severity",
        "churn_risk",
        "keywords",
        "evidence",
        "rules_version",
    ];
    for f in fields {
        assert!(rows[0].get(f).is_some(), "missing {f} in {}", rows[0]);
    }
    assert_eq!(rows[0]["voice_type"], "complaint");
    assert_eq!(rows[1]["sentiment"], "positive");
}

#[test]
fn bad_lines_are_reported_with_their_number_and_the_rest_is_tagged() {
    let mut input: Vec<u8> = Vec::new();
    let lines: Vec<Vec<u8>> = vec![
        GOOD.as_bytes().to_vec(),                                                     // 1
        b"{not json".to_vec(),                                                        // 2
        b"{\"interaction_id\":\"x\",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"text\":\"\xff\xfe\"}".to_vec(), // 3: invalid UTF-8
        br#"{"occurred_at":"2026-11-22T10:00:00Z","text":"a"}"#.to_vec(),            // 4: missing id
        br#"{"interaction_id":"c","occurred_at":"2026-11-22T10:00:00Z","channel":"fax","text":"a"}"#.to_vec(), // 5
        br#"{"interaction_id":"d","occurred_at":"yesterday","text":"a"}"#.to_vec(),  // 6
        br#"{"interaction_id":"e","occurred_at":"2026-11-22T10:00:00Z"}"#.to_vec(),  // 7: no content
        valid_with_text("ctl", "請求が\u{0000}\u{0007}\u{202e}二重です").into_bytes(),  // 8: control chars: fine
        GOOD2.as_bytes().to_vec(),                                                    // 9
    ];
    for l in &lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let out = run_voc(&["tag", "-"], &input, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "any rejected line makes the exit code 1"
    );
    let tagged: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|r| r["interaction_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(tagged, ["a1", "ctl", "a2"]);
    let errors = json_lines(&out.stderr);
    let numbers: Vec<u64> = errors
        .iter()
        .map(|e| e["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(numbers, [2, 3, 4, 5, 6, 7]);
    let reasons: Vec<&str> = errors
        .iter()
        .map(|e| e["error"].as_str().unwrap_or(""))
        .collect();
    assert!(reasons[1].contains("UTF-8"), "{reasons:?}");
    assert!(reasons[2].contains("interaction_id"), "{reasons:?}");
    assert!(reasons[3].contains("fax"), "{reasons:?}");
    assert!(reasons[4].contains("occurred_at"), "{reasons:?}");
    assert!(reasons[5].contains("neither"), "{reasons:?}");
}

#[test]
fn huge_and_deeply_nested_lines_are_rejected_without_a_crash() {
    let huge = valid_with_text("big", &"あ".repeat(2_000_000)); // ~6 MB, over the 1 MiB default
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let input = format!("{huge}\n{deep}\n{GOOD}\n");
    let out = run_voc(&["tag"], input.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json_lines(&out.stdout).len(),
        1,
        "the good line is still tagged"
    );
    let errors = json_lines(&out.stderr);
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("over the limit"),
        "{errors:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_long_turn_is_truncated_not_rejected() {
    let long = valid_with_text(
        "long",
        &format!("アプリが起動しません。{}", "とても".repeat(10_000)),
    );
    let out = run_voc(&["tag"], long.as_bytes(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out.stdout)[0]["voice_type"], "complaint");
}

#[test]
fn an_empty_input_is_not_an_error() {
    let out = run_voc(&["tag"], b"\n\n", &[]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn an_invalid_rules_file_fails_at_start_up_naming_file_line_and_rule() {
    let dir = std::env::temp_dir().join(format!("voc-cli-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    // A mistake in one part of the bundled rules, as a support lead would make it in a copy.
    let path = voc_tests::copy_bundled_rules(&dir);
    let part = dir.join("ja-contact-center/rules.toml");
    let bundled = std::fs::read_to_string(&part).expect("rules part");
    let broken = bundled.replacen("  \"ポイント\",", "  \"/(ポイント/\",", 1);
    assert_ne!(broken, bundled, "the fixture edit must apply");
    std::fs::write(&part, &broken).expect("write rules");
    let line = broken
        .lines()
        .position(|l| l.contains("/(ポイント/"))
        .expect("edited line")
        + 1;

    let out = run_voc(
        &["tag", "--rules", path.to_str().expect("utf-8 path")],
        GOOD.as_bytes(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("ja-contact-center/rules.toml:{line}:")),
        "the error names the part and its line: {stderr}"
    );
    assert!(stderr.contains("campaign_points.points"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let check = run_voc(
        &["rules", "check", path.to_str().expect("utf-8 path")],
        b"",
        &[],
    );
    assert_eq!(check.status.code(), Some(2));
    let ok = run_voc(
        &[
            "rules",
            "check",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../config/rules/ja-contact-center.toml"
            ),
        ],
        b"",
        &[],
    );
    assert!(ok.status.success());
}

#[test]
fn a_missing_dictionary_says_what_to_do() {
    let out = run_voc(
        &["tag"],
        GOOD.as_bytes(),
        &[("VOC_DICT", "/nonexistent/dict")],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/dict"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const SETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/sets.toml");

/// The quality floors: every labeled set's headline figures stay within the manifest's tolerance
/// of the ones recorded in `data/eval/sets.toml` (`voc eval --record` after an improvement).
#[test]
fn quality_floors_hold_on_every_labeled_set() {
    let out = run_voc(&["eval", "--sets", SETS, "--check", "--json"], b"", &[]);
    let report = &json_lines(&out.stdout)[0];
    assert!(
        out.status.success(),
        "figures fell below their floors: {}\n{}",
        report["regressions"],
        String::from_utf8_lossy(&out.stderr)
    );
    let sets = report["sets"].as_object().expect("sets");
    assert!(sets.len() >= 6, "{sets:?}");
    for (name, figures) in sets {
        assert!(figures["items"].as_u64().unwrap_or(0) >= 50, "{name}");
    }
}

/// `--check` can fail: a manifest recording a better figure than the rules reach is a regression.
#[test]
fn the_floor_check_fails_when_a_figure_drops() {
    let dir = std::env::temp_dir().join(format!("voc-floors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dev = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/dev.jsonl");
    let manifest = dir.join("sets.toml");
    std::fs::write(
        &manifest,
        format!(
            "tolerance = 0.02\n[[set]]\nname = \"dev\"\nfile = {dev:?}\nrole = \"dev\"\n\
             [set.recorded]\ncomplaints_without_topic = -1.0\n"
        ),
    )
    .expect("manifest");
    let out = run_voc(
        &[
            "eval",
            "--sets",
            manifest.to_str().expect("utf-8"),
            "--check",
        ],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("REGRESSION dev (dev): complaints_without_topic"),
        "{stdout}"
    );
}

/// The README's example: a company extends the default rules with its product names and a topic.
#[test]
fn a_company_file_extends_the_default_rules() {
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/rules/examples/acme-denki.toml"
    );
    let out = run_voc(&["rules", "check", rules], b"", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("acme-denki@1+ja-contact-center@"),
        "{stdout}"
    );
    assert!(stdout.contains("+ added    acme.ev_charging"), "{stdout}");
    let input = format!(
        "{}\n{}\n",
        valid_with_text("e1", "ホームチャージャーで充電できない"),
        valid_with_text("e2", "ソラカが走行中に止まった")
    );
    let out = run_voc(&["tag", "--rules", rules], input.as_bytes(), &[]);
    let lines = json_lines(&out.stdout);
    assert_eq!(
        lines[0]["topics"],
        serde_json::json!(["product", "ev_charging"]),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1]["topics"],
        serde_json::json!(["product"]),
        "{}",
        lines[1]
    );
    assert_eq!(lines[1]["voice_type"], "complaint");
    let by_class = |tags: &serde_json::Value| {
        tags["evidence"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x["rule"] == "generic.thing_failed.topic"))
    };
    assert!(by_class(&lines[1]), "{}", lines[1]);
    // Without the company's rules its product name means nothing: no EV topic, and the
    // product is not recognised as a thing that failed.
    let out = run_voc(&["tag"], input.as_bytes(), &[]);
    let plain = json_lines(&out.stdout);
    assert_eq!(
        plain[0]["topics"],
        serde_json::json!(["product"]),
        "{}",
        plain[0]
    );
    assert!(!by_class(&plain[1]), "{}", plain[1]);
}

#[test]
fn with_text_shows_the_customer_text_exactly_as_it_would_be_stored() {
    let input = format!(
        "\u{FEFF}{}\n{}\n",
        valid_with_text("m1", "折り返しは080の1111の2222、田中と申します"),
        valid_with_text("m2", "ﾛｸﾞｲﾝできません"),
    );
    let out = run_voc(&["tag", "--with-text"], input.as_bytes(), &[]);
    assert!(
        out.status.success(),
        "a BOM before the first line is no error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out.stdout);
    assert_eq!(
        rows[0]["customer_text"],
        "折り返しは<TEL>、<NAME>と申します"
    );
    assert_eq!(rows[1]["customer_text"], "ログインできません");
    // Without the flag the contract's fields only.
    let plain = run_voc(&["tag"], input.as_bytes(), &[]);
    assert!(json_lines(&plain.stdout)[0].get("customer_text").is_none());
}

#[test]
fn mask_report_counts_leaks_and_false_positives_of_annotated_lines() {
    let dir = std::env::temp_dir().join(format!("voc-mask-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let annotated = |id: &str, text: &str, pii: &[&str]| {
        serde_json::json!({"interaction_id": id, "occurred_at": "2026-11-22T10:00:00+09:00",
                           "text": text, "pii": pii})
        .to_string()
    };
    let file = dir.join("annotated.jsonl");
    std::fs::write(
        &file,
        [
            annotated("a", "電話は090-1234-5678です", &["090-1234-5678"]),
            // Not masked by any rule: an annotated value that leaks.
            annotated("b", "合言葉はやまびこです", &["やまびこ"]),
            // Nothing personal, but a long number is masked: a false positive.
            annotated("c", "JANコード4901234567894の商品", &[]),
        ]
        .join("\n"),
    )
    .expect("write");
    let out = run_voc(&["mask", "report", "--json"], b"", &[]);
    assert!(!out.status.success(), "a file is required");
    let path = file.to_str().expect("utf-8 path");
    let out = run_voc(&["mask", "report", "--json", path], b"", &[]);
    assert_eq!(out.status.code(), Some(1), "a leak exits 1");
    let r = &json_lines(&out.stdout)[0];
    assert_eq!(r["lines_with_pii"], 2);
    assert_eq!(r["leaky_lines"], 1);
    assert_eq!(r["clean_lines_masked"], 1);
    assert_eq!(r["masked"]["TEL"], 1);
    // --reveal names what leaked and what was masked needlessly.
    let out = run_voc(&["mask", "report", "--reveal", path], b"", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LEAK\tb\tやまびこ"), "{text}");
    assert!(
        text.contains("FALSE POSITIVE\tc\t<CARD>\t4901234567894"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
