{{/* The distinct occurrences of each group within retention. An id has one
     time, so it falls on one day: the count is the sum of the days'
     distinct counts. A day whose background merges are done holds one
     state, which finalizeAggregation reads without building one hash set
     of every id of the group; the days still split over parts are merged.
     In a cluster, where the subqueries would be a second distributed read
     on every shard, the states are merged as one. For groups of few stored
     rows (.ByDay: a list page of small groups) one read merging day by day
     costs a quarter of that: 4 ms against 16 for a page at 1 M groups; for
     a group of a million occurrences it costs twice as much. */}}
{{define "counts" -}}
{{if .ByDay -}}
SELECT fingerprint, sum(c) FROM (
    SELECT fingerprint, uniqExactMerge(occurrences) AS c FROM {{.DB}}.group_counts
    WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day
) GROUP BY fingerprint
{{- else if .Cluster -}}
SELECT fingerprint, uniqExactMerge(occurrences) FROM {{.DB}}.group_counts
WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint
{{- else -}}
SELECT fingerprint, sum(c) FROM (
    SELECT fingerprint, finalizeAggregation(occurrences) AS c FROM {{.DB}}.group_counts
    WHERE (fingerprint, day) IN (SELECT fingerprint, day FROM {{.DB}}.group_counts
        WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day HAVING count() = 1)
    UNION ALL
    SELECT fingerprint, uniqExactMerge(occurrences) AS c FROM {{.DB}}.group_counts
    WHERE (fingerprint, day) IN (SELECT fingerprint, day FROM {{.DB}}.group_counts
        WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day HAVING count() > 1)
    GROUP BY fingerprint, day
) GROUP BY fingerprint
{{- end}}
{{- end}}

{{/* The summary of groups, a part's rows counting in its target's (.Map). */}}
{{define "summary" -}}
SELECT {{.Map}} AS t_fp,
    minMerge(first_seen) AS first_ns,
    maxMerge(last_seen) AS last_ns,
    argMaxMerge(type) AS g_type,
    argMaxMerge(message) AS g_message,
    argMaxMerge(service) AS g_service,
    argMaxMerge(environment) AS g_environment,
    argMaxMerge(host) AS g_host,
    argMaxMerge(method) AS g_method,
    argMaxMerge(path) AS g_path,
    argMaxMerge(route) AS g_route,
    argMaxMerge(trace_id) AS g_trace_id
FROM {{.DB}}.groups WHERE fingerprint IN (?) GROUP BY t_fp
{{- end}}

{{/* A group's first and last sighting, per fingerprint of its own and its
     parts'. */}}
{{define "span" -}}
SELECT fingerprint, minMerge(first_seen), maxMerge(last_seen) FROM {{.DB}}.groups WHERE fingerprint IN (?) GROUP BY fingerprint
{{- end}}

{{/* Which of the given fingerprints the store holds. */}}
{{define "known" -}}
SELECT DISTINCT fingerprint FROM {{.DB}}.groups WHERE fingerprint IN (?)
{{- end}}

{{/* The releases of groups, per fingerprint: first and last sighting. */}}
{{define "group_releases" -}}
SELECT fingerprint, release, minMerge(first_seen), maxMerge(last_seen) FROM {{.DB}}.group_releases
WHERE fingerprint IN (?) GROUP BY fingerprint, release
{{- end}}

{{/* The releases of one group and its parts, newest first seen first. */}}
{{define "releases" -}}
SELECT release, minMerge(first_seen) AS first_ns, maxMerge(last_seen), uniqMerge(occurrences) FROM {{.DB}}.group_releases
WHERE fingerprint IN (?) AND release != '' GROUP BY release ORDER BY first_ns DESC, release
{{- end}}

{{/* Distinct occurrences per hour, a part's counting in its target's. */}}
{{define "hourly_counts" -}}
SELECT {{.Map}} AS t_fp, toUInt32(toStartOfHour(time)) AS hour, uniqExact(id) FROM {{.DB}}.occurrences
WHERE fingerprint IN (?) AND time >= toDateTime(?) GROUP BY t_fp, hour ORDER BY t_fp, hour
{{- end}}

{{/* Mutations of the database still to do (Delete waits for none). */}}
{{define "pending_mutations" -}}
SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0
{{- end}}
