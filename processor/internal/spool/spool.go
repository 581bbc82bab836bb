package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// Defaults of Config.
const (
	DefaultMaxBytes       = 256 << 20
	DefaultLockTimeout    = 5 * time.Second
	DefaultCommitInterval = 100 * time.Millisecond
	minSegmentBytes       = 64 << 10
	segmentMagic          = "ETSPOOL1"
	frameHeader           = 8 // payload length, CRC-32C of the payload
	maxFrame              = 64 << 20
	lockFile              = "lock"
	segmentSuffix         = ".seg"
	cursorPrefix          = "cursor-"
)

// Drop reasons the spool reports through Config.Drop.
const (
	DropTorn = "spool_torn" // a torn or corrupt segment tail: at least one record lost
	DropFull = "spool_full" // the oldest records, dropped past MaxBytes
)

// ErrLocked is returned by Open when another process holds the directory's
// lock for longer than Config.LockTimeout.
var ErrLocked = errors.New("spool: the directory is locked by another process")

// ErrBusy is TryLock's answer when another open file holds the lock.
var ErrBusy = errors.New("spool: locked by another process")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Config configures a spool.
type Config struct {
	// Dir holds the segments, the cursors and the lock file; it is created
	// (mode 0700) when missing.
	Dir string
	// MaxBytes bounds the segments on disk (default DefaultMaxBytes); past
	// it the oldest segment goes, and its records not yet exported are
	// counted through Drop.
	MaxBytes int64
	// LockTimeout bounds the wait for another process's lock.
	LockTimeout time.Duration
	// CommitInterval is how often the committer writes what Add queued:
	// the window in which a kill may lose an accepted record.
	CommitInterval time.Duration
	// MaxPendingBytes bounds, roughly, the records waiting for the next
	// commit (default 64 MiB): a stalled disk cannot grow the heap.
	MaxPendingBytes int64
	// Names are the stable names of the consumers, one cursor each.
	Names []string
	// Drop counts records the spool loses, by reason.
	Drop func(n int, reason string)
	// Log reports torn tails and write failures.
	Log *slog.Logger
}

// Entry is a record read back from the spool, with its sequence number.
type Entry struct {
	Seq    uint64
	Record exporter.Record
}

type segment struct {
	first, last uint64 // sequence numbers; last < first when empty
	size        int64  // valid bytes
	count       int
	path        string
}

