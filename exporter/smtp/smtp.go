package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/errortracker/errortracker/exporter"
)

// Exporter mails the team about errors that matter: a new group, a
// regression after a resolve, and a group crossing 10, 100, 1,000…
// occurrences. It receives records from the processor like any exporter,
// on the processor's goroutine for it, so sending never happens on the
// request path; a failed send returns an error and the processor retries
// the batch with backoff, without mailing twice what already went out.
type Exporter struct {
	cfg  Config
	tmpl *templates

	mu     sync.Mutex
	groups map[string]*groupMemory
	sent   []time.Time   // individual new-group mails within the digest window
	digest []mailGroup   // new groups waiting for the digest
	since  time.Time     // when the first of them arrived
	sendMu chan struct{} // one SMTP conversation at a time; a channel, so that waiting for it honours ctx
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	// base is the digest loop's context: cancelled when Shutdown's
	// deadline passes, so that a send in flight gives up then.
	base       context.Context
	cancelBase context.CancelFunc
}

// groupMemory is what this process mailed about a group.
type groupMemory struct {
	announced     bool      // a new-group mail went out (or the store knew the group)
	regressionFor time.Time // the resolve a regression mail answered
	threshold     uint64    // the highest threshold crossed and mailed
	thresholdAt   time.Time // when
	seen          uint64    // occurrences this process saw, for use without a store
}

var _ exporter.Exporter = (*Exporter)(nil)

