{{/* The newest change of groups: of the given ones (.Of), or of every
     group whose outcome the list's join cannot decide (list_status): resolved in
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
