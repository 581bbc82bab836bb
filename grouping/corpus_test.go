package grouping_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/internal/corpus"
	"github.com/errortracker/errortracker/scope"
)

var updateCorpus = flag.Bool("update", false, "run the corpus app again and rewrite testdata")

const (
	corpusFile    = "testdata/corpus.jsonl"
	agreementFile = "testdata/agreement.jsonl"
	resultsFile   = "testdata/results.md"
	agreementRuns = 3 // occurrences of each scenario per way of recording, in the agreement corpus
)

// scheme is a way of grouping the corpus.
type scheme struct {
	name string
	fp   func(corpus.Event) string
}

// schemes are v3, the versions it replaced, and the way other trackers
// group.
func schemes(g *grouping.Grouper) []scheme {
	sum := func(parts ...string) string {
		h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
		return hex.EncodeToString(h[:16])
	}
	quoted := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	return []scheme{
		{"errortracker fingerprint " + grouping.Version, func(e corpus.Event) string { fp, _ := g.Group(exception(e)); return fp }},
		{"errortracker fingerprint " + grouping.V2, func(e corpus.Event) string { return g.Previous(exception(e))[0] }},
		{"errortracker fingerprint " + grouping.V1, func(e corpus.Event) string { return g.Previous(exception(e))[1] }},
		// error-tracker (Python): sha256 of the formatted traceback — frames
		// with files and lines, then "Type: message".
		{"Python error-tracker: hash of the traceback text", func(e corpus.Event) string {
			return sum(e.Stacktrace + "\n" + e.Type + ": " + e.Message)
		}},
		// SigNoz: md5(serviceName + exception.type + exception.message).
		{"SigNoz: service + type + message", func(e corpus.Event) string {
			return sum(e.Service, e.Type, e.Message)
		}},
		// Uptrace: exception.type and the alphabetic word tokens of the
		// message; numbers, ids and quoted text dropped; no stack.
		{"Uptrace: type + alphabetic words", func(e corpus.Event) string {
			var words []string
			for _, w := range strings.FieldsFunc(quoted.ReplaceAllString(e.Message, " "), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			}) {
				if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
					words = append(words, w)
				}
			}
			return sum(append([]string{e.Type}, words...)...)
		}},
	}
}

// exception is what the processor hands grouping for a corpus event.
func exception(e corpus.Event) grouping.Exception {
	return grouping.Exception{Service: e.Service, Type: e.Type, Message: e.Message, TypeMessage: e.TypeMessage,
		Stacktrace: e.Stacktrace, Span: e.Span, IsMessage: e.Type == scope.MessageType}
}

