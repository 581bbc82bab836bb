{{range $table := .ShardedTables}}
CREATE TABLE IF NOT EXISTS {{$.DB}}.{{$table}}{{$.OnCluster}} AS {{$.DB}}.{{$table}}_local
ENGINE = Distributed({{$.Cluster}}, {{$.DB}}, {{$table}}_local, cityHash64(fingerprint));
{{end}}