// New checks the configuration — addresses, TLS mode, templates — and
// starts the digest's timer. It does not connect: the server may be down
// now and up later.
func New(cfg Config) (*Exporter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("smtp: invalid configuration: %w", err)
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	e := &Exporter{cfg: cfg, tmpl: t, groups: map[string]*groupMemory{}, sendMu: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	e.base, e.cancelBase = context.WithCancel(context.Background())
	go e.digestLoop()
	return e, nil
}

// pending is a mail decided but not yet sent, with what to remember once
// it is.
type pending struct {
	group  mailGroup
	commit func(m *groupMemory, now time.Time)
	key    string // what is claimed in the store before mailing
}

// Export applies the policy to a batch and sends the mails it calls for.
func (e *Exporter) Export(ctx context.Context, records []exporter.Record) error {
	byGroup := map[string][]exporter.Record{}
	previous := map[string][]string{} // fingerprint → its records' previous ones
	var fps, lookup []string
	for _, r := range records {
		if _, ok := byGroup[r.Fingerprint]; !ok {
			fps = append(fps, r.Fingerprint)
			lookup = append(lookup, r.Fingerprint)
		}
		byGroup[r.Fingerprint] = append(byGroup[r.Fingerprint], r)
		for _, old := range r.Previous() {
			if !slices.Contains(previous[r.Fingerprint], old) {
				previous[r.Fingerprint] = append(previous[r.Fingerprint], old)
				lookup = append(lookup, old)
			}
		}
	}
	sort.Strings(fps)
	var states map[string]exporter.GroupState
	if e.cfg.Store != nil {
		var err error
		if states, err = e.cfg.Store.GroupStates(ctx, lookup); err != nil {
			// Without the store, decide from what this process saw: better
			// a mail too many than a new error unannounced.
			e.cfg.Logger.Warn("error tracker: mail policy cannot read the store; deciding from memory", "error", err)
			states = nil
		}
	}
	// The store carries the previous fingerprints' groups over too, but
	// maybe not yet: its exporter runs beside this one.
	for fp, olds := range previous {
		if st, ok := exporter.CarryOver(states, fp, olds); ok {
			states[fp] = st
		}
	}
	now := time.Now()
	var mails []pending
	e.mu.Lock()
	for _, fp := range fps {
		recs := byGroup[fp]
		sort.Slice(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
		mails = append(mails, e.decide(fp, recs, states, now)...)
	}
	e.mu.Unlock()

	held, err := e.claim(ctx, mails)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mails {
		if !held[m.key] {
			// Another instance, or this process before a restart, has
			// claimed this mail: it is not sent again.
			e.mu.Lock()
			m.commit(e.memory(m.group.Record.Fingerprint), time.Now())
			e.mu.Unlock()
			continue
		}
		if err := e.sendGroups(ctx, e.cfg.subject(m.group), headline(m.group), []mailGroup{m.group}); err != nil {
			errs = append(errs, err)
			continue
		}
		e.mu.Lock()
		m.commit(e.memory(m.group.Record.Fingerprint), time.Now())
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}

// claim claims the mails in the store, when it hands out claims
// (exporter.Claimer), and returns the keys this exporter holds; without
// such a store every mail is held. Claiming before sending makes a mail go
// out at most once across restarts, replays of the spool and instances: a
// kill between the claim and the send loses that one mail rather than
// sending it twice. An error means the store cannot tell: the batch is
// retried later and no mail goes out meanwhile.
func (e *Exporter) claim(ctx context.Context, mails []pending) (map[string]bool, error) {
	held := map[string]bool{}
	claimer, ok := e.cfg.Store.(exporter.Claimer)
	if !ok || len(mails) == 0 {
		for _, m := range mails {
			held[m.key] = true
		}
		return held, nil
	}
	keys := make([]string, len(mails))
	for i, m := range mails {
		keys[i] = m.key
	}
	got, err := claimer.Claim(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("smtp: claim the mails in the store before sending: %w", err)
	}
	for _, k := range got {
		held[k] = true
	}
	return held, nil
}

// mailKey names a mail for the claim: its kind, group and what makes it
// unique (the resolve a regression answers, the threshold crossed).
func mailKey(kind, fp string, detail ...any) string {
	k := "mail/" + kind + "/" + fp
	for _, d := range detail {
		k += "/" + fmt.Sprint(d)
	}
	return k
}

func (e *Exporter) memory(fp string) *groupMemory {
	m, ok := e.groups[fp]
	if !ok {
		m = &groupMemory{}
		e.groups[fp] = m
	}
	return m
}

// decide applies the policy to one group's records of a batch. The caller
// holds e.mu.
func (e *Exporter) decide(fp string, recs []exporter.Record, states map[string]exporter.GroupState, now time.Time) []pending {
	mem := e.memory(fp)
	firstSight := mem.seen == 0 && !mem.announced && mem.threshold == 0
	mem.seen += uint64(len(recs))
	earliest, latest := recs[0], recs[len(recs)-1]
	st, known := states[fp]
	count := mem.seen
	if known {
		count = max(st.Count, count)
	}
	var out []pending

	if !mem.announced {
		// New unless the store already held an occurrence older than ours:
		// after a restart, or when another instance saw it first.
		isNew := !known || st.FirstSeen.IsZero() || !st.FirstSeen.Before(earliest.Time)
		if !isNew {
			mem.announced = true
		} else if e.digestFull(now) {
			// Past the digest limit: announced in the window's digest.
			e.addToDigest(e.cfg.newMailGroup(kindNew, latest, count, 0, earliest.Time), now)
			mem.announced = true
		} else {
			e.sent = append(e.sent, now) // counts toward the limit even if the send fails and is retried
			out = append(out, pending{
				group:  e.cfg.newMailGroup(kindNew, latest, count, 0, firstSeen(st, earliest.Time)),
				commit: func(m *groupMemory, _ time.Time) { m.announced = true },
				key:    mailKey("new", fp),
			})
		}
	}
	if firstSight && known {
		// Thresholds crossed before this process started were mailed by
		// whoever saw them.
		mem.threshold = thresholdFor(count - min(count, uint64(len(recs))))
	}

	if known && st.Status == exporter.StatusResolved && latest.Time.After(st.StatusChanged) && !mem.regressionFor.Equal(st.StatusChanged) {
		resolvedAt := st.StatusChanged
		out = append(out, pending{
			group:  e.cfg.newMailGroup(kindRegression, latest, count, 0, firstSeen(st, earliest.Time)),
			commit: func(m *groupMemory, _ time.Time) { m.regressionFor = resolvedAt },
			key:    mailKey("regression", fp, resolvedAt.UnixNano()),
		})
	}

	if th := thresholdFor(count); th > mem.threshold && now.Sub(mem.thresholdAt) >= e.cfg.ThresholdInterval && len(out) == 0 {
		out = append(out, pending{
			group:  e.cfg.newMailGroup(kindThreshold, latest, count, th, firstSeen(st, earliest.Time)),
			commit: func(m *groupMemory, at time.Time) { m.threshold, m.thresholdAt = th, at },
			key:    mailKey("threshold", fp, th),
		})
	}
	return out
}

func firstSeen(st exporter.GroupState, fallback time.Time) time.Time {
	if !st.FirstSeen.IsZero() {
		return st.FirstSeen
	}
	return fallback
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
// mails is used up. The caller holds e.mu.
func (e *Exporter) digestFull(now time.Time) bool {
	keep := e.sent[:0]
	for _, t := range e.sent {
		if now.Sub(t) < e.cfg.DigestWindow {
			keep = append(keep, t)
		}
	}
	e.sent = keep
	return len(e.sent) >= e.cfg.DigestAfter
}

func (e *Exporter) addToDigest(g mailGroup, now time.Time) {
	if len(e.digest) == 0 {
		e.since = now
	}
	e.digest = append(e.digest, g)
}

func headline(g mailGroup) string {
	switch g.Kind {
	case kindNew:
		return "A new error occurred."
	case kindRegression:
		return "An error that was resolved occurred again."
	}
	return fmt.Sprintf("An error has now occurred %d times or more.", g.Threshold)
}

// digestLoop sends the digest once its window has passed, and retries it
// until it goes out.
func (e *Exporter) digestLoop() {
	defer close(e.done)
	tick := time.NewTicker(max(e.cfg.DigestWindow/10, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
			e.mu.Lock()
			due := len(e.digest) > 0 && time.Since(e.since) >= e.cfg.DigestWindow
			e.mu.Unlock()
			if due {
				ctx, cancel := context.WithTimeout(e.base, e.cfg.SendTimeout)
				if err := e.flushDigest(ctx); err != nil {
					e.cfg.Logger.Warn("error tracker: digest mail not sent, will retry", "error", err)
				}
				cancel()
			}
		}
	}
}

// flushDigest sends the waiting new groups in one mail.
func (e *Exporter) flushDigest(ctx context.Context) error {
	e.mu.Lock()
	all := append([]mailGroup(nil), e.digest...)
	e.mu.Unlock()
	if len(all) == 0 {
		return nil
	}
	claims := make([]pending, len(all))
	for i, g := range all {
		claims[i] = pending{key: mailKey("new", g.Record.Fingerprint)}
	}
	held, err := e.claim(ctx, claims)
	if err != nil {
		return err
	}
	var groups []mailGroup
	for i, g := range all {
		if held[claims[i].key] {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 { // all announced elsewhere
		e.mu.Lock()
		e.digest = e.digest[len(all):]
		e.since = time.Now()
		e.mu.Unlock()
		return nil
	}
	subject := oneLine(fmt.Sprintf("%s %d more new errors", e.cfg.SubjectPrefix, len(groups)))
	head := fmt.Sprintf("%d more errors were new within %v, past the limit of %d mails; here they are together.",
		len(groups), e.cfg.DigestWindow, e.cfg.DigestAfter)
	if err := e.sendGroups(ctx, subject, head, groups); err != nil {
		return err
	}
	e.mu.Lock()
	e.digest = e.digest[len(all):]
	e.since = time.Now()
	e.mu.Unlock()
	return nil
}

func (e *Exporter) sendGroups(ctx context.Context, subject, head string, groups []mailGroup) error {
	msg, err := e.cfg.render(e.tmpl, subject, mailData{Headline: head, Groups: groups}, time.Now())
	if err != nil {
		return exporter.Permanent(err)
	}
	return e.send(ctx, msg)
}

// send delivers one message in one SMTP conversation, within SendTimeout.
// Errors the server calls permanent (5xx) are marked so; the processor
// retries the rest.
func (e *Exporter) send(ctx context.Context, msg message) (err error) {
	select {
	case e.sendMu <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("smtp: send %q: waiting for the conversation before it: %w", msg.subject, ctx.Err())
	}
	defer func() { <-e.sendMu }()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	defer cancel()
	defer func() {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			err = exporter.Permanent(err)
		}
		if err != nil {
			err = fmt.Errorf("smtp: send %q: %w", msg.subject, err)
		}
	}()
	dialer := net.Dialer{Timeout: e.cfg.DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a stalled server cannot hold us past the timeout
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	tlsConfig := &tls.Config{ServerName: e.cfg.ServerName, RootCAs: e.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	var c *gosmtp.Client
	switch e.cfg.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		c = gosmtp.NewClient(tc)
	case TLSStartTLS:
		if c, err = gosmtp.NewClientStartTLS(conn, tlsConfig); err != nil {
			conn.Close()
			return err
		}
	default:
		c = gosmtp.NewClient(conn)
	}
	defer c.Close()
	if e.cfg.Username != "" {
		var auth sasl.Client
		switch {
		case c.SupportsAuth(sasl.Plain):
			auth = sasl.NewPlainClient("", e.cfg.Username, e.cfg.Password)
		case c.SupportsAuth(sasl.Login):
			auth = sasl.NewLoginClient(e.cfg.Username, e.cfg.Password)
		default:
			return exporter.Permanent(errors.New("the server offers neither AUTH PLAIN nor LOGIN (over this connection's TLS mode)"))
		}
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.SendMail(e.cfg.Sender, e.cfg.Recipients, bytes.NewReader(msg.bytes)); err != nil {
		return err
	}
	return c.Quit()
}

// Shutdown stops the digest's timer and sends a waiting digest, all
// within ctx: when ctx ends first, a digest send in flight gives up and
// Shutdown returns ctx's error.
func (e *Exporter) Shutdown(ctx context.Context) error {
	var err error
	e.once.Do(func() {
		stop := context.AfterFunc(ctx, e.cancelBase)
		defer stop()
		defer e.cancelBase()
		close(e.stop)
		select {
		case <-e.done:
		case <-ctx.Done():
			err = fmt.Errorf("smtp: shutdown: %w", ctx.Err())
			return
		}
		err = e.flushDigest(ctx)
	})
	return err
}
