CREATE TABLE IF NOT EXISTS {{.DB}}.merges{{.Local}}{{.OnCluster}} (
    part String,
    target String,
    merged UInt8,
    actor String,
    at_ns UInt64,
    version UInt64
) ENGINE = {{engine "ReplacingMergeTree" "merges" "version"}}
ORDER BY part;
{{if .Cluster}}
CREATE TABLE IF NOT EXISTS {{.DB}}.merges{{.OnCluster}} AS {{.DB}}.merges_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, merges_local, cityHash64(part)){{end}}
