-- The experience sums of `topic_csat_hourly` (0015) by day, for the CSAT panel over long ranges:
-- at 30 M interactions a year of `topic_experience_hourly_closed` is 20 M hourly rows, and the
-- panel took 1.1 s over 365 days (BENCHMARKS.md, "Experience and repeat contacts apart"); a day
-- holds one row per topic × voice type × product × channel that occurred in it (BENCHMARKS.md,
-- "Daily CSAT roll-ups at 30 M").
--
-- The same protocol as the keyword roll-ups by day (0013, voc_store::days): a close writes a
-- day's sums from the experience rows it has just written to `topic_experience_hourly_closed`,
-- under the same version, then the day's row in `csat_day_closures`, before it records the
-- closure. Days closed before this migration, or by a binary that predates it, are rolled up at a
-- later close from their closed hourly rows under the ledger's version. A roll-up is current
-- exactly while its version is the ledger's, and then the highest `rollup` recorded for that
-- version is read: an attempt that stopped half-way recorded nothing.

CREATE TABLE IF NOT EXISTS ${DB}.csat_day_closures
(
    day UInt32,
    version UInt64,
    rollup UInt64
)
ENGINE = MergeTree()
ORDER BY (day, version, rollup);

CREATE TABLE IF NOT EXISTS ${DB}.topic_csat_daily_closed
(
    date Date,
    day UInt32,
    topic String,
    voice_type String,
    product String,
    channel String,
    interactions UInt64,
    negative UInt64,
    csat_sum Float64,
    csat_responses UInt64,
    resolved_contacts UInt64,
    resolution_known UInt64,
    version UInt64,
    rollup UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (day, topic, product, channel, voice_type)
${TTL_DAY_END};

-- The days whose roll-up is current, and which one.
CREATE VIEW IF NOT EXISTS ${DB}.csat_days
AS SELECT day, version, max(rollup) AS rollup
FROM ${DB}.csat_day_closures
WHERE (day, version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
GROUP BY day, version;

CREATE VIEW IF NOT EXISTS ${DB}.topic_csat_daily
AS SELECT
    date, day, topic, voice_type, product, channel, interactions, negative,
    csat_sum, csat_responses, resolved_contacts, resolution_known
FROM ${DB}.topic_csat_daily_closed
WHERE (day, version, rollup) IN (SELECT day, version, rollup FROM ${DB}.csat_days);
