-- The open days' interactions again, sorted by hour, for the open side of `keyword_topic_hourly`.
-- `interactions` is sorted by id, so the last days' rows lie in every granule of their month and a
-- read of two days decoded the keywords of the whole month (BENCHMARKS.md §4, "The open days
-- sorted by hour"). Only what the view groups by is kept. One row per (hour, interaction_id): a
-- replay or re-tag collapses in FINAL as in `interactions` (the id sets of 0009 key an
-- interaction by its hour in the same way: a re-send that moves an interaction to another hour of
-- an open day counts it in both hours until that day closes, which reads `interactions FINAL`). A
-- close deletes its days' rows (closing.rs); rows of
-- closed days are never read here, so one left by a late message only waits for the re-close.

CREATE TABLE IF NOT EXISTS ${DB}.interactions_open
(
    hour DateTime,
    interaction_id String,
    keywords Array(String),
    topics Array(String),
    voice_type String,
    product String,
    channel String,
    sentiment String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, interaction_id)
${TTL_HOUR};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.interactions_open_view
TO ${DB}.interactions_open
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    interaction_id,
    keywords,
    CAST(topics AS Array(String)) AS topics,
    CAST(voice_type AS String) AS voice_type,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    CAST(sentiment AS String) AS sentiment,
    version
FROM ${DB}.interactions;

-- The days still open when this migration runs (all of them on a database never closed), from the
-- day after the last closed one, as the view reads them (partitions before it are skipped). An
-- insert already running when the view was created does not reach it: stop the workers for this
-- migration, or run it again (a row copied twice collapses in FINAL).
INSERT INTO ${DB}.interactions_open
SELECT
    toStartOfHour(occurred_at) AS hour,
    interaction_id,
    keywords,
    CAST(topics AS Array(String)) AS topics,
    CAST(voice_type AS String) AS voice_type,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    CAST(sentiment AS String) AS sentiment,
    version
FROM ${DB}.interactions FINAL
WHERE occurred_at >= toDateTime((SELECT max(day) FROM ${DB}.aggregate_closures) * 86400 + 82800)
  AND intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures);

-- The open days' rows to be summed: one per interaction × keyword × topic (`(any)` first, `(none)`
-- for no topic), `interactions` 1. Grouping them by all six columns costs more than reading them
-- (BENCHMARKS.md §4): a panel that sums by keyword reads `keyword_topic_rows`, which has the
-- closed days' counts and these rows, and groups once.
CREATE VIEW IF NOT EXISTS ${DB}.keyword_topic_open
AS SELECT
    hour,
    arrayJoin(arrayDistinct(keywords)) AS keyword,
    arrayJoin(arrayPushFront(arrayDistinct(if(empty(topics), ['(none)'], topics)), '(any)')) AS topic,
    voice_type,
    product,
    channel,
    toUInt64(1) AS interactions,
    toUInt64(sentiment = 'negative') AS negative
FROM ${DB}.interactions_open FINAL
WHERE hour >= toDateTime((SELECT max(day) FROM ${DB}.aggregate_closures) * 86400 + 82800)
  AND intDiv(toUInt32(hour), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures);

-- The same view as 0010, its open side summed from the rows above (the bound on `hour` now prunes
-- by the sorting key, not only by month).
DROP TABLE IF EXISTS ${DB}.keyword_topic_hourly;

CREATE VIEW IF NOT EXISTS ${DB}.keyword_topic_hourly
AS SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_topic_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, keyword, topic, voice_type, product, channel,
    sum(interactions) AS interactions,
    sum(negative) AS negative
FROM ${DB}.keyword_topic_open
GROUP BY hour, keyword, topic, voice_type, product, channel;

-- `keyword_topic_hourly` without the open side's grouping: several rows per group, to be summed.
CREATE VIEW IF NOT EXISTS ${DB}.keyword_topic_rows
AS SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_topic_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT hour, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_topic_open
