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
-- closure (days.rs). Days closed before this migration, or by a binary that predates it, are
-- rolled up at a later close from their closed hourly rows under the ledger's version. Every
-- roll-up of a day has its own `rollup` id (a close's: its version; a later one's: an id of its
-- own) and its `keyword_day_closures` row is written after all its counts. So a day's roll-up is
-- current exactly while its version is the ledger's, and then the current roll-up is the highest
-- `rollup` recorded for that version: a close or a roll-up that stopped half-way recorded nothing,
-- and two that ran at once each recorded a complete one, of which one is read.

CREATE TABLE IF NOT EXISTS ${DB}.keyword_day_closures
(
    day UInt32,
    version UInt64,
    rollup UInt64
)
ENGINE = MergeTree()
ORDER BY (day, version, rollup);

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
    version UInt64,
    rollup UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (day, product, channel, topic, voice_type, keyword)
${TTL_DAY_END};

-- The days whose roll-up is current, and which one.
CREATE VIEW IF NOT EXISTS ${DB}.keyword_days
AS SELECT day, version, max(rollup) AS rollup
FROM ${DB}.keyword_day_closures
WHERE (day, version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
GROUP BY day, version;

CREATE VIEW IF NOT EXISTS ${DB}.keyword_daily
AS SELECT date, day, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_daily_closed
WHERE (day, version, rollup) IN (SELECT day, version, rollup FROM ${DB}.keyword_days);

-- Months are rolled up at the new levels from now on, and their closure rows carry the ledger's
-- fingerprint plus 13 (months.rs, `FINGERPRINT`): a month rolled up at the old levels (before this
-- migration, or by a binary that predates it) is not current here, whatever its fingerprint, and
-- the next close rolls it up again (`missing`), so the panel never reads a month at levels it does
-- not filter for.
DROP TABLE IF EXISTS ${DB}.keyword_months;

CREATE VIEW IF NOT EXISTS ${DB}.keyword_months
AS SELECT first_day, end_day, version
FROM
(
    SELECT first_day, end_day, version, closures,
        arrayJoin(arrayMap(i -> toUInt32(first_day + i), range(toUInt32(end_day - first_day)))) AS day
    FROM ${DB}.keyword_month_closures FINAL
    WHERE ready = 1
) AS month_days
ANY LEFT JOIN (SELECT day, version AS day_version FROM ${DB}.aggregate_closures FINAL) AS ledger USING day
GROUP BY first_day, end_day, version, closures
HAVING countIf(day_version > 0) = end_day - first_day AND sum(cityHash64(day, day_version)) + 13 = closures
