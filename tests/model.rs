//! `voc model train` as a company runs it: fit the model on its own labeled voices, name it in
//! its rules (`[model] file`), and the tagger adds what the rules missed, with the model named
//! in the evidence.

use voc_tests::{json_lines, run_voc};

/// A labeled voice in the message format.
fn labeled(id: usize, text: &str, complaint: bool) -> String {
    let labels = if complaint {
        serde_json::json!({"topics": ["product"], "voice_type": "complaint",
            "complaint_type": if id.is_multiple_of(2) { "quality" } else { "delay" },
            "sentiment": "negative", "severity": 1, "churn_risk": false})
    } else {
        serde_json::json!({"topics": [], "voice_type": "other", "complaint_type": null,
            "sentiment": "neutral", "severity": 0, "churn_risk": false})
    };
    serde_json::json!({"interaction_id": format!("t{id}"), "channel": "form",
        "occurred_at": "2026-11-29T10:00:00+09:00", "text": text, "labels": labels})
    .to_string()
}

fn voice(text: &str) -> String {
    serde_json::json!({"interaction_id": "q1", "channel": "form",
        "occurred_at": "2026-11-29T11:00:00+09:00", "text": text})
    .to_string()
}

#[test]
fn a_model_trained_on_a_companys_voices_adds_the_complaints_its_rules_miss() {
    let dir = std::env::temp_dir().join(format!("voc-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // "ぽよりん現象" is this company's customers' word for a fault: no rule knows it.
    let places = [
        "昨日から",
        "今朝",
        "朝から",
        "先週から",
        "さっき",
        "今日も",
        "夜に",
        "また",
    ];
    let mut lines = Vec::new();
    for (i, place) in places.iter().enumerate() {
        lines.push(labeled(4 * i, &format!("{place}ぽよりん現象です"), true));
        lines.push(labeled(
            4 * i + 1,
            &format!("{place}ぽよりん現象が出ています"),
            true,
        ));
        lines.push(labeled(4 * i + 2, &format!("{place}新しい端末です"), false));
        lines.push(labeled(
            4 * i + 3,
            &format!("{place}新機能が出ています"),
            false,
        ));
    }
    let train = dir.join("train.jsonl");
    std::fs::write(&train, lines.join("\n") + "\n").expect("write");
    let train_to = |name: &str| {
        let out = run_voc(
            &[
                "model",
                "train",
                train.to_str().expect("utf-8"),
                "--out",
                dir.join(name).to_str().expect("utf-8"),
                "--name",
                "acme-model@1",
            ],
            b"",
            &[],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("wrote"));
        std::fs::read(dir.join(name)).expect("the model was written")
    };
    // The same voices give the same model, byte for byte: a refit is reviewable.
    assert_eq!(train_to("model.json.gz"), train_to("again.json.gz"));
    // A refit over the file the rules name would change tags under the same rules version.
    let out = run_voc(
        &[
            "model",
            "train",
            train.to_str().expect("utf-8"),
            "--out",
            dir.join("model.json.gz").to_str().expect("utf-8"),
            "--name",
            "acme-model@2",
        ],
        b"",
        &[],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rules = dir.join("acme.toml");
    std::fs::write(
        &rules,
        "version = \"acme@1\"\nextends = \"ja-contact-center\"\n[model]\nfile = \"model.json.gz\"\ncomplaint = 0.6\n",
    )
    .expect("write");
    let input = voice("今夜もぽよりん現象です") + "\n";
    // The default rules (and their model) do not know the word.
    let plain = json_lines(&run_voc(&["tag"], input.as_bytes(), &[]).stdout);
    assert_ne!(plain[0]["voice_type"], "complaint", "{}", plain[0]);
    let out = run_voc(
        &["tag", "--rules", rules.to_str().expect("utf-8")],
        input.as_bytes(),
        &[],
    );
    let tagged = json_lines(&out.stdout);
    assert_eq!(tagged[0]["voice_type"], "complaint", "{}", tagged[0]);
    let by_model = tagged[0]["evidence"].as_array().is_some_and(|e| {
        e.iter()
            .any(|x| x["label"] == "voice:complaint" && x["rule"] == "model:acme-model@1")
    });
    assert!(by_model, "{}", tagged[0]);
    // `voc rules check` names the model.
    let out = run_voc(
        &["rules", "check", rules.to_str().expect("utf-8")],
        b"",
        &[],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("model acme-model@1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).ok();
}
