package clickhouse

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden DDL files")

// TestDDLGolden renders the migrations for each kind of server and
// deployment and compares them with testdata/ddl/*.sql.
func TestDDLGolden(t *testing.T) {
	for name, o := range map[string]schemaOptions{
		"single-18.16":      {DB: "errortracker"},
		"single-modern":     {DB: "errortracker", Modern: true},
		"cluster-18.16":     {DB: "errortracker", Cluster: "shards"},
		"replicated-modern": {DB: "errortracker", Cluster: "shards", Replicated: true, Modern: true},
	} {
		t.Run(name, func(t *testing.T) {
			ms, err := migrations(o)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, m := range ms {
				b.WriteString("-- " + m.name + "\n")
				for _, s := range m.statements {
					b.WriteString(s + ";\n\n")
				}
			}
			path := filepath.Join("testdata", "ddl", name+".sql")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("DDL for %s differs from %s (run go test -update to accept):\n%s", name, path, b.String())
			}
		})
	}
}

func TestDDLDifferences(t *testing.T) {
	render := func(o schemaOptions) string {
		ms, err := migrations(o)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(strings.Join(m.statements, "\n"))
		}
		return b.String()
	}
	old, modern := render(schemaOptions{DB: "d"}), render(schemaOptions{DB: "d", Modern: true})
	if strings.Contains(old, "LowCardinality") || !strings.Contains(modern, "service LowCardinality(String)") {
		t.Error("LowCardinality must appear on modern servers only (18.16 needs an experimental setting)")
	}
	for _, banned := range []string{"DateTime64", " TTL ", "Map(", "CODEC", "INDEX "} {
		if strings.Contains(old, banned) {
			t.Errorf("18.16 DDL uses %q", banned)
		}
	}
	cluster := render(schemaOptions{DB: "d", Cluster: "c"})
	if strings.Count(cluster, "ON CLUSTER c") < 7 || !strings.Contains(cluster, "Distributed(c, d, occurrences_local, cityHash64(fingerprint))") {
		t.Errorf("cluster DDL:\n%s", cluster)
	}
	repl := render(schemaOptions{DB: "d", Cluster: "c", Replicated: true})
	if !strings.Contains(repl, "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/d/groups', '{replica}')") ||
		!strings.Contains(repl, "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/d/group_state', '{replica}', version)") {
		t.Errorf("replicated DDL:\n%s", repl)
	}
	if err := (schemaOptions{DB: "x; DROP DATABASE y"}).validate(); err == nil {
		t.Error("a database name with SQL in it was accepted")
	}
}
