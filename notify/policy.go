package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// Policy decides which occurrences deserve a notification and hands each
// notification to every notifier. It is an exporter.Exporter: attach it to
// the processor (processor.WithExporter), which calls Export on a
// goroutine of its own, off the request path. Each notifier has its own
// bounded queue and worker with retries, so Export never waits for a
// delivery.
type Policy struct {
	cfg  Config
	outs []*outlet

	mu      sync.Mutex
	mem     *memory
	sent    []time.Time // individual new-group notifications within the digest window
	digest  []Group     // new groups waiting for the digest
	omitted int         // new groups past MaxDigestGroups
	since   time.Time   // when the first of them arrived
	closed  bool

	stop chan struct{}
	done chan struct{}
	once sync.Once
	// base is the workers' and the digest's context: cancelled when
	// Shutdown's deadline passes, so that a delivery in flight gives up.
	base       context.Context
	cancelBase context.CancelFunc
}

var _ exporter.Exporter = (*Policy)(nil)

// shutdownGrace is how long Shutdown waits, past its deadline, for the
// workers to give up.
const shutdownGrace = 100 * time.Millisecond

// New checks the configuration and starts one worker per notifier and the
// digest's timer. It does not contact the store or the notifiers.
func New(cfg Config, notifiers ...Notifier) (*Policy, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("notify: invalid configuration: %w", err)
	}
	p := &Policy{cfg: cfg, mem: newMemory(cfg.MaxGroups), stop: make(chan struct{}), done: make(chan struct{})}
	for _, n := range notifiers {
		if n != nil {
			p.outs = append(p.outs, newOutlet(n, cfg.QueueSize))
		}
	}
	if len(p.outs) == 0 {
		return nil, errors.New("notify: no notifier: nobody would get the notifications")
	}
	p.base, p.cancelBase = context.WithCancel(context.Background())
	for _, o := range p.outs {
		go o.run(p.base, cfg)
	}
	go p.digestLoop()
	return p, nil
}

// pending is a notification decided but not yet claimed, with what to
// remember once it is.
type pending struct {
	fp     string
	key    string // claimed in the store before it is sent
	note   Notification
	commit func(m *groupMemory, now time.Time)
}

// batchGroup is one group's share of a batch.
type batchGroup struct {
	fp         string // the group notifications speak of: the target of a merge
	recs       []exporter.Record
	st         exporter.GroupState
	known      bool
	newRelease string // a release of the batch first seen after a resolve in the next release
}

// Export applies the policy to a batch and queues the notifications it
// calls for. It blocks while it reads the store and claims (about the
// store's claim settle time); an error means the store could not be read
// or could not claim, nothing was sent, and the batch should be retried.
func (p *Policy) Export(ctx context.Context, records []exporter.Record) error {
	groups, err := p.gather(ctx, records)
	if err != nil {
		return err
	}
	now := time.Now()
	var notes []pending
	var spikes []*batchGroup
	p.mu.Lock()
	for _, g := range groups {
		out, spike := p.decide(g, now)
		notes = append(notes, out...)
		if spike {
			spikes = append(spikes, g)
		}
	}
	p.mu.Unlock()
	notes = append(notes, p.spikes(ctx, spikes, now)...)
	return p.claimAndSend(ctx, notes)
}

