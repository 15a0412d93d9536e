-- Experience by topic (CSAT, resolution) and repeat contacts, for the panels that read every
-- interaction of their range until now: a year of `interactions FINAL` took 1.8 s (CSAT) and
-- 5.2 s (repeat contacts) at 30 M interactions (BENCHMARKS.md §4). Closed days: exact sums and
-- counts, computed when a day is closed, as in 0009. Open days: from `interactions FINAL` at read
-- time, as in 0010.
--
-- A repeat contact is a complaint by a customer who complained about the same topic in the 7 days
-- (604,800 s) before it: the contact-centre repeat-contact measure, counted on the contact that
-- repeats. Unlike "customers with two complaints in the range", it adds up over hours, so a year
-- reads hourly sums and not a year of customers. Its day depends on the 7 days before, so a
-- re-close of a day re-closes the closed days of the 7 days after it as well (repeats.rs). The
-- flagger's repeat-contact flags are another measure (customers with two complaints in
-- `flags.repeat_days`).
--
-- The repeat rows and the experience rows of a group are separate rows (each with the other's
-- columns 0): readers sum.

CREATE TABLE IF NOT EXISTS ${DB}.topic_experience_hourly_closed
(
    hour DateTime,
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
    repeat_contacts UInt64,
    version UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, topic, voice_type, product, channel)
${TTL_HOUR};

-- The open side reads interactions from the day after the last closed one (8 days earlier for
-- repeat contacts, which look back 7), without the closed days.
CREATE VIEW IF NOT EXISTS ${DB}.topic_experience_hourly
AS SELECT
    hour, topic, voice_type, product, channel, interactions, negative,
    csat_sum, csat_responses, resolved_contacts, resolution_known, repeat_contacts
FROM ${DB}.topic_experience_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
UNION ALL
SELECT
    toStartOfHour(occurred_at) AS hour,
    arrayJoin(arrayDistinct(if(empty(topics), ['(none)'], CAST(topics AS Array(String))))) AS topic,
    CAST(voice_type AS String) AS voice_type,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    count() AS interactions,
    countIf(sentiment = 'negative') AS negative,
    sumIf(toFloat64(assumeNotNull(csat)), isNotNull(csat)) AS csat_sum,
    countIf(isNotNull(csat)) AS csat_responses,
    sumIf(toUInt64(assumeNotNull(resolved)), isNotNull(resolved)) AS resolved_contacts,
    countIf(isNotNull(resolved)) AS resolution_known,
    toUInt64(0) AS repeat_contacts
FROM ${DB}.interactions FINAL
WHERE occurred_at >= toDateTime((SELECT max(day) FROM ${DB}.aggregate_closures) * 86400 + 82800)
  AND intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, topic, voice_type, product, channel
UNION ALL
SELECT
    toStartOfHour(tupleElement(c, 1)) AS hour,
    topic,
    'complaint' AS voice_type,
    tupleElement(c, 3) AS product,
    tupleElement(c, 4) AS channel,
    toUInt64(0) AS interactions,
    toUInt64(0) AS negative,
    toFloat64(0) AS csat_sum,
    toUInt64(0) AS csat_responses,
    toUInt64(0) AS resolved_contacts,
    toUInt64(0) AS resolution_known,
    count() AS repeat_contacts
FROM
(
    SELECT
        topic,
        arraySort(groupArray((occurred_at, interaction_id, CAST(product AS String), CAST(channel AS String)))) AS contacts,
        arrayPushFront(arrayPopBack(arrayMap(x -> tupleElement(x, 1), contacts)), toDateTime(0)) AS previous
    FROM ${DB}.interactions FINAL
    ARRAY JOIN arrayDistinct(CAST(topics AS Array(String))) AS topic
    WHERE customer_id != '' AND voice_type = 'complaint'
      AND occurred_at >= toDateTime((greatest((SELECT max(day) FROM ${DB}.aggregate_closures), 8) - 8) * 86400)
    GROUP BY customer_id, topic
    HAVING count() >= 2
)
ARRAY JOIN contacts AS c, previous AS p
WHERE toUInt32(tupleElement(c, 1)) - toUInt32(p) <= 604800
  AND intDiv(toUInt32(toStartOfHour(tupleElement(c, 1))), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, topic, product, channel;

-- Days closed before this migration have no rows here yet: one empty id set per closed day,
-- stamped now, marks each of them for re-closing, as 0010 does. Until the next close (the
-- flagger's, or `voc aggregates close`) computes them, a month at a time, the panels reading this
-- view show nothing for those days; at 30 M interactions re-closing a year took about 8 minutes.
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
