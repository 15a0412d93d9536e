//! Behaviour of the whole analysis on phenomena docs/TAXONOMY.md names, with the real dictionary and
//! the bundled rules. Sentences here are not from the dev set.

mod common;

use std::sync::OnceLock;

use voc_core::message::Limits;
use voc_core::{Analysis, Analyzer, Sentiment, VoiceType, parse_message};

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(common::analyzer)
}

fn text(t: &str) -> Analysis {
    let json = serde_json::json!({"interaction_id": "t", "occurred_at": "2026-11-22T10:00:00+09:00", "text": t});
    let msg =
        parse_message(json.to_string().as_bytes(), &Limits::default()).expect("valid message");
    analyzer().analyze(&msg).expect("analysis")
}

fn turns(turns: &[(&str, &str)]) -> Analysis {
    let turns: Vec<_> = turns
        .iter()
        .map(|(s, t)| serde_json::json!({"speaker": s, "text": t}))
        .collect();
    let json = serde_json::json!({"interaction_id": "t", "channel": "phone", "occurred_at": "2026-11-22T10:00:00+09:00", "turns": turns});
    let msg =
        parse_message(json.to_string().as_bytes(), &Limits::default()).expect("valid message");
    analyzer().analyze(&msg).expect("analysis")
}

#[test]
fn a_failure_without_any_sentiment_word_is_a_negative_complaint() {
    for t in [
        "荷物がまだ届きません。",
        "アプリが開きません。",
        "ネットにつながりません。",
        "充電できなくなりました。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}");
        assert!(a.tags.severity >= 1, "{t}");
    }
}

#[test]
fn negated_negatives_are_not_negative() {
    for t in ["特に問題ありません。", "不満はないです。"] {
        let a = text(t);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}");
    }
    assert_eq!(
        text("画質は悪くないです。").tags.sentiment,
        Sentiment::Neutral
    );
}

#[test]
fn negated_positives_are_negative() {
    let a = text("このイヤホンは音が良くない。");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
}

#[test]
fn the_point_comes_after_a_contrast() {
    assert_eq!(
        text("見た目は可愛いけど、すぐ壊れた。").tags.sentiment,
        Sentiment::Negative
    );
    assert_eq!(
        text("値段は少し高いけど、とても満足しています。")
            .tags
            .sentiment,
        Sentiment::Positive
    );
}

#[test]
fn agent_apologies_and_mentions_are_not_the_customers_voice() {
    let a = turns(&[
        (
            "agent",
            "大変申し訳ございません。ご不便をおかけして誠に申し訳ございません。請求の件ですね。",
        ),
        ("customer", "ポイントの使い方を教えてください。"),
    ]);
    assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{:?}", a.tags);
    assert_eq!(a.tags.voice_type, VoiceType::Question);
    assert!(
        !a.tags.topics.contains(&"billing".to_string()),
        "{:?}",
        a.tags.topics
    );
    assert!(a.tags.topics.contains(&"campaign_points".to_string()));
    assert!(
        !a.customer_text.contains("申し訳"),
        "agent text must not be stored"
    );
}

#[test]
fn escalation_threats_are_severity_three() {
    for t in [
        "もういいです、責任者を出してください。",
        "これ以上対応しないなら弁護士に相談します。",
        "国民生活センターに連絡しますよ。",
        "この件はSNSで拡散しますから。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.severity, 3, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}");
    }
}

#[test]
fn churn_is_flagged_when_leaving_is_said_or_implied() {
    assert!(text("来月で解約します。").tags.churn_risk);
    assert!(text("もう他社に乗り換えようと思います。").tags.churn_risk);
    assert!(!text("ポイントの有効期限を教えてください。").tags.churn_risk);
}

#[test]
fn keywords_join_compounds_keep_negation_and_drop_placeholders() {
    let a = text("充電ケーブルが断線して充電できない。連絡先は090-1234-5678です。");
    let k = &a.tags.keywords;
    assert!(k.contains(&"充電ケーブル".to_string()), "{k:?}");
    assert!(k.contains(&"充電できない".to_string()), "{k:?}");
    assert!(
        !k.iter()
            .any(|w| w.contains("TEL") || w.chars().any(|c| c.is_ascii_digit())),
        "{k:?}"
    );
    let b = text("アプリが起動しなくなった。");
    assert!(
        b.tags.keywords.contains(&"起動しない".to_string()),
        "{:?}",
        b.tags.keywords
    );
}

