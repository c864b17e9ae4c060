-- errwatch schema, version 10: the provider called and the host that recorded each call, as
-- dimensions of every series and error row, so that one file may hold several upstreams and a
-- merged file a whole fleet (`errwatch merge`). Rows from before this version have both empty:
-- unknown. The series table is rebuilt (its unique key grows); ids are kept, so the count
-- tables that refer to them are untouched.

CREATE TABLE series_v10 (
    id          INTEGER PRIMARY KEY,
    app         TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    provider    TEXT    NOT NULL DEFAULT '',
    host        TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    UNIQUE (app, endpoint, model, provider, host, status, type, code)
);
INSERT INTO series_v10 (id, app, endpoint, model, status, type, code)
SELECT id, app, endpoint, model, status, type, code FROM series;
DROP TABLE series;
ALTER TABLE series_v10 RENAME TO series;

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

-- In a merged file: for each source database merged in, how far its error rows were copied
-- (their ids, which only grow in the source) and the host its unnamed rows were given.
CREATE TABLE merged_sources (
    source      TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    last_error  INTEGER NOT NULL,
    merged_at   INTEGER NOT NULL,
    path        TEXT NOT NULL
);
