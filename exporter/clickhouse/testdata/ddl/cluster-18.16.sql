-- 001_occurrences
CREATE TABLE IF NOT EXISTS errortracker.occurrences_local ON CLUSTER shards (
    id String,
    fingerprint String,
    time DateTime,
    time_ns UInt64,
    type String,
    message String,
    stacktrace String,
    escaped UInt8,
    service String,
    service_version String,
    environment String,
    span_name String,
    trace_id String,
    span_id String,
    host String,
    method String,
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
CREATE TABLE IF NOT EXISTS errortracker.groups_local ON CLUSTER shards (
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

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.groups_mv ON CLUSTER shards TO errortracker.groups_local AS
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
FROM errortracker.occurrences_local
GROUP BY fingerprint;

CREATE TABLE IF NOT EXISTS errortracker.group_counts_local ON CLUSTER shards (
    day Date,
    fingerprint String,
    occurrences AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (fingerprint, day)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.group_counts_mv ON CLUSTER shards TO errortracker.group_counts_local AS
SELECT toDate(time) AS day, fingerprint, uniqExactState(id) AS occurrences
FROM errortracker.occurrences_local
GROUP BY day, fingerprint;

-- 003_group_state
CREATE TABLE IF NOT EXISTS errortracker.group_state_local ON CLUSTER shards (
    fingerprint String,
    status String,
    changed_ns UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY fingerprint;

-- 004_distributed
CREATE TABLE IF NOT EXISTS errortracker.occurrences ON CLUSTER shards AS errortracker.occurrences_local
ENGINE = Distributed(shards, errortracker, occurrences_local, cityHash64(fingerprint));

CREATE TABLE IF NOT EXISTS errortracker.groups ON CLUSTER shards AS errortracker.groups_local
ENGINE = Distributed(shards, errortracker, groups_local, cityHash64(fingerprint));

CREATE TABLE IF NOT EXISTS errortracker.group_counts ON CLUSTER shards AS errortracker.group_counts_local
ENGINE = Distributed(shards, errortracker, group_counts_local, cityHash64(fingerprint));

CREATE TABLE IF NOT EXISTS errortracker.group_state ON CLUSTER shards AS errortracker.group_state_local
ENGINE = Distributed(shards, errortracker, group_state_local, cityHash64(fingerprint));

-- 005_grouping
ALTER TABLE errortracker.occurrences_local ON CLUSTER shards ADD COLUMN grouping String DEFAULT '' AFTER fingerprint;

ALTER TABLE errortracker.occurrences ON CLUSTER shards ADD COLUMN grouping String DEFAULT '' AFTER fingerprint;

-- 006_claims
CREATE TABLE IF NOT EXISTS errortracker.claims_local ON CLUSTER shards (
    key String,
    owner String,
    claimed_ns UInt64
) ENGINE = MergeTree()
ORDER BY (key, claimed_ns);

CREATE TABLE IF NOT EXISTS errortracker.claims ON CLUSTER shards AS errortracker.claims_local
ENGINE = Distributed(shards, errortracker, claims_local, cityHash64(key));

-- 007_triage_state
ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN in_next_release UInt8 DEFAULT 0;

ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN ignore_until_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN ignore_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN ignore_rate_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN ignore_rate_window_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state_local ON CLUSTER shards ADD COLUMN actor String DEFAULT '';

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN in_next_release UInt8 DEFAULT 0;

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN ignore_until_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN ignore_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN ignore_rate_count UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN ignore_rate_window_ns UInt64 DEFAULT 0;

ALTER TABLE errortracker.group_state ON CLUSTER shards ADD COLUMN actor String DEFAULT '';

-- 008_group_releases
CREATE TABLE IF NOT EXISTS errortracker.group_releases_local ON CLUSTER shards (
    fingerprint String,
    release String,
    first_seen AggregateFunction(min, UInt64),
    last_seen AggregateFunction(max, UInt64),
    occurrences AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree()
ORDER BY (fingerprint, release)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS errortracker.group_releases_mv ON CLUSTER shards TO errortracker.group_releases_local AS
SELECT
    fingerprint,
    toString(service_version) AS release,
    minState(time_ns) AS first_seen,
    maxState(time_ns) AS last_seen,
    uniqState(id) AS occurrences
FROM errortracker.occurrences_local
GROUP BY fingerprint, release;

CREATE TABLE IF NOT EXISTS errortracker.group_releases ON CLUSTER shards AS errortracker.group_releases_local
ENGINE = Distributed(shards, errortracker, group_releases_local, cityHash64(fingerprint));

-- 009_merges
CREATE TABLE IF NOT EXISTS errortracker.merges_local ON CLUSTER shards (
    part String,
    target String,
    merged UInt8,
    actor String,
    at_ns UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY part;

CREATE TABLE IF NOT EXISTS errortracker.merges ON CLUSTER shards AS errortracker.merges_local
ENGINE = Distributed(shards, errortracker, merges_local, cityHash64(part));

-- 020_sort_snapshots
