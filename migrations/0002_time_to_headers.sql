-- errwatch schema, version 2: time to the response headers, as the proxy measures it, beside
-- the total latency. NULL / 0 where it was not measured (outcomes reported by apps).
ALTER TABLE error_events ADD COLUMN time_to_headers_ms INTEGER;

ALTER TABLE call_counts ADD COLUMN headers_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN headers_ms_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN headers_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN headers_ms_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN headers_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN headers_ms_sum INTEGER NOT NULL DEFAULT 0;
