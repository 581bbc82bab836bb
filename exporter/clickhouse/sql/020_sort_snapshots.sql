{{if not .Cluster}}CREATE TABLE IF NOT EXISTS {{.DB}}.group_changes (
    changed_ns UInt64,
    fingerprint String
) ENGINE = MergeTree()
PARTITION BY intDiv(changed_ns, 3600000000000)
ORDER BY changed_ns;

CREATE TABLE IF NOT EXISTS {{.DB}}.group_order (
    sort String,
    taken_ns UInt64,
    fingerprint String,
    n UInt64,
    first_ns UInt64,
    last_ns UInt64
) ENGINE = MergeTree()
PARTITION BY intDiv(taken_ns, 3600000000000)
ORDER BY (sort, taken_ns){{end}}
