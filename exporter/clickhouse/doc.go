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
//   - group_state: resolve and reopen as rows of a ReplacingMergeTree,
//     read at query time with argMax, never by mutation. A group resolved
//     at T that occurs after T is open again: a regression.
//
// Delete is the one rare, explicit mutation: ALTER TABLE … DELETE on the
// group's occurrences and summary rows, waited for on a single server, so
// that a later occurrence starts the group afresh (count 1, first seen
// then). Retention drops whole day partitions of both tables, so counts
// stay consistent with the occurrences kept.
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