#[test]
fn personal_data_never_reaches_text_keywords_or_evidence() {
    let a = text(
        "山田太郎様宛の請求が二重です。電話は０９０－１２３４－５６７８、メールはtaro@example.jpです。",
    );
    let all = format!(
        "{} {:?} {:?}",
        a.customer_text, a.tags.keywords, a.tags.evidence
    );
    for leaked in ["1234", "5678", "taro@", "example.jp", "山田", "太郎"] {
        assert!(!all.contains(leaked), "{leaked} leaked: {all}");
    }
    assert!(a.pii_masked >= 3, "{}", a.pii_masked);
}

#[test]
fn every_output_names_the_rules_version_and_evidence_is_masked_text() {
    let a = text("請求金額がおかしいです。");
    assert_eq!(a.tags.rules_version, analyzer().rules().version);
    assert!(!a.tags.evidence.is_empty());
    for e in &a.tags.evidence {
        assert!(
            a.customer_text.contains(&e.text),
            "evidence {e:?} is not from the masked text"
        );
    }
}

#[test]
fn backchannel_only_turns_say_nothing() {
    let a = turns(&[
        ("customer", "はい。"),
        ("agent", "ご請求の件でございますね。"),
        ("customer", "ええ、そうですね。"),
    ]);
    assert!(a.customer_text.is_empty());
    assert_eq!(a.tags.voice_type, VoiceType::Other);
    assert!(a.tags.topics.is_empty());
}

/// `voc retag` re-analyses the stored text: with unchanged rules it must reproduce the tags the
/// original message got, or a re-tag would report (and write) changes the rules did not make.
#[test]
fn retagging_the_stored_text_reproduces_the_original_tags() {
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/eval/holdout-blind.jsonl"
    ))
    .expect("evaluation set");
    let mut checked = 0;
    for line in dev.lines().filter(|l| !l.trim().is_empty()) {
        let msg = parse_message(line.as_bytes(), &Limits::default()).expect("valid message");
        let original = analyzer().analyze(&msg).expect("analysis");
        let again = analyzer()
            .analyze_stored(&msg.interaction_id, msg.channel, &original.customer_text)
            .expect("re-analysis");
        assert_eq!(again.tags, original.tags, "{}", msg.interaction_id);
        assert_eq!(again.customer_text, original.customer_text);
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} interactions checked");
}

/// Prints the morphemes of `VOC_TOKENS_TEXT` (one text per line): a look at what the dictionary
/// makes of a text, for whoever tunes the rules or the name masker.
/// `VOC_TOKENS_TEXT='佐籐です' cargo test -p voc-core --test analysis -- --ignored --nocapture tokens`
#[test]
#[ignore = "a tool, run by hand"]
fn tokens() {
    let analyzer = common::analyzer();
    let text = std::env::var("VOC_TOKENS_TEXT").unwrap_or_default();
    for line in text.lines() {
        for m in analyzer.tokenizer().tokenize(line).expect("tokenize") {
            println!(
                "{}\t{},{},{}\t{}\t{:?}",
                m.surface, m.pos, m.pos1, m.pos2, m.base, m.source
            );
        }
        println!();
    }
}

/// The generic classes of the default rules (issue: tags that hold in any industry). Each
/// sentence names its phenomenon; the expected tags are docs/TAXONOMY.md's.
#[test]
fn calm_failure_reports_in_any_industry_are_quality_complaints_about_the_product() {
    for t in [
        "走行中にエンジンが止まった",
        "電源が入らない",
        "水が漏れてくる",
        "掃除機が吸わない",
        "ドアが開かない",
        "ブレーキの効きが悪い",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.complaint_type.as_deref(), Some("quality"), "{t}");
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}");
        assert_eq!(a.tags.topics, ["product"], "{t}");
    }
}

#[test]
fn prices_and_fees_felt_too_high_are_billing_complaints() {
    for t in [
        "料金が高い",
        "手数料が高すぎる",
        "送料が割高",
        "運賃が上がった",
        "診察代が高い",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.complaint_type.as_deref(), Some("billing"), "{t}");
        assert_eq!(a.tags.topics, ["billing"], "{t}");
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}");
    }
}

#[test]
fn staff_and_waiting_of_any_industry_get_their_generic_topics() {
    for (t, topic) in [
        ("受付の人の態度が悪い", "agent_response"),
        ("運転手が無愛想", "agent_response"),
        ("待合室で一時間待った", "wait_time"),
        ("窓口で30分待たされた", "wait_time"),
    ] {
        let a = text(t);
        assert_eq!(a.tags.topics, [topic], "{t}: {:?}", a.tags);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}");
    }
}

