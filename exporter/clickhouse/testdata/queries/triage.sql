-- states: of the given groups
SELECT fingerprint, argMax(status, version), argMax(changed_ns, version), argMax(in_next_release, version),
    argMax(ignore_until_ns, version), argMax(ignore_count, version), argMax(ignore_rate_count, version),
    argMax(ignore_rate_window_ns, version), argMax(actor, version)
FROM errortracker.group_state WHERE fingerprint IN (?) GROUP BY fingerprint;

-- states: of every group the summaries cannot decide
SELECT fingerprint, argMax(status, version), argMax(changed_ns, version), argMax(in_next_release, version),
    argMax(ignore_until_ns, version), argMax(ignore_count, version), argMax(ignore_rate_count, version),
    argMax(ignore_rate_window_ns, version), argMax(actor, version)
FROM errortracker.group_state GROUP BY fingerprint
HAVING (argMax(status, version) = 'resolved' AND argMax(in_next_release, version) = 1)
    OR (argMax(status, version) = 'ignored' AND (argMax(ignore_count, version) > 0 OR argMax(ignore_rate_count, version) > 0));

-- since
SELECT t_fp, n, last_ns, notEmpty(spans) AND arrayReduce('min', spans) <= rw
FROM (
    SELECT t_fp, n, last_ns, rw, arrayMap((a, b) -> b - a,
        arraySlice(ts, 1, greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0)),
        arraySlice(ts, greatest(rn, 1), greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0))) AS spans
    FROM (
        SELECT t_fp, count() AS n, max(time_ns) AS last_ns, arraySort(groupArrayIf(time_ns, rate_n > 0)) AS ts,
            any(rate_n) AS rn, any(rate_w) AS rw
        FROM (
            SELECT fingerprint AS t_fp, id, time_ns, toUInt64(0) AS rate_n, toUInt64(0) AS rate_w
            FROM errortracker.occurrences
            WHERE fingerprint IN (?) AND time >= toDateTime(?) AND time_ns > transform(fingerprint, ?, ?, toUInt64(0))
            LIMIT 1 BY id
        ) GROUP BY t_fp
    )
);

-- since: with rates, while groups are merged
SELECT t_fp, n, last_ns, notEmpty(spans) AND arrayReduce('min', spans) <= rw
FROM (
    SELECT t_fp, n, last_ns, rw, arrayMap((a, b) -> b - a,
        arraySlice(ts, 1, greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0)),
        arraySlice(ts, greatest(rn, 1), greatest(toInt64(length(ts)) - toInt64(rn) + 1, 0))) AS spans
    FROM (
        SELECT t_fp, count() AS n, max(time_ns) AS last_ns, arraySort(groupArrayIf(time_ns, rate_n > 0)) AS ts,
            any(rate_n) AS rn, any(rate_w) AS rw
        FROM (
            SELECT transform(fingerprint, ?, ?, fingerprint) AS t_fp, id, time_ns, transform(t_fp, ?, ?, toUInt64(0)) AS rate_n, transform(t_fp, ?, ?, toUInt64(0)) AS rate_w
            FROM errortracker.occurrences
            WHERE fingerprint IN (?) AND time >= toDateTime(?) AND time_ns > transform(fingerprint, ?, ?, toUInt64(0))
            LIMIT 1 BY id
        ) GROUP BY t_fp
    )
);

-- since_releases
SELECT fingerprint, release, minMerge(first_seen) FROM errortracker.group_releases
WHERE fingerprint IN (?) AND release != '' GROUP BY fingerprint, release;

-- merges
SELECT part, argMax(target, version) FROM errortracker.merges GROUP BY part HAVING argMax(merged, version) = 1;