// Spool is one append-only log of records, cut into checksummed segment
// files, with a cursor per consumer. Add never does I/O: a committer
// goroutine writes what was added every CommitInterval (a group commit),
// so the goroutine that ended a span waits on no disk.
type Spool struct {
	cfg   Config
	lock  *os.File
	drop  func(int, string)
	log   *slog.Logger
	names []string

	mu       sync.Mutex          // guards pending; assigned changes under it
	pending  [][]exporter.Record // chunks of pendingChunk records: no copying as it grows
	pendLen  int
	spare    [][]exporter.Record // emptied chunks for the next commit's records
	pendSeq  uint64              // sequence number of pending[0]
	pendSize int64               // pending's bytes, roughly (pendingSize)
	assigned atomic.Uint64       // the last sequence number handed out
	closed   bool                // under wmu: Commit does nothing after Close

	wmu       sync.Mutex // one writer: guards the files and the index
	segs      []segment
	cur       *os.File
	buf       []byte
	committed atomic.Uint64 // the last sequence number written
	saved     []uint64      // cursors as last written to disk

	cursors []atomic.Uint64

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Open locks the directory, waiting up to LockTimeout for another process
// to let go (then it returns ErrLocked), reads the segments and cursors
// left by an earlier process, skipping and counting torn tails, and starts
// the committer.
func Open(cfg Config) (*Spool, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = DefaultLockTimeout
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = 64 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Drop == nil {
		cfg.Drop = func(int, string) {}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(cfg.Dir, cfg.LockTimeout)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		cfg: cfg, lock: lock, drop: cfg.Drop, log: cfg.Log, names: cfg.Names,
		cursors: make([]atomic.Uint64, len(cfg.Names)),
		saved:   make([]uint64, len(cfg.Names)),
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	if err := s.load(); err != nil {
		lock.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// lockDir takes an exclusive flock on dir/lock, polling until timeout.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := TryLock(f)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, ErrBusy) {
			f.Close()
			return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (%s, waited %v)", ErrLocked, dir, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SanitizeName turns a consumer's name into a file name part.
func SanitizeName(n string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, n)
}

// load reads the cursors and indexes the segments.
func (s *Spool) load() error {
	for i, n := range s.names {
		c := readCursor(filepath.Join(s.cfg.Dir, cursorPrefix+SanitizeName(n)))
		s.cursors[i].Store(c)
		s.saved[i] = c
	}
	matches, err := filepath.Glob(filepath.Join(s.cfg.Dir, "*"+segmentSuffix))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	slices.Sort(matches) // names are zero-padded first sequence numbers
	var last uint64
	for _, path := range matches {
		seg, torn, err := scanSegment(path)
		if err != nil {
			return err
		}
		if torn > 0 {
			s.drop(1, DropTorn)
			s.log.Warn("error tracker: spool: torn tail skipped (a kill or crash during a write); the records before it are kept",
				"segment", filepath.Base(path), "bytes_skipped", torn)
		}
		if seg.count == 0 {
			os.Remove(path)
			continue
		}
		s.segs = append(s.segs, seg)
		last = max(last, seg.last)
	}
	for i := range s.cursors {
		last = max(last, s.cursors[i].Load())
	}
	s.assigned.Store(last)
	s.pendSeq = last + 1
	s.committed.Store(last)
	return nil
}

func readCursor(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0 // none, or torn: replay everything, which the stores absorb
	}
	return binary.LittleEndian.Uint64(b)
}

// frames walks a segment's frames, calling fn with each payload, and
// returns the valid size and how many bytes after it were torn.
func frames(path string, fn func(seq uint64, payload []byte) bool) (valid, torn int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	r := bufio.NewReaderSize(f, 256<<10)
	magic := make([]byte, len(segmentMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != segmentMagic {
		return 0, st.Size(), nil
	}
	valid = int64(len(segmentMagic))
	var hdr [frameHeader]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n < 8 || n > maxFrame {
			break
		}
		payload = slices.Grow(payload[:0], int(n))[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			break
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			break
		}
		valid += frameHeader + int64(n)
		if !fn(binary.LittleEndian.Uint64(payload), payload[8:]) {
			return valid, 0, nil
		}
	}
	return valid, st.Size() - valid, nil
}

func scanSegment(path string) (segment, int64, error) {
	seg := segment{path: path}
	valid, torn, err := frames(path, func(seq uint64, _ []byte) bool {
		if seg.count == 0 {
			seg.first = seq
		}
		seg.last = seq
		seg.count++
		return true
	})
	seg.size = valid
	return seg, torn, err
}

// Add hands recs to the next group commit and gives them consecutive
// sequence numbers, calling then(first) before any later Add gets its
// numbers: the caller queues them in memory in that order. It never does
// I/O. It reports false, numbering nothing, when the records waiting for
// the committer exceed 65,536 or MaxPendingBytes (the disk has stalled).
func (s *Spool) Add(recs []exporter.Record, then func(first uint64)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := int64(0)
	for i := range recs {
		size += pendingSize(&recs[i])
	}
	if s.pendLen+len(recs) > s.maxPending() || s.pendSize+size > s.cfg.MaxPendingBytes {
		then(0)
		return false
	}
	s.pendSize += size
	first := s.assigned.Load() + 1
	s.assigned.Store(first + uint64(len(recs)) - 1)
	for rest := recs; len(rest) > 0; {
		last := len(s.pending) - 1
		if last < 0 || len(s.pending[last]) == pendingChunk {
			var c []exporter.Record
			if n := len(s.spare); n > 0 {
				c, s.spare = s.spare[n-1], s.spare[:n-1]
			} else {
				c = make([]exporter.Record, 0, pendingChunk)
			}
			s.pending = append(s.pending, c)
			last++
		}
		n := min(pendingChunk-len(s.pending[last]), len(rest))
		s.pending[last] = append(s.pending[last], rest[:n]...)
		rest = rest[n:]
	}
	s.pendLen += len(recs)
	then(first)
	return true
}

// pendingChunk is the size of the chunks of pending records; maxSpare
// bounds the emptied chunks kept for reuse (about 3 MB of structs).
const (
	pendingChunk = 256
	maxSpare     = 32
)

// pendingSize is a cheap estimate of a record's bytes: its struct and its
// two large strings (the full count is the processor's queue's job).
func pendingSize(r *exporter.Record) int64 {
	return 512 + int64(len(r.Stacktrace)+len(r.Message))
}

// maxPending bounds the records waiting for a commit: a minute of 1,000
// records a second at the default commit interval is far below it.
func (s *Spool) maxPending() int { return 65536 }

// Assigned returns the last sequence number handed out. It takes no
// lock, so a consumer may call it holding its own.
func (s *Spool) Assigned() uint64 { return s.assigned.Load() }

// Committed returns the last sequence number written to the log.
func (s *Spool) Committed() uint64 { return s.committed.Load() }

// SetCursor records that consumer i is done with every record up to seq
// (exported, or given up as permanent failures). It is persisted by the
// next commit; segments every consumer is done with are removed then.
func (s *Spool) SetCursor(i int, seq uint64) {
	for {
		old := s.cursors[i].Load()
		if seq <= old || s.cursors[i].CompareAndSwap(old, seq) {
			return
		}
	}
}

// Cursor returns consumer i's cursor.
func (s *Spool) Cursor(i int) uint64 { return s.cursors[i].Load() }

func (s *Spool) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Commit(); err != nil {
				s.log.Error("error tracker: spool: commit failed; records stay in memory", "error", err)
			}
		}
	}
}

