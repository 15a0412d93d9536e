-- Routing of flags. `team`: the team a flag is assigned to, set from `[teams]` when it is raised and
-- changed by "assign" in the console or `voc flags assign` (empty: nobody in [teams] owns it).
-- `channels`: the channels its sample voices came from, for the inbox's channel filter.
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: `voc migrate` takes "column already exists"
-- (code 44) on an ALTER ... ADD COLUMN as done, so the migration stays safe to re-run.
ALTER TABLE ${DB}.flags ADD COLUMN team String DEFAULT '';
ALTER TABLE ${DB}.flags ADD COLUMN channels Array(String)
