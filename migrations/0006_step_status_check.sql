-- 0006_step_status_check.sql - the steps' status CHECK written as comparisons.
--
-- SQLite evaluates `status IN ('pending', ..., 'failed')` (five constants) by building a
-- temporary index of the list every time a statement changes status, and every tick, untick,
-- skip, fail and confirm does: on the durable tick path that was ~7 % of the loop's work
-- (bench/README.md). The same rule written as equalities needs nothing built. The allowed
-- values do not change. SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- as in 0002 (nothing references steps).
CREATE TABLE steps_v6 (
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

INSERT INTO steps_v6 (id, migration, stage, position, title, details, owner_team, command, link,
                      expected_minutes, critical, status, by_sub, by_name, at, note, version,
                      confirmed_by_sub, confirmed_by_name, confirmed_at, confirm_note, overdue_at,
                      switch_name, switch_position, verifies)
SELECT id, migration, stage, position, title, details, owner_team, command, link,
       expected_minutes, critical, status, by_sub, by_name, at, note, version,
       confirmed_by_sub, confirmed_by_name, confirmed_at, confirm_note, overdue_at,
       switch_name, switch_position, verifies
FROM steps;

DROP TABLE steps;
ALTER TABLE steps_v6 RENAME TO steps;
CREATE INDEX steps_stage ON steps (migration, stage, position);
