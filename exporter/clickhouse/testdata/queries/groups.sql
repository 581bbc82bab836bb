-- counts: one server
SELECT fingerprint, sum(c) FROM (
    SELECT fingerprint, finalizeAggregation(occurrences) AS c FROM errortracker.group_counts
    WHERE (fingerprint, day) IN (SELECT fingerprint, day FROM errortracker.group_counts
        WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day HAVING count() = 1)
    UNION ALL
    SELECT fingerprint, uniqExactMerge(occurrences) AS c FROM errortracker.group_counts
    WHERE (fingerprint, day) IN (SELECT fingerprint, day FROM errortracker.group_counts
        WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day HAVING count() > 1)
    GROUP BY fingerprint, day
) GROUP BY fingerprint;

-- counts: cluster
SELECT fingerprint, uniqExactMerge(occurrences) FROM errortracker.group_counts
WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint;

-- counts: day by day, a list page of small groups
SELECT fingerprint, sum(c) FROM (
    SELECT fingerprint, uniqExactMerge(occurrences) AS c FROM errortracker.group_counts
    WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day
) GROUP BY fingerprint;

-- summary
SELECT fingerprint AS t_fp,
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
FROM errortracker.groups WHERE fingerprint IN (?) GROUP BY t_fp;

-- summary: while groups are merged
SELECT transform(fingerprint, ?, ?, fingerprint) AS t_fp,
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
FROM errortracker.groups WHERE fingerprint IN (?) GROUP BY t_fp;

-- span
SELECT fingerprint, minMerge(first_seen), maxMerge(last_seen) FROM errortracker.groups WHERE fingerprint IN (?) GROUP BY fingerprint;

-- known
SELECT DISTINCT fingerprint FROM errortracker.groups WHERE fingerprint IN (?);

-- group_releases
SELECT fingerprint, release, minMerge(first_seen), maxMerge(last_seen) FROM errortracker.group_releases
WHERE fingerprint IN (?) GROUP BY fingerprint, release;

-- releases
SELECT release, minMerge(first_seen) AS first_ns, maxMerge(last_seen), uniqMerge(occurrences) FROM errortracker.group_releases
WHERE fingerprint IN (?) AND release != '' GROUP BY release ORDER BY first_ns DESC, release;

-- hourly_counts
SELECT fingerprint AS t_fp, toUInt32(toStartOfHour(time)) AS hour, uniqExact(id) FROM errortracker.occurrences
WHERE fingerprint IN (?) AND time >= toDateTime(?) GROUP BY t_fp, hour ORDER BY t_fp, hour;

-- pending_mutations
SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0;

