-- errwatch schema, version 5: a latency histogram per count row, so that reports can give
-- p50 and p95 latency (estimated within buckets, as Prometheus's histogram_quantile does).
-- latency_le_N counts the calls whose latency was above the previous bound and at most N ms;
-- latency_le_inf the slower ones. Rows from before this version have all buckets at 0.

ALTER TABLE call_counts ADD COLUMN latency_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_250 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_2500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_60000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_120000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts ADD COLUMN latency_le_inf INTEGER NOT NULL DEFAULT 0;

ALTER TABLE call_counts_hourly ADD COLUMN latency_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_250 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_2500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_60000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_120000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_hourly ADD COLUMN latency_le_inf INTEGER NOT NULL DEFAULT 0;

ALTER TABLE call_counts_daily ADD COLUMN latency_le_100 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_250 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_1000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_2500 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_5000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_10000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_30000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_60000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_120000 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_counts_daily ADD COLUMN latency_le_inf INTEGER NOT NULL DEFAULT 0;
