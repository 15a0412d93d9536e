//! The interaction message of docs/CONTRACT.md §1: parsing from raw bytes and validation.
//!
//! Every way a message can be broken maps to one [`MessageError`] variant with a stable
//! [`MessageError::code`] (for dead-letter headers and counters) and a specific human message.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where an interaction came from. Unknown values are an error, not a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Phone,
    Chat,
    Email,
    Sns,
    Review,
    Form,
    Other,
}

impl Channel {
    /// Every channel, in the order the contract lists them.
    pub const ALL: [Self; 7] = [
        Self::Phone,
        Self::Chat,
        Self::Email,
        Self::Sns,
        Self::Review,
        Self::Form,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Chat => "chat",
            Self::Email => "email",
            Self::Sns => "sns",
            Self::Review => "review",
            Self::Form => "form",
            Self::Other => "other",
        }
    }

    /// The channel named by [`Self::as_str`], as stored in ClickHouse.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Customer,
    Agent,
    Bot,
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// Survey and handling figures a producer may attach. All optional; wrong types are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default)]
    pub csat: Option<f64>,
    #[serde(default)]
    pub nps: Option<f64>,
    #[serde(default)]
    pub ces: Option<f64>,
    #[serde(default)]
    pub resolved: Option<bool>,
    #[serde(default)]
    pub handle_time_s: Option<f64>,
    #[serde(default)]
    pub wait_time_s: Option<f64>,
}

/// The wire shape; unknown fields are ignored so producers can add fields freely.
#[derive(Debug, Deserialize)]
struct RawMessage {
    interaction_id: String,
    #[serde(default)]
    channel: Option<Channel>,
    occurred_at: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    turns: Option<Vec<Turn>>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    metrics: Option<Metrics>,
}

/// A validated interaction, owned, ready for analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub interaction_id: String,
    pub channel: Channel,
    pub occurred_at: OffsetDateTime,
    pub product: Option<String>,
    pub customer_id: Option<String>,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub language: Option<String>,
    /// Turns of a transcript; a single-text message becomes one customer turn.
    pub turns: Vec<Turn>,
    pub metrics: Metrics,
    /// Some turn text was longer than [`Limits::max_turn_chars`] and was cut.
    pub truncated: bool,
}

/// Size limits that keep one message from exhausting a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_turns: usize,
    pub max_turn_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            max_turns: 2_000,
            max_turn_chars: 20_000,
        }
    }
}

const MAX_ID_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is {bytes} bytes, over the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("message is not valid UTF-8 (first bad byte at offset {valid_up_to})")]
    InvalidUtf8 { valid_up_to: usize },
    #[error("message is not valid JSON for the interaction format: {0}")]
    InvalidJson(String),
    #[error("interaction_id is {0}")]
    BadId(&'static str),
    #[error("occurred_at {value:?} is not an RFC 3339 timestamp with offset")]
    BadTimestamp { value: String },
    #[error("message has neither non-empty `turns` nor `text`")]
    NoContent,
    #[error("message has {turns} turns, over the limit of {limit}")]
    TooManyTurns { turns: usize, limit: usize },
}

crate::closed_set! {
    /// Why a message was rejected: the `voc.reason` header of its dead letter and the `reason`
    /// label of `voc_source_rejected_total` (docs/CONTRACT.md §1).
    pub enum RejectReason("rejection reason") {
        TooLarge = "too_large",
        InvalidUtf8 = "invalid_utf8",
        InvalidJson = "invalid_json",
        BadInteractionId = "bad_interaction_id",
        BadOccurredAt = "bad_occurred_at",
        NoContent = "no_content",
        TooManyTurns = "too_many_turns",
        /// The analysis returned an error (the tokenizer failed).
        AnalysisFailed = "analysis_failed",
        /// The analysis panicked; caught so one message cannot take a worker down.
        AnalysisPanicked = "analysis_panicked",
    }
}

