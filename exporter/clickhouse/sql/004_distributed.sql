{{if .Cluster}}
CREATE TABLE IF NOT EXISTS {{.DB}}.occurrences{{.OnCluster}} AS {{.DB}}.occurrences_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, occurrences_local, cityHash64(fingerprint));

CREATE TABLE IF NOT EXISTS {{.DB}}.groups{{.OnCluster}} AS {{.DB}}.groups_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, groups_local, cityHash64(fingerprint));

CREATE TABLE IF NOT EXISTS {{.DB}}.group_state{{.OnCluster}} AS {{.DB}}.group_state_local
ENGINE = Distributed({{.Cluster}}, {{.DB}}, group_state_local, cityHash64(fingerprint))
{{end}}
