// Package grouping decides which exceptions are one issue: it computes
// their fingerprints, and owns what that needs — the message normaliser,
// stack-trace parsing for Go and other languages (Python, Java/Kotlin,
// Node.js, .NET), which frames are the application's, and the grouping
// rules.
//
// Fingerprint v3 ([Version]) follows one rule: one bug is one root cause at
// one place. An exception is identified by its kind — the meaningful type
// and the template of that type's own message — and its place: the
// function that panicked, or the innermost two application functions of
// the capture stack, or, without a stack, the span that recorded it. Line
// numbers are never read, so a redeploy keeps every group. See [Grouper].
//
// The versions v3 replaced stay here, frozen ([Grouper.Previous]): stores
// hold their groups and carry their history over to the new ones.
//
// The package is pure: it reads only the explicit inputs of an
// [Exception], and a [Grouper] is safe for concurrent use. Its caches
// (templates of short messages, places of stacks, the words of a group)
// are bounded.
//
// # Usage
//
//	g, err := grouping.New(grouping.Config{AppPackages: []string{"example.com/shop"}})
//	if err != nil { … }
//	fingerprint, basis := g.Group(grouping.Exception{Service: "shop", Type: typ, Message: msg, Stacktrace: stack})
package grouping
