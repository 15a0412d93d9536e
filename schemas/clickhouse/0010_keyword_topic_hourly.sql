-- Keywords by topic and voice type, for the keyword panels, which honour the topic and voice-type
-- filters and so read every interaction of their range until now. Same design as 0009: id sets for
-- the open days, exact counts for the closed ones, and one view over both.
-- Topic `(any)` counts each interaction once whatever its topics (read it when no topic is chosen);
-- the other topics count the interactions that have them (`(none)`: no topic).

CREATE TABLE IF NOT EXISTS ${DB}.keyword_topic_hourly_state
(
    hour DateTime,
    keyword String,
    topic String,
    voice_type String,
    product String,
    channel String,
    interactions AggregateFunction(uniqExact, String),
    negative AggregateFunction(uniqExactIf, String, UInt8),
    written AggregateFunction(max, DateTime)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, keyword, topic, voice_type, product, channel)
${TTL_HOUR};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.keyword_topic_hourly_mv
TO ${DB}.keyword_topic_hourly_state
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(keywords) AS keyword,
    arrayJoin(arrayPushFront(if(empty(topics), ['(none)'], CAST(topics AS Array(String))), '(any)')) AS topic,
    CAST(voice_type AS String) AS voice_type,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative,
    maxState(now()) AS written
FROM ${DB}.interactions
GROUP BY hour, keyword, topic, voice_type, product, channel;

CREATE TABLE IF NOT EXISTS ${DB}.keyword_topic_hourly_closed
(
    hour DateTime,
    keyword String,
    topic String,
    voice_type String,
    product String,
    channel String,
    interactions UInt64,
    negative UInt64,
    version UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, keyword, topic, voice_type, product, channel)
${TTL_HOUR};

CREATE VIEW IF NOT EXISTS ${DB}.keyword_topic_hourly
AS SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_topic_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, keyword, topic, voice_type, product, channel,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.keyword_topic_hourly_state
WHERE intDiv(toUInt32(hour), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, keyword, topic, voice_type, product, channel;

-- The history stored before this migration. Open days: their id sets, from the interactions. Closed
-- days: one empty id set each, stamped now, which marks the day for re-closing, so the next close
-- (the flagger's, or `voc aggregates close`) computes their counts a month at a time; until then the
-- keyword panels miss the closed days.
INSERT INTO ${DB}.keyword_topic_hourly_state
SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(keywords) AS keyword,
    arrayJoin(arrayPushFront(if(empty(topics), ['(none)'], CAST(topics AS Array(String))), '(any)')) AS topic,
    CAST(voice_type AS String) AS voice_type,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative,
    maxState(now()) AS written
FROM ${DB}.interactions FINAL
WHERE intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, keyword, topic, voice_type, product, channel;

INSERT INTO ${DB}.keyword_topic_hourly_state
SELECT
    toDateTime(day * 86400) AS hour,
    '' AS keyword,
    '(any)' AS topic,
    '' AS voice_type,
    '' AS product,
    '' AS channel,
    arrayReduce('uniqExactState', emptyArrayString()) AS interactions,
    arrayReduce('uniqExactIfState', emptyArrayString(), emptyArrayUInt8()) AS negative,
    arrayReduce('maxState', [now()]) AS written
FROM (SELECT DISTINCT day FROM ${DB}.aggregate_closures)
