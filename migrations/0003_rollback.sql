-- 0003_rollback.sql - the go-around: a pre-approved rollback pull request per migration, the
-- result of its last check, every go-around asked for, and the migration status go_around.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

-- Migrations gain the status go_around (the rollback PR was merged; landing stopped until a lead
-- re-opens it or aborts). SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt the documented way; other tables reference migrations (id), which is why the store
-- applies migrations with foreign keys off and runs PRAGMA foreign_key_check before committing.
CREATE TABLE migrations_v3 (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    owner_team TEXT NOT NULL REFERENCES teams (slug),
    window_start INTEGER,
    window_end INTEGER,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'in_flight', 'landed', 'go_around', 'closed', 'aborted')),
    current_stage TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    closed_at INTEGER,
    abort_reason TEXT,
    plan_rev INTEGER NOT NULL DEFAULT 1
);

INSERT INTO migrations_v3 (id, title, description, owner_team, window_start, window_end, status,
                           current_stage, version, created_at, started_at, closed_at,
                           abort_reason, plan_rev)
SELECT id, title, description, owner_team, window_start, window_end, status, current_stage,
       version, created_at, started_at, closed_at, abort_reason, plan_rev
FROM migrations;

DROP TABLE migrations;
ALTER TABLE migrations_v3 RENAME TO migrations;
CREATE INDEX migrations_status ON migrations (status, id);

-- The rollback PR of a migration, as a lead armed it: approved_sha is the PR's head when it was
-- armed, and the only commit a go-around will merge. The check_* columns hold the last check
-- (reasons: JSON array of {code, text}; empty when armed). used_by is the go-around that merged it.
CREATE TABLE rollbacks (
    migration TEXT PRIMARY KEY REFERENCES migrations (id),
    repo TEXT NOT NULL, -- owner/name
    pr INTEGER NOT NULL CHECK (pr > 0),
    merge_method TEXT NOT NULL CHECK (merge_method IN ('merge', 'squash', 'rebase')),
    requires_second_lead INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    approved_sha TEXT NOT NULL,
    armed_by_sub TEXT NOT NULL,
    armed_by_name TEXT NOT NULL,
    armed_at INTEGER NOT NULL,
    check_armed INTEGER NOT NULL DEFAULT 0,
    check_head_sha TEXT,
    check_reasons TEXT NOT NULL DEFAULT '[]',
    checked_at INTEGER,
    used_by INTEGER REFERENCES go_arounds (id)
);

-- Every go-around asked for, never deleted. state: pending (waiting for a second lead until
-- expires_at), merging (the merge call is under way), merged, failed (outcome says why),
-- expired (nobody confirmed in time). stage and prior_status record where the flight was, so
-- landing can be re-opened.
CREATE TABLE go_arounds (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL REFERENCES migrations (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'merging', 'merged', 'failed', 'expired')),
    reason TEXT NOT NULL,
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    approved_sha TEXT NOT NULL,
    requested_by_sub TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    expires_at INTEGER,
    confirmed_by_sub TEXT,
    confirmed_by_name TEXT,
    confirmed_at INTEGER,
    stage TEXT,
    prior_status TEXT,
    merge_sha TEXT,
    outcome TEXT,
    detail TEXT,
    finished_at INTEGER
);

CREATE INDEX go_arounds_migration ON go_arounds (migration, id);
