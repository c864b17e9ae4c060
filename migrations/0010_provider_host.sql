-- errwatch schema, version 10: the upstream a call went to (the agent's name for it), the
-- provider that is, and the host that recorded the call, as dimensions of every series and error
-- row, so that one agent may front several upstreams and a merged file hold a whole fleet
-- (`errwatch merge`). Rows from before this version have all three empty: unknown. The series
-- table is rebuilt (its unique key grows); ids are kept, so the count tables that refer to them
-- are untouched.

CREATE TABLE series_v10 (
    id          INTEGER PRIMARY KEY,
    app         TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    upstream    TEXT    NOT NULL DEFAULT '',
    provider    TEXT    NOT NULL DEFAULT '',
    host        TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    UNIQUE (app, endpoint, model, upstream, provider, host, status, type, code)
);
INSERT INTO series_v10 (id, app, endpoint, model, status, type, code)
SELECT id, app, endpoint, model, status, type, code FROM series;
DROP TABLE series;
ALTER TABLE series_v10 RENAME TO series;

ALTER TABLE error_events ADD COLUMN upstream TEXT NOT NULL DEFAULT '';
ALTER TABLE error_events ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE error_events ADD COLUMN host TEXT NOT NULL DEFAULT '';

-- Which database this is, for `errwatch merge`: `id` is made once and travels with the file
-- (a later copy of the same file is recognised), `host` is the name its agent records under.
CREATE TABLE store_identity (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    id   TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT ''
);
INSERT INTO store_identity (one, id) VALUES (1, lower(hex(randomblob(16))));

-- In a merged file: each source database merged in (by its identity), the host its unnamed
-- rows were given, how far its error rows were copied (their ids only grow in the source), and
-- from when its minute counts are still open: rows from `settled_ms` on may yet change in the
-- source (calls under way, late outcomes), so a later merge takes them again.
CREATE TABLE merged_sources (
    source      TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    last_error  INTEGER NOT NULL,
    settled_ms  INTEGER NOT NULL,
    merged_at   INTEGER NOT NULL,
    path        TEXT NOT NULL
);

-- The open minute counts each source added to this file, as the source had them, so that a
-- later merge replaces them rather than adding them twice.
CREATE TABLE merged_open_counts (
    source  TEXT    NOT NULL,
    bucket  INTEGER NOT NULL,
    series  INTEGER NOT NULL REFERENCES series (id),
    calls INTEGER NOT NULL DEFAULT 0,
    latency_calls INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum INTEGER NOT NULL DEFAULT 0,
    headers_calls INTEGER NOT NULL DEFAULT 0,
    headers_ms_sum INTEGER NOT NULL DEFAULT 0,
    final_calls INTEGER NOT NULL DEFAULT 0,
    latency_le_100 INTEGER NOT NULL DEFAULT 0,
    latency_le_250 INTEGER NOT NULL DEFAULT 0,
    latency_le_500 INTEGER NOT NULL DEFAULT 0,
    latency_le_1000 INTEGER NOT NULL DEFAULT 0,
    latency_le_2500 INTEGER NOT NULL DEFAULT 0,
    latency_le_5000 INTEGER NOT NULL DEFAULT 0,
    latency_le_10000 INTEGER NOT NULL DEFAULT 0,
    latency_le_30000 INTEGER NOT NULL DEFAULT 0,
    latency_le_60000 INTEGER NOT NULL DEFAULT 0,
    latency_le_120000 INTEGER NOT NULL DEFAULT 0,
    latency_le_inf INTEGER NOT NULL DEFAULT 0,
    streamed_calls INTEGER NOT NULL DEFAULT 0,
    first_token_calls INTEGER NOT NULL DEFAULT 0,
    first_token_ms_sum INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    first_token_le_50 INTEGER NOT NULL DEFAULT 0,
    first_token_le_100 INTEGER NOT NULL DEFAULT 0,
    first_token_le_200 INTEGER NOT NULL DEFAULT 0,
    first_token_le_300 INTEGER NOT NULL DEFAULT 0,
    first_token_le_500 INTEGER NOT NULL DEFAULT 0,
    first_token_le_750 INTEGER NOT NULL DEFAULT 0,
    first_token_le_1000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_1500 INTEGER NOT NULL DEFAULT 0,
    first_token_le_2000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_3000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_5000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_10000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_30000 INTEGER NOT NULL DEFAULT 0,
    first_token_le_inf INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, bucket, series)
) WITHOUT ROWID;
