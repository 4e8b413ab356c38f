-- Runtime channel pruning (runtime-channel-rl) writes runtime.safetensors: gates and agents for
-- input-dependent inference. PostgreSQL can replace the CHECK constraint in place (SQLite rebuilds
-- the table); 0001's unnamed column check got the default name artifacts_kind_check.
ALTER TABLE artifacts DROP CONSTRAINT artifacts_kind_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_kind_check
    CHECK (kind IN ('weights', 'masks', 'compact', 'report', 'runtime'));
