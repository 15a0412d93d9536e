-- Discovered themes (see ARCHITECTURE.md, "Themes"): every flagger run clusters the interactions of
-- a sliding window by their keywords and writes each theme's current state here (read with FINAL;
-- the newest version wins). Ids are stable while a theme's core terms persist; a theme absorbed by
-- another is kept with status 'merged' and `merged_into`, one no longer found with status 'gone'.
CREATE TABLE IF NOT EXISTS ${DB}.themes
(
    theme_id String,
    label String,
    terms Array(String),
    term_counts Array(UInt64),
    size UInt64,
    topics Array(String),
    topic_counts Array(UInt64),
    covered_by String,
    sample_ids Array(String),
    status ${LC_STRING},
    merged_into String,
    split_from String,
    first_seen DateTime,
    last_seen DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY theme_id
${TTL_LAST_SEEN};

-- Which theme each interaction belongs to (at most one; '' once it left every theme). One logical
-- row per interaction (read with FINAL), so replays and re-runs never count it twice.
CREATE TABLE IF NOT EXISTS ${DB}.theme_members
(
    interaction_id String,
    theme_id String,
    occurred_at DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY interaction_id
${TTL_OCCURRED_AT};

-- Theme × hour × product × channel volumes, exact under replays: both sides are collapsed (FINAL)
-- before they are joined and counted.
CREATE VIEW IF NOT EXISTS ${DB}.theme_volume_hourly
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    theme_id,
    CAST(product AS String) AS product,
    CAST(channel AS String) AS channel,
    count() AS interactions,
    countIf(sentiment = 'negative') AS negative,
    countIf(voice_type = 'complaint') AS complaints
FROM ${DB}.interactions FINAL
ALL INNER JOIN
(
    SELECT interaction_id, theme_id FROM ${DB}.theme_members FINAL WHERE theme_id != ''
) AS members USING interaction_id
GROUP BY hour, theme_id, product, channel;
