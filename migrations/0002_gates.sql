-- 0002_gates.sql - gates: plan revisions, briefings with acknowledgements and feedback, go/no-go
-- sign-off requirements and sign-offs bound to a stage's content, two-person critical steps,
-- expected times and the overdue markers.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

-- plan_rev counts plan changes (steps added, removed or edited in a stage not yet done; sign-off
-- requirements changed). A briefing acknowledgement records the revision it was given on.
ALTER TABLE migrations ADD COLUMN plan_rev INTEGER NOT NULL DEFAULT 1;

-- expected_minutes NULL: the sum of the stage's steps. overdue_at: when stage.overdue fired.
ALTER TABLE stages ADD COLUMN expected_minutes INTEGER;
ALTER TABLE stages ADD COLUMN allow_shared_signers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stages ADD COLUMN overdue_at INTEGER;

-- Steps gain the status awaiting_confirmation (a critical step ticked by one person, waiting for
-- a second), who confirmed it, and when step.overdue fired. SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt (nothing references steps, so this is safe with
-- foreign keys on).
CREATE TABLE steps_v2 (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL,
    stage TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    details TEXT,
    owner_team TEXT REFERENCES teams (slug),
    command TEXT,
    link TEXT,
    expected_minutes INTEGER,
    critical INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'awaiting_confirmation', 'done', 'skipped', 'failed')),
    by_sub TEXT,
    by_name TEXT,
    at INTEGER,
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    confirmed_by_sub TEXT,
    confirmed_by_name TEXT,
    confirmed_at INTEGER,
    confirm_note TEXT,
    overdue_at INTEGER,
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);

INSERT INTO steps_v2 (id, migration, stage, position, title, details, owner_team, command, link,
                      expected_minutes, critical, status, by_sub, by_name, at, note, version)
SELECT id, migration, stage, position, title, details, owner_team, command, link,
       expected_minutes, critical, status, by_sub, by_name, at, note, version
FROM steps;

DROP TABLE steps;
ALTER TABLE steps_v2 RENAME TO steps;
CREATE INDEX steps_stage ON steps (migration, stage, position);

-- The teams whose go a stage needs before it may become active, and how many people of each.
CREATE TABLE stage_signoff_reqs (
    migration TEXT NOT NULL,
    stage TEXT NOT NULL,
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 20),
    PRIMARY KEY (migration, stage, team),
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);

-- Every go/no-go given, never rewritten: the latest per person and team counts. stage_hash is
-- the SHA-256 of the stage's content when it was given; a different hash today means stale.
CREATE TABLE signoffs (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL,
    stage TEXT NOT NULL,
    team TEXT NOT NULL REFERENCES teams (slug),
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('go', 'no_go')),
    comment TEXT,
    override_reason TEXT,
    stage_hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);

CREATE INDEX signoffs_stage ON signoffs (migration, stage, id);

CREATE TABLE briefings (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL REFERENCES migrations (id),
    title TEXT NOT NULL,
    at INTEGER NOT NULL,
    notes TEXT,
    by_sub TEXT NOT NULL,
    by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX briefings_migration ON briefings (migration, id);

CREATE TABLE briefing_teams (
    briefing INTEGER NOT NULL REFERENCES briefings (id),
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (briefing, team)
);

-- A team member acknowledges the plan, at the plan revision of that moment.
CREATE TABLE briefing_acks (
    id INTEGER PRIMARY KEY,
    briefing INTEGER NOT NULL REFERENCES briefings (id),
    migration TEXT NOT NULL REFERENCES migrations (id),
    team TEXT NOT NULL REFERENCES teams (slug),
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    comment TEXT,
    plan_rev INTEGER NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (briefing, team, sub, plan_rev)
);

CREATE INDEX briefing_acks_team ON briefing_acks (migration, team, plan_rev);

-- step_id is not a foreign key: the step a resolution names may be removed later, and the
-- record of the resolution stays.
CREATE TABLE briefing_feedback (
    id INTEGER PRIMARY KEY,
    briefing INTEGER NOT NULL REFERENCES briefings (id),
    migration TEXT NOT NULL REFERENCES migrations (id),
    text TEXT NOT NULL,
    by_sub TEXT NOT NULL,
    by_name TEXT NOT NULL,
    at INTEGER NOT NULL,
    resolution TEXT,
    resolved_by_sub TEXT,
    resolved_by_name TEXT,
    resolved_at INTEGER,
    step_id INTEGER,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX briefing_feedback_briefing ON briefing_feedback (briefing, id);
CREATE INDEX briefing_feedback_open ON briefing_feedback (migration, resolved_at);

-- A lead took off or began a stage although its gate was not satisfied: what was missing, who,
-- why. The audit holds the same as gate.override; this table lets the report list them.
CREATE TABLE gate_overrides (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL REFERENCES migrations (id),
    kind TEXT NOT NULL CHECK (kind IN ('start', 'complete')),
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    missing TEXT NOT NULL,
    by_sub TEXT NOT NULL,
    by_name TEXT NOT NULL,
    at INTEGER NOT NULL
);

CREATE INDEX gate_overrides_migration ON gate_overrides (migration, id);
