-- 0004_chatops.sql - chat identities, go-around confirmation codes, outgoing webhooks and their
-- delivery queue.
--
-- Deliveries live here (not in memory) so they survive a restart: a delivery is 'pending' until
-- an attempt succeeds ('delivered') or the attempts run out ('failed'). Every attempt is a row of
-- webhook_attempts, which is what GET /api/webhooks/{id}/deliveries shows.

-- A chat user (Slack user id) acting as a flightdeck identity; admins manage the mapping.
CREATE TABLE chat_users (
    chat_user TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'engineer', 'lead', 'admin')),
    teams TEXT NOT NULL DEFAULT '[]', -- JSON array of team slugs
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

-- The one-time code a go-around asked for in chat; confirmed by the same chat user before
-- expires_at. One open request per (migration, chat user): a new one replaces the old.
CREATE TABLE chat_codes (
    migration TEXT NOT NULL REFERENCES migrations (id),
    chat_user TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (migration, chat_user)
);

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

CREATE TABLE webhook_attempts (
    delivery INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL, -- 1, 2, ...
    at INTEGER NOT NULL,
    http_status INTEGER, -- NULL when no answer came (connection refused, timeout)
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery, attempt)
);
