CREATE TABLE IF NOT EXISTS {{.DB}}.group_state{{.Local}}{{.OnCluster}} (
    fingerprint String,
    status String,
    changed_ns UInt64,
    version UInt64
) ENGINE = {{engine "ReplacingMergeTree" "group_state" "version"}}
ORDER BY fingerprint
