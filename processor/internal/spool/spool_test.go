package spool

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type drops struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *drops) add(n int, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[reason] += n
}

func (d *drops) get(reason string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[reason]
}

func open(t *testing.T, dir string, d *drops, maxBytes int64) *Spool {
	t.Helper()
	s, err := Open(Config{Dir: dir, MaxBytes: maxBytes, CommitInterval: time.Hour, Names: []string{"a", "b"}, Drop: d.add, LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func records(from, n int, stack int) []exporter.Record {
	out := make([]exporter.Record, n)
	for i := range out {
		out[i] = exporter.Record{ID: strconv.Itoa(from + i), Message: "m", Stacktrace: string(make([]byte, stack)), Time: time.Unix(0, int64(from+i))}
	}
	return out
}

func add(t *testing.T, s *Spool, recs []exporter.Record) uint64 {
	t.Helper()
	var first uint64
	if !s.Add(recs, func(f uint64) { first = f }) {
		t.Fatal("Add refused")
	}
	return first
}

func TestCodecRoundTrip(t *testing.T) {
	r := exporter.Record{
		ID: "id", Fingerprint: "fp", FingerprintByCaller: true, Grouping: "g", Time: time.Unix(5, 6),
		Type: "T", Message: "msg", Stacktrace: "stack", Escaped: true, Service: "svc", ServiceVersion: "1",
		Environment: "prod", SpanName: "GET /", TraceID: trace.TraceID{1, 2}, SpanID: trace.SpanID{3},
		Host: "h", Method: "GET", Path: "/p", Route: "/p", StatusCode: 500,
		Attributes: []attribute.KeyValue{attribute.String("s", "v"), attribute.Int64("i", -3), attribute.Bool("b", true),
			attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"x", "y"}), attribute.Int64Slice("is", []int64{1, 2}),
			attribute.BoolSlice("bs", []bool{true}), attribute.Float64Slice("fs", []float64{2.5})},
		Extras:   []attribute.KeyValue{attribute.String("user", "u")},
		Resource: []attribute.KeyValue{attribute.String("service.name", "svc")},
	}
	got, err := decodeRecord(appendRecord(nil, &r))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || !got.Time.Equal(r.Time) || got.TraceID != r.TraceID || got.StatusCode != 500 || !got.Escaped ||
		len(got.Attributes) != len(r.Attributes) || got.Attributes[4].Value.AsStringSlice()[1] != "y" || got.Extras[0] != r.Extras[0] {
		t.Errorf("round trip: %+v", got)
	}
	b := appendRecord(nil, &r)
	for n := range len(b) - 1 {
		if _, err := decodeRecord(b[:n]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", n, len(b))
		}
	}
}

// Records survive a reopen; consumers start from their own cursors.
func TestReopenKeepsWhatIsNotConsumed(t *testing.T) {
	dir := t.TempDir()
	var d drops
	s := open(t, dir, &d, 0)
	first := add(t, s, records(0, 10, 100))
	if first != 1 {
		t.Fatalf("first = %d", first)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.SetCursor(0, 4)
	s.SetCursor(1, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, &d, 0)
	defer s.Close()
	if s.Cursor(0) != 4 || s.Cursor(1) != 10 || s.Committed() != 10 {
		t.Fatalf("cursors %d, %d, committed %d", s.Cursor(0), s.Cursor(1), s.Committed())
	}
	es, err := s.Read(5, 100, 1<<30)
	if err != nil || len(es) != 6 || es[0].Seq != 5 || es[0].Record.ID != "4" {
		t.Fatalf("read %d entries (%v)", len(es), err)
	}
	if got := add(t, s, records(10, 1, 0)); got != 11 {
		t.Errorf("numbering goes on at %d, want 11", got)
	}
}

// A tail torn by a kill in the middle of a write is skipped and counted;
// the records before it are delivered.
func TestTornTailSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	var d drops
	s := open(t, dir, &d, 0)
	add(t, s, records(0, 5, 1000))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	st, _ := os.Stat(segs[0])
	if err := os.Truncate(segs[0], st.Size()-500); err != nil { // the last frame half written
		t.Fatal(err)
	}
	s = open(t, dir, &d, 0)
	defer s.Close()
	if d.get(DropTorn) != 1 {
		t.Errorf("torn tails counted: %d, want 1", d.get(DropTorn))
	}
	es, err := s.Read(1, 100, 1<<30)
	if err != nil || len(es) != 4 {
		t.Errorf("read %d records (%v), want the 4 before the torn one", len(es), err)
	}
}

// Past MaxBytes the oldest segments go, and what no consumer had is
// counted.
func TestByteBoundDropsOldest(t *testing.T) {
	dir := t.TempDir()
	var d drops
	const max = 1 << 20 // segments of 128 KiB
	s := open(t, dir, &d, max)
	defer s.Close()
	for i := range 40 { // 40 × 64 KiB = 2.5 MiB
		add(t, s, records(i, 1, 64<<10))
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	for _, p := range segs {
		st, _ := os.Stat(p)
		total += st.Size()
	}
	if total > max+(max/8)+(64<<10) {
		t.Errorf("spool holds %d bytes, bound %d", total, max)
	}
	es, _ := s.Read(0, 100, 1<<30)
	if dropped := d.get(DropFull); dropped == 0 || dropped+len(es) != 40 || es[len(es)-1].Seq != 40 {
		t.Errorf("dropped %d, kept %d of 40 (newest kept: %v)", dropped, len(es), es[len(es)-1].Seq)
	}
}

// Segments every consumer is done with are removed.
func TestConsumedSegmentsRemoved(t *testing.T) {
	dir := t.TempDir()
	var d drops
	s := open(t, dir, &d, 1<<20)
	defer s.Close()
	for i := range 10 {
		add(t, s, records(i, 1, 64<<10))
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	s.SetCursor(0, 10)
	s.SetCursor(1, 10)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if len(segs) != 1 || d.get(DropFull) != 0 {
		t.Errorf("segments left: %v, dropped %d", segs, d.get(DropFull))
	}
}

// A second spool on the same directory waits for the lock, then gives up.
func TestSecondOpenWaitsThenFails(t *testing.T) {
	dir := t.TempDir()
	var d drops
	s := open(t, dir, &d, 0)
	start := time.Now()
	if _, err := Open(Config{Dir: dir, LockTimeout: 150 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("gave up after %v", waited)
	}
	s.Close()
	s2, err := Open(Config{Dir: dir, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	s2.Close()
}

// Only the spool's owner can read it.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	var d drops
	s := open(t, dir, &d, 0)
	add(t, s, records(0, 1, 0))
	s.SetCursor(0, 1)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", e.Name(), info.Mode().Perm())
		}
	}
}

// Read stops at its byte bound, and returns one record at least.
func TestReadBoundedInBytes(t *testing.T) {
	var d drops
	s := open(t, t.TempDir(), &d, 0)
	defer s.Close()
	add(t, s, records(0, 10, 1000))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.Read(1, 100, 2500); len(es) != 3 {
		t.Errorf("read %d records of 1 KB with a bound of 2.5 KB, want 3", len(es))
	}
	if es, _ := s.Read(1, 100, 1); len(es) != 1 {
		t.Errorf("read %d records with a bound of 1 byte, want 1", len(es))
	}
}
