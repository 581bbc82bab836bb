{{/* The list of groups (ListGroups): one page of one attempt, from the
     one-row-per-group summaries. .Map is the group of a row: fingerprint,
     or while groups are merged transform() of the parts to their targets
     AS t_fp (.Group then names t_fp). Only the fields a filter reads are
     merged (.Fields). The conditions are the list_* templates below. */}}
{{define "list" -}}
SELECT {{.Group}}, n FROM (
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
{{- if .Status}}
{{if .Cluster}}GLOBAL {{end}}ANY LEFT JOIN (
    SELECT fingerprint AS {{.Group}}, argMax(status, version) AS s_status, argMax(changed_ns, version) AS s_at,
        argMax(in_next_release, version) AS s_next, argMax(ignore_until_ns, version) AS s_until,
        argMax(ignore_count, version) AS s_count, argMax(ignore_rate_count, version) AS s_rate
    FROM {{.DB}}.group_state GROUP BY fingerprint
) AS s USING {{.Group}}
WHERE {{template "list_status" .}}
{{- end}}
ORDER BY {{.Order}}, {{.Group}} LIMIT {{.Offset}}, {{.Limit}}
{{- end}}

{{/* The status filter (.Status), on the group's newest state joined to
     its summary (an ANY LEFT JOIN, which 18.16 needs and which reads the
     same on current releases: the state side has one row per group; a
     group nobody set joins empty values, and is open). The rules of
     exporter.Change.Outcome that the summary decides: resolved (not in the
     next release) until an occurrence after the change; ignored for ever,
     or until a time, until an occurrence after both. The others (in the
     next release, until a count or a rate) are decided in Go for the few
     groups they concern, which are bound (.Extra): those still resolved or
     still ignored. A part's own state joins no group: its target's
     counts. */}}
{{define "list_status" -}}
{{if eq .Status "open"}}NOT {{template "list_resolved" .}} AND NOT {{template "list_ignored" .}}{{if .Extra}} AND {{.Group}} NOT IN (?){{end}}
{{- else if eq .Status "resolved"}}({{template "list_resolved" .}}{{if .Extra}} OR {{.Group}} IN (?){{end}})
{{- else}}({{template "list_ignored" .}}{{if .Extra}} OR {{.Group}} IN (?){{end}})
{{- end}}
{{- end}}
{{define "list_resolved"}}(s_status = 'resolved' AND s_next = 0 AND last_ns <= s_at){{end}}
{{define "list_ignored"}}(s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR last_ns <= greatest(s_until, s_at))){{end}}

{{/* Attempts: the groups with an occurrence in a recent window. */}}
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
{{/* The attempt of the lists of resolved or ignored groups: the groups
     a person ever set so (the status bound) alone. */}}
{{define "list_set_to"}}fingerprint {{if .Cluster}}GLOBAL {{end}}IN (SELECT fingerprint FROM {{.DB}}.group_state WHERE status = ?){{end}}
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
