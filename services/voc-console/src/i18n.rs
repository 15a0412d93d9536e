//! The console's words in Japanese and English. A page gets the whole table of its language as
//! `t`, so templates say `{{ t.inbox }}`.

use std::collections::BTreeMap;

use crate::config::ConsoleLang;

/// (key, Japanese, English)
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "VOC コンソール", "VOC console"),
    ("inbox", "フラグ受信箱", "Flags inbox"),
    ("product_view", "製品ビュー", "Product view"),
    ("login", "ログイン", "Log in"),
    ("logout", "ログアウト", "Log out"),
    ("user", "ユーザー名", "User name"),
    ("password", "パスワード", "Password"),
    ("status", "状態", "Status"),
    ("kind", "種類", "Kind"),
    ("product", "製品", "Product"),
    ("team", "チーム", "Team"),
    ("channel", "チャネル", "Channel"),
    (
        "sso",
        "このコンソールには社内のシングルサインオン経由でログインします。ログイン画面が出ない場合は管理者に連絡してください。",
        "This console signs you in through your organisation's single sign-on. If you were not asked to sign in, ask your administrator.",
    ),
    ("assign", "チームに割り当てる", "Assign to team"),
    ("channels", "チャネル (サンプル)", "Channels (samples)"),
    ("age_days", "期間 (日)", "Age (days)"),
    ("filter", "絞り込む", "Filter"),
    ("all", "すべて", "All"),
    ("score", "スコア", "Score"),
    ("count", "件数", "Count"),
    ("baseline", "平常", "Baseline"),
    ("updated", "更新", "Updated"),
    ("why", "なぜ上がったか", "Why it was raised"),
    (
        "samples",
        "顧客の声 (マスク済み)",
        "What customers said (masked)",
    ),
    ("actions", "対応", "Actions"),
    ("note", "メモ", "Note"),
    ("acknowledge", "確認済みにする", "Acknowledge"),
    ("resolve", "解決済みにする", "Resolve"),
    ("reopen", "再オープン", "Reopen"),
    ("history", "履歴", "History"),
    ("acked_by", "担当", "Taken by"),
    ("no_flags", "該当するフラグはありません", "No flags match"),
    (
        "volume_by_day",
        "日別件数 (話題別)",
        "Volume by day and topic",
    ),
    ("topics", "話題", "Topics"),
    ("negative", "否定的", "Negative"),
    ("csat", "CSAT", "CSAT"),
    ("resolution", "解決率", "Resolution"),
    ("themes", "発見されたテーマ", "Discovered themes"),
    ("faq", "FAQ候補", "FAQ candidates"),
    (
        "verbatims",
        "最近の苦情 (マスク済み)",
        "Recent complaints (masked)",
    ),
    ("export_csv", "CSVで書き出す", "Export CSV"),
    ("export_csv_days", "日別をCSVで", "Daily CSV"),
    ("negative_pct", "否定的 %", "negative %"),
    ("resolved_pct", "解決 %", "resolved %"),
    ("csat_scale", "CSAT (1〜5)", "CSAT (1–5)"),
    (
        "experience_by_day",
        "日別の否定的な割合・解決率・CSAT",
        "Negative share, resolution and CSAT by day",
    ),
    ("days", "日数", "Days"),
    ("show", "表示", "Show"),
    ("rising", "増えている語", "Rising keywords"),
    ("no_data", "データがありません", "No data"),
    ("counts_over_time", "件数の推移", "Count over time"),
    (
        "why_spike",
        "この話題の件数が、過去の同じ時間帯の平均を大きく上回っています (ポアソン z スコア)。",
        "This topic's count is far above the mean of the same hours on the baseline days (a Poisson z-score).",
    ),
    (
        "why_emerging",
        "これらの語を含む苦情が、過去の出現率に比べて急に増えています。",
        "Complaints with these words rose sharply against their own past rate.",
    ),
    (
        "why_new_theme",
        "どのルールの話題にも当てはまらない語のまとまり (テーマ) が、急に現れました。",
        "A cluster of words (a theme) that no rule topic covers appeared suddenly.",
    ),
    (
        "why_recurring",
        "この話題の苦情が、ほぼ毎日多く否定的なまま続いています。スコア = 件数 × 否定率 × 平均深刻度。",
        "This topic's complaints stay many and negative nearly every day. Score = complaints × negative share × mean severity.",
    ),
    (
        "why_repeat_contact",
        "同じお客さまが同じ話題で数日以内に再び問い合わせています。",
        "The same customer came back about the same topic within days.",
    ),
    (
        "why_escalation",
        "上司・外部機関・公開をほのめかす声です。",
        "A voice that mentions a manager, a regulator or going public.",
    ),
    ("error", "エラー", "Error"),
    ("back", "戻る", "Back"),
    ("language", "English", "日本語"),
];

/// The words of `lang`, keyed.
pub fn words(lang: ConsoleLang) -> BTreeMap<&'static str, &'static str> {
    WORDS
        .iter()
        .map(|(k, ja, en)| (*k, if lang == ConsoleLang::Ja { *ja } else { *en }))
        .collect()
}

/// The other language (for the switch link).
pub fn other(lang: ConsoleLang) -> ConsoleLang {
    match lang {
        ConsoleLang::Ja => ConsoleLang::En,
        ConsoleLang::En => ConsoleLang::Ja,
    }
}
