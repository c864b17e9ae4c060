-- errwatch schema, version 3: whether an attempt was the last of its call, as clients that
-- retry (ErrWatchClient) report it; NULL where unknown (the proxy cannot know whether the app
-- will retry). With it, the failure rate users see after retries is final errors / final calls.
ALTER TABLE error_events ADD COLUMN final_attempt INTEGER CHECK (final_attempt IN (0, 1));

ALTER TABLE call_counts ADD COLUMN final_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN final_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN final_calls INTEGER NOT NULL DEFAULT 0;
