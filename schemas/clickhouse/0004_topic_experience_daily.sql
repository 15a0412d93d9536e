-- Sentiment, CSAT, NPS, effort and resolution per topic and day, computed from the collapsed
-- interactions (FINAL), so averages are exact whatever was replayed.
CREATE VIEW IF NOT EXISTS ${DB}.topic_experience_daily
AS SELECT
    toDate(occurred_at) AS day,
    topic,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    count() AS interactions,
    countIf(sentiment = 'negative') AS negative,
    avg(sentiment_score) AS avg_sentiment_score,
    countIf(isNotNull(csat)) AS csat_responses,
    avgIf(assumeNotNull(csat), isNotNull(csat)) AS avg_csat,
    avgIf(assumeNotNull(nps), isNotNull(nps)) AS avg_nps,
    avgIf(assumeNotNull(ces), isNotNull(ces)) AS avg_ces,
    countIf(isNotNull(resolved)) AS resolution_known,
    avgIf(assumeNotNull(resolved), isNotNull(resolved)) AS resolution_rate,
    countIf(churn_risk = 1) AS churn_risk,
    countIf(severity = 3) AS escalations
FROM ${DB}.interactions FINAL
ARRAY JOIN if(empty(topics), ['(none)'], CAST(topics AS Array(String))) AS topic
GROUP BY day, topic, product, channel;