#[test]
fn the_model_adds_a_topic_beside_those_the_rules_found_but_product_needs_more() {
    // [model] another_topic: the driver's driving is how staff served, beside the fare the
    // rules placed; at the former 0.6 the model did not add it.
    let a = text("バスの運転手さんが急ブレーキばかりで、運賃も高いし最悪。");
    assert_eq!(a.tags.topics, ["billing", "agent_response"], "{:?}", a.tags);
    assert!(
        a.tags
            .evidence
            .iter()
            .any(|e| e.label == "topic:agent_response" && e.rule.starts_with("model:")),
        "{:?}",
        a.tags.evidence
    );
    // another_topic_for keeps product at 0.6: a surly driver is no product.
    assert_eq!(text("運転手が無愛想").tags.topics, ["agent_response"]);
}

#[test]
fn opening_hours_are_waiting_only_for_a_support_line() {
    // wait_time.reach: the hours of a line or counter the customer reaches support through.
    for t in [
        "コールセンターの営業時間をもう少し長くしてもらえませんか。",
        "土日もチャットで問い合わせできるようにしてほしいです。",
    ] {
        let a = text(t);
        assert!(
            a.tags.topics.iter().any(|x| x == "wait_time"),
            "{t}: {:?}",
            a.tags
        );
    }
    // A venue's or a machine's hours are not waiting to reach anyone.
    for t in [
        "図書館の営業時間を教えてください。",
        "駐輪場の精算機を土日も使えるようにしてほしいです。",
    ] {
        let a = text(t);
        assert!(
            !a.tags.topics.iter().any(|x| x == "wait_time"),
            "{t}: {:?}",
            a.tags
        );
    }
}

