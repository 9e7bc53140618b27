-- 0005_plans.sql - plans as code and cutover switches: what a plan carries beyond stages and
-- steps (its rollback PR and its rules), templates, the switches of a migration with every move,
-- and the flag-system calls that apply a move.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

-- A step may move a switch when it is done ("move reads to 50% dynamodb"), and may be a
-- verification that rules can require to be recent ("row-counts").
ALTER TABLE steps ADD COLUMN switch_name TEXT;
ALTER TABLE steps ADD COLUMN switch_position TEXT;
ALTER TABLE steps ADD COLUMN verifies TEXT;

-- What a plan says that has no table of its own: the rollback PR to arm later (JSON
-- {repo, pr, merge_method, requires_second_lead}, or NULL) and the switch rules (JSON array).
CREATE TABLE plan_extras (
    migration TEXT PRIMARY KEY REFERENCES migrations (id),
    rollback TEXT,
    rules TEXT NOT NULL DEFAULT '[]'
);

-- A reusable plan: the plan JSON without id and window; each migration made from it gets its own.
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    plan TEXT NOT NULL,
    source_migration TEXT, -- the migration it was taken from, NULL when given as a plan
    created_by_sub TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

-- A cutover switch of a migration (a feature flag, a DNS weight ...): ordered positions, the
-- first the initial one. applied is 0 while the flag-system call of the last move is pending or
-- after it failed (apply_error says why).
CREATE TABLE switches (
    migration TEXT NOT NULL REFERENCES migrations (id),
    name TEXT NOT NULL,
    ord INTEGER NOT NULL,
    title TEXT NOT NULL,
    positions TEXT NOT NULL, -- JSON array of strings
    action TEXT, -- JSON {method, url, headers, body}; NULL: moved by hand, nothing to call
    position TEXT NOT NULL,
    applied INTEGER NOT NULL DEFAULT 1,
    apply_error TEXT,
    last_move INTEGER, -- switch_moves.id of the latest move, NULL before the first
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (migration, name)
);

-- Every move of a switch, never rewritten: by a switch step (step set) or a revert.
CREATE TABLE switch_moves (
    id INTEGER PRIMARY KEY,
    migration TEXT NOT NULL,
    switch TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('move', 'revert')),
    from_position TEXT NOT NULL,
    to_position TEXT NOT NULL,
    step INTEGER,
    by_sub TEXT NOT NULL,
    by_name TEXT NOT NULL,
    at INTEGER NOT NULL,
    reason TEXT,
    FOREIGN KEY (migration, switch) REFERENCES switches (migration, name)
);

CREATE INDEX switch_moves_switch ON switch_moves (migration, switch, id);

-- The flag-system call of a move, queued like a webhook delivery and sent by the same outbound
-- worker. Header values may name {{secret:NAME}}: resolved when sent, never stored. A newer move
-- of the same switch supersedes a call still pending, so an old position never lands last.
CREATE TABLE switch_calls (
    id INTEGER PRIMARY KEY,
    move INTEGER NOT NULL REFERENCES switch_moves (id),
    method TEXT NOT NULL CHECK (method IN ('POST', 'PUT', 'PATCH')),
    url TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    body TEXT NOT NULL, -- the body template rendered for this move
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'applied', 'failed', 'superseded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    done_at INTEGER,
    http_status INTEGER, -- of the last attempt; NULL when no answer came
    error TEXT
);

CREATE INDEX switch_calls_due ON switch_calls (status, next_at);
