-- Who did what to a flag, and when: one row per action (acknowledge, resolve, reopen), appended
-- by `voc flags ack|resolve` and the console. Never updated; read in `seq` order (microseconds).
CREATE TABLE IF NOT EXISTS ${DB}.flag_events
(
    flag_id String,
    at DateTime,
    actor String,
    action ${LC_STRING},
    note String,
    seq UInt64
)
ENGINE = MergeTree()
ORDER BY (flag_id, seq);