// score is how well a grouping matches the labels.
type score struct {
	groups                      int
	precision, recall           float64 // pairwise
	bPrecision, bRecall         float64 // BCubed
	merged, split               map[string]bool
	pairsTogether, pairsLabeled int
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// scoreOf compares groups with the labels. Pairwise: of the pairs put in
// one group, the share that share a label (precision); of the pairs that
// share a label, the share put in one group (recall). BCubed: the same per
// event — of the events in its group, the share with its label; of the
// events with its label, the share in its group — averaged over events.
func scoreOf(events []corpus.Event, groups []string) score {
	s := score{merged: map[string]bool{}, split: map[string]bool{}}
	var both int
	for i := range events {
		for j := i + 1; j < len(events); j++ {
			g, l := groups[i] == groups[j], events[i].Label == events[j].Label
			switch {
			case g && l:
				both++
			case g:
				s.merged[min(events[i].Label, events[j].Label)+" + "+max(events[i].Label, events[j].Label)] = true
			case l:
				s.split[events[i].Label] = true
			}
			if g {
				s.pairsTogether++
			}
			if l {
				s.pairsLabeled++
			}
		}
	}
	s.precision, s.recall = float64(both)/float64(s.pairsTogether), float64(both)/float64(s.pairsLabeled)
	inGroup, withLabel, cell := map[string]int{}, map[string]int{}, map[[2]string]int{}
	for i, e := range events {
		inGroup[groups[i]]++
		withLabel[e.Label]++
		cell[[2]string{groups[i], e.Label}]++
	}
	for i, e := range events {
		c := float64(cell[[2]string{groups[i], e.Label}])
		s.bPrecision += c / float64(inGroup[groups[i]])
		s.bRecall += c / float64(withLabel[e.Label])
	}
	s.bPrecision /= float64(len(events))
	s.bRecall /= float64(len(events))
	s.groups = len(inGroup)
	return s
}

func load(t testing.TB, file string, generate func(ctx context.Context, dir string) ([]corpus.Event, error)) []corpus.Event {
	t.Helper()
	if *updateCorpus {
		events, err := generate(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := corpus.Write(&b, events); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (make it with go test -run GroupingCorpus ./grouping -args -update)", err)
	}
	defer f.Close()
	events, err := corpus.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func loadCorpus(t testing.TB) []corpus.Event { return load(t, corpusFile, corpus.Generate) }

func loadAgreement(t testing.TB) []corpus.Event {
	return load(t, agreementFile, func(ctx context.Context, dir string) ([]corpus.Event, error) {
		return corpus.GenerateAllWays(ctx, dir, agreementRuns)
	})
}

func newGrouper(t testing.TB) *grouping.Grouper {
	t.Helper()
	g, err := grouping.New(grouping.Config{AppPackages: []string{corpus.AppPackage}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGroupingCorpus measures v3 against the labelled corpus, beside v2, v1
// and three baselines, and how the four ways of recording agree; it keeps
// the tables in results.md (and the README) true.
func TestGroupingCorpus(t *testing.T) {
	events := loadCorpus(t)
	labels, vias := map[string]int{}, map[string]int{}
	for _, e := range events {
		labels[e.Label]++
		vias[e.Via]++
	}
	if len(events) < 250 || len(labels) < 45 || len(vias) != 4 {
		t.Fatalf("corpus: %d events, %d labels, ways of recording %v: want ≥250 events, ≥45 labels, all four ways", len(events), len(labels), vias)
	}
	g := newGrouper(t)

	var table strings.Builder
	fmt.Fprintf(&table, "| grouping (%d events, %d labels) | groups | pairwise P | pairwise R | pairwise F1 | BCubed P | BCubed R | BCubed F1 |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|\n", len(events), len(labels))
	var ours score
	for i, sc := range schemes(g) {
		groups := make([]string, len(events))
		for j, e := range events {
			groups[j] = sc.fp(e)
		}
		s := scoreOf(events, groups)
		fmt.Fprintf(&table, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", sc.name, s.groups,
			s.precision, s.recall, f1(s.precision, s.recall), s.bPrecision, s.bRecall, f1(s.bPrecision, s.bRecall))
		if i == 0 {
			ours = s
			t.Logf("%s splits: %v", sc.name, keys(s.split))
			t.Logf("%s merges: %v", sc.name, keys(s.merged))
			continue
		}
		// A baseline that splits everything (a hash of the traceback text)
		// has perfect precision: v3 must beat each on both F1 scores.
		if f1(s.precision, s.recall) >= f1(ours.precision, ours.recall) || f1(s.bPrecision, s.bRecall) >= f1(ours.bPrecision, ours.bRecall) {
			t.Errorf("%s (F1 %.3f pairwise, %.3f BCubed) is not worse than v3 (%.3f, %.3f)", sc.name,
				f1(s.precision, s.recall), f1(s.bPrecision, s.bRecall), f1(ours.precision, ours.recall), f1(ours.bPrecision, ours.bRecall))
		}
	}
	table.WriteString("\n" + agreementTable(t, g))
	t.Logf("\n%s", table.String())

	// The targets are precision 0.98 and recall 0.95. On this corpus
	// v3 reaches the recall but not the precision: it merges the two steps
	// of one callee that end in one sentinel at one capture line (see the
	// README), a price of not splitting by the data in wrapping context.
	// These floors guard what was reached; they do not claim the target.
	const targetPrecision, floorPrecision, floorRecall = 0.98, 0.96, 0.95
	if ours.precision < targetPrecision {
		t.Logf("v3: pairwise precision %.3f, short of the target %.2f", ours.precision, targetPrecision)
	}
	if ours.precision < floorPrecision || ours.recall < floorRecall {
		t.Errorf("v3: pairwise precision %.3f, recall %.3f: want at least %.2f and %.2f", ours.precision, ours.recall, floorPrecision, floorRecall)
	}

	if *updateCorpus {
		if err := os.WriteFile(resultsFile, []byte(table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(resultsFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != table.String() {
		t.Errorf("%s is stale (go test -run GroupingCorpus ./grouping -args -update):\n%s", resultsFile, table.String())
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, want) {
		t.Errorf("README.md lacks the tables of %s", resultsFile)
	}
}

// agreementTable tells, for each pair of ways of recording, the share of
// the pairs of one error at one line, recorded the two ways, that v3 puts
// in one group. Ways that carry less (no stack, or only a wrapper's type)
// cannot always agree; the table shows where.
func agreementTable(t *testing.T, g *grouping.Grouper) string {
	events := loadAgreement(t)
	byWay := map[string][]int{}
	fps := make([]string, len(events))
	for i, e := range events {
		byWay[e.Via] = append(byWay[e.Via], i)
		fps[i], _ = g.Group(exception(e))
	}
	var b strings.Builder
	ways := corpus.Ways()
	fmt.Fprintf(&b, "Agreement of %s between the ways of recording (%d events: each scenario %d times each way; share of the pairs of one error at one line grouped together):\n\n",
		grouping.Version, len(events), agreementRuns)
	b.WriteString("| |")
	for _, w := range ways {
		b.WriteString(" " + string(w) + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(ways)) + "\n")
	for _, a := range ways {
		b.WriteString("| " + string(a) + " |")
		for _, c := range ways {
			var pairs, together int
			for _, i := range byWay[string(a)] {
				for _, j := range byWay[string(c)] {
					if i == j || events[i].Label != events[j].Label {
						continue
					}
					pairs++
					if fps[i] == fps[j] {
						together++
					}
				}
			}
			fmt.Fprintf(&b, " %.3f |", float64(together)/float64(pairs))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCorpusIsReproducible runs the corpus app again: the committed corpus
// must be what the code makes today, label for label and group for group
// (ports, goroutine ids and lines may differ; no fingerprint reads them).
func TestCorpusIsReproducible(t *testing.T) {
	if *updateCorpus {
		t.Skip("the corpus is being rewritten")
	}
	committed := loadCorpus(t)
	fresh, err := corpus.Generate(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != len(committed) {
		t.Fatalf("the app makes %d events, the corpus holds %d: go test -run GroupingCorpus ./grouping -args -update", len(fresh), len(committed))
	}
	g := newGrouper(t)
	for i := range fresh {
		a, b := fresh[i], committed[i]
		fa, _ := g.Group(exception(a))
		fb, _ := g.Group(exception(b))
		if a.Label != b.Label || a.Via != b.Via || a.Type != b.Type || a.Span != b.Span || fa != fb {
			t.Errorf("event %d: the app makes %s %s %s %q, the corpus holds %s %s %s %q", i+1,
				a.Label, a.Via, a.Type, a.Message, b.Label, b.Via, b.Type, b.Message)
		}
	}
}

// BenchmarkGroup measures grouping one exception from the corpus, with a
// stack (package scope's) and without (span.RecordError's default): v3, as
// span.End() pays for it, and the previous versions, which each exporter's
// goroutine computes.
func BenchmarkGroup(b *testing.B) {
	events := loadCorpus(b)
	g := newGrouper(b)
	var withStack, without *corpus.Event
	for i, e := range events {
		switch {
		case withStack == nil && e.Via == "scope" && e.TypeMessage != "" && !strings.Contains(e.Label, "panic"):
			withStack = &events[i]
		case without == nil && e.Via == "record_error":
			without = &events[i]
		}
	}
	for _, c := range []struct {
		name string
		e    *corpus.Event
	}{{"stack", withStack}, {"no-stack", without}} {
		e := exception(*c.e)
		b.Run(c.name+"/"+grouping.Version, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = g.Group(e)
			}
		})
		b.Run(c.name+"/"+grouping.Version+"/uncached", func(b *testing.B) {
			// A message and a stack never seen before: no cache helps.
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				u := e
				u.Message += " (" + strconv.Itoa(i) + ")"
				if u.TypeMessage != "" {
					u.TypeMessage += " (" + strconv.Itoa(i) + ")"
				}
				if u.Stacktrace != "" {
					u.Stacktrace += "x.F" + strconv.Itoa(i) + "()\n\t/x.go:1\n"
				}
				_, _ = g.Group(u)
			}
		})
		b.Run(c.name+"/previous", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = g.Previous(e)
			}
		})
	}
}
