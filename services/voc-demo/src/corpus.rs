//! A seeded sample corpus: Japanese contact-centre interactions across channels over a week, with
//! recurring problems, one emerging burst in the last hours and one problem no rule knows, so the flags and themes have something true
//! to find. Phrasing is composed from several variants per part, so no sentence repeats verbatim
//! too often; some messages carry personal data, to show it masked.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// A small deterministic PRNG (SplitMix64): the same seed gives the same corpus everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() % 10_000) as f64 / 10_000.0 < p
    }
}

/// A kind of voice: what the customer says, in parts that are combined.
struct Voice {
    name: &'static str,
    product: &'static str,
    /// Relative frequency in the steady stream (0: only in the burst).
    weight: u32,
    openings: &'static [&'static str],
    details: &'static [&'static str],
    closings: &'static [&'static str],
}

const VOICES: &[Voice] = &[
    Voice {
        name: "double_charge",
        product: "hikari-net",
        weight: 6,
        openings: &[
            "今月の請求が二重になっています。",
            "同じ月の料金が2回引き落とされていました。",
            "クレジットカードの明細に同じ請求が2件載っています。",
            "請求額がいつもの倍になっているんですが。",
            "口座から月額料金が二重に引き落とされています。",
        ],
        details: &[
            "先月も同じことがありました。",
            "明細を確認したら同じ日付で2件ありました。",
            "",
            "家計簿をつけていて気づきました。",
            "前回問い合わせたときは直ったと言われたのに。",
        ],
        closings: &[
            "返金してください。",
            "どういうことですか。",
            "至急確認してください。",
            "",
            "ちゃんとしてください。",
        ],
    },
    Voice {
        name: "delivery_late",
        product: "ec-shop",
        weight: 6,
        openings: &[
            "注文した商品がまだ届きません。",
            "お届け予定日を過ぎても荷物が届いていません。",
            "配送状況がずっと「準備中」のままです。",
            "１週間前に注文したのに発送の連絡もありません。",
            "指定した日に荷物が来ませんでした。",
        ],
        details: &[
            "誕生日プレゼントなので困っています。",
            "追跡番号で調べても情報が出てきません。",
            "",
            "問い合わせフォームからも連絡しましたが返信がありません。",
            "配達の人が不在票も入れていきませんでした。",
        ],
        closings: &[
            "いつ届くのか教えてください。",
            "早く送ってください。",
            "キャンセルも考えています。",
            "",
            "確認をお願いします。",
        ],
    },
    Voice {
        name: "app_crash",
        product: "mobile-app",
        weight: 5,
        openings: &[
            "アプリを開くとすぐに落ちます。",
            "最新版にアップデートしてから起動しなくなりました。",
            "アプリが固まって操作できません。",
            "ホーム画面から先に進めずエラーが表示されます。",
            "アプリの起動中に画面が真っ白になります。",
        ],
        details: &[
            "再インストールしても直りません。",
            "スマホの再起動も試しました。",
            "",
            "昨日までは普通に使えていました。",
            "毎日使っているので困ります。",
        ],
        closings: &[
            "早く直してください。",
            "対応をお願いします。",
            "",
            "使えないなら解約します。",
            "いつ直りますか。",
        ],
    },
    Voice {
        name: "speaker_alarm",
        product: "smart-speaker",
        weight: 3,
        openings: &[
            "スマートスピーカーのアラームが鳴りませんでした。",
            "設定したアラームが時々鳴らないです。",
            "朝のアラームが止まったまま反応しません。",
        ],
        details: &[
            "おかげで遅刻しました。",
            "音量は最大にしています。",
            "",
            "アップデート後からです。",
        ],
        closings: &["原因を教えてください。", "", "交換してもらえますか。"],
    },
    Voice {
        name: "rude_agent",
        product: "hikari-net",
        weight: 2,
        openings: &[
            "電話したら担当の方の態度がとても高圧的でした。",
            "何度電話してもたらい回しにされます。",
            "オペレーターの説明が毎回違います。",
        ],
        details: &[
            "三回も同じ説明をさせられました。",
            "話を最後まで聞いてもらえませんでした。",
            "",
        ],
        closings: &[
            "上の方と話をさせてください。",
            "改善してください。",
            "",
            "消費者センターに相談します。",
        ],
    },
    Voice {
        name: "wait_time",
        product: "credit-card",
        weight: 3,
        openings: &[
            "コールセンターに全然つながりません。",
            "電話で30分も待たされました。",
            "問い合わせのメールに一週間返信がありません。",
        ],
        details: &[
            "昼休みにかけているのに時間が足りません。",
            "",
            "チャットも混雑中と表示されます。",
        ],
        closings: &[
            "もっと繋がりやすくしてください。",
            "",
            "どうなっているんですか。",
        ],
    },
    Voice {
        name: "cancel",
        product: "hikari-net",
        weight: 3,
        openings: &[
            "解約の手続きをしたいのですが。",
            "来月で解約したいです。",
            "他社に乗り換えるので解約を考えています。",
            "引っ越しのため解約をお願いしたいです。",
        ],
        details: &[
            "解約金はいくらかかりますか。",
            "",
            "ルーターの返却方法も教えてください。",
        ],
        closings: &["よろしくお願いします。", ""],
    },
    Voice {
        name: "how_to",
        product: "mobile-app",
        weight: 4,
        openings: &[
            "ポイントの使い方を教えてください。",
            "通知をオフにする方法がわかりません。",
            "機種変更したのでデータの引き継ぎ方法を知りたいです。",
            "家族アカウントを追加することはできますか。",
        ],
        details: &["", "設定画面を探しましたが見つかりませんでした。"],
        closings: &["よろしくお願いします。", ""],
    },
    Voice {
        name: "praise",
        product: "ec-shop",
        weight: 4,
        openings: &[
            "配送がとても早くて助かりました。",
            "サポートの方が丁寧に対応してくれました。",
            "梱包も丁寧で商品も満足しています。",
            "問い合わせたらすぐに解決しました。ありがとうございました。",
        ],
        details: &["", "また利用したいと思います。"],
        closings: &["", "これからもよろしくお願いします。"],
    },
    Voice {
        name: "feature_request",
        product: "mobile-app",
        weight: 2,
        openings: &[
            "ダークモードに対応してもらえると嬉しいです。",
            "利用明細をCSVでダウンロードできるようにしてほしいです。",
            "ウィジェット機能があると便利だと思います。",
        ],
        details: &["", "夜に使うことが多いので。"],
        closings: &["ご検討ください。", ""],
    },
    Voice {
        name: "address_change",
        product: "credit-card",
        weight: 2,
        openings: &[
            "住所が変わったので登録情報を変更したいです。",
            "支払い方法を口座振替に変更したいです。",
        ],
        details: &[
            "新しい住所は東京都新宿区西新宿2-8-1です。",
            "連絡先は090-1234-5678です。",
            "",
        ],
        closings: &["手続きをお願いします。", ""],
    },
    // The emerging problem: only in the last hours (see `generate`).
    Voice {
        name: "sms_code_burst",
        product: "mobile-app",
        weight: 0,
        openings: &[
            "ログインしようとしても認証コードが届きません。",
            "SMSの認証コードが来ないのでログインできません。",
            "何度再送しても認証コードのSMSが届かないです。",
            "ワンタイムパスワードのSMSが届かずログインできない。",
            "認証コードが届かなくてアプリに入れません。",
        ],
        details: &[
            "さっきから何回も試しています。",
            "電話番号は合っています。",
            "",
            "今朝までは普通に届いていました。",
            "仕事で使うので本当に困ります。",
        ],
        closings: &[
            "至急対応してください。",
            "どうなっているんですか。",
            "",
            "早く直してください。",
        ],
    },
    // A problem no rule anticipated, spread over the last day with the burst (see
    // `generate`): words of its own, only the generic `product` topic, so it shows as a new theme.
    Voice {
        name: "speaker_night_talk",
        product: "smart-speaker",
        weight: 0,
        openings: &[
            "スマートスピーカーが夜中に勝手に喋り出します。",
            "夜中にスピーカーが誰も話しかけていないのに勝手に喋り出しました。",
            "深夜にスマートスピーカーが突然大音量で喋り出して家族が起きました。",
            "夜中に音声アシスタントが勝手に起動して喋り出すんです。",
            "テレビも付けていないのに夜中にスピーカーが勝手に喋り出します。",
        ],
        details: &[
            "昨日のアップデートの後からです。",
            "子どもが怖がっています。",
            "",
            "二晩続けてです。",
        ],
        closings: &["何とかしてください。", "", "原因を教えてください。"],
    },
];

