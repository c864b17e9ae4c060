-- errwatch schema, version 7: the files `errwatch ingest` has recorded, by a fingerprint of
-- their lines, so that ingesting the same file twice is refused instead of silently counting
-- its calls twice.
CREATE TABLE ingested_files (
    fingerprint TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    ingested_at INTEGER NOT NULL,
    outcomes    INTEGER NOT NULL
);
