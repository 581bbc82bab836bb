// Package spool is the processor's disk spool: one append-only log of
// masked records in checksummed segment files, with a cursor per
// exporter, so that what was accepted and not yet exported survives a
// kill. See the processor package's "Spool" section for the guarantees.
//
// Layout of the directory: "lock" (flock, one process at a time),
// "NNNN….seg" segments named by the sequence number of their first
// record, each the magic "ETSPOOL1" then frames of [length uint32]
// [CRC-32C uint32][sequence uint64][record], and "cursor-<exporter>"
// files of [sequence uint64][CRC-32C uint32], replaced by rename.
package spool
