-- errwatch schema, version 6: real providers' errors.
-- A type is a member of a closed set; what a provider sent as its type or code is kept beside it
-- (provider_type, provider_code), with the retry delay it asked for (retry_after_ms).
-- Types stored as a provider sent them (`tokens`, `server_error`, `BadRequestError`) are mapped
-- into the set, by the status where it names a type, else by the word where it is unambiguous,
-- else `unknown_error`; the word stays as the provider type. Series that the mapping makes
-- equal to another are merged into it, their counts added: nothing is dropped.

ALTER TABLE error_events ADD COLUMN provider_type TEXT NOT NULL DEFAULT '';
ALTER TABLE error_events ADD COLUMN provider_code TEXT NOT NULL DEFAULT '';
ALTER TABLE error_events ADD COLUMN retry_after_ms INTEGER;

-- Every stored (type, status) that is not a member, and the member it becomes.
CREATE TEMP TABLE type_fix AS
SELECT old, status, COALESCE(
        CASE status
            WHEN 400 THEN 'invalid_request_error' WHEN 401 THEN 'authentication_error' WHEN 402 THEN 'insufficient_quota'
            WHEN 403 THEN 'permission_error' WHEN 404 THEN 'not_found_error' WHEN 408 THEN 'timeout_error'
            WHEN 409 THEN 'conflict_error' WHEN 413 THEN 'request_too_large' WHEN 422 THEN 'unprocessable_entity_error'
            WHEN 429 THEN 'rate_limit_error' WHEN 500 THEN 'internal_error' WHEN 502 THEN 'upstream_error'
            WHEN 503 THEN 'service_unavailable' WHEN 504 THEN 'timeout_error' WHEN 520 THEN 'upstream_error'
            WHEN 521 THEN 'upstream_error' WHEN 522 THEN 'upstream_error' WHEN 523 THEN 'upstream_error'
            WHEN 524 THEN 'timeout_error' WHEN 529 THEN 'overloaded_error'
        END,
        CASE lower(old)
            WHEN 'tokens' THEN 'rate_limit_error' WHEN 'requests' THEN 'rate_limit_error' WHEN 'rate_limit_exceeded' THEN 'rate_limit_error'
            WHEN 'resource_exhausted' THEN 'rate_limit_error' WHEN 'too_many_requests' THEN 'rate_limit_error'
            WHEN 'server_error' THEN 'internal_error' WHEN 'api_error' THEN 'internal_error' WHEN 'internal_server_error' THEN 'internal_error'
            WHEN 'badrequesterror' THEN 'invalid_request_error' WHEN 'invalid_argument' THEN 'invalid_request_error'
            WHEN 'exceed_context_size_error' THEN 'invalid_request_error'
            WHEN 'notfounderror' THEN 'not_found_error' WHEN 'not_found' THEN 'not_found_error'
            WHEN 'authenticationerror' THEN 'authentication_error' WHEN 'unauthenticated' THEN 'authentication_error'
            WHEN 'permission_denied' THEN 'permission_error' WHEN 'unavailable' THEN 'service_unavailable'
            WHEN 'overloaded' THEN 'overloaded_error' WHEN 'deadline_exceeded' THEN 'timeout_error'
            WHEN 'billing_hard_limit_reached' THEN 'insufficient_quota' WHEN 'insufficient_credits' THEN 'insufficient_quota'
        END,
        'unknown_error') AS new
