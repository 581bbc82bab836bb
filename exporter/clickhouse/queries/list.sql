{{/* The list of groups (ListGroups): one page of one attempt, from the
     one-row-per-group summaries. .Map is the group of a row: fingerprint,
     or while groups are merged transform() of the parts to their targets
     AS t_fp (.Group then names t_fp). Only the fields a filter reads are
     merged (.Fields). The conditions are the list_* templates below. */}}
{{define "list" -}}
SELECT {{.Group}} FROM (
    SELECT {{.Map}}{{if .Merged}} AS t_fp{{end}}, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n
        {{- range .Fields}}, argMaxMerge({{.}}) AS p_{{.}}{{end}}
    FROM {{.DB}}.groups
    {{- if .Where}}
    WHERE {{.Where}}{{if .Merged}} OR fingerprint IN (?){{end}}
    {{- end}}
    GROUP BY {{.Group}}
    {{- if .Having}}
    HAVING {{join .Having " AND "}}
    {{- end}}
) AS g
ORDER BY {{.Order}}, {{.Group}} LIMIT {{.Offset}}, {{.Limit}}
{{- end}}

{{/* Attempts: the groups with an occurrence in a recent window (the
     status filter reads the groups a person set: list_quiet). */}}
{{define "list_window"}}fingerprint IN (SELECT fingerprint FROM {{.DB}}.occurrences WHERE time >= toDateTime(?)){{end}}

{{/* Conditions on a group's summary. */}}
{{define "list_service"}}p_service = ?{{end}}
{{define "list_environment"}}p_environment = ?{{end}}
{{define "list_type"}}p_type = ?{{end}}
{{define "list_since"}}last_ns >= ?{{end}}
{{define "list_until"}}last_ns < ?{{end}}
{{define "list_search" -}}
(positionCaseInsensitiveUTF8(p_type, ?) > 0 OR positionCaseInsensitiveUTF8(p_message, ?) > 0 OR positionCaseInsensitiveUTF8(p_path, ?) > 0)
{{- end}}
{{/* Still resolved or still ignored (.Status; "quiet" in triage.sql),
     or among the groups bound (.Extra) that Go found so. For the list's
     status filter, and as the attempt that reads those groups alone
     (.Column fingerprint). */}}
{{define "list_quiet"}}({{.Column}} {{if .Cluster}}GLOBAL {{end}}IN ({{template "quiet" .}}){{if .Extra}} OR {{.Column}} IN (?){{end}}){{end}}
{{define "list_not_quiet"}}{{.Group}} {{if .Cluster}}GLOBAL {{end}}NOT IN ({{template "quiet" .}}){{end}}
{{define "list_not_in"}}{{.Group}} NOT IN (?){{end}}
{{define "list_release"}}{{.Group}} IN (SELECT {{.Map}} FROM {{.DB}}.group_releases WHERE release = ?){{end}}

{{/* New in a release: the group's earliest release is this one, and it
     holds the group's first sighting, so that a group older than the
     releases table is not new in the first release it was seen in since. */}}
{{define "list_new_in_release" -}}
({{.Group}}, first_ns) IN (SELECT r_fp, r_first FROM (
        SELECT r_fp, min(f) AS r_first, argMin(release, f) AS r_release FROM (
            SELECT {{.Map}} AS r_fp, release, minMerge(first_seen) AS f FROM {{.DB}}.group_releases
            WHERE {{.Map}} IN (SELECT {{.Map}} FROM {{.DB}}.group_releases WHERE release = ?)
            GROUP BY r_fp, release
        ) GROUP BY r_fp HAVING r_release = ?))
{{- end}}

{{/* The time of the newest occurrence of the last days: the list's
     windows start there. */}}
{{define "newest_occurrence" -}}
SELECT toUInt32(max(time)) FROM {{.DB}}.occurrences WHERE time >= toDateTime(?)
{{- end}}
