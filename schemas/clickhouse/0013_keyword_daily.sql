-- Keywords by day, for the keyword panels over the days a monthly roll-up (0012) does not cover: at
-- 30 M interactions the month in progress was 13 M hourly rows and three quarters of "top keywords"
-- over 90 or 365 days (BENCHMARKS.md, "Monthly keyword roll-ups at 30 M"); a day's slice for one
-- combination of filters is at most a vocabulary's worth of rows (BENCHMARKS.md, "Daily keyword
-- roll-ups at 30 M").
--
-- Rows at three levels (voc_store::levels), a filter left at All stored as a marker, so that
-- each combination of dashboard filters a level serves is one slice of the sorting key:
-- - product = channel = '(all)': keyword × topic (or '(any)') × voice type (or '(all)');
-- - topic = '(any)', voice_type = '(all)': keyword × product × channel, either possibly '(all)';
-- - channel = voice_type = '(all)': keyword × product × topic (a real topic).
-- Each combination is in one level only. Since this migration the monthly roll-ups (0012) are
-- written at the same levels.
--
-- A close writes a day's rows from the counts it has just written to `keyword_topic_hourly_closed`,
-- under the same version, then the day's row in `keyword_day_closures`, before it records the
-- closure (days.rs). So a day's roll-up is current exactly while its version is the ledger's and
-- that of its latest `keyword_day_closures` row: a re-close replaces both, a close that stopped
-- half-way leaves the day to the hourly rows. Days closed before this migration, or closed by a
-- binary that predates it, are rolled up from their closed hourly rows at the next close.

CREATE TABLE IF NOT EXISTS ${DB}.keyword_day_closures
(
    day UInt32,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY day;

CREATE TABLE IF NOT EXISTS ${DB}.keyword_daily_closed
(
    date Date,
    day UInt32,
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
PARTITION BY toYYYYMM(date)
ORDER BY (day, product, channel, topic, voice_type, keyword)
${TTL_DAY_END};

-- The days whose roll-up is current.
CREATE VIEW IF NOT EXISTS ${DB}.keyword_days
AS SELECT day, version
FROM ${DB}.keyword_day_closures FINAL
WHERE (day, version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL);

CREATE VIEW IF NOT EXISTS ${DB}.keyword_daily
AS SELECT date, day, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_daily_closed
WHERE (day, version) IN (SELECT day, version FROM ${DB}.keyword_days);

-- The months rolled up before this migration are at the old levels: each is retired (a closure row
-- not ready, above the ready one), so readers take it from the days and hours until the next close
-- rolls it up again at the new ones (months.rs, `missing`).
INSERT INTO ${DB}.keyword_month_closures (first_day, end_day, version, closures, days, ready, revision)
SELECT first_day, end_day, version, closures, days, toUInt8(0), revision + 1
FROM ${DB}.keyword_month_closures FINAL
WHERE ready = 1
