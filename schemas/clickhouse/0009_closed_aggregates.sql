-- Aggregates whose size grows with groups, not with interactions (see ARCHITECTURE.md, "Closed days").
--
-- The id-set states (uniqExact) are exact under replays but keep every interaction id ever stored.
-- So only the UTC days still open to late and replayed messages (`clickhouse.aggregate_open_days`,
-- default 2) keep id sets; an older day is *closed*: its exact counts are computed once from
-- `interactions FINAL` into the `*_closed` tables under a version, the day and version are recorded in
-- `aggregate_closures`, and the day's id sets are deleted. Readers take closed days from the counts of
-- the day's latest closure and open days from the id sets (the views below).
--
-- A message that arrives for a closed day (a replay days later) still lands in the id sets through the
-- materialised view, stamped with the server time of its insert (`written`). Id sets written after a
-- day's closure mark the day dirty, and the next close recomputes it from `interactions FINAL` under a
-- new version, so it is counted exactly once. `voc retag` re-closes the closed days it re-tags.

ALTER TABLE ${DB}.topic_volume_hourly_state ADD COLUMN written AggregateFunction(max, DateTime);
ALTER TABLE ${DB}.keyword_hourly_state ADD COLUMN written AggregateFunction(max, DateTime);

-- The views again, now stamping each insert. They are created before the old ones are dropped, so no
-- insert goes unseen; while both exist an id lands twice in the same set, which counts it once.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.topic_volume_hourly_mv2
TO ${DB}.topic_volume_hourly_state
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(if(empty(topics), ['(none)'], CAST(topics AS Array(String)))) AS topic,
    CAST(voice_type AS String) AS voice_type,
    ifNull(complaint_type, '') AS complaint_type,
    CAST(channel AS String) AS channel,
    CAST(product AS String) AS product,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative,
    maxState(now()) AS written
FROM ${DB}.interactions
GROUP BY hour, topic, voice_type, complaint_type, channel, product;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.keyword_hourly_mv2
TO ${DB}.keyword_hourly_state
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(keywords) AS keyword,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    uniqExactState(interaction_id) AS interactions,
    uniqExactIfState(interaction_id, toUInt8(sentiment = 'negative')) AS negative,
    maxState(now()) AS written
FROM ${DB}.interactions
GROUP BY hour, keyword, product, channel;

DROP TABLE IF EXISTS ${DB}.topic_volume_hourly_mv;
DROP TABLE IF EXISTS ${DB}.keyword_hourly_mv;

-- One row per closed UTC day (`day` = days since 1970-01-01); the highest version is the one read.
CREATE TABLE IF NOT EXISTS ${DB}.aggregate_closures
(
    day UInt32,
    version UInt64,
    closed_at DateTime
)
ENGINE = ReplacingMergeTree(version)
ORDER BY day;

CREATE TABLE IF NOT EXISTS ${DB}.topic_volume_hourly_closed
(
    hour DateTime,
    topic String,
    voice_type String,
    complaint_type String,
    channel String,
    product String,
    interactions UInt64,
    negative UInt64,
    version UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, topic, voice_type, complaint_type, channel, product)
${TTL_HOUR};

CREATE TABLE IF NOT EXISTS ${DB}.keyword_hourly_closed
(
    hour DateTime,
    keyword String,
    product String,
    channel String,
    interactions UInt64,
    negative UInt64,
    version UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, keyword, product, channel)
${TTL_HOUR};

-- Totals across topics: an interaction with two topics is one interaction. Open days merge the id
-- sets across topics; closed days need their own counts.
CREATE TABLE IF NOT EXISTS ${DB}.volume_hourly_closed
(
    hour DateTime,
    voice_type String,
    complaint_type String,
    channel String,
    product String,
    interactions UInt64,
    negative UInt64,
    version UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, voice_type, complaint_type, channel, product)
${TTL_HOUR};

-- The read views keep their names and columns; a row is now one (hour, group) of either side.
DROP TABLE IF EXISTS ${DB}.topic_volume_hourly;
CREATE VIEW IF NOT EXISTS ${DB}.topic_volume_hourly
AS SELECT hour, topic, voice_type, complaint_type, channel, product, interactions, negative
FROM ${DB}.topic_volume_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, topic, voice_type, complaint_type, channel, product,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.topic_volume_hourly_state
WHERE intDiv(toUInt32(hour), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, topic, voice_type, complaint_type, channel, product;

DROP TABLE IF EXISTS ${DB}.keyword_hourly;
CREATE VIEW IF NOT EXISTS ${DB}.keyword_hourly
AS SELECT hour, keyword, product, channel, interactions, negative
FROM ${DB}.keyword_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, keyword, product, channel,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.keyword_hourly_state
WHERE intDiv(toUInt32(hour), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, keyword, product, channel;

CREATE VIEW IF NOT EXISTS ${DB}.volume_hourly
AS SELECT hour, voice_type, complaint_type, channel, product, interactions, negative
FROM ${DB}.volume_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    hour, voice_type, complaint_type, channel, product,
    uniqExactMerge(interactions) AS interactions,
    uniqExactIfMerge(negative) AS negative
FROM ${DB}.topic_volume_hourly_state
WHERE intDiv(toUInt32(hour), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, voice_type, complaint_type, channel, product
