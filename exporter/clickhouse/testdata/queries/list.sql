-- list: the default list's first window
SELECT fingerprint, n FROM (
    SELECT fingerprint, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n
    FROM errortracker.groups
    WHERE fingerprint IN (SELECT fingerprint FROM errortracker.occurrences WHERE time >= toDateTime(?))
    GROUP BY fingerprint
) AS g
ORDER BY last_ns DESC, fingerprint LIMIT 0, 21;

-- list: every group, filtered, by count, page 3
SELECT fingerprint, n FROM (
    SELECT fingerprint, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n, argMaxMerge(service) AS p_service, argMaxMerge(type) AS p_type, argMaxMerge(message) AS p_message, argMaxMerge(path) AS p_path
    FROM errortracker.groups
    GROUP BY fingerprint
    HAVING p_service = ? AND last_ns >= ?
) AS g
ORDER BY n DESC, last_ns DESC, fingerprint LIMIT 40, 21;

-- list: while groups are merged
SELECT t_fp, n FROM (
    SELECT transform(fingerprint, ?, ?, fingerprint) AS t_fp, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n, argMaxMerge(service) AS p_service
    FROM errortracker.groups
    WHERE fingerprint IN (?) OR fingerprint IN (?)
    GROUP BY t_fp
    HAVING p_service = ? AND last_ns >= ?
) AS g
ORDER BY first_ns DESC, t_fp LIMIT 0, 21;

-- list_window
fingerprint IN (SELECT fingerprint FROM errortracker.occurrences WHERE time >= toDateTime(?));

-- list_service
p_service = ?;

-- list_environment
p_environment = ?;

-- list_type
p_type = ?;

-- list_since
last_ns >= ?;

-- list_until
last_ns < ?;

-- list_search
(positionCaseInsensitiveUTF8(p_type, ?) > 0 OR positionCaseInsensitiveUTF8(p_message, ?) > 0 OR positionCaseInsensitiveUTF8(p_path, ?) > 0);

-- list: open groups, by last seen
SELECT fingerprint, n FROM (
    SELECT fingerprint, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n
    FROM errortracker.groups
    WHERE fingerprint IN (SELECT fingerprint FROM errortracker.occurrences WHERE time >= toDateTime(?))
    GROUP BY fingerprint
) AS g
ANY LEFT JOIN (
    SELECT fingerprint AS fingerprint, argMax(status, version) AS s_status, argMax(changed_ns, version) AS s_at,
        argMax(in_next_release, version) AS s_next, argMax(ignore_until_ns, version) AS s_until,
        argMax(ignore_count, version) AS s_count, argMax(ignore_rate_count, version) AS s_rate
    FROM errortracker.group_state GROUP BY fingerprint
) AS s USING fingerprint
WHERE NOT (s_status = 'resolved' AND s_next = 0 AND last_ns <= s_at) AND NOT (s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR last_ns <= greatest(s_until, s_at)))
ORDER BY last_ns DESC, fingerprint LIMIT 0, 21;

-- list: resolved groups, with groups Go decided, while groups are merged, cluster
SELECT t_fp, n FROM (
    SELECT transform(fingerprint, ?, ?, fingerprint) AS t_fp, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n
    FROM errortracker.groups
    WHERE fingerprint IN (?) OR fingerprint IN (?)
    GROUP BY t_fp
) AS g
GLOBAL ANY LEFT JOIN (
    SELECT fingerprint AS t_fp, argMax(status, version) AS s_status, argMax(changed_ns, version) AS s_at,
        argMax(in_next_release, version) AS s_next, argMax(ignore_until_ns, version) AS s_until,
        argMax(ignore_count, version) AS s_count, argMax(ignore_rate_count, version) AS s_rate
    FROM errortracker.group_state GROUP BY fingerprint
) AS s USING t_fp
WHERE ((s_status = 'resolved' AND s_next = 0 AND last_ns <= s_at) OR t_fp IN (?))
ORDER BY last_ns DESC, t_fp LIMIT 0, 21;

-- list: ignored groups
SELECT fingerprint, n FROM (
    SELECT fingerprint, maxMerge(last_seen) AS last_ns, minMerge(first_seen) AS first_ns, countMerge(rows) AS n
    FROM errortracker.groups
    WHERE fingerprint IN (?)
    GROUP BY fingerprint
) AS g
ANY LEFT JOIN (
    SELECT fingerprint AS fingerprint, argMax(status, version) AS s_status, argMax(changed_ns, version) AS s_at,
        argMax(in_next_release, version) AS s_next, argMax(ignore_until_ns, version) AS s_until,
        argMax(ignore_count, version) AS s_count, argMax(ignore_rate_count, version) AS s_rate
    FROM errortracker.group_state GROUP BY fingerprint
) AS s USING fingerprint
WHERE ((s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR last_ns <= greatest(s_until, s_at))))
ORDER BY last_ns DESC, fingerprint LIMIT 0, 21;

-- list_status: open, with groups Go decided
NOT (s_status = 'resolved' AND s_next = 0 AND last_ns <= s_at) AND NOT (s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR last_ns <= greatest(s_until, s_at))) AND fingerprint NOT IN (?);

-- list_resolved
(s_status = 'resolved' AND s_next = 0 AND last_ns <= s_at);

-- list_ignored
(s_status = 'ignored' AND s_count = 0 AND s_rate = 0 AND (s_until = 0 OR last_ns <= greatest(s_until, s_at)));

-- list_set_to
fingerprint IN (SELECT fingerprint FROM errortracker.group_state WHERE status = ?);

-- list_set_to: cluster
fingerprint GLOBAL IN (SELECT fingerprint FROM errortracker.group_state WHERE status = ?);

-- list_release
fingerprint IN (SELECT fingerprint FROM errortracker.group_releases WHERE release = ?);

-- list_release: while groups are merged
t_fp IN (SELECT transform(fingerprint, ?, ?, fingerprint) FROM errortracker.group_releases WHERE release = ?);

-- list_new_in_release
(fingerprint, first_ns) IN (SELECT r_fp, r_first FROM (
        SELECT r_fp, min(f) AS r_first, argMin(release, f) AS r_release FROM (
            SELECT fingerprint AS r_fp, release, minMerge(first_seen) AS f FROM errortracker.group_releases
            WHERE fingerprint IN (SELECT fingerprint FROM errortracker.group_releases WHERE release = ?)
            GROUP BY r_fp, release
        ) GROUP BY r_fp HAVING r_release = ?));

-- list_new_in_release: while groups are merged
(t_fp, first_ns) IN (SELECT r_fp, r_first FROM (
        SELECT r_fp, min(f) AS r_first, argMin(release, f) AS r_release FROM (
            SELECT transform(fingerprint, ?, ?, fingerprint) AS r_fp, release, minMerge(first_seen) AS f FROM errortracker.group_releases
            WHERE transform(fingerprint, ?, ?, fingerprint) IN (SELECT transform(fingerprint, ?, ?, fingerprint) FROM errortracker.group_releases WHERE release = ?)
            GROUP BY r_fp, release
        ) GROUP BY r_fp HAVING r_release = ?));

-- newest_occurrence
SELECT toUInt32(max(time)) FROM errortracker.occurrences WHERE time >= toDateTime(?);