FROM (SELECT type AS old, status FROM error_events UNION SELECT type AS old, status FROM series)
WHERE old <> '' AND old NOT IN ('invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'conflict_error', 'request_too_large', 'unprocessable_entity_error', 'insufficient_quota', 'rate_limit_error', 'internal_error', 'upstream_error', 'service_unavailable', 'overloaded_error', 'timeout_error', 'connection_error', 'unknown_error');

UPDATE error_events
SET provider_type = type,
    type = (SELECT new FROM type_fix WHERE type_fix.old = error_events.type AND type_fix.status = error_events.status)
WHERE EXISTS (SELECT 1 FROM type_fix WHERE type_fix.old = error_events.type AND type_fix.status = error_events.status);

-- The series each mapped series becomes (created where it does not exist yet).
INSERT OR IGNORE INTO series (app, endpoint, model, status, type, code)
SELECT s.app, s.endpoint, s.model, s.status, f.new, s.code
FROM series s JOIN type_fix f ON f.old = s.type AND f.status = s.status;

CREATE TEMP TABLE series_fix AS
SELECT s.id AS old_id, t.id AS new_id
FROM series s
JOIN type_fix f ON f.old = s.type AND f.status = s.status
JOIN series t ON t.app = s.app AND t.endpoint = s.endpoint AND t.model = s.model AND t.status = s.status
             AND t.type = f.new AND t.code = s.code;

INSERT INTO call_counts (bucket, series, calls, latency_calls, latency_ms_sum, headers_calls, headers_ms_sum, final_calls, latency_le_100, latency_le_250, latency_le_500, latency_le_1000, latency_le_2500, latency_le_5000, latency_le_10000, latency_le_30000, latency_le_60000, latency_le_120000, latency_le_inf)
SELECT c.bucket, m.new_id, c.calls, c.latency_calls, c.latency_ms_sum, c.headers_calls, c.headers_ms_sum, c.final_calls, c.latency_le_100, c.latency_le_250, c.latency_le_500, c.latency_le_1000, c.latency_le_2500, c.latency_le_5000, c.latency_le_10000, c.latency_le_30000, c.latency_le_60000, c.latency_le_120000, c.latency_le_inf
FROM call_counts c JOIN series_fix m ON c.series = m.old_id
WHERE true
ON CONFLICT (bucket, series) DO UPDATE SET
        calls = calls + excluded.calls,
        latency_calls = latency_calls + excluded.latency_calls,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
        headers_calls = headers_calls + excluded.headers_calls,
        headers_ms_sum = headers_ms_sum + excluded.headers_ms_sum,
        final_calls = final_calls + excluded.final_calls,
        latency_le_100 = latency_le_100 + excluded.latency_le_100,
        latency_le_250 = latency_le_250 + excluded.latency_le_250,
        latency_le_500 = latency_le_500 + excluded.latency_le_500,
        latency_le_1000 = latency_le_1000 + excluded.latency_le_1000,
        latency_le_2500 = latency_le_2500 + excluded.latency_le_2500,
        latency_le_5000 = latency_le_5000 + excluded.latency_le_5000,
        latency_le_10000 = latency_le_10000 + excluded.latency_le_10000,
        latency_le_30000 = latency_le_30000 + excluded.latency_le_30000,
        latency_le_60000 = latency_le_60000 + excluded.latency_le_60000,
        latency_le_120000 = latency_le_120000 + excluded.latency_le_120000,
        latency_le_inf = latency_le_inf + excluded.latency_le_inf;
DELETE FROM call_counts WHERE series IN (SELECT old_id FROM series_fix);

INSERT INTO call_counts_hourly (bucket, series, calls, latency_calls, latency_ms_sum, headers_calls, headers_ms_sum, final_calls, latency_le_100, latency_le_250, latency_le_500, latency_le_1000, latency_le_2500, latency_le_5000, latency_le_10000, latency_le_30000, latency_le_60000, latency_le_120000, latency_le_inf)
SELECT c.bucket, m.new_id, c.calls, c.latency_calls, c.latency_ms_sum, c.headers_calls, c.headers_ms_sum, c.final_calls, c.latency_le_100, c.latency_le_250, c.latency_le_500, c.latency_le_1000, c.latency_le_2500, c.latency_le_5000, c.latency_le_10000, c.latency_le_30000, c.latency_le_60000, c.latency_le_120000, c.latency_le_inf
FROM call_counts_hourly c JOIN series_fix m ON c.series = m.old_id
WHERE true
ON CONFLICT (bucket, series) DO UPDATE SET
        calls = calls + excluded.calls,
        latency_calls = latency_calls + excluded.latency_calls,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
        headers_calls = headers_calls + excluded.headers_calls,
        headers_ms_sum = headers_ms_sum + excluded.headers_ms_sum,
        final_calls = final_calls + excluded.final_calls,
        latency_le_100 = latency_le_100 + excluded.latency_le_100,
        latency_le_250 = latency_le_250 + excluded.latency_le_250,
        latency_le_500 = latency_le_500 + excluded.latency_le_500,
        latency_le_1000 = latency_le_1000 + excluded.latency_le_1000,
        latency_le_2500 = latency_le_2500 + excluded.latency_le_2500,
        latency_le_5000 = latency_le_5000 + excluded.latency_le_5000,
        latency_le_10000 = latency_le_10000 + excluded.latency_le_10000,
        latency_le_30000 = latency_le_30000 + excluded.latency_le_30000,
        latency_le_60000 = latency_le_60000 + excluded.latency_le_60000,
        latency_le_120000 = latency_le_120000 + excluded.latency_le_120000,
        latency_le_inf = latency_le_inf + excluded.latency_le_inf;
DELETE FROM call_counts_hourly WHERE series IN (SELECT old_id FROM series_fix);

INSERT INTO call_counts_daily (bucket, series, calls, latency_calls, latency_ms_sum, headers_calls, headers_ms_sum, final_calls, latency_le_100, latency_le_250, latency_le_500, latency_le_1000, latency_le_2500, latency_le_5000, latency_le_10000, latency_le_30000, latency_le_60000, latency_le_120000, latency_le_inf)
SELECT c.bucket, m.new_id, c.calls, c.latency_calls, c.latency_ms_sum, c.headers_calls, c.headers_ms_sum, c.final_calls, c.latency_le_100, c.latency_le_250, c.latency_le_500, c.latency_le_1000, c.latency_le_2500, c.latency_le_5000, c.latency_le_10000, c.latency_le_30000, c.latency_le_60000, c.latency_le_120000, c.latency_le_inf
FROM call_counts_daily c JOIN series_fix m ON c.series = m.old_id
WHERE true
ON CONFLICT (bucket, series) DO UPDATE SET
        calls = calls + excluded.calls,
        latency_calls = latency_calls + excluded.latency_calls,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
        headers_calls = headers_calls + excluded.headers_calls,
        headers_ms_sum = headers_ms_sum + excluded.headers_ms_sum,
        final_calls = final_calls + excluded.final_calls,
        latency_le_100 = latency_le_100 + excluded.latency_le_100,
        latency_le_250 = latency_le_250 + excluded.latency_le_250,
        latency_le_500 = latency_le_500 + excluded.latency_le_500,
        latency_le_1000 = latency_le_1000 + excluded.latency_le_1000,
        latency_le_2500 = latency_le_2500 + excluded.latency_le_2500,
        latency_le_5000 = latency_le_5000 + excluded.latency_le_5000,
        latency_le_10000 = latency_le_10000 + excluded.latency_le_10000,
        latency_le_30000 = latency_le_30000 + excluded.latency_le_30000,
        latency_le_60000 = latency_le_60000 + excluded.latency_le_60000,
        latency_le_120000 = latency_le_120000 + excluded.latency_le_120000,
        latency_le_inf = latency_le_inf + excluded.latency_le_inf;
DELETE FROM call_counts_daily WHERE series IN (SELECT old_id FROM series_fix);

DELETE FROM series WHERE id IN (SELECT old_id FROM series_fix);

DROP TABLE series_fix;
DROP TABLE type_fix;
