-- errwatch schema, version 4: alert state, its history, and every notification attempt, so that
-- a restart neither repeats a notification nor forgets a firing alert.

-- The current alert of each rule and group: pending, firing, or the last one that resolved.
-- group_key is the group's values as a JSON array, labels the same as a JSON object.
CREATE TABLE alerts (
    rule             TEXT    NOT NULL,
    group_key        TEXT    NOT NULL,
    labels           TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity         TEXT    NOT NULL CHECK (severity IN ('warning', 'critical')),
    value            REAL    NOT NULL,
    threshold        REAL,
    calls            INTEGER NOT NULL,
    errors           INTEGER NOT NULL,
    active_since     INTEGER NOT NULL,
    starts_at        INTEGER,
    ends_at          INTEGER,
    last_notified_at INTEGER,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (rule, group_key)
) WITHOUT ROWID;

-- What happened to alerts: pending, cancelled, firing, severity, repeat, resolved.
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    group_key  TEXT    NOT NULL,
    labels     TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    severity   TEXT    NOT NULL,
    value      REAL    NOT NULL,
    threshold  REAL,
    calls      INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    starts_at  INTEGER,
    ends_at    INTEGER,
    notify     INTEGER NOT NULL CHECK (notify IN (0, 1)),
    summary    TEXT    NOT NULL
);
CREATE INDEX alert_events_ts   ON alert_events (ts, id);
CREATE INDEX alert_events_rule ON alert_events (rule, ts, id);

-- Every attempt to deliver an event to a notifier. result: delivered, retrying (this attempt
-- failed, another follows) or failed (the last attempt failed).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES alert_events (id),
    notifier    TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('delivered', 'retrying', 'failed')),
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX notifications_event ON notifications (event_id, id);
CREATE INDEX notifications_ts    ON notifications (ts, id);
