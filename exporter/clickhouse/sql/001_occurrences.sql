CREATE TABLE IF NOT EXISTS {{.DB}}.occurrences{{.Local}}{{.OnCluster}} (
    id String,
    fingerprint String,
    time DateTime,
    time_ns UInt64,
    type {{.LowCardinality}},
    message String,
    stacktrace String,
    escaped UInt8,
    service {{.LowCardinality}},
    service_version {{.LowCardinality}},
    environment {{.LowCardinality}},
    span_name String,
    trace_id String,
    span_id String,
    host String,
    method {{.LowCardinality}},
    path String,
    route String,
    status_code UInt16,
    attributes Nested(key String, value String),
    extras Nested(key String, value String),
    resource Nested(key String, value String)
) ENGINE = {{engine "MergeTree" "occurrences"}}
PARTITION BY toYYYYMMDD(time)
ORDER BY (fingerprint, time_ns)
