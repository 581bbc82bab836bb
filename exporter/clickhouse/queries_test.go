package clickhouse

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// queryCases render every read query for each shape it takes, with the
// file of queries/ it is defined in.
func queryCases() []struct {
	file, name, label string
	d                 sqlData
} {
	merged := "transform(fingerprint, ?, ?, fingerprint)"
	having := []string{"p_service = ?", "last_ns >= ?"}
	cols := occurrenceSelect
	type c = struct {
		file, name, label string
		d                 sqlData
	}
	return []c{
		{"list", "list", "the default list's first window", sqlData{Group: "fingerprint", Where: renderQuery("list_window", sqlData{DB: "errortracker"}), Order: "last_ns DESC", Limit: 21}},
		{"list", "list", "every group, filtered, by count, page 3", sqlData{Group: "fingerprint", Fields: []string{"service", "type", "message", "path"}, Having: having, Order: "n DESC, last_ns DESC", Offset: 40, Limit: 21}},
		{"list", "list", "while groups are merged", sqlData{Group: "t_fp", Map: merged, Merged: true, Fields: []string{"service"}, Where: "fingerprint IN (?)", Having: having, Order: "first_ns DESC", Limit: 21}},
		{"list", "list_window", "", sqlData{}},
		{"list", "list_service", "", sqlData{}},
		{"list", "list_environment", "", sqlData{}},
		{"list", "list_type", "", sqlData{}},
		{"list", "list_since", "", sqlData{}},
		{"list", "list_until", "", sqlData{}},
		{"list", "list_search", "", sqlData{}},
		{"list", "list", "open groups, by last seen", sqlData{Group: "fingerprint", Where: renderQuery("list_window", sqlData{DB: "errortracker"}), Order: "last_ns DESC", Limit: 21, Status: "open"}},
		{"list", "list", "resolved groups, with groups Go decided, while groups are merged, cluster", sqlData{Group: "t_fp", Map: merged, Merged: true, Where: "fingerprint IN (?)", Order: "last_ns DESC", Limit: 21, Status: "resolved", Extra: true, Cluster: true}},
		{"list", "list", "ignored groups", sqlData{Group: "fingerprint", Where: "fingerprint IN (?)", Order: "last_ns DESC", Limit: 21, Status: "ignored"}},
		{"list", "list_status", "open, with groups Go decided", sqlData{Group: "fingerprint", Status: "open", Extra: true}},
		{"list", "list_resolved", "", sqlData{}},
		{"list", "list_ignored", "", sqlData{}},
		{"list", "list_set_to", "", sqlData{}},
		{"list", "list_set_to", "cluster", sqlData{Cluster: true}},
		{"list", "list_release", "", sqlData{Group: "fingerprint", Map: "fingerprint"}},
		{"list", "list_release", "while groups are merged", sqlData{Group: "t_fp", Map: merged}},
		{"list", "list_new_in_release", "", sqlData{Group: "fingerprint", Map: "fingerprint"}},
		{"list", "list_new_in_release", "while groups are merged", sqlData{Group: "t_fp", Map: merged}},
		{"list", "newest_occurrence", "", sqlData{}},
		{"groups", "counts", "one server", sqlData{}},
		{"groups", "counts", "cluster", sqlData{Cluster: true}},
		{"groups", "counts", "day by day, a list page of small groups", sqlData{ByDay: true}},
		{"groups", "summary", "", sqlData{Map: "fingerprint"}},
		{"groups", "summary", "while groups are merged", sqlData{Map: merged}},
		{"groups", "span", "", sqlData{}},
		{"groups", "known", "", sqlData{}},
		{"groups", "group_releases", "", sqlData{}},
		{"groups", "releases", "", sqlData{}},
		{"groups", "hourly_counts", "", sqlData{Map: "fingerprint"}},
		{"groups", "pending_mutations", "", sqlData{}},
		{"occurrences", "occurrences_page", "page 3 of 20", sqlData{Columns: cols, Offset: 40, Limit: 21}},
		{"occurrences", "occurrences_window", "the first page", sqlData{Columns: cols, Limit: 21}},
		{"occurrences", "occurrences_window", "after a cursor", sqlData{Columns: cols, Cursor: true, Limit: 21}},
		{"triage", "states", "of the given groups", sqlData{Of: true}},
		{"triage", "states", "of every group the summaries cannot decide", sqlData{}},
		{"triage", "since", "", sqlData{Map: "fingerprint"}},
		{"triage", "since", "with rates, while groups are merged", sqlData{Map: merged, Rates: true}},
		{"triage", "since_releases", "", sqlData{}},
		{"triage", "merges", "", sqlData{}},
	}
}

// TestQueriesGolden renders the read queries (queries/*.sql) for each
// shape they take and compares them with testdata/queries/*.sql; run
// go test -run TestQueriesGolden -update to accept a change, and review
// the diff.
func TestQueriesGolden(t *testing.T) {
	out := map[string]*strings.Builder{}
	rendered := map[string]bool{}
	for _, c := range queryCases() {
		c.d.DB = "errortracker"
		if c.d.Map == "" && c.name != "list_window" {
			c.d.Map = "fingerprint"
		}
		b := out[c.file]
		if b == nil {
			b = &strings.Builder{}
			out[c.file] = b
		}
		b.WriteString("-- " + c.name)
		if c.label != "" {
			b.WriteString(": " + c.label)
		}
		b.WriteString("\n" + renderQuery(c.name, c.d) + ";\n\n")
		rendered[c.name] = true
	}
	for _, tmpl := range queryTemplates.Templates() {
		if name := tmpl.Name(); !strings.HasSuffix(name, ".sql") && name != "queries" && !rendered[name] {
			t.Errorf("query template %s has no golden case", name)
		}
	}
	files := make([]string, 0, len(out))
	for f := range out {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		path := filepath.Join("testdata", "queries", f+".sql")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(out[f].String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := out[f].String(); got != string(want) {
			t.Errorf("queries of %s differ from %s (run go test -run TestQueriesGolden -update to accept):\n%s", f, path, got)
		}
	}
}

// Every query template renders for the 18.16 and the current single
// server alike: the read queries take no server-dependent shape.
func TestQueriesBindEveryValue(t *testing.T) {
	for _, c := range queryCases() {
		c.d.DB = "errortracker"
		q := renderQuery(c.name, c.d)
		for _, banned := range []string{"'%", "{{", "<no value>"} {
			if strings.Contains(q, banned) {
				t.Errorf("%s (%s) contains %q:\n%s", c.name, c.label, banned, q)
			}
		}
	}
}
