-- occurrences_page: page 3 of 20
SELECT id, fingerprint, grouping, time_ns, type, message, stacktrace, escaped, service, service_version, environment, span_name, trace_id, span_id, host, method, path, route, status_code, attributes.key, attributes.value, extras.key, extras.value, resource.key, resource.value FROM errortracker.occurrences
WHERE fingerprint IN (?) ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT 40, 21;

-- occurrences_window: the first page
SELECT id, fingerprint, grouping, time_ns, type, message, stacktrace, escaped, service, service_version, environment, span_name, trace_id, span_id, host, method, path, route, status_code, attributes.key, attributes.value, extras.key, extras.value, resource.key, resource.value FROM errortracker.occurrences
WHERE fingerprint IN (?) AND time_ns >= ? AND time >= toDateTime(?)
ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT 21;

-- occurrences_window: after a cursor
SELECT id, fingerprint, grouping, time_ns, type, message, stacktrace, escaped, service, service_version, environment, span_name, trace_id, span_id, host, method, path, route, status_code, attributes.key, attributes.value, extras.key, extras.value, resource.key, resource.value FROM errortracker.occurrences
WHERE fingerprint IN (?) AND time_ns >= ? AND time >= toDateTime(?) AND (time_ns < ? OR time_ns = ? AND id > ?)
ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT 21;

