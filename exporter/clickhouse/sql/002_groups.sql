CREATE TABLE IF NOT EXISTS {{.DB}}.groups{{.Local}}{{.OnCluster}} (
    fingerprint String,
    rows AggregateFunction(count),
    first_seen AggregateFunction(min, UInt64),
    last_seen AggregateFunction(max, UInt64),
    type AggregateFunction(argMax, String, UInt64),
    message AggregateFunction(argMax, String, UInt64),
    service AggregateFunction(argMax, String, UInt64),
    environment AggregateFunction(argMax, String, UInt64),
    host AggregateFunction(argMax, String, UInt64),
    method AggregateFunction(argMax, String, UInt64),
    path AggregateFunction(argMax, String, UInt64),
    route AggregateFunction(argMax, String, UInt64),
    trace_id AggregateFunction(argMax, String, UInt64)
) ENGINE = {{engine "AggregatingMergeTree" "groups"}}
ORDER BY fingerprint
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.groups_mv{{.OnCluster}} TO {{.DB}}.groups{{.Local}} AS
SELECT
    fingerprint,
    countState() AS rows,
    minState(time_ns) AS first_seen,
    maxState(time_ns) AS last_seen,
    argMaxState(toString(type), time_ns) AS type,
    argMaxState(message, time_ns) AS message,
    argMaxState(toString(service), time_ns) AS service,
    argMaxState(toString(environment), time_ns) AS environment,
    argMaxState(host, time_ns) AS host,
    argMaxState(toString(method), time_ns) AS method,
    argMaxState(path, time_ns) AS path,
    argMaxState(route, time_ns) AS route,
    argMaxState(trace_id, time_ns) AS trace_id
FROM {{.DB}}.occurrences{{.Local}}
GROUP BY fingerprint;

CREATE TABLE IF NOT EXISTS {{.DB}}.group_counts{{.Local}}{{.OnCluster}} (
    day Date,
    fingerprint String,
    occurrences AggregateFunction(uniqExact, String)
) ENGINE = {{engine "AggregatingMergeTree" "group_counts"}}
PARTITION BY toYYYYMM(day)
ORDER BY (fingerprint, day)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.group_counts_mv{{.OnCluster}} TO {{.DB}}.group_counts{{.Local}} AS
SELECT toDate(time) AS day, fingerprint, uniqExactState(id) AS occurrences
FROM {{.DB}}.occurrences{{.Local}}
GROUP BY day, fingerprint
