-- Keyword document frequency per hour, product and channel: in how many distinct interactions a
-- keyword occurred. Exact under replays (uniqExact states). Read through `keyword_hourly`.
CREATE TABLE IF NOT EXISTS ${DB}.keyword_hourly_state
(
    hour DateTime,
    keyword String,
    product String,
    channel String,
    interactions AggregateFunction(uniqExact, String),
    negative AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, keyword, product, channel)
${TTL_HOUR};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.keyword_hourly_mv
TO ${DB}.keyword_hourly_state
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(keywords) AS keyword,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative
FROM ${DB}.interactions
GROUP BY hour, keyword, product, channel;

CREATE VIEW IF NOT EXISTS ${DB}.keyword_hourly
AS SELECT
    hour, keyword, product, channel,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.keyword_hourly_state
GROUP BY hour, keyword, product, channel;
