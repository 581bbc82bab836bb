-- 001_occurrences
CREATE TABLE IF NOT EXISTS errortracker.occurrences (
    id String,
    fingerprint String,
    time DateTime,
    time_ns UInt64,
    type LowCardinality(String),
    message String,
    stacktrace String,
    escaped UInt8,
    service LowCardinality(String),
    service_version LowCardinality(String),
    environment LowCardinality(String),
    span_name String,
    trace_id String,
    span_id String,
    host String,
    method LowCardinality(String),
    path String,
    route String,
    status_code UInt16,
    attributes Nested(key String, value String),
    extras Nested(key String, value String),
    resource Nested(key String, value String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(time)
ORDER BY (fingerprint, time_ns);

-- 002_groups
CREATE TABLE IF NOT EXISTS errortracker.groups (
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
) ENGINE = AggregatingMergeTree()
ORDER BY fingerprint
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.groups_mv TO errortracker.groups AS
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
FROM errortracker.occurrences
GROUP BY fingerprint;

CREATE TABLE IF NOT EXISTS errortracker.group_counts (
    day Date,
    fingerprint String,
    occurrences AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (fingerprint, day)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.group_counts_mv TO errortracker.group_counts AS
SELECT toDate(time) AS day, fingerprint, uniqExactState(id) AS occurrences
FROM errortracker.occurrences
GROUP BY day, fingerprint;

-- 003_group_state
CREATE TABLE IF NOT EXISTS errortracker.group_state (
    fingerprint String,
    status String,
    changed_ns UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY fingerprint;

-- 004_distributed
-- 005_grouping
ALTER TABLE errortracker.occurrences ADD COLUMN grouping String DEFAULT '' AFTER fingerprint;

-- 006_claims
CREATE TABLE IF NOT EXISTS errortracker.claims (
    key String,
    owner String,
    claimed_ns UInt64
) ENGINE = MergeTree()
ORDER BY (key, claimed_ns);

-- 007_triage_state
ALTER TABLE errortracker.group_state ADD COLUMN in_next_release UInt8 DEFAULT 0;

ALTER TABLE errortracker.group_state ADD COLUMN ignore_until_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ADD COLUMN ignore_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ADD COLUMN ignore_rate_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ADD COLUMN ignore_rate_window_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ADD COLUMN actor String DEFAULT '';

-- 008_group_releases
CREATE TABLE IF NOT EXISTS errortracker.group_releases (
    fingerprint String,
    release String,
    first_seen AggregateFunction(min, UInt64),
    last_seen AggregateFunction(max, UInt64),
    occurrences AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree()
ORDER BY (fingerprint, release)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.group_releases_mv TO errortracker.group_releases AS
SELECT
    fingerprint,
    toString(service_version) AS release,
    minState(time_ns) AS first_seen,
    maxState(time_ns) AS last_seen,
    uniqState(id) AS occurrences
FROM errortracker.occurrences
GROUP BY fingerprint, release;

-- 009_merges
CREATE TABLE IF NOT EXISTS errortracker.merges (
    part String,
    target String,
    merged UInt8,
    actor String,
    at_ns UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY part;

-- 020_sort_snapshots
CREATE TABLE IF NOT EXISTS errortracker.group_changes (
    changed_ns UInt64,
    fingerprint String
) ENGINE = MergeTree()
PARTITION BY intDiv(changed_ns, 3600000000000)
ORDER BY changed_ns;

CREATE TABLE IF NOT EXISTS errortracker.group_order (
    sort String,
    taken_ns UInt64,
    fingerprint String,
    n UInt64,
    first_ns UInt64,
    last_ns UInt64
) ENGINE = MergeTree()
PARTITION BY intDiv(taken_ns, 3600000000000)
ORDER BY (sort, taken_ns);