const CHANNELS: &[&str] = &["phone", "chat", "email", "sns", "review", "form"];

const AGENT_OPENINGS: &[&str] = &[
    "お電話ありがとうございます。",
    "お問い合わせありがとうございます。",
    "お待たせいたしました。担当の佐藤でございます。",
];
const AGENT_REPLIES: &[&str] = &[
    "大変申し訳ございません。すぐにお調べいたします。",
    "ご不便をおかけして申し訳ございません。",
    "確認いたしますので少々お待ちください。",
    "承知いたしました。",
];

fn compose(rng: &mut Rng, v: &Voice) -> (String, String) {
    let first = format!("{}{}", rng.pick(v.openings), rng.pick(v.details));
    let second = rng.pick(v.closings).to_string();
    (first, second)
}

/// One interaction of voice `v` at `at`.
fn interaction(rng: &mut Rng, n: usize, v: &Voice, at: OffsetDateTime) -> Value {
    let channel = if v.weight == 0 {
        rng.pick(&["chat", "sns", "form", "phone"])
    } else {
        rng.pick(CHANNELS)
    };
    let (first, second) = compose(rng, v);
    // A few customers come back: a small id space for the recurring problems.
    let customer = if v.weight >= 5 && rng.chance(0.3) {
        format!("h:{:04x}", rng.below(40))
    } else {
        format!("h:{:08x}", rng.next_u64() as u32)
    };
    let mut msg = json!({
        "interaction_id": format!("demo-{n:06}"),
        "channel": channel,
        "occurred_at": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "product": v.product,
        "customer_id": customer,
        "language": "ja",
    });
    if matches!(channel, "phone" | "chat") {
        let mut turns = vec![json!({"speaker": "agent", "text": rng.pick(AGENT_OPENINGS)})];
        let lead = if channel == "phone" && rng.chance(0.5) {
            rng.pick(&["えー、", "あのー、", "えっと、"])
        } else {
            ""
        };
        turns.push(json!({"speaker": "customer", "text": format!("{lead}{first}")}));
        turns.push(json!({"speaker": "agent", "text": rng.pick(AGENT_REPLIES)}));
        if !second.is_empty() {
            turns.push(json!({"speaker": "customer", "text": second}));
        } else {
            turns.push(json!({"speaker": "customer", "text": "はい。"}));
        }
        msg["turns"] = Value::Array(turns);
        msg["agent_id"] = format!("a-{}", rng.below(30)).into();
        let handle = 120 + rng.below(900);
        msg["metrics"] = json!({"handle_time_s": handle, "wait_time_s": rng.below(600), "resolved": rng.chance(0.6), "csat": 1 + rng.below(5)});
    } else {
        let contact = if rng.chance(0.05) {
            "連絡先はtaro.yamada@example.jpです。"
        } else {
            ""
        };
        msg["text"] = format!("{first}{second}{contact}").into();
    }
    msg
}

