-- Keywords by topic and voice type, for the keyword panels, which honour the topic and voice-type
-- filters and so read every interaction of their range until now. Closed days: exact counts, as in
-- 0009. Open days: counted from `interactions FINAL` at read time, not kept as id sets: a view
-- with id sets over keyword × topic made every insert about three times as costly, and the worker
-- 40 % slower end to end (BENCHMARKS.md §4), while the open days are only the last few.
-- Topic `(any)` counts each interaction once whatever its topics (read it when no topic is chosen);
-- the other topics count the interactions that have them (`(none)`: no topic).

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

-- The open side reads interactions from the day after the last closed one (partitions before it
-- are skipped), without the closed days.
CREATE VIEW IF NOT EXISTS ${DB}.keyword_topic_hourly
AS SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_topic_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, keyword, topic, voice_type, product, channel,
    count() AS interactions,
    countIf(sentiment = 'negative') AS negative
FROM
(
    SELECT
        toStartOfHour(occurred_at) AS hour,
        arrayJoin(arrayDistinct(keywords)) AS keyword,
        arrayJoin(arrayPushFront(arrayDistinct(if(empty(topics), ['(none)'], CAST(topics AS Array(String)))), '(any)')) AS topic,
        CAST(voice_type AS String) AS voice_type,
        CAST(product AS String) AS product,
        CAST(channel AS String) AS channel,
        sentiment
    FROM ${DB}.interactions FINAL
    WHERE occurred_at >= toDateTime((SELECT max(day) FROM ${DB}.aggregate_closures) * 86400 + 82800)
      AND intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
)
GROUP BY hour, keyword, topic, voice_type, product, channel;

-- Days closed before this migration have no counts here yet. One empty id set per closed day,
-- stamped now, marks each of them for re-closing, so the next close (the flagger's, or
-- `voc aggregates close`) computes them, a month at a time; until then the keyword panels miss them.
INSERT INTO ${DB}.topic_volume_hourly_state
SELECT
    toDateTime(day * 86400) AS hour,
    '' AS topic,
    '' AS voice_type,
    '' AS complaint_type,
    '' AS channel,
    '' AS product,
    arrayReduce('uniqExactState', emptyArrayString()) AS interactions,
    arrayReduce('uniqExactIfState', emptyArrayString(), emptyArrayUInt8()) AS negative,
    arrayReduce('maxState', [now()]) AS written
FROM (SELECT DISTINCT day FROM ${DB}.aggregate_closures)