impl MessageError {
    /// The stable reason for dead-letter headers and metric labels.
    pub fn code(&self) -> RejectReason {
        match self {
            Self::TooLarge { .. } => RejectReason::TooLarge,
            Self::InvalidUtf8 { .. } => RejectReason::InvalidUtf8,
            Self::InvalidJson(_) => RejectReason::InvalidJson,
            Self::BadId(_) => RejectReason::BadInteractionId,
            Self::BadTimestamp { .. } => RejectReason::BadOccurredAt,
            Self::NoContent => RejectReason::NoContent,
            Self::TooManyTurns { .. } => RejectReason::TooManyTurns,
        }
    }
}

/// Parses and validates one message from raw bytes (a Kafka value or a JSONL line).
pub fn parse_message(bytes: &[u8], limits: &Limits) -> Result<Interaction, MessageError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(MessageError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_message_bytes,
        });
    }
    // Exports from spreadsheets and Windows tools start with a UTF-8 byte-order mark; it is not
    // part of the JSON.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| MessageError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    // serde quotes the offending value ("invalid type: string \"090-…\""): the error is logged
    // and sent with the dead letter, so it goes through the masker like any stored text.
    let raw: RawMessage = serde_json::from_str(text)
        .map_err(|e| MessageError::InvalidJson(crate::mask::mask(&e.to_string()).text))?;
    validate(raw, limits)
}

