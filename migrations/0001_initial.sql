-- errwatch schema, version 1. Shipped files are never edited: add a new numbered file instead.
-- Times are UTC milliseconds since 1970. Status 0 means no HTTP response (connection error, timeout).
-- Empty strings stand for "unknown" in dimension columns so that they can take part in keys.

-- One row per error: the history that `errwatch errors` searches and `export` writes out.
CREATE TABLE error_events (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    app         TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    retryable   INTEGER NOT NULL CHECK (retryable IN (0, 1)),
    attempt     INTEGER NOT NULL,
    latency_ms  INTEGER,
    request_id  TEXT,
    streamed    INTEGER NOT NULL DEFAULT 0 CHECK (streamed IN (0, 1))
);
-- Newest-first history with keyset paging, and one index per filter a user narrows by;
-- each ends in (ts, id) so that a filtered page is a single range scan.
CREATE INDEX error_events_ts       ON error_events (ts, id);
CREATE INDEX error_events_type     ON error_events (type, ts, id);
CREATE INDEX error_events_code     ON error_events (code, ts, id);
CREATE INDEX error_events_app      ON error_events (app, ts, id);
CREATE INDEX error_events_model    ON error_events (model, ts, id);
CREATE INDEX error_events_status   ON error_events (status, ts, id);
CREATE INDEX error_events_endpoint ON error_events (endpoint, ts, id);

-- Each distinct combination of dimensions that calls were counted under. Ids are never
-- reused or deleted, so a writer may cache them. A success has type = '' and code = ''.
CREATE TABLE series (
    id          INTEGER PRIMARY KEY,
    app         TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    UNIQUE (app, endpoint, model, status, type, code)
);

-- Every call, successes included, counted per minute and series: the denominators of every
-- rate. `bucket` is the minute's start; latency_ms_sum / latency_calls is the mean latency of
-- the calls that reported one.
CREATE TABLE call_counts (
    bucket         INTEGER NOT NULL,
    series         INTEGER NOT NULL REFERENCES series (id),
    calls          INTEGER NOT NULL,
    latency_calls  INTEGER NOT NULL,
    latency_ms_sum INTEGER NOT NULL,
    PRIMARY KEY (bucket, series)
) WITHOUT ROWID;

-- The same counts rolled up per hour and per day (UTC), so that a 30-day rate reads
-- thousands of rows, not millions. Rows below a level's watermark are complete.
CREATE TABLE call_counts_hourly (
    bucket         INTEGER NOT NULL,
    series         INTEGER NOT NULL REFERENCES series (id),
    calls          INTEGER NOT NULL,
    latency_calls  INTEGER NOT NULL,
    latency_ms_sum INTEGER NOT NULL,
    PRIMARY KEY (bucket, series)
) WITHOUT ROWID;

CREATE TABLE call_counts_daily (
    bucket         INTEGER NOT NULL,
    series         INTEGER NOT NULL REFERENCES series (id),
    calls          INTEGER NOT NULL,
    latency_calls  INTEGER NOT NULL,
    latency_ms_sum INTEGER NOT NULL,
    PRIMARY KEY (bucket, series)
) WITHOUT ROWID;

-- How far each rollup level is complete: every minute row below `until_ms` is already
-- counted in that level's table, and writes below it go to both.
CREATE TABLE rollup_watermarks (
    level    TEXT PRIMARY KEY CHECK (level IN ('hourly', 'daily')),
    until_ms INTEGER NOT NULL
);
INSERT INTO rollup_watermarks (level, until_ms) VALUES ('hourly', 0), ('daily', 0);
