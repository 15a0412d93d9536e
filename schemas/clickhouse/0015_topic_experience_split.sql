-- The experience sums and the repeat contacts of `topic_experience_hourly` (0011) as two views,
-- for the panels that read one of them. At 30 M interactions the open side of the repeat contacts
-- (8 days of complaints grouped by customer) took about 370 ms whatever the range, and the CSAT
-- panel, which never sums them, paid it; the repeat panel paid the open days' CSAT side (about
-- 130 ms) likewise (BENCHMARKS.md §4, "Experience and repeat contacts apart").
--
-- A closed day's row holds either experience sums (from at least one interaction) or repeat
-- contacts (at least one), the other columns 0 (0011): each view reads its own rows, so the two add
-- up to `topic_experience_hourly`, which is now their union, with the same columns and meaning.

CREATE VIEW IF NOT EXISTS ${DB}.topic_csat_hourly
AS SELECT
    hour, topic, voice_type, product, channel, interactions, negative,
    csat_sum, csat_responses, resolved_contacts, resolution_known
FROM ${DB}.topic_experience_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
  AND repeat_contacts = 0
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
    countIf(isNotNull(resolved)) AS resolution_known
FROM ${DB}.interactions FINAL
WHERE occurred_at >= toDateTime((SELECT max(day) FROM ${DB}.aggregate_closures) * 86400 + 82800)
  AND intDiv(toUInt32(toStartOfHour(occurred_at)), 86400) NOT IN (SELECT day FROM ${DB}.aggregate_closures)
GROUP BY hour, topic, voice_type, product, channel;

CREATE VIEW IF NOT EXISTS ${DB}.topic_repeats_hourly
AS SELECT hour, topic, voice_type, product, channel, repeat_contacts
FROM ${DB}.topic_experience_hourly_closed
WHERE (intDiv(toUInt32(hour), 86400), version) IN (SELECT day, version FROM ${DB}.aggregate_closures FINAL)
  AND repeat_contacts > 0
UNION ALL
SELECT
    toStartOfHour(tupleElement(c, 1)) AS hour,
    topic,
    'complaint' AS voice_type,
    tupleElement(c, 3) AS product,
    tupleElement(c, 4) AS channel,
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

DROP TABLE IF EXISTS ${DB}.topic_experience_hourly;

CREATE VIEW IF NOT EXISTS ${DB}.topic_experience_hourly
AS SELECT
    hour, topic, voice_type, product, channel, interactions, negative,
    csat_sum, csat_responses, resolved_contacts, resolution_known,
    toUInt64(0) AS repeat_contacts
FROM ${DB}.topic_csat_hourly
UNION ALL
SELECT
    hour, topic, voice_type, product, channel,
    toUInt64(0) AS interactions,
    toUInt64(0) AS negative,
    toFloat64(0) AS csat_sum,
    toUInt64(0) AS csat_responses,
    toUInt64(0) AS resolved_contacts,
    toUInt64(0) AS resolution_known,
    repeat_contacts
FROM ${DB}.topic_repeats_hourly;