fn validate(raw: RawMessage, limits: &Limits) -> Result<Interaction, MessageError> {
    let id = raw.interaction_id;
    if id.trim().is_empty() {
        return Err(MessageError::BadId("empty"));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(MessageError::BadId("longer than 256 characters"));
    }
    if id.chars().any(char::is_control) {
        return Err(MessageError::BadId("carrying control characters"));
    }
    let occurred_at = OffsetDateTime::parse(&raw.occurred_at, &Rfc3339).map_err(|_| {
        MessageError::BadTimestamp {
            // Masked whole, then cut: a cut number would no longer look like one.
            value: crate::mask::mask(&raw.occurred_at)
                .text
                .chars()
                .take(64)
                .collect(),
        }
    })?;

    let mut turns = raw.turns.unwrap_or_default();
    if turns.len() > limits.max_turns {
        return Err(MessageError::TooManyTurns {
            turns: turns.len(),
            limit: limits.max_turns,
        });
    }
    if let Some(text) = raw.text.filter(|t| !t.trim().is_empty()) {
        // A single customer text (post, review, e-mail, form) is analysed as one customer turn.
        turns.insert(
            0,
            Turn {
                speaker: Speaker::Customer,
                text,
                offset_ms: None,
                confidence: None,
            },
        );
    }
    if turns.iter().all(|t| t.text.trim().is_empty()) {
        return Err(MessageError::NoContent);
    }
    let mut truncated = false;
    for turn in &mut turns {
        if let Some((cut, _)) = turn.text.char_indices().nth(limits.max_turn_chars) {
            turn.text.truncate(cut);
            truncated = true;
        }
    }
    Ok(Interaction {
        interaction_id: id,
        channel: raw.channel.unwrap_or(Channel::Other),
        occurred_at,
        product: raw.product,
        customer_id: raw.customer_id,
        agent_id: raw.agent_id,
        queue: raw.queue,
        language: raw.language,
        turns,
        metrics: raw.metrics.unwrap_or_default(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Interaction, MessageError> {
        parse_message(s.as_bytes(), &Limits::default())
    }

    const OK: &str = r#"{"interaction_id":"c1","channel":"phone","occurred_at":"2026-11-22T10:15:00+09:00",
        "turns":[{"speaker":"agent","text":"はい"},{"speaker":"customer","text":"請求が二重です"}],
        "unknown_field":{"nested":[1,2]}}"#;

    #[test]
    fn parses_the_contract_example_and_ignores_unknown_fields() {
        let m = parse(OK).expect("valid");
        assert_eq!(m.interaction_id, "c1");
        assert_eq!(m.channel, Channel::Phone);
        assert_eq!(m.turns.len(), 2);
        assert_eq!(m.occurred_at.offset().whole_hours(), 9);
    }

    #[test]
    fn a_byte_order_mark_before_the_json_is_not_an_error() {
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), OK.as_bytes()].concat();
        let m =
            parse_message(&with_bom, &Limits::default()).expect("a BOM is not part of the JSON");
        assert_eq!(m, parse(OK).expect("valid"));
        // Only a leading one: a BOM inside a string is text (normalisation drops it later).
        let inner = OK.replace("請求", "\u{FEFF}請求");
        assert!(parse(&inner).is_ok());
    }

    #[test]
    fn errors_quoting_the_input_quote_it_masked() {
        let csat = r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","text":"a","metrics":{"csat":"090-1234-5678"}}"#;
        let e = parse(csat).expect_err("csat is a number").to_string();
        assert!(e.contains("<TEL>") && !e.contains("1234"), "{e}");
        let at = r#"{"interaction_id":"x","occurred_at":"taro@example.com","text":"a"}"#;
        let e = parse(at).expect_err("not a time").to_string();
        assert!(e.contains("<EMAIL>") && !e.contains("taro"), "{e}");
    }

    #[test]
    fn text_becomes_one_customer_turn() {
        let m = parse(
            r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","text":"届きません"}"#,
        )
        .expect("valid");
        assert_eq!(m.turns.len(), 1);
        assert_eq!(m.turns[0].speaker, Speaker::Customer);
        assert_eq!(m.channel, Channel::Other);
    }

    #[test]
    fn each_broken_rule_has_its_own_error() {
        let cases = [
            (
                r#"{"occurred_at":"2026-11-22T01:00:00Z","text":"a"}"#,
                "invalid_json",
            ),
            (
                r#"{"interaction_id":"","occurred_at":"2026-11-22T01:00:00Z","text":"a"}"#,
                "bad_interaction_id",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22 01:00","text":"a"}"#,
                "bad_occurred_at",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00","text":"a"}"#,
                "bad_occurred_at",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z"}"#,
                "no_content",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","turns":[]}"#,
                "no_content",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","channel":"fax","text":"a"}"#,
                "invalid_json",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","turns":[{"speaker":"robot","text":"a"}]}"#,
                "invalid_json",
            ),
            (
                r#"{"interaction_id":7,"occurred_at":"2026-11-22T01:00:00Z","text":"a"}"#,
                "invalid_json",
            ),
            (
                r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","text":"a","metrics":{"csat":"high"}}"#,
                "invalid_json",
            ),
            ("[1,2,3]", "invalid_json"),
        ];
        for (input, code) in cases {
            let err = parse(input).expect_err(input);
            assert_eq!(err.code().as_str(), code, "{input}: {err}");
        }
    }

    #[test]
    fn unknown_channel_error_names_the_value() {
        let err = parse(r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","channel":"fax","text":"a"}"#)
            .expect_err("fax is not a channel");
        assert!(err.to_string().contains("fax"), "{err}");
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_message_bytes: 100,
            max_turns: 1,
            max_turn_chars: 3,
        };
        let big = format!(
            r#"{{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","text":"{}"}}"#,
            "あ".repeat(50)
        );
        assert_eq!(
            parse_message(big.as_bytes(), &limits)
                .expect_err("big")
                .code(),
            RejectReason::TooLarge
        );
        let limits = Limits {
            max_message_bytes: 1000,
            ..limits
        };
        let two = r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","turns":[{"speaker":"customer","text":"a"},{"speaker":"agent","text":"b"}]}"#;
        assert_eq!(
            parse_message(two.as_bytes(), &limits)
                .expect_err("turns")
                .code(),
            RejectReason::TooManyTurns
        );
        let long =
            r#"{"interaction_id":"x","occurred_at":"2026-11-22T01:00:00Z","text":"あいうえお"}"#;
        let m = parse_message(long.as_bytes(), &limits).expect("truncated, not rejected");
        assert!(m.truncated);
        assert_eq!(m.turns[0].text, "あいう");
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_offset() {
        let err = parse_message(b"{\"a\":\"\xff\"}", &Limits::default()).expect_err("bad utf8");
        assert_eq!(err, MessageError::InvalidUtf8 { valid_up_to: 6 });
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(&deep).expect_err("deep").code(),
            RejectReason::InvalidJson
        );
    }
}
