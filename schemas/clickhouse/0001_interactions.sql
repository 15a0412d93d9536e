-- One logical row per interaction_id: replays and re-sends collapse (read with FINAL).
-- `version` is the analysis time in milliseconds, so a re-tag with newer rules wins.
-- Only the customer's words are stored, and only after personal data was masked.
CREATE TABLE IF NOT EXISTS ${DB}.interactions
(
    interaction_id String,
    occurred_at DateTime,
    ingested_at DateTime,
    channel ${LC_STRING},
    product ${LC_STRING},
    queue ${LC_STRING},
    customer_id String,
    agent_id String,
    topics Array(${LC_STRING}),
    voice_type ${LC_STRING},
    complaint_type Nullable(String),
    sentiment ${LC_STRING},
    sentiment_score Float32,
    severity UInt8,
    churn_risk UInt8,
    keywords Array(String),
    evidence String,
    customer_text String,
    pii_masked UInt16,
    truncated UInt8,
    csat Nullable(Float32),
    nps Nullable(Float32),
    ces Nullable(Float32),
    resolved Nullable(UInt8),
    handle_time_s Nullable(Float32),
    wait_time_s Nullable(Float32),
    rules_version ${LC_STRING},
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY interaction_id
${TTL_OCCURRED_AT};