#[test]
fn thanks_after_every_answer_of_a_chat_count_once() {
    // sentiment.courtesy: routine thanks are counted once per voice.
    let a = turns(&[
        ("customer", "来週の旅行で使えるレンタカーを探しています。"),
        ("agent", "空港店に三台ございます。"),
        (
            "customer",
            "ありがとうございます。チャイルドシートは付けられますか？",
        ),
        ("agent", "はい、無料でお付けできます。"),
        ("customer", "ありがとうございます。返却は何時までですか？"),
        ("agent", "夜八時までです。"),
        ("customer", "わかりました。ありがとうございました。"),
    ]);
    assert_eq!(a.tags.voice_type, VoiceType::Question, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{:?}", a.tags);
    // Relief and 助かります around a procedure are politeness too.
    let a = turns(&[
        ("customer", "明日の便の日付を変更したいです。"),
        ("agent", "変更いたしました。手数料はかかりません。"),
        (
            "customer",
            "あ、よかった。助かります。ありがとうございます。",
        ),
    ]);
    assert_eq!(a.tags.voice_type, VoiceType::Procedure, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{:?}", a.tags);
    // Thanks for years of service are warm, not routine.
    let a = text("転居のため今月末でジムを退会したいです。今まで本当にありがとうございました。");
    assert_eq!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
    // Thanks beside real praise still make a positive voice.
    let a = text("説明がとても丁寧で分かりやすかったです。ありがとうございました。");
    assert_eq!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
}

#[test]
fn preferences_concessions_and_searches_of_a_chat_are_neither_praise_nor_failure() {
    // A preference, an accepted alternative and advice praise nothing; a negation conceded
    // (使えなくてもいい) or belonging to a place that is looked for reports no failure; a good
    // thing asked for by name is not a wish that something were better.
    for t in [
        "温泉が近くにあるところがいいです。",
        "朝食はなくてもいいです。",
        "日程は平日でいいです。",
        "早めに予約した方がいいですか？",
        "カード払いは使えなくてもいいので、安いタクシー会社を教えてください。",
        "夜遅くまで食事できるところはありませんか？",
        "このあたりでおすすめの居酒屋を教えてください。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{t}: {:?}", a.tags);
    }
    // A manner wished for still says it is lacking, and a failure stated still reports.
    let a = text("もっと分かりやすく教えてほしいです。");
    assert_ne!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
    let a = text("何度やってもカードが使えなくて困っています。");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
}

#[test]
fn annoyance_rhetorical_questions_and_sarcasm_are_negative() {
    for t in [
        "隣の部屋がうるさい",
        "段差が多くて危ない",
        "夜道が暗くて怖い",
        "迷惑です",
        "今後が不安",
    ] {
        assert_eq!(text(t).tags.sentiment, Sentiment::Negative, "{t}");
    }
    for t in ["なぜ毎回こうなるんですか", "こんなの誰が使うんですか"] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
    let a = text("さすがですね、また届いていません");
    assert_eq!(
        (
            a.tags.voice_type.as_str(),
            a.tags.sentiment.as_str(),
            a.tags.severity
        ),
        ("complaint", "negative", 2),
        "{:?}",
        a.tags
    );
    // The same praise with nothing failed stays praise.
    assert_eq!(
        text("さすがですね、翌日に届きました").tags.sentiment,
        Sentiment::Positive
    );
    // Praise with no mark of irony, followed by a recurring failure, is sarcasm too; praise that
    // follows the failure, or a recurrence with nothing failed, is not.
    for t in [
        "素晴らしい対応ですね、三回目の再配達も来ませんでした",
        "ありがとうございます、おかげでまた一時間待たされました",
    ] {
        let a = text(t);
        assert_eq!(
            (a.tags.voice_type, a.tags.sentiment),
            (VoiceType::Complaint, Sentiment::Negative),
            "{t}: {:?}",
            a.tags
        );
    }
    for t in [
        // Not marks of recurrence: a first time, and また inside たまたま.
        "丁寧な説明ありがとうございます、1回目の引き落としができていませんでした",
        "親切な店員さんでした、たまたま在庫がなかっただけです",
    ] {
        assert!(
            !text(t)
                .tags
                .evidence
                .iter()
                .any(|e| e.rule.starts_with("irony:")),
            "{t}: praise is not turned"
        );
    }
    for t in [
        "前回は届きませんでしたが、今回は丁寧な対応で素晴らしかったです",
        "素晴らしい商品です、また買いたいと思います",
    ] {
        assert_eq!(text(t).tags.sentiment, Sentiment::Positive, "{t}");
    }
}

#[test]
fn a_wish_after_a_stated_problem_is_a_complaint_and_denied_praise_is_negative() {
    let a = text("いつも売り切れている。入荷を増やしてほしい");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    let a = text("口コミほど美味しいとは思えませんでした");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
}

#[test]
fn praise_denied_through_a_suffix_or_a_tail_is_negative() {
    // 高級|感 は ありません: the suffix shares the negation of its word.
    let a = text("ロビーは豪華でしたが、部屋は写真ほどの高級感はありませんでした。");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
    // とは言えない after the praise denies it (sentiment.denying_tails).
    let a = text("朝食は特別美味しいとは言えない内容でした");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
    // A mild positive in excess is a complaint; a strong one stays praise.
    assert_eq!(
        text("夕食の時間が早すぎる").tags.sentiment,
        Sentiment::Negative
    );
    assert_eq!(
        text("朝食が美味しすぎる").tags.sentiment,
        Sentiment::Positive
    );
}

/// `?!` is one symbol to the tokenizer but ends a sentence at `?`: a negated verb or a sentiment
/// word right before it must not read past the sentence (found by the fuzz test).
#[test]
fn a_token_straddling_a_sentence_end_is_read_safely() {
    let a = text("?!さホぬぱえ届きません解約します届きませんげョヤ檺ノヱ?!IE@.t.");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    let a = text("最高?!まじで");
    assert_eq!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
}

/// What the learned model decided is shown as evidence naming it, for a label that was decided,
/// on a piece of the stored (masked) text; a decision it made with no evidence, or evidence for a
/// label nobody decided, would leave a support lead unable to see why.
#[test]
fn the_models_decisions_carry_evidence_from_the_stored_text() {
    let dev = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/eval/voices3-tune.jsonl"
    );
    let mut seen = 0;
    for line in std::fs::read_to_string(dev).expect("labeled set").lines() {
        let msg = parse_message(line.as_bytes(), &Limits::default()).expect("valid message");
        let a = analyzer().analyze(&msg).expect("analysis");
        let t = &a.tags;
        for e in t.evidence.iter().filter(|e| e.rule.starts_with("model:")) {
            seen += 1;
            let (kind, value) = e.label.split_once(':').expect("label:value");
            let decided = match kind {
                "topic" => t.topics.iter().any(|x| x == value),
                "voice" => t.voice_type.as_str() == value,
                "complaint" => t.complaint_type.as_deref() == Some(value),
                "sentiment" => t.sentiment.as_str() == value,
                _ => false,
            };
            assert!(
                decided,
                "{}: evidence {e:?} for a label not decided",
                t.interaction_id
            );
            let shown = e.text.trim_end_matches('…');
            assert!(
                !shown.is_empty() && a.customer_text.contains(shown),
                "{}: {e:?} is not a piece of the stored text",
                t.interaction_id
            );
        }
    }
    assert!(seen > 20, "the model decided almost nothing ({seen})");
}

/// The model decides nothing on a text it has no features of: its priors are not a judgement.
#[test]
fn the_model_decides_nothing_on_a_text_without_its_features() {
    for t in ["ｗｗｗ", "🙂🙂", "……"] {
        let a = text(t);
        assert!(
            a.tags
                .evidence
                .iter()
                .all(|e| !e.rule.starts_with("model:")),
            "{t}: {:?}",
            a.tags
        );
    }
}

