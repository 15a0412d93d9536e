-- Hourly volume per topic × voice type × complaint type × channel × product, exact under
-- replays: each row holds the *set* of interaction ids (uniqExact states), so an interaction
-- delivered twice is counted once. Interactions without a topic count under '(none)'.
-- Read it through the view `topic_volume_hourly`.
CREATE TABLE IF NOT EXISTS ${DB}.topic_volume_hourly_state
(
    hour DateTime,
    topic String,
    voice_type String,
    complaint_type String,
    channel String,
    product String,
    interactions AggregateFunction(uniqExact, String),
    negative AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, topic, voice_type, complaint_type, channel, product)
${TTL_HOUR};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.topic_volume_hourly_mv
TO ${DB}.topic_volume_hourly_state
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(if(empty(topics), ['(none)'], CAST(topics AS Array(String)))) AS topic,
    CAST(voice_type AS String) AS voice_type,
    ifNull(complaint_type, '') AS complaint_type,
    CAST(channel AS String) AS channel,
    CAST(product AS String) AS product,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative
FROM ${DB}.interactions
GROUP BY hour, topic, voice_type, complaint_type, channel, product;

CREATE VIEW IF NOT EXISTS ${DB}.topic_volume_hourly
AS SELECT
    hour, topic, voice_type, complaint_type, channel, product,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.topic_volume_hourly_state
GROUP BY hour, topic, voice_type, complaint_type, channel, product;
