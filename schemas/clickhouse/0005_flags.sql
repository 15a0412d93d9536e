-- Flags for support leads: one row per flag (read with FINAL; the newest version wins).
-- status: open → acknowledged → resolved. While a flag is open or acknowledged, a new detection of
-- the same kind and key updates it; after it is resolved, a new detection raises a new flag.
CREATE TABLE IF NOT EXISTS ${DB}.flags
(
    flag_id String,
    kind ${LC_STRING},
    key String,
    status ${LC_STRING},
    title String,
    score Float64,
    window_start DateTime,
    window_end DateTime,
    count UInt64,
    baseline Float64,
    sample_ids Array(String),
    created_at DateTime,
    updated_at DateTime,
    acked_by String,
    note String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY flag_id;