// gather groups the batch by group and reads what the store knows of each.
func (p *Policy) gather(ctx context.Context, records []exporter.Record) ([]*batchGroup, error) {
	byFP := map[string][]int{} // indices into records: a record is copied once, into its group
	previous := map[string][]string{}
	var fps, lookup []string
	for i, r := range records {
		if _, ok := byFP[r.Fingerprint]; !ok {
			fps = append(fps, r.Fingerprint)
			lookup = append(lookup, r.Fingerprint)
		}
		byFP[r.Fingerprint] = append(byFP[r.Fingerprint], i)
		for _, old := range r.Previous() {
			if !slices.Contains(previous[r.Fingerprint], old) {
				previous[r.Fingerprint] = append(previous[r.Fingerprint], old)
				lookup = append(lookup, old)
			}
		}
	}
	var states map[string]exporter.GroupState
	if p.cfg.Store != nil && len(lookup) > 0 {
		var err error
		if states, err = p.cfg.Store.GroupStates(ctx, lookup); err != nil {
			// Decide from what this process saw: better one notification
			// too many than a new error unannounced. (The claim, when the
			// store makes them, fails too and the batch waits.)
			p.cfg.Logger.Warn("error tracker: notification policy cannot read the store; deciding from memory", "error", err)
			states = nil
		}
	}
	// The store carries the previous fingerprints' groups over too, but
	// maybe not yet: its exporter runs beside this one.
	for fp, olds := range previous {
		if st, ok := exporter.CarryOver(states, fp, olds); ok {
			if states == nil {
				states = map[string]exporter.GroupState{}
			}
			states[fp] = st
		}
	}
	// A merged fingerprint speaks as its target.
	byGroup := map[string]*batchGroup{}
	var out []*batchGroup
	for _, fp := range fps {
		st, known := states[fp]
		target := fp
		if known && st.MergedInto != "" {
			target = st.MergedInto
		}
		g, ok := byGroup[target]
		if !ok {
			g = &batchGroup{fp: target, st: st, known: known}
			byGroup[target] = g
			out = append(out, g)
		}
		g.recs = slices.Grow(g.recs, len(byFP[fp]))
		for _, i := range byFP[fp] {
			g.recs = append(g.recs, records[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fp < out[j].fp })
	for _, g := range out {
		sort.Slice(g.recs, func(i, j int) bool { return g.recs[i].Time.Before(g.recs[j].Time) })
		g.newRelease = p.newRelease(ctx, g)
	}
	return out, nil
}

// releaseLister is the part of exporter.Triage the policy reads.
type releaseLister interface {
	Releases(ctx context.Context, fingerprint string) ([]exporter.Release, error)
}

// newRelease tells, for a group resolved in the next release, which
// release of the batch's records after the resolve the group had not seen
// before it: the store's answer may lack this batch, whose exporter runs
// beside the policy. A release the store lists with a first sighting
// after the resolve is new too (the store took the batch first).
func (p *Policy) newRelease(ctx context.Context, g *batchGroup) string {
	ch := change(g.st)
	if ch.Status != exporter.StatusResolved || !ch.InNextRelease || g.st.Since.NewRelease != "" {
		return ""
	}
	lister, ok := p.cfg.Store.(releaseLister)
	if !ok {
		return ""
	}
	var versions []string
	for _, r := range g.recs {
		if r.Time.After(ch.At) && r.ServiceVersion != "" && !slices.Contains(versions, r.ServiceVersion) {
			versions = append(versions, r.ServiceVersion)
		}
	}
	if len(versions) == 0 {
		return ""
	}
	// During a rolling deploy the old pods' batches keep coming: the
	// releases already found old for this resolve are remembered, so they
	// cost one query, not one a batch.
	p.mu.Lock()
	mem := p.mem.get(g.fp)
	allOld := mem.oldFor.Equal(ch.At) && !slices.ContainsFunc(versions, func(v string) bool { return !slices.Contains(mem.oldReleases, v) })
	p.mu.Unlock()
	if allOld {
		return ""
	}
	known, err := lister.Releases(ctx, g.fp)
	if err != nil {
		p.cfg.Logger.Warn("error tracker: notification policy cannot read a group's releases", "error", err)
		return ""
	}
	var old []string
	found := ""
	for _, v := range versions { // in the order the batch met them
		i := slices.IndexFunc(known, func(r exporter.Release) bool { return r.Version == v })
		if i < 0 || known[i].FirstSeen.After(ch.At) {
			found = v
			break
		}
		old = append(old, v)
	}
	p.mu.Lock()
	mem = p.mem.get(g.fp)
	if !mem.oldFor.Equal(ch.At) {
		mem.oldFor, mem.oldReleases = ch.At, nil
	}
	for _, v := range old {
		if !slices.Contains(mem.oldReleases, v) && len(mem.oldReleases) < maxOldReleases {
			mem.oldReleases = append(mem.oldReleases, v)
		}
	}
	p.mu.Unlock()
	return found
}

// maxOldReleases bounds the releases remembered per group as seen before
// its resolve.
const maxOldReleases = 8

// change is what a person last set on the group. A store that predates
// exporter.Change reports only Status and StatusChanged, where resolved is
// the one status that matters.
func change(st exporter.GroupState) exporter.Change {
	if st.Change.Status == "" && st.Status == exporter.StatusResolved {
		return exporter.Change{Status: st.Status, At: st.StatusChanged}
	}
	return st.Change
}

// since is what happened to the group after its change: the store's facts
// plus the batch's records the store does not hold yet — those after the
// latest it holds, so that a record is counted once whichever exporter ran
// first.
func since(g *batchGroup, ch exporter.Change) exporter.Since {
	s := g.st.Since
	var after []time.Time
	for _, r := range g.recs {
		if !r.Time.After(ch.At) {
			continue
		}
		after = append(after, r.Time)
		if !r.Time.After(g.st.Since.Last) {
			continue
		}
		s.Count++
		if r.Time.After(s.Last) {
			s.Last = r.Time
		}
	}
	if s.NewRelease == "" {
		s.NewRelease = g.newRelease
	}
	if rate := ch.Ignore.Rate; rate.Count > 0 && !s.RateReached {
		s.RateReached = rateReached(after, rate)
	}
	return s
}

// earlier is what the store holds of the group after its change, less
// this batch's records (which it may hold already): what happened before
// the batch, underestimated where the store cannot tell — no new release,
// no rate, no latest time — so that a notification is never held back
// for what the batch itself brought.
func earlier(g *batchGroup, ch exporter.Change) exporter.Since {
	var inBatch uint64
	for _, r := range g.recs {
		if r.Time.After(ch.At) {
			inBatch++
		}
	}
	return exporter.Since{Count: g.st.Since.Count - min(g.st.Since.Count, inBatch)}
}

// rateReached reports whether rate.Count of the sorted times fall within
// rate.Window.
func rateReached(times []time.Time, rate exporter.Rate) bool {
	n := int(min(rate.Count, uint64(len(times))+1))
	for i := 0; i+n-1 < len(times); i++ {
		if times[i+n-1].Sub(times[i]) <= rate.Window {
			return true
		}
	}
	return false
}

// decide applies the policy to one group's records of a batch, and tells
// whether the group may be spiking. The caller holds p.mu.
func (p *Policy) decide(g *batchGroup, now time.Time) (out []pending, spikeCandidate bool) {
	mem := p.mem.get(g.fp)
	firstSight := mem.seen == 0 && !mem.announced && mem.threshold == 0
	mem.seen += uint64(len(g.recs))
	earliest := g.recs[0]
	st, known := g.st, g.known
	count := mem.seen
	if known {
		count = max(st.Count, count)
	}
	ch := change(st)
	outcome := ch.Outcome(since(g, ch))
	group := func(extra func(*Group)) Group {
		grp := p.group(g, count, earliest)
		if extra != nil {
			extra(&grp)
		}
		return grp
	}

	if firstSight && known {
		// Thresholds crossed before this process started (or before it
		// forgot the group) were sent by whoever saw them; so were a
		// regression or a wake-up that the store's occurrences before this
		// batch had already brought about. This process's own claims would
		// be granted again, so memory, not the claim, must stop those.
		mem.threshold = thresholdFor(count - min(count, uint64(len(g.recs))))
		before := ch.Outcome(earlier(g, ch))
		if before.Regressed {
			mem.regressionFor = ch.At
		}
		if before.Woke {
			mem.wokeFor = ch.At
		}
	}
	if outcome.Status != exporter.StatusOpen {
		// Ignored, or resolved and not back: nothing is sent, and what it
		// crossed meanwhile is not sent later either.
		mem.announced = true
		mem.threshold = max(mem.threshold, thresholdFor(count))
		return nil, false
	}

	if !mem.announced {
		// New unless the store already held an older occurrence: after a
		// restart, or when another instance saw it first.
		isNew := !known || st.FirstSeen.IsZero() || !st.FirstSeen.Before(earliest.Time)
		switch {
		case !isNew:
			mem.announced = true
		case p.digestFull(now):
			p.addToDigest(group(nil), now)
			mem.announced = true
		default:
			p.sent = append(p.sent, now) // counts toward the limit even if the claim fails and the batch is retried
			out = append(out, p.pending(EventNew, g.fp, now, group(nil), func(m *groupMemory, _ time.Time) { m.announced = true }, key("new", g.fp)))
		}
	}

	if outcome.Woke && !mem.wokeFor.Equal(ch.At) {
		at := ch.At
		out = append(out, p.pending(EventWoke, g.fp, now, group(func(grp *Group) { grp.Ignore = ch.Ignore }),
			func(m *groupMemory, _ time.Time) { m.wokeFor = at }, "wake/"+g.fp+"/"+fmt.Sprint(at.UnixNano())))
	}

	if outcome.Regressed && !mem.regressionFor.Equal(ch.At) {
		at := ch.At
		in := outcome.RegressedIn
		if in == "" {
			in = firstAfter(g.recs, at).ServiceVersion
		}
		out = append(out, p.pending(EventRegression, g.fp, now, group(func(grp *Group) { grp.RegressedIn = in }),
			func(m *groupMemory, _ time.Time) { m.regressionFor = at }, key("regression", g.fp, at.UnixNano())))
	}

	if th := thresholdFor(count); th > mem.threshold && now.Sub(mem.thresholdAt) >= p.cfg.ThresholdInterval && len(out) == 0 {
		out = append(out, p.pending(EventThreshold, g.fp, now, group(func(grp *Group) { grp.Threshold = th }),
			func(m *groupMemory, at time.Time) { m.threshold, m.thresholdAt = th, at }, key("threshold", g.fp, th)))
	}

	// New groups are announced as new, not as spikes: a group first seen
	// within the hour before the last one has no baseline yet.
	hour := now.UTC().Truncate(time.Hour)
	spikeCandidate = len(out) == 0 && p.cfg.Store != nil && known && count >= SpikeMin &&
		mem.spikeDay != day(now) && !st.FirstSeen.IsZero() && st.FirstSeen.Before(hour.Add(-time.Hour))
	return out, spikeCandidate
}

// key names a notification for the claim: its kind, group and what makes
// it unique (the resolve a regression answers, the threshold crossed). The
// "mail/" keys are those exporter/smtp claimed before the policy moved
// here, so that a fleet half upgraded does not send them twice.
func key(kind, fp string, detail ...any) string {
	k := "mail/" + kind + "/" + fp
	for _, d := range detail {
		k += "/" + fmt.Sprint(d)
	}
	return k
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func firstAfter(recs []exporter.Record, at time.Time) exporter.Record {
	for _, r := range recs {
		if r.Time.After(at) {
			return r
		}
	}
	return recs[len(recs)-1]
}

// group fills in what a notification says of g.
func (p *Policy) group(g *batchGroup, count uint64, earliest exporter.Record) Group {
	latest := g.recs[len(g.recs)-1]
	grp := Group{Fingerprint: g.fp, Record: latest, Count: count, FirstSeen: g.st.FirstSeen, LastSeen: latest.Time,
		FirstRelease: g.st.FirstRelease, Link: link(p.cfg.BaseURL, g.fp)}
	if grp.FirstSeen.IsZero() || earliest.Time.Before(grp.FirstSeen) {
		grp.FirstSeen = earliest.Time
	}
	if grp.FirstRelease == "" && (!g.known || g.st.FirstSeen.IsZero() || !g.st.FirstSeen.Before(earliest.Time)) {
		grp.FirstRelease = earliest.ServiceVersion
	}
	return grp
}

func (p *Policy) pending(ev Event, fp string, now time.Time, grp Group, commit func(*groupMemory, time.Time), k string) pending {
	return pending{fp: fp, key: k, commit: commit, note: Notification{Event: ev, ID: eventID(k), Time: now, Groups: []Group{grp}}}
}

// spikes reads the hourly counts of the groups that may be spiking and
// decides which are.
func (p *Policy) spikes(ctx context.Context, groups []*batchGroup, now time.Time) []pending {
	if len(groups) == 0 {
		return nil
	}
	fps := make([]string, len(groups))
	for i, g := range groups {
		fps[i] = g.fp
	}
	counts, err := p.cfg.Store.HourlyCounts(ctx, fps, 2)
	if err != nil {
		p.cfg.Logger.Warn("error tracker: notification policy cannot read hourly counts; no spike this batch", "error", err)
		return nil
	}
	today := day(now)
	var out []pending
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range groups {
		var inHour uint64
		for _, r := range g.recs {
			if r.Time.UTC().Truncate(time.Hour).Equal(now.UTC().Truncate(time.Hour)) {
				inHour++
			}
		}
		last, baseline, ok := Spike(counts[g.fp], now, inHour)
		if !ok {
			continue
		}
		mem := p.mem.get(g.fp)
		count := max(g.st.Count, mem.seen)
		grp := p.group(g, count, g.recs[0])
		grp.LastHour, grp.Baseline = last, baseline
		out = append(out, p.pending(EventSpike, g.fp, now, grp, func(m *groupMemory, _ time.Time) { m.spikeDay = today },
			"spike/"+g.fp+"/"+today))
	}
	return out
}

// Spike applies the spike rule to a group's hourly counts (as
// exporter.Store.HourlyCounts returns them): the last hour is the clock
// hour of now, counted as the larger of the store's count and inBatch (the
// batch's records of that hour, which the store may not hold yet); the
// baseline is the mean of the 24 hours before it, hours without
// occurrences counting zero. It reports the two and whether the last hour
// reaches SpikeFactor times the baseline and at least SpikeMin.
func Spike(counts []exporter.HourCount, now time.Time, inBatch uint64) (last uint64, baseline float64, spiking bool) {
	hour := now.UTC().Truncate(time.Hour)
	from := hour.Add(-24 * time.Hour)
	var sum uint64
	for _, h := range counts {
		switch t := h.Hour.UTC(); {
		case t.Equal(hour):
			last = h.Count
		case !t.Before(from) && t.Before(hour):
			sum += h.Count
		}
	}
	last = max(last, inBatch)
	baseline = float64(sum) / 24
	return last, baseline, last >= SpikeMin && float64(last) >= SpikeFactor*baseline
}

// claimAndSend claims the notifications in the store, when it hands out
// claims (exporter.Claimer), and queues those this policy holds. Claiming
// before sending makes a notification go out at most once across
// restarts, replays of the spool and instances: a kill between the claim
// and the delivery loses that one rather than sending it twice. An error
// means the store cannot tell: nothing is sent and the batch is retried.
func (p *Policy) claimAndSend(ctx context.Context, notes []pending) error {
	if len(notes) == 0 {
		return nil
	}
	keys := make([]string, len(notes))
	for i, n := range notes {
		keys[i] = n.key
	}
	held, err := p.claim(ctx, keys)
	if err != nil {
		return err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range notes {
		// One that another instance, or this process before a restart,
		// claimed is not sent again, and remembered as sent.
		if held[n.key] {
			p.send(n.note)
		}
		n.commit(p.mem.get(n.fp), now)
	}
	return nil
}

// claim returns the keys this policy holds; without a Claimer, all.
func (p *Policy) claim(ctx context.Context, keys []string) (map[string]bool, error) {
	held := map[string]bool{}
	claimer, ok := p.cfg.Store.(exporter.Claimer)
	if !ok {
		for _, k := range keys {
			held[k] = true
		}
		return held, nil
	}
	got, err := claimer.Claim(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("notify: claim the notifications in the store before sending: %w", err)
	}
	for _, k := range got {
		held[k] = true
	}
	return held, nil
}

// send hands n to every notifier's queue. The caller holds p.mu.
func (p *Policy) send(n Notification) {
	if p.closed {
		return
	}
	for _, o := range p.outs {
		o.offer(n, p.cfg.Logger)
	}
}

// thresholdFor returns the largest power of ten, from 10 up, that count
// reached; 0 below 10.
func thresholdFor(count uint64) uint64 {
	th := uint64(0)
	for p := uint64(10); p <= count; p *= 10 {
		th = p
		if p > (1<<64-1)/10 {
			break
		}
	}
	return th
}

// digestFull reports whether the window's quota of individual new-group
// notifications is used up. The caller holds p.mu.
func (p *Policy) digestFull(now time.Time) bool {
	keep := p.sent[:0]
	for _, t := range p.sent {
		if now.Sub(t) < p.cfg.DigestWindow {
			keep = append(keep, t)
		}
	}
	p.sent = keep
	return len(p.sent) >= p.cfg.DigestAfter
}

// addToDigest keeps g for the digest, up to MaxDigestGroups. The caller
// holds p.mu.
func (p *Policy) addToDigest(g Group, now time.Time) {
	if len(p.digest) == 0 && p.omitted == 0 {
		p.since = now
	}
	if len(p.digest) >= MaxDigestGroups {
		p.omitted++
		return
	}
	p.digest = append(p.digest, g)
}

// digestLoop sends the digest once its window has passed, and retries the
// claim until it can be made.
func (p *Policy) digestLoop() {
	defer close(p.done)
	tick := time.NewTicker(max(p.cfg.DigestWindow/10, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			p.mu.Lock()
			due := (len(p.digest) > 0 || p.omitted > 0) && time.Since(p.since) >= p.cfg.DigestWindow
			p.mu.Unlock()
			if due {
				ctx, cancel := context.WithTimeout(p.base, p.cfg.AttemptTimeout)
				if err := p.flushDigest(ctx); err != nil {
					p.cfg.Logger.Warn("error tracker: digest not sent, will retry", "error", err)
				}
				cancel()
			}
		}
	}
}

// flushDigest claims the waiting new groups and queues one digest of
// those this policy holds.
func (p *Policy) flushDigest(ctx context.Context) error {
	p.mu.Lock()
	all := append([]Group(nil), p.digest...)
	omitted := p.omitted
	p.mu.Unlock()
	if len(all) == 0 && omitted == 0 {
		return nil
	}
	keys := make([]string, len(all))
	for i, g := range all {
		keys[i] = key("new", g.Fingerprint)
	}
	held, err := p.claim(ctx, keys)
	if err != nil {
		return err
	}
	var groups []Group
	for i, g := range all {
		if held[keys[i]] {
			groups = append(groups, g)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.digest = p.digest[len(all):]
	p.omitted -= omitted
	p.since = time.Now()
	if len(groups) == 0 && omitted == 0 { // all announced elsewhere
		return nil
	}
	k := "digest"
	for _, g := range groups {
		k += "/" + g.Fingerprint
	}
	p.send(Notification{Event: EventDigest, ID: eventID(k), Time: time.Now(), Groups: groups, Omitted: omitted})
	return nil
}

// Stats reports, per notifier, what was sent, failed and dropped.
func (p *Policy) Stats() []Stats {
	out := make([]Stats, len(p.outs))
	for i, o := range p.outs {
		out[i] = o.stats()
	}
	return out
}

// Remembered is how many groups the policy holds in memory now, at most
// Config.MaxGroups.
func (p *Policy) Remembered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mem.len()
}

// Shutdown stops the digest's timer, queues a waiting digest and waits for
// the notifiers to deliver what is queued, all within ctx: when ctx ends
// first, deliveries in flight give up, what is still queued is dropped and
// counted, and Shutdown returns ctx's error. It then shuts down the
// notifiers that have a Shutdown method. Export must not be called after.
func (p *Policy) Shutdown(ctx context.Context) error {
	var err error
	p.once.Do(func() {
		stop := context.AfterFunc(ctx, p.cancelBase)
		defer stop()
		defer p.cancelBase()
		close(p.stop)
		var errs []error
		select {
		case <-p.done:
			errs = append(errs, p.flushDigest(ctx))
		case <-ctx.Done():
		}
		p.mu.Lock()
		p.closed = true
		for _, o := range p.outs {
			close(o.in)
		}
		p.mu.Unlock()
		for _, o := range p.outs {
			select {
			case <-o.done:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			// Deliveries in flight give up now; a short grace lets the
			// workers count what they drop, without waiting for a notifier
			// that ignores its context.
			p.cancelBase()
			grace := time.NewTimer(shutdownGrace)
			defer grace.Stop()
		wait:
			for _, o := range p.outs {
				select {
				case <-o.done:
				case <-grace.C:
					break wait
				}
			}
			errs = append(errs, fmt.Errorf("notify: shutdown: %w", ctx.Err()))
		}
		for _, o := range p.outs {
			if s, ok := o.n.(interface{ Shutdown(context.Context) error }); ok {
				errs = append(errs, s.Shutdown(ctx))
			}
		}
		err = errors.Join(errs...)
	})
	return err
}
