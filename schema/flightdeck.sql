-- flightdeck.sql - the schema that migrations/*.sql produce on a fresh database.
-- Generated from the migrations (FLIGHTDECK_UPDATE_SCHEMA=1 build/tests/test_store);
-- tests/unit/test_store.c fails when the two disagree. Do not edit by hand.
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
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
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
CREATE TABLE briefing_teams (
    briefing INTEGER NOT NULL REFERENCES briefings (id),
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (briefing, team)
);
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
CREATE TABLE chat_codes (
    migration TEXT NOT NULL REFERENCES migrations (id),
    chat_user TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (migration, chat_user)
);
CREATE TABLE chat_users (
    chat_user TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'engineer', 'lead', 'admin')),
    teams TEXT NOT NULL DEFAULT '[]', -- JSON array of team slugs
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE dashboards (
    migration TEXT NOT NULL REFERENCES migrations (id),
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('overview', 'full')),
    PRIMARY KEY (migration, position)
);
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
CREATE TABLE idempotency (
    actor_sub TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (actor_sub, key)
);
CREATE TABLE migration_teams (
    migration TEXT NOT NULL REFERENCES migrations (id),
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (migration, team)
);
CREATE TABLE "migrations" (
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
CREATE INDEX migrations_status ON migrations (status, id);
CREATE TABLE plan_extras (
    migration TEXT PRIMARY KEY REFERENCES migrations (id),
    rollback TEXT,
    rules TEXT NOT NULL DEFAULT '[]'
);
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
CREATE TABLE stage_signoff_reqs (
    migration TEXT NOT NULL,
    stage TEXT NOT NULL,
    team TEXT NOT NULL REFERENCES teams (slug),
    position INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 20),
    PRIMARY KEY (migration, stage, team),
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);
CREATE TABLE stages (
    migration TEXT NOT NULL REFERENCES migrations (id),
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'done')),
    started_at INTEGER,
    completed_at INTEGER, expected_minutes INTEGER, allow_shared_signers INTEGER NOT NULL DEFAULT 0, overdue_at INTEGER,
    PRIMARY KEY (migration, key)
);
CREATE TABLE "steps" (
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
        CHECK (status = 'pending' OR status = 'awaiting_confirmation' OR status = 'done'
               OR status = 'skipped' OR status = 'failed'),
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
    switch_name TEXT,
    switch_position TEXT,
    verifies TEXT,
    FOREIGN KEY (migration, stage) REFERENCES stages (migration, key)
);
CREATE INDEX steps_stage ON steps (migration, stage, position);
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
CREATE TABLE teams (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel TEXT,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
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
CREATE TABLE webhook_attempts (
    delivery INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL, -- 1, 2, ...
    at INTEGER NOT NULL,
    http_status INTEGER, -- NULL when no answer came (connection refused, timeout)
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery, attempt)
);
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, -- the audit event delivered (X-Flightdeck-Event-Id)
    action TEXT NOT NULL,
    body TEXT NOT NULL, -- exactly the bytes POSTed (and signed)
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    done_at INTEGER,
    UNIQUE (webhook, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT, -- HMAC key of X-Flightdeck-Signature; never returned by the API
    events TEXT NOT NULL, -- JSON array of patterns: "step.tick", "step.*", "*"
    migration TEXT, -- NULL: every migration (and the events outside any)
    format TEXT NOT NULL CHECK (format IN ('json', 'slack')),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
