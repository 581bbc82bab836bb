CREATE TABLE IF NOT EXISTS {{.DB}}.claims{{.Local}}{{.OnCluster}} (
    key String,
    owner String,
    claimed_ns UInt64
) ENGINE = {{engine "MergeTree" "claims"}}
ORDER BY (key, claimed_ns);
{{if .Cluster}}CREATE TABLE IF NOT EXISTS {{.DB}}.claims{{.OnCluster}} AS {{.DB}}.claims_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, claims_local, cityHash64(key)){{end}}