/// The corpus: `steady` interactions spread over the 7 days before `end`, plus `burst` of the
/// emerging problem in its last 3 hours and three quarters as many of a problem no rule knows in
/// its last 24 hours; sorted by time.
pub fn generate(seed: u64, end: OffsetDateTime, steady: usize, burst: usize) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let total_weight: u32 = VOICES.iter().map(|v| v.weight).sum();
    let span = Duration::days(7).whole_seconds();
    let mut events: Vec<(OffsetDateTime, &Voice)> = Vec::with_capacity(steady + burst);
    for _ in 0..steady {
        let mut r = rng.below(total_weight as usize) as u32;
        let voice = VOICES.iter().find(|v| {
            if r < v.weight {
                true
            } else {
                r -= v.weight;
                false
            }
        });
        // Daytime-heavy: redraw night hours once.
        let mut at = end - Duration::seconds(rng.below(span as usize) as i64);
        if at.hour() < 7 {
            at = end - Duration::seconds(rng.below(span as usize) as i64);
        }
        if let Some(v) = voice {
            events.push((at, v));
        }
    }
    if let Some(b) = VOICES.iter().find(|v| v.name == "sms_code_burst") {
        for _ in 0..burst {
            events.push((end - Duration::seconds(rng.below(3 * 3600) as i64), b));
        }
    }
    if let Some(b) = VOICES.iter().find(|v| v.name == "speaker_night_talk") {
        for _ in 0..burst * 3 / 4 {
            events.push((end - Duration::seconds(rng.below(24 * 3600) as i64), b));
        }
    }
    events.sort_by_key(|(t, _)| *t);
    events
        .into_iter()
        .enumerate()
        .map(|(n, (at, v))| interaction(&mut rng, n, v, at))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end() -> OffsetDateTime {
        time::macros::datetime!(2026-11-22 12:00 +09:00)
    }

    #[test]
    fn same_seed_same_corpus_and_valid_messages() {
        let a = generate(7, end(), 300, 30);
        assert_eq!(a, generate(7, end(), 300, 30));
        assert_eq!(
            a.len(),
            300 + 30 + 30 * 3 / 4,
            "steady, burst and the unknown problem"
        );
        let unknown: Vec<&Value> = a
            .iter()
            .filter(|m| m["product"] == "smart-speaker" && m.to_string().contains("喋り出"))
            .collect();
        assert_eq!(unknown.len(), 30 * 3 / 4);
        let day_before = end() - Duration::days(1);
        for m in unknown {
            let at = OffsetDateTime::parse(
                m["occurred_at"].as_str().unwrap_or(""),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("time");
            assert!(
                at >= day_before && at <= end(),
                "the unknown problem is in the last day"
            );
        }
        for m in &a {
            let bytes = m.to_string();
            voc_core::parse_message(bytes.as_bytes(), &voc_core::Limits::default())
                .expect("generated messages are valid");
        }
    }

    #[test]
    fn the_burst_is_recent_and_phrasing_varies() {
        let corpus = generate(1, end(), 500, 40);
        let recent = end() - Duration::hours(3);
        let burst: Vec<&Value> = corpus
            .iter()
            .filter(|m| {
                let t = m["occurred_at"].as_str().unwrap_or("");
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .is_ok_and(|t| t >= recent)
                    && ["認証コード", "SMS", "ワンタイム"]
                        .iter()
                        .any(|w| m.to_string().contains(w))
            })
            .collect();
        assert!(burst.len() >= 40, "{}", burst.len());
        let distinct: std::collections::HashSet<String> = corpus
            .iter()
            .map(|m| {
                m.get("text")
                    .map(Value::to_string)
                    .unwrap_or_else(|| m["turns"][1].to_string())
            })
            .collect();
        assert!(
            distinct.len() > corpus.len() / 5,
            "varied phrasing: {} distinct of {}",
            distinct.len(),
            corpus.len()
        );
    }
}
