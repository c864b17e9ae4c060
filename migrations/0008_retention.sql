-- How far retention has cut each kind of data: nothing of `kind` from before `before_ms` is
-- left, so queries reaching further back can say so instead of showing zeros.
CREATE TABLE retention_horizons (
    kind      TEXT PRIMARY KEY CHECK (kind IN ('errors', 'minute_counts', 'rollups', 'alerts')),
    before_ms INTEGER NOT NULL
) WITHOUT ROWID;