// Commit writes the records added since the last commit to the log,
// fsyncs it, saves the cursors and removes the segments nobody needs or
// that exceed MaxBytes. The committer calls it every CommitInterval; a
// consumer that reads the log calls it to read what was just added.
func (s *Spool) Commit() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil
	}
	s.mu.Lock()
	chunks, first, n := s.pending, s.pendSeq, s.pendLen
	s.pending, s.pendSeq, s.pendSize, s.pendLen = nil, s.assigned.Load()+1, 0, 0
	s.mu.Unlock()
	var errs []error
	if n > 0 {
		seq := first
		var err error
		for _, c := range chunks {
			if err = s.write(c, seq); err != nil {
				break
			}
			seq += uint64(len(c))
		}
		if err == nil {
			err = s.sync(first + uint64(n) - 1)
		}
		if err != nil {
			errs = append(errs, err)
		}
		s.mu.Lock()
		for _, c := range chunks {
			clear(c) // let the records be collected
			if len(s.spare) < maxSpare {
				s.spare = append(s.spare, c[:0])
			}
		}
		s.mu.Unlock()
	}
	errs = append(errs, s.saveCursors())
	s.trim()
	return errors.Join(errs...)
}

func (s *Spool) segmentBytes() int64 { return max(s.cfg.MaxBytes/8, minSegmentBytes) }

