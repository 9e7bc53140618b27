-- 0001_init.sql - teams, migrations with their stages and steps, the flight recorder (audit),
-- and the idempotency keys of POST requests.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC); the API formats them as RFC 3339.
-- Every table has a version where the API offers ETag/If-Match.

CREATE TABLE teams (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel TEXT,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE migrations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    owner_team TEXT NOT NULL REFERENCES teams (slug),
    window_start INTEGER,
    window_end INTEGER,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'in_flight', 'landed', 'closed', 'aborted')),
    current_stage TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    closed_at INTEGER,
    abort_reason TEXT
);

CREATE INDEX migrations_status ON migrations (status, id);

-- The affected teams of a migration, in the order the plan names them.
CREATE TABLE migration_teams (
    migration TEXT NOT NULL REFERENCES migrations (id),
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (migration, team)
);

CREATE TABLE dashboards (
    migration TEXT NOT NULL REFERENCES migrations (id),
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('overview', 'full')),
    PRIMARY KEY (migration, position)
);

CREATE TABLE stages (
    migration TEXT NOT NULL REFERENCES migrations (id),
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'done')),
    started_at INTEGER,
    completed_at INTEGER,
    PRIMARY KEY (migration, key)
);

-- Steps are numbered from 1 within their stage; by_* / at / note record the last status change.
CREATE TABLE steps (
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
        CHECK (status IN ('pending', 'done', 'skipped', 'failed')),
    by_sub TEXT,
    by_name TEXT,
    at INTEGER,
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);

CREATE INDEX steps_stage ON steps (migration, stage, position);

-- The flight recorder. `event` is the exported event text (compact JSON, keys sorted, "hash"
-- included); the other columns are copies for filtering. seq is global; the hash chain runs per
-- migration (migration NULL is the chain of events outside any migration).
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    migration TEXT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    event TEXT NOT NULL
);

CREATE INDEX audit_migration ON audit (migration, seq);

-- Append-only: the database itself refuses to rewrite history.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

-- Idempotency-Key: the stored answer of a successful POST, per caller and key.
CREATE TABLE idempotency (
    actor_sub TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (actor_sub, key)
);
