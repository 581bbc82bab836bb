{{/* A page of a group's occurrences by offset: reads the whole group. */}}
{{define "occurrences_page" -}}
SELECT {{join .Columns ", "}} FROM {{.DB}}.occurrences
WHERE fingerprint IN (?) ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT {{.Offset}}, {{.Limit}}
{{- end}}

{{/* A page of a group's occurrences in a time window, after a cursor
     (.Cursor): occurrences are stored by (fingerprint, time_ns), and the
     day partitions keep the read to the window's days. */}}
{{define "occurrences_window" -}}
SELECT {{join .Columns ", "}} FROM {{.DB}}.occurrences
WHERE fingerprint IN (?) AND time_ns >= ? AND time >= toDateTime(?)
{{- if .Cursor}} AND (time_ns < ? OR time_ns = ? AND id > ?){{end}}
ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT {{.Limit}}
{{- end}}
