{{/* The newest change of groups: of the given ones (.Of), or of every
     group whose outcome the summaries cannot decide ("quiet"): resolved in
     the next release, ignored until a count or a rate. */}}
{{define "states" -}}
SELECT fingerprint, argMax(status, version), argMax(changed_ns, version), argMax(in_next_release, version),
    argMax(ignore_until_ns, version), argMax(ignore_count, version), argMax(ignore_rate_count, version),
    argMax(ignore_rate_window_ns, version), argMax(actor, version)
FROM {{.DB}}.group_state
{{- if .Of}} WHERE fingerprint IN (?) GROUP BY fingerprint
{{- else}} GROUP BY fingerprint
HAVING (argMax(status, version) = 'resolved' AND argMax(in_next_release, version) = 1)
    OR (argMax(status, version) = 'ignored' AND (argMax(ignore_count, version) > 0 OR argMax(ignore_rate_count, version) > 0))
{{- end}}
{{- end}}

{{/* The groups (targets) still resolved, or still ignored (.Status), by
     the rules of exporter.Change.Outcome that a group's summary decides:
     resolved (not in the next release) with no occurrence after the
     change; ignored for ever, or until a time that no occurrence after the
     change has passed. A part's own state does not count (it is not a
     group of the mapped summaries). The list's status filter reads it as a
     subquery, so its cost grows with the groups a person set, and no set
     of them travels in the query's text; the other rules (a count, a
     rate, a new release) are decided in Go for the few groups they
     concern ("states"). A cluster reads the subqueries on the initiator
     and sends their results to the shards (GLOBAL). */}}
{{define "quiet" -}}
SELECT s_fp FROM (
    SELECT fingerprint AS s_fp, argMax(status, version) AS s_status, argMax(changed_ns, version) AS s_at,
        argMax(in_next_release, version) AS s_next, argMax(ignore_until_ns, version) AS s_until,
        argMax(ignore_count, version) AS s_count, argMax(ignore_rate_count, version) AS s_rate
    FROM {{.DB}}.group_state GROUP BY fingerprint
) AS s {{if .Cluster}}GLOBAL {{end}}ANY INNER JOIN (
    SELECT {{.Map}} AS s_fp, maxMerge(last_seen) AS s_last FROM {{.DB}}.groups
    WHERE fingerprint {{if .Cluster}}GLOBAL {{end}}IN (SELECT fingerprint FROM {{.DB}}.group_state){{if .Merged}} OR fingerprint IN (?){{end}}
    GROUP BY s_fp
) AS l USING s_fp
WHERE {{if eq .Status "resolved"}}s_status = 'resolved' AND s_next = 0 AND s_last <= s_at
{{- else}}s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR s_last <= greatest(s_until, s_at)){{end}}
{{- end}}

{{/* What happened to groups after their change: the distinct occurrences
     after it (each member counting after its target's change), the latest,
     and whether an ignore's rate was met: some Count consecutive
     occurrences, sorted by time, span at most the window
     (t[i+N-1] - t[i] <= window). Only the groups ignored until a rate
     (.Rates) collect their times. */}}
{{define "since" -}}
SELECT t_fp, n, last_ns, notEmpty(spans) AND arrayReduce('min', spans) <= rw
FROM (
    SELECT t_fp, n, last_ns, rw, arrayMap((a, b) -> b - a,
        arraySlice(ts, 1, greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0)),
        arraySlice(ts, greatest(rn, 1), greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0))) AS spans
    FROM (
        SELECT t_fp, count() AS n, max(time_ns) AS last_ns, arraySort(groupArrayIf(time_ns, rate_n > 0)) AS ts,
            any(rate_n) AS rn, any(rate_w) AS rw
        FROM (
            SELECT {{.Map}} AS t_fp, id, time_ns,
            {{- if .Rates}} transform(t_fp, ?, ?, toUInt64(0)) AS rate_n, transform(t_fp, ?, ?, toUInt64(0)) AS rate_w
            {{- else}} toUInt64(0) AS rate_n, toUInt64(0) AS rate_w
            {{- end}}
            FROM {{.DB}}.occurrences
            WHERE fingerprint IN (?) AND time >= toDateTime(?) AND time_ns > transform(fingerprint, ?, ?, toUInt64(0))
            LIMIT 1 BY id
        ) GROUP BY t_fp
    )
)
{{- end}}

{{/* The first sighting of each release of groups, for the first release
     first seen after a change. */}}
{{define "since_releases" -}}
SELECT fingerprint, release, minMerge(first_seen) FROM {{.DB}}.group_releases
WHERE fingerprint IN (?) AND release != '' GROUP BY fingerprint, release
{{- end}}

{{/* The merge map: each part merged now, and its target. */}}
{{define "merges" -}}
SELECT part, argMax(target, version) FROM {{.DB}}.merges GROUP BY part HAVING argMax(merged, version) = 1
{{- end}}
