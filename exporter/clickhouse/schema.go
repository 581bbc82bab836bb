package clickhouse

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// ClickHouse error codes that mean "this DDL already took effect": a
// migration that another process ran at the same time, or one that ran
// before its version was recorded.
const (
	codeDuplicateColumn    = 15
	codeTableAlreadyExists = 57
	codeDatabaseExists     = 82
	codeIllegalColumn      = 44
)

// schemaOptions are what the DDL depends on: identifiers and server
// features, never values.
type schemaOptions struct {
	DB      string
	Cluster string
	// Replicated uses ReplicatedMergeTree engines (needs ZooKeeper and the
	// {shard} and {replica} macros on every server).
	Replicated bool
	// Modern is true for servers from 20.x on, which take LowCardinality
	// without a setting. Older ones get String: 18.16 would need
	// allow_experimental_low_cardinality_type, which current releases
	// reject as an unknown setting, so the store never sends it.
	Modern bool
}

// OnCluster is the ON CLUSTER clause, or nothing.
func (o schemaOptions) OnCluster() string {
	if o.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + o.Cluster
}

// Local is the suffix of the per-shard tables in cluster mode.
func (o schemaOptions) Local() string {
	if o.Cluster == "" {
		return ""
	}
	return "_local"
}

// ShardedTables are the tables that cluster mode splits into per-shard
// tables and a Distributed table; none on a single server.
func (o schemaOptions) ShardedTables() []string {
	if o.Cluster == "" {
		return nil
	}
	return []string{"occurrences", "groups", "group_counts", "group_state"}
}

// tables names a table as DDL that alters it must: the per-shard table and
// the Distributed one in cluster mode, the table alone on one server.
func (o schemaOptions) tables(name string) []string {
	if o.Cluster == "" {
		return []string{name}
	}
	return []string{name + "_local", name}
}

// LowCardinality is the type of columns with few distinct values.
func (o schemaOptions) LowCardinality() string {
	if o.Modern {
		return "LowCardinality(String)"
	}
	return "String"
}

// engine renders a MergeTree-family engine, replicated when configured.
func (o schemaOptions) engine(kind, table string, params ...string) string {
	if o.Replicated {
		zkPath := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s'", o.DB, table)
		return "Replicated" + kind + "(" + strings.Join(append([]string{zkPath, "'{replica}'"}, params...), ", ") + ")"
	}
	return kind + "(" + strings.Join(params, ", ") + ")"
}

// identifier matches the database and cluster names we splice into DDL:
// they cannot be bound as parameters, so they are checked instead.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (o schemaOptions) validate() error {
	var errs []error
	if !identifier.MatchString(o.DB) {
		errs = append(errs, fmt.Errorf("database name %q: want letters, digits and _", o.DB))
	}
	if o.Cluster != "" && !identifier.MatchString(o.Cluster) {
		errs = append(errs, fmt.Errorf("cluster name %q: want letters, digits and _", o.Cluster))
	}
	if o.Replicated && o.Cluster == "" {
		errs = append(errs, errors.New("replicated tables need a cluster"))
	}
	return errors.Join(errs...)
}

// migration is one versioned step of the schema.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations renders the embedded SQL files in version order. It is pure:
// golden-file tests cover its output for every kind of server.
func migrations(o schemaOptions) ([]migration, error) {
	names, err := fs.Glob(sqlFiles, "sql/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	funcs := template.FuncMap{"engine": o.engine, "tables": o.tables}
	var out []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "sql/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", base)
		}
		text, err := sqlFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(base).Funcs(funcs).Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", base, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, o); err != nil {
			return nil, fmt.Errorf("migration %s: %w", base, err)
		}
		m := migration{version: version, name: strings.TrimSuffix(base, ".sql")}
		for _, stmt := range strings.Split(buf.String(), ";\n") {
			if stmt = strings.TrimSpace(stmt); stmt != "" {
				m.statements = append(m.statements, stmt)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// migrate creates the database and brings the schema up to date. Every
// statement is idempotent, so running it twice, or from two processes at
// once, is safe: a step that another process took first counts as done.
func migrate(ctx context.Context, conn driver.Conn, o schemaOptions) error {
	bootstrap := []string{
		"CREATE DATABASE IF NOT EXISTS " + o.DB + o.OnCluster(),
		"CREATE TABLE IF NOT EXISTS " + o.DB + ".schema_migrations" + o.OnCluster() +
			" (version UInt32, name String, applied_at DateTime) ENGINE = " + o.engine("MergeTree", "schema_migrations") + " ORDER BY version",
	}
	for _, stmt := range bootstrap {
		if err := execDDL(ctx, conn, stmt); err != nil {
			return err
		}
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+o.DB+".schema_migrations")
	if err != nil {
		return fmt.Errorf("clickhouse: read migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err = rows.Scan(&v); err != nil {
			break
		}
		applied[int(v)] = true
	}
	rows.Close()
	if err = errors.Join(err, rows.Err()); err != nil {
		return fmt.Errorf("clickhouse: read migrations: %w", err)
	}
	ms, err := migrations(o)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if err := execDDL(ctx, conn, stmt); err != nil {
				return fmt.Errorf("clickhouse: migration %s: %w", m.name, err)
			}
		}
		batch, err := prepareBatch(ctx, conn, "INSERT INTO "+o.DB+".schema_migrations (version, name, applied_at)")
		if err != nil {
			return fmt.Errorf("clickhouse: record migration %s: %w", m.name, err)
		}
		if err := batch.Append(uint32(m.version), m.name, time.Now()); err != nil {
			return fmt.Errorf("clickhouse: record migration %s: %w", m.name, err)
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("clickhouse: record migration %s: %w", m.name, err)
		}
	}
	return nil
}

// execDDL runs one DDL statement, treating "already exists" as done.
func execDDL(ctx context.Context, conn driver.Conn, stmt string) error {
	err := conn.Exec(ctx, stmt)
	var ex *ch.Exception
	if errors.As(err, &ex) {
		switch {
		case ex.Code == codeDuplicateColumn, ex.Code == codeTableAlreadyExists, ex.Code == codeDatabaseExists:
			return nil
		case ex.Code == codeIllegalColumn && strings.Contains(ex.Message, "already exists"):
			return nil // 18.16's answer to ADD COLUMN of a column another process added
		}
	}
	if err != nil {
		return fmt.Errorf("%w\n  in: %.200s", err, stmt)
	}
	return nil
}
