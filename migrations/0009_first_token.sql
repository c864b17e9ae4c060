-- errwatch schema, version 9: streams. Per count row, the calls that streamed, how many of them
-- had content (first_token_calls) and the time to it summed (first_token_ms_sum), the events
-- they carried (chunks), and a histogram of the time to first token, with bounds denser than
-- latency's below 3 s: first_token_le_N counts the streams whose first content came above the
-- previous bound and at most N ms after the call began; first_token_le_inf the slower ones.
-- Rows from before this version count no streams.


ALTER TABLE call_counts ADD COLUMN streamed_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_ms_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_50 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_200 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_300 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_750 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_1500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_2000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_3000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN first_token_le_inf INTEGER NOT NULL DEFAULT 0;

ALTER TABLE call_counts_hourly ADD COLUMN streamed_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_ms_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_50 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_200 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_300 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_750 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_1500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_2000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_3000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN first_token_le_inf INTEGER NOT NULL DEFAULT 0;

ALTER TABLE call_counts_daily ADD COLUMN streamed_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_ms_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_50 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_200 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_300 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_750 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_1500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_2000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_3000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN first_token_le_inf INTEGER NOT NULL DEFAULT 0;
