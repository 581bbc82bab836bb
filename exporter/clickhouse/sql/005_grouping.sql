ALTER TABLE {{.DB}}.occurrences{{.Local}}{{.OnCluster}} ADD COLUMN grouping String DEFAULT '' AFTER fingerprint;
{{if .Cluster}}ALTER TABLE {{.DB}}.occurrences{{.OnCluster}} ADD COLUMN grouping String DEFAULT '' AFTER fingerprint{{end}}
