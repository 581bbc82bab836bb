// Package clickhouse stores exception records in ClickHouse and answers the
// queries of the browse pages and the e-mail policy.
//
// The schema and the queries work on the ClickHouse that Debian ships
// (18.16) and on current releases; the tests run them on both, the current
// one as chDB in-process (see TestReplayOnCurrentClickHouse):
//
//   - occurrences: one row per exception event, a MergeTree partitioned by
//     day and ordered by (fingerprint, time_ns). Every row carries the
//     record's random id; reads drop copies that a retried insert stored
//     twice.
//   - groups: a per-fingerprint, per-day summary in an AggregatingMergeTree,
//     kept by a materialized view: count of DISTINCT ids (uniqExact, so a
//     batch that lands twice does not count twice), first and last seen,
//     and the latest type, message, service, environment, host, method,
//     path, route and trace id.
//   - group_state: what a person set (exporter.Change: open, resolved now
//     or in the next release, ignored with its condition; by whom, when)
//     as rows of a ReplacingMergeTree, read at query time with argMax,
//     never by mutation.
//   - group_releases: per fingerprint and release (service.version) the
//     first and last sighting and the occurrences, kept by a materialized
//     view from occurrences inserted since the table exists. New never
//     backfills it; a resolve in the next release records the releases of
//     the groups it resolves from their stored occurrences (the aggregates
//     merge to the same result however often), so that an older group
//     does not take an old release for a new one.
//   - merges: each merged part and its target, with who and when, newest
//     row per part winning (an unmerge is a row too).
//
// # The workflow (exporter.Triage)
//
// A group's status is decided when it is read, never on ingest: for the
// groups with a state row, the store computes what happened after the
// change (exporter.Since: the occurrences after it, the latest one,
// whether an ignore's rate was met, the first release first seen after
// it) and applies exporter.Change.Outcome, the one place the rules live.
// The pages, the list's status filter and GroupStates (which the
// notification policy reads) all go through it, so they never disagree.
// A group with no state row costs nothing more.
//
// A merge rewrites nothing: every read maps a part's fingerprint to its
// target (transform(), only while something is merged), so the target's
// count, first and last seen, releases and occurrences combine its parts',
// the list never shows a part, a part's later occurrences from any
// instance land in the target, and an unmerge is exact. Merging into a
// part merges into its target; merging a target brings its parts along.
//
// Delete and DeleteGroups are the one rare, explicit mutation: one ALTER
// TABLE … DELETE per table for all the groups (and their merged parts),
// waited for on a single server, so that a later occurrence starts the
// group afresh (count 1, first seen then). Retention drops whole day
// partitions of occurrences and the daily counts, so counts stay
// consistent with the occurrences kept.
//
// The schema is created and upgraded by versioned, idempotent migrations
// (table schema_migrations); two processes may run them at once.
//
// # Cluster mode
//
// With Config.Cluster set, every DDL statement runs ON CLUSTER, the tables
// above become per-shard tables (suffix _local) and Distributed tables of
// the plain names shard them by cityHash64(fingerprint): a group lives on
// one shard, so its aggregates are exact, and every query sees all shards.
// Config.Replicated makes the per-shard tables ReplicatedMergeTree, for
// replicas per shard (ZooKeeper and the {shard} and {replica} macros
// needed).
package clickhouse
