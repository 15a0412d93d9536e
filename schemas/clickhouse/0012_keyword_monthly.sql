-- Keywords by month, for the keyword panels over quarters and years: at 30 M interactions a year of
-- `keyword_topic_hourly` is about 350 M hourly rows and "top keywords" over 365 days took 8.4 s
-- (BENCHMARKS.md §4); a month holds 18 M hourly groups but 0.3 M keyword × topic × voice type
-- groups and 2.4 M keyword × product × channel groups.
--
-- Rows at two levels, one per combination of dashboard filters that leaves the others at All:
-- - product = channel = '(all)': keyword × topic × voice type (topic `(any)` counts each interaction
--   once, as in 0010), for any topic and voice-type filter with product and channel at All;
-- - topic = '(any)', voice_type = '(all)': keyword × product × channel, for product and channel
--   filters with topic and voice type at All.
-- Other combinations read the hourly rows.
--
-- A month is rolled up only when every one of its UTC days is closed, from those days' closed
-- counts, by the close that closes (or re-closes) one of its days (months.rs). Its closure row
-- holds the fingerprint of the day closures it read (the wrapping sum of cityHash64(day, version)
-- over them): the month is current exactly while it is `ready` and that fingerprint is the
-- ledger's, so a re-close of any of its days (a late message, a re-tag) retires it until it is
-- rolled up again, and readers take that month from the hourly rows meanwhile. A roll-up writes its
-- closure row twice: not ready (retiring the month's previous roll-up) before its counts, ready
-- after them and only if the ledger still has the fingerprint of the first. `revision` orders the
-- two: version + ready (closes take even versions). Months are UTC months, as the days are.

CREATE TABLE IF NOT EXISTS ${DB}.keyword_month_closures
(
    first_day UInt32,
    end_day UInt32,
    version UInt64,
    closures UInt64,
    days UInt32,
    ready UInt8,
    revision UInt64
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY first_day;

CREATE TABLE IF NOT EXISTS ${DB}.keyword_monthly_closed
(
    month Date,
    first_day UInt32,
    end_day UInt32,
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
PARTITION BY toYear(month)
ORDER BY (first_day, product, channel, topic, voice_type, keyword)
${TTL_MONTH_END};

-- The months whose roll-up is current: every day closed, under the closures it was made from.
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
HAVING countIf(day_version > 0) = end_day - first_day AND sum(cityHash64(day, day_version)) = closures;

CREATE VIEW IF NOT EXISTS ${DB}.keyword_monthly
AS SELECT month, first_day, end_day, keyword, topic, voice_type, product, channel, interactions, negative
FROM ${DB}.keyword_monthly_closed
WHERE (first_day, version) IN (SELECT first_day, version FROM ${DB}.keyword_months)
