package clickhouse

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
)

// The store's read queries are templates (queries/*.sql), one named
// template each, rendered per call: what varies is identifiers and the
// shape of the query (which filters, whether groups are merged, a
// cluster), never a value — values are bound as ? arguments. The golden
// tests (TestQueriesGolden) render every one for the cases that shape it.
//
//go:embed queries/*.sql
var queryFiles embed.FS

// queryTemplates is parsed once and only read after: rendering does not
// change it.
var queryTemplates = template.Must(template.New("queries").
	Funcs(template.FuncMap{"join": strings.Join}).
	ParseFS(queryFiles, "queries/*.sql"))

// sqlData is what the query templates read; each reads the fields its
// comment names.
type sqlData struct {
	// DB is the database (checked by schemaOptions.validate).
	DB string
	// Cluster tells cluster mode.
	Cluster bool
	// Map is the group of a row: fingerprint, or while groups are merged
	// transform(fingerprint, ?, ?, fingerprint) of the parts to their
	// targets (mergeMap.mapExpr).
	Map string
	// Merged tells the list that groups are merged: its group column is
	// t_fp, and every attempt reads the merged groups whole.
	Merged bool
	// Group is the list's group column: fingerprint, or t_fp.
	Group string
	// Fields are the latest fields a list's filters read.
	Fields []string
	// Where is the list attempt's condition on the groups read; Having
	// the conditions on their summaries (list_* templates).
	Where  string
	Having []string
	// Order is the list's sort keys; Offset and Limit its page (also of
	// occurrences).
	Order         string
	Offset, Limit int
	// Columns are an occurrence's columns (occurrenceSelect).
	Columns []string
	// Cursor tells a page of occurrences after a cursor.
	Cursor bool
	// Rates tells that some group is ignored until a rate (since).
	Rates bool
	// ByDay counts day by day in one read (counts).
	ByDay bool
	// Of reads the states of the given groups, not of every group whose
	// outcome the summaries cannot decide (states).
	Of bool
	// Status is the outcome the list's status filter keeps (list,
	// list_set_to); Extra tells that groups Go decided are bound.
	Status string
	Extra  bool
}

// sql renders the named read query for the store's database.
func (e *Exporter) sql(name string, d sqlData) string {
	d.DB, d.Cluster = e.schema.DB, e.schema.Cluster != ""
	if d.Map == "" {
		d.Map = "fingerprint"
	}
	return renderQuery(name, d)
}

// renderQuery renders a query template. The templates are the package's
// own and the golden tests render every one, so a failure is a defect of
// this package, not of the input: it panics, as regexp.MustCompile does.
func renderQuery(name string, d sqlData) string {
	var b strings.Builder
	if err := queryTemplates.ExecuteTemplate(&b, name, d); err != nil {
		panic(fmt.Sprintf("clickhouse: query template %s: %v", name, err))
	}
	return strings.TrimSpace(b.String())
}
