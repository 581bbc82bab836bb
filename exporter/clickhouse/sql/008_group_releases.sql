CREATE TABLE IF NOT EXISTS {{.DB}}.group_releases{{.Local}}{{.OnCluster}} (
    fingerprint String,
    release String,
    first_seen AggregateFunction(min, UInt64),
    last_seen AggregateFunction(max, UInt64),
    occurrences AggregateFunction(uniq, String)
) ENGINE = {{engine "AggregatingMergeTree" "group_releases"}}
ORDER BY (fingerprint, release)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.group_releases_mv{{.OnCluster}} TO {{.DB}}.group_releases{{.Local}} AS
SELECT
    fingerprint,
    toString(service_version) AS release,
    minState(time_ns) AS first_seen,
    maxState(time_ns) AS last_seen,
    uniqState(id) AS occurrences
FROM {{.DB}}.occurrences{{.Local}}
GROUP BY fingerprint, release;
{{if .Cluster}}
CREATE TABLE IF NOT EXISTS {{.DB}}.group_releases{{.OnCluster}} AS {{.DB}}.group_releases_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, group_releases_local, cityHash64(fingerprint)){{end}}