#[test]
fn a_negative_said_to_be_absent_is_not_a_complaint() {
    // sentiment.absence_tails: a topic particle, then a predicate of absence, in the same clause.
    for t in [
        "部屋に汚れは一つも見当たりませんでした。",
        "不便なことは特にありませんでした。",
        "チェックインで待たされることは一度もありませんでした。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}");
    }
    // The clause goes on before the absence, or ではない denies what comes before it.
    for t in [
        "本体から異音がして、返事もありません。",
        "期待していたほどの味ではありませんでした。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_failure_asked_about_as_a_supposed_case_is_a_question() {
    // sentiment.hypothetical: the case is asked about, it has not happened.
    for t in [
        "修理に出した場合、データは消えてしまいますか？",
        "プランを変えたら今のメールアドレスは使えなくなりますか",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Question, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}");
    }
    // Since when or how often (時から, 時がある), a clock time (9時), a repeat (何度かけても), a
    // statement ending in a question mark and a why-question are reports.
    for t in [
        "アプリが使えない時があるんですが、どうしてですか",
        "何度かけても繋がらないんですか？",
        "なぜ本人が来られない場合は委任状が必要なんですか",
        "ホテルに着いた時から部屋がタバコ臭いんですけど？",
        "配達が遅れて9時になるんですか？",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

#[test]
fn leaving_said_in_passing_is_a_complaint_with_churn_risk() {
    for t in [
        "次からは別のホテルにします。",
        "もうこの店で買うことはないと思います。",
        "正直、もっと安いツールに移るか検討中です",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert!(a.tags.churn_risk, "{t}");
    }
    // A case asked about is a question; moving data or a plan is not leaving.
    let a = text("他の会社に乗り換える場合、手数料はかかりますか");
    assert_eq!(a.tags.voice_type, VoiceType::Question, "{:?}", a.tags);
    for t in [
        "データを別のスマホに移行する方法を教えてください",
        "もっと安いプランに移行できますか？",
    ] {
        let a = text(t);
        assert!(!a.tags.churn_risk, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}");
    }
}

#[test]
fn noise_figures_that_do_not_add_up_and_failure_messages_are_negative() {
    for t in [
        "上の階の足音が夜遅くまで響いていました。",
        "お釣りの金額が合いませんでした。",
        "決済に失敗しましたと表示されます。",
        "前の宿泊者の髪の毛が残っていました。",
        "通話中、相手の話し声が聞こえないことがあります。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}");
    }
    // Pleasant sounds, and a thing left behind to be returned, are no complaint.
    for t in [
        "子どもたちの笑い声が響いて、温かい雰囲気のお店でした。",
        "前の方の忘れ物を届けたいのですが。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
    // The same sounds not heard; くらい after an adjective is not いくら (how much).
    for t in [
        "隣室のテレビの音は全く聞こえませんでした。",
        "ふかふかのベッドで、家に帰っても恋しいくらいです。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Praise, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_worried_question_is_a_negative_question_not_a_complaint() {
    // sentiment.worry: the customer's state of mind in a voice that asks.
    for t in [
        "銀行を名乗るメールが届きました。本物かどうか分からずとても不安です。御行からの連絡でしょうか。",
        "子どもが誤ってアプリ内で課金していないか心配です。履歴はどこで確認できますか。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}");
    }
    // Mild worry is a remark, not a negative voice.
    let a = text(
        "旅行中に紛失した場合の手続きが、ちょっと心配になりました。事前に何か登録できますか。",
    );
    assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{:?}", a.tags);
    // Worry about a failure that is stated, and fear of staff, are still complaints.
    for t in [
        "ブレーキを踏んでも止まらないことがあり、不安です。点検してもらえますか。",
        "配達員の態度が怖かったです。次回から別の方にしてもらえますか。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_mishap_the_customer_owns_asking_for_help_is_not_a_complaint() {
    // sentiment.own_mishap and own_mishap_verbs: the failure is the customer's doing.
    for t in [
        "暗証番号を何度か間違えてカードが使えなくなりました。私のミスです。再開の方法を教えてください。",
        "うっかり写真を全部消してしまいました。復元する方法はありますか？",
        "保存していたデータを削除しちゃったんですが、元に戻せますか",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}");
    }
    // Someone else's mishap (業者が, 店員は), a guess (〜てしまったようで), a failure that happened
    // to the customer (されてしまった) or an admission denied is the company's.
    for t in [
        "引越し業者が冷蔵庫を落としてしまい、扉がへこんでいました。補償してもらえますか。",
        "店員は注文を忘れてしまったようで、40分も待たされました。どうなっているんですか。",
        "勝手にアカウントを停止されてしまいました。理由を教えてください。",
        "契約と違う金額が請求されています。こちらのミスではありません。訂正してもらえますか。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_failure_asked_about_by_name_is_a_question() {
    // 故障でしょうか: whether it is a failure is what is asked.
    let a = text("洗濯機から時々カタカタと音がしますが、これは故障でしょうか。");
    assert_eq!(a.tags.voice_type, VoiceType::Question, "{:?}", a.tags);
    // A why-question about it is not, nor a word that accuses (放置ですか).
    for t in [
        "買って一週間なのに、なぜもう故障するんですか",
        "三日も返信がないのは放置ですか？",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

#[test]
fn what_staff_did_for_the_customer_is_not_a_request() {
    // 〜てくださいました, 〜てもらえて: done for the customer, so praise, not a procedure asked for.
    for t in [
        "足を痛めていた母のために、駅員さんが親身に車椅子を手配してくださいました。",
        "カードをなくした日に電話したら、すぐ利用を止めてもらえて本当に助かりました。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Praise, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Positive, "{t}");
    }
    // Asked for, it is still one.
    let a = text("来月で解約したいので、手続きを進めてください。");
    assert_eq!(a.tags.voice_type, VoiceType::Procedure, "{:?}", a.tags);
}

#[test]
fn a_polite_ask_is_a_request_and_passed_on_news_is_other() {
    // voice.request_wish: 〜ていただけないでしょうか asks for something, it asks no question.
    // Praise before it does not make the voice praise.
    for t in [
        "いつも楽しく使っています。アプリに家計簿の機能を付けていただけないでしょうか。",
        "毎朝おいしくいただいています。パンの種類をもう少し増やしてもらえませんか。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Request, "{t}: {:?}", a.tags);
    }
    // Asking to be told is a question.
    let a = text("教えていただけないでしょうか。");
    assert_eq!(a.tags.voice_type, VoiceType::Question, "{:?}", a.tags);
    // 〜ればいいですか asks what to do: a question, not a wish (voice.request_feature); a wish
    // hedged (あったらいいかもしれません) is still one.
    let a = text("レシートの写真はどの画面から送ればいいですか。");
    assert_eq!(a.tags.voice_type, VoiceType::Question, "{:?}", a.tags);
    let a = text("ダークモードがあったらいいかもしれません。");
    assert_eq!(a.tags.voice_type, VoiceType::Request, "{:?}", a.tags);
    // voice.reported_news: an announcement passed on is not the customer's complaint.
    for t in [
        "来月から定期預金の金利が0.3%に引き上げられるとのこと",
        "年明けから窓口の受付時間が17時までに短縮されるらしい",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Other, "{t}: {:?}", a.tags);
    }
    // A failure the customer reports stays a complaint, whatever news follows it, and らしい
    // as an adjective (わざとらしい) is no hearsay.
    for t in [
        "店員の謝罪がわざとらしい。",
        "買ったばかりのエアコンが全く冷えません。修理は来週になるとのこと。",
        "何度電話してもつながりません。窓口は来週から再開とのこと。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

/// Asserts whether the voice `t` gets `topic`.
fn assert_topic(t: &str, topic: &str, expected: bool) {
    let topics = text(t).tags.topics;
    assert_eq!(
        topics.iter().any(|x| x == topic),
        expected,
        "{topic} in {t}: {topics:?}"
    );
}

#[test]
fn how_to_asked_and_support_that_answered_have_their_topics() {
    // how_to.asked: how to do something.
    assert_topic(
        "家族のポイントを一枚にまとめるのってどうやるの？",
        "how_to",
        true,
    );
    assert_topic("録画した番組をDVDに残すのってどうやるの？", "how_to", true);
    // Not how to get a procedure done, nor a rhetorical one.
    assert_topic(
        "サイズが合わなかったので、返品ってどうすればいいですか。",
        "how_to",
        false,
    );
    assert_topic(
        "平日しか窓口が開いていないなんて、働いている人はどうすればいいんですか。",
        "how_to",
        false,
    );
    // agent_response.answered: what came back from the counter the customer turned to.
    assert_topic(
        "請求額がおかしいので窓口に問い合わせたら、マニュアル通りの回答しか返ってきませんでした。",
        "agent_response",
        true,
    );
    // contract_plan: suspending a membership.
    assert_topic(
        "転勤になるので、ジムの休会は何か月までできますか。",
        "contract_plan",
        true,
    );
}

#[test]
fn money_that_is_not_a_charge_is_not_billing() {
    // @not_a_charge: a credit limit, a budget for a choice, a coupon's value; @free_amenity:
    // Wi-Fi or parking that costs nothing, as a wish. No rule gives billing (the model, which
    // reads characters, may still guess it where no rule gives a topic).
    let by_rules = |t: &str| {
        text(t)
            .tags
            .evidence
            .iter()
            .any(|e| e.label == "topic:billing" && !e.rule.starts_with("model:"))
    };
    for t in [
        "海外旅行の間だけ、カードの限度額を80万円に上げてもらえますか。",
        "予算は一泊二万円くらいで、温泉のある宿を探しています。",
        "メールで届いた300円クーポンはどこで入力しますか。",
        "駐車場が無料で使えるレストランを教えてください。",
        "住宅ローンの固定金利と変動金利の違いを知りたいです。",
    ] {
        assert!(!by_rules(t), "billing by a rule in {t}");
    }
    // A charge beside them still is.
    for t in [
        "駐車場が無料と聞いていたのに、駐車料金を請求されました。",
        "今月の電気代が二万円を超えていて高すぎます。",
    ] {
        assert_topic(t, "billing", true);
    }
}

#[test]
fn politeness_handling_does_not_silence_real_complaints_or_praise() {
    // What a stated lack, a why-question, a manner wished for, sarcasm, 最悪 as the worst, an
    // insult and regret still say.
    for t in [
        "便利なところはありません。",
        "このホテル、いいところがありません。",
        "どうしてアプリにログインできないでしょうか。",
        "こんな対応で本当にいいんですかね?",
        "このホテルでの三日間は人生で最悪の時間でした。",
        "ホントアホらしい対応でした。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
    }
    for t in [
        "もっと分かりやすく手順を教えてほしいです。",
        "最初にそう説明してくれたならよかったのに。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.sentiment, Sentiment::Positive, "{t}: {:?}", a.tags);
    }
    // The customer's own 失礼ですが and a polite ask are no complaint, even for the model.
    for t in [
        "夜分に失礼ですが、予約の確認をお願いします。",
        "窓口で予約できませんか。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
    // Gratitude intensified is not routine: a question after it leaves the voice positive.
    let a = turns(&[
        (
            "customer",
            "エアコンが壊れて困っていたんですが、すぐ来ていただけて本当に助かりました。",
        ),
        ("agent", "ご連絡ありがとうございます。"),
        ("customer", "次の点検はいつ頃になりますか？"),
    ]);
    assert_eq!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
}

#[test]
fn a_word_that_is_all_there_is_keeps_its_polarity() {
    // X しかない affirms X: nothing but gratitude is praise, nothing but discontent a complaint.
    let a = text("受付の皆さんには感謝しかないです。");
    assert_eq!(a.tags.voice_type, VoiceType::Praise, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Positive, "{:?}", a.tags);
    let a = text("この店には不満しかありません。");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
}

#[test]
fn a_failure_ruled_out_a_state_asked_for_and_an_interjection_report_nothing() {
    for t in [
        "今は壊れてないんですけど、保証期間を確認したいです。",
        "閉店時間をもう少し遅くしてほしいです。",
        "いや、特に問題はないんですが、解約方法を教えてください。",
        "以前にも何度か利用したことがあります。",
        "口座の残高不足で引き落としができていなかったようです。私の確認不足です。再度の引き落としはありますか？",
    ] {
        let a = text(t);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{t}: {:?}", a.tags);
    }
    // A failure suspected (故障ではないかと思います) is still one.
    let a = text("洗濯機の故障ではないかと思います、水が止まりません。");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
}

#[test]
fn goods_only_hoped_for_in_a_request_praise_nothing() {
    for t in [
        "予約画面を英語でも表示してくれたら嬉しいです。",
        "ポイントの有効期限を延ばしてもらえたら、もっと楽しめると思います。",
        "いつも利用させていただいております。会員証をアプリでも表示できるようにしてほしいです。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Request, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_thing_named_in_a_question_about_another_matter_is_not_the_product_topic() {
    // `setting = true` rules: the television is where the return happens, not what is wrong.
    let a = text("先月買ったテレビのことです。返品の送料はかかりますか？");
    assert!(
        a.tags.topics.iter().any(|t| t == "return_refund"),
        "{:?}",
        a.tags
    );
    assert!(
        !a.tags.topics.iter().any(|t| t == "product"),
        "{:?}",
        a.tags
    );
    // In a complaint it still is: the television failed.
    let a = text("先月買ったテレビが映らなくなりました。");
    assert!(a.tags.topics.iter().any(|t| t == "product"), "{:?}", a.tags);
}

#[test]
fn a_regulator_or_an_account_made_public_is_an_escalation() {
    for t in [
        "退会したのに今もメールが届きます。個人情報保護委員会への申し立ても検討しています。",
        "何度問い合わせても返事がありません。今週中に回答がなければ経緯をまとめて発信します。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.severity, 3, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_dismissal_a_warranty_data_handed_on_and_reply_speed_have_their_topics() {
    // agent_response.dismissed: whoever the customer turned to, a dismissal.
    assert_topic(
        "異音がするので近所の修理店に持って行ったら、他店で買ったものは見られないと門前払いでした。",
        "agent_response",
        true,
    );
    // agent_response.quoted_only: an answer quoted as all there was, but not an announcement
    // or a screen's message (the model, which reads characters, may still guess the topic, so
    // the rule itself is checked).
    assert_topic(
        "市役所に電話しても「確認します」だけで、何も変わりません。",
        "agent_response",
        true,
    );
    for t in [
        "運転見合わせ中、駅の放送は「しばらくお待ちください」だけでした。",
        "アプリを開くと「エラーが発生しました」だけ出て進めません。",
    ] {
        let a = text(t);
        assert!(
            !a.tags
                .evidence
                .iter()
                .any(|e| e.rule == "agent_response.quoted_only"),
            "{t}: {:?}",
            a.tags.evidence
        );
    }
    // how_to.can_i: what may be brought or kept.
    assert_topic("ベビーカーは機内に持ち込めますか。", "how_to", true);
    // contract_plan: an extended warranty, or a cover that comes with a card, is a plan.
    assert_topic(
        "延長保証に入っていますが、修理の費用はかかりますか。",
        "contract_plan",
        true,
    );
    assert_topic(
        "カード付帯の旅行保険は自動付帯ですか。",
        "contract_plan",
        true,
    );
    // privacy_security: whose data went where.
    assert_topic(
        "申告した内容と一緒に、氏名や電話番号もメーカーに提供されるのでしょうか。",
        "privacy_security",
        true,
    );
    // wait_time: how fast a reply came.
    assert_topic(
        "鍵が開かないと連絡したのに、返信が来たのは3時間後でした。",
        "wait_time",
        true,
    );
}

#[test]
fn what_follows_a_contrast_decides_and_praise_idioms_are_praise() {
    // The point comes after けど: a strong word before it does not outweigh it.
    let a = text("部屋は綺麗だったけど、ベッドが硬くて腰が痛くなった。");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
    for t in [
        "清掃の方に頼んだら、加湿器を貸してもらえました。",
        "露天風呂からの眺めが見事で、写真じゃ伝わらないレベル。",
        "カプセルとは思えないほど清潔だった。",
        "特に不満はなく、また使うと思います。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.sentiment, Sentiment::Positive, "{t}: {:?}", a.tags);
    }
    // A description (しっかりしていました) is no imperative; nothing is noted as missing.
    for t in [
        "スタッフの対応はしっかりしていました。",
        "部屋は普通のツインで、特筆すべき点はありません。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
    // The imperative still is.
    let a = text("また同じ間違いですか。しっかりしてください。");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
}

#[test]
fn a_prohibition_is_not_a_complaint() {
    // 〜ないでください asks that something not happen; it reports no failure.
    for t in [
        "先ほど振り込みましたので、回線は止めないでくださいね。",
        "先ほど振り込みましたので、回線は止めないでいただけますか。",
    ] {
        let a = text(t);
        assert_ne!(a.tags.sentiment, Sentiment::Negative, "{t}: {:?}", a.tags);
        assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{t}: {:?}", a.tags);
    }
}

#[test]
fn a_wrong_number_a_shrug_a_hedge_and_neither_one_nor_the_other_judge_nothing() {
    for t in [
        "あ すみません かけ間違えました 別の 会社に かける つもりで",
        "特に良くも悪くもなく、普通に泊まれました。",
        "電気の検針票が届いた。今月もこんなもんか",
        "部屋は値段相応といったところでしょうか。",
    ] {
        let a = text(t);
        assert_eq!(a.tags.voice_type, VoiceType::Other, "{t}: {:?}", a.tags);
        assert_eq!(a.tags.sentiment, Sentiment::Neutral, "{t}: {:?}", a.tags);
    }
    // A mistake by staff is still one (かけ放題 holds the letters of 間違えてかけ).
    let a = text("ショップの人が間違えてかけ放題を付けていたみたいです。");
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
}

#[test]
fn no_next_time_is_negative_and_a_supervisor_asked_for_with_a_space_escalates() {
    let a = text("景色は良かったけど、次はないかなと思います。");
    assert_eq!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    assert_eq!(a.tags.sentiment, Sentiment::Negative, "{:?}", a.tags);
    // Asked about a restock, it is a question.
    let a = text("この限定セット、次はないですか？");
    assert_ne!(a.tags.voice_type, VoiceType::Complaint, "{:?}", a.tags);
    // A transcript's space between 上の人 and 出して.
    let a = text("もう 一週間 毎晩 つながらないんですよ 今日は 上の人 出してください");
    assert_eq!(a.tags.severity, 3, "{:?}", a.tags);
    // A place on a screen is nobody to hand over to.
    let a = text("画面の 右 上の方 に ある ボタンを 押せば いいんですか");
    assert!(a.tags.severity < 3, "{:?}", a.tags);
}