// write appends recs, numbered from first, to the current segment,
// starting a new one when it is full; sync makes them durable. The caller
// holds wmu.
func (s *Spool) write(recs []exporter.Record, first uint64) error {
	for i := range recs {
		if s.cur == nil || s.segs[len(s.segs)-1].size >= s.segmentBytes() {
			if err := s.rotate(first + uint64(i)); err != nil {
				return err
			}
		}
		seg := &s.segs[len(s.segs)-1]
		start := len(s.buf)
		s.buf = append(s.buf, make([]byte, frameHeader)...)
		s.buf = binary.LittleEndian.AppendUint64(s.buf, first+uint64(i))
		s.buf = appendRecord(s.buf, &recs[i])
		payload := s.buf[start+frameHeader:]
		binary.LittleEndian.PutUint32(s.buf[start:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(s.buf[start+4:], crc32.Checksum(payload, castagnoli))
		if seg.count == 0 {
			seg.first = first + uint64(i)
		}
		seg.last = first + uint64(i)
		seg.count++
		seg.size += int64(len(s.buf) - start)
		if len(s.buf) >= 1<<20 || i == len(recs)-1 || seg.size >= s.segmentBytes() {
			if err := s.flushBuf(); err != nil {
				return err
			}
		}
	}
	return nil
}

// sync makes what write wrote durable, up to sequence number last. The
// caller holds wmu.
func (s *Spool) sync(last uint64) error {
	if err := s.cur.Sync(); err != nil {
		return fmt.Errorf("spool: sync: %w", err)
	}
	s.committed.Store(last)
	return nil
}

func (s *Spool) flushBuf() error {
	_, err := s.cur.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		return fmt.Errorf("spool: write: %w", err)
	}
	return nil
}

// rotate closes the current segment and starts one whose first record is
// seq. The caller holds wmu.
func (s *Spool) rotate(seq uint64) error {
	if s.cur != nil {
		if err := s.cur.Sync(); err != nil {
			return fmt.Errorf("spool: sync: %w", err)
		}
		s.cur.Close()
		s.cur = nil
	}
	path := filepath.Join(s.cfg.Dir, fmt.Sprintf("%020d%s", seq, segmentSuffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.WriteString(segmentMagic); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	s.cur = f
	s.segs = append(s.segs, segment{first: seq, last: seq - 1, size: int64(len(segmentMagic)), path: path})
	return nil
}

// saveCursors writes the cursors that moved, each to a file of its own
// replaced by rename, so that a kill leaves the old one or the new one.
// The caller holds wmu.
func (s *Spool) saveCursors() error {
	var errs []error
	for i, n := range s.names {
		c := s.cursors[i].Load()
		if c == s.saved[i] {
			continue
		}
		var b [12]byte
		binary.LittleEndian.PutUint64(b[:], c)
		binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
		path := filepath.Join(s.cfg.Dir, cursorPrefix+SanitizeName(n))
		if err := os.WriteFile(path+".tmp", b[:], 0o600); err != nil {
			errs = append(errs, fmt.Errorf("spool: cursor: %w", err))
			continue
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			errs = append(errs, fmt.Errorf("spool: cursor: %w", err))
			continue
		}
		s.saved[i] = c
	}
	return errors.Join(errs...)
}

// minCursor is the sequence number every consumer is done with.
func (s *Spool) minCursor() uint64 {
	if len(s.cursors) == 0 {
		return 0
	}
	m := s.cursors[0].Load()
	for i := range s.cursors {
		m = min(m, s.cursors[i].Load())
	}
	return m
}

// trim removes the closed segments every consumer is done with, then the
// oldest ones while the log exceeds MaxBytes, counting what they held that
// some consumer still needed. The caller holds wmu.
func (s *Spool) trim() {
	done := s.minCursor()
	var total int64
	for _, seg := range s.segs {
		total += seg.size
	}
	for len(s.segs) > 1 || (len(s.segs) == 1 && s.cur == nil) {
		seg := s.segs[0]
		switch {
		case seg.count > 0 && seg.last <= done:
		case total > s.cfg.MaxBytes:
			if lost := int(seg.last - max(seg.first, done+1) + 1); seg.last > done && lost > 0 {
				s.drop(lost, DropFull)
				s.log.Warn("error tracker: spool full, oldest records dropped", "records", lost, "max_bytes", s.cfg.MaxBytes)
			}
		default:
			return
		}
		os.Remove(seg.path)
		total -= seg.size
		s.segs = s.segs[1:]
	}
}

// Read returns up to max records, and about maxBytes of them at most (at
// least one), with sequence numbers from from on, in order, from what is
// committed; fewer when the log holds no more. Records dropped past
// MaxBytes are skipped. It is safe to call beside Add and Commit.
func (s *Spool) Read(from uint64, max int, maxBytes int64) ([]Entry, error) {
	s.wmu.Lock()
	segs := slices.Clone(s.segs)
	s.wmu.Unlock()
	var out []Entry
	var errs []error
	var bytes int64
	for _, seg := range segs {
		if seg.count == 0 || seg.last < from {
			continue
		}
		_, _, err := frames(seg.path, func(seq uint64, payload []byte) bool {
			if seq < from {
				return true
			}
			if seq > seg.last { // written after the index was copied: next call
				return false
			}
			r, err := decodeRecord(payload)
			if err != nil {
				errs = append(errs, fmt.Errorf("spool: record %d: %w", seq, err))
				return true
			}
			out = append(out, Entry{Seq: seq, Record: r})
			bytes += int64(len(payload))
			return len(out) < max && bytes < maxBytes
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) { // removed past MaxBytes meanwhile
			errs = append(errs, err)
		}
		if len(out) >= max || bytes >= maxBytes {
			break
		}
	}
	return out, errors.Join(errs...)
}

// Close commits what is pending, saves the cursors, stops the committer
// and releases the lock. Records not yet consumed stay for the next Open.
func (s *Spool) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = s.Commit()
		s.wmu.Lock()
		s.closed = true
		if s.cur != nil {
			err = errors.Join(err, s.cur.Close())
			s.cur = nil
		}
		s.wmu.Unlock()
		err = errors.Join(err, s.lock.Close()) // closing the file releases the flock
	})
	return err
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.cfg.Dir }

// String describes the spool for logs.
func (s *Spool) String() string {
	return "spool " + s.cfg.Dir + " (max " + strconv.FormatInt(s.cfg.MaxBytes, 10) + " bytes)"
}
