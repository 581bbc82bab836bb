// Package notify decides which errors deserve a notification — the policy
// — and hands each notification to notifiers, which send it: e-mail
// (exporter/smtp), a webhook (notify/webhook, also in Slack's and
// Mattermost's format), or a Notifier of your own, like the notifier
// object of the Python error-tracker.
//
// # The policy
//
// A Policy is an exporter.Exporter attached to the processor. For every
// batch of (masked) records it reads the store's state of their groups
// (exporter.Store.GroupStates) and applies the workflow's one set of rules,
// exporter.Change.Outcome, to what a person set and what happened since —
// the store's count plus the batch's own records, which the store's
// exporter, running beside the policy, may not hold yet. It notifies:
//
//   - EventNew, once for a new group, "first seen in X" (the release,
//     service.version, of its first occurrence);
//   - EventRegression, once per resolve, when a resolved group occurs
//     again — for a resolve in the next release, only in a release first
//     seen after the resolve: "regressed in Y";
//   - EventWoke, once per ignore, when an ignored group meets its
//     condition (a time passed, N more occurrences, a rate);
//   - EventThreshold, when a group crosses 10, 100, 1,000… occurrences, at
//     most once per Config.ThresholdInterval;
//   - EventSpike, when the last hour's count (the current clock hour)
//     reaches SpikeFactor (10) times the group's hourly baseline (the mean
//     of the 24 hours before) and at least SpikeMin (100), at most once a
//     day per group; a group first seen in the current clock hour or the
//     one before is new, not a spike;
//   - EventDigest, when more than Config.DigestAfter groups become new
//     within Config.DigestWindow: the rest of the window together.
//
// Ignored groups, and resolved groups that stay resolved, send nothing. A
// merged fingerprint is notified as its target (GroupState.MergedInto).
//
// Every notification is claimed in the store first when it hands out
// claims (exporter.Claimer, as the ClickHouse store does): of the app's
// instances, and across restarts and replays of the spool, one sends it,
// once. Its ID is derived from the claim, the same everywhere.
//
// The policy remembers at most Config.MaxGroups groups (least recently
// seen forgotten first); the digest lists at most MaxDigestGroups groups.
//
// # Delivery
//
// Each notifier has its own bounded queue and one worker that retries a
// failed notification with backoff (Config.Retry) unless the error wraps
// exporter.ErrPermanent. Export only queues: a notifier that is down or
// hangs delays neither the app, nor the processor, nor the other
// notifiers. What is dropped is counted (Policy.Stats) and logged.
//
// # Setup
//
// Package notify/setup builds a policy with its notifiers from the
// APP_ERROR_* settings (processor.Config), the one place the example app
// and users call.
package notify
