package chtap_test

import (
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/errortracker/errortracker/internal/chtap"
)

func TestBind(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		query string
		args  []any
		want  string
	}{
		{"SELECT ?, ?, ?", []any{"it's \\ ü\n", uint64(1 << 63), uint8(1)}, `SELECT 'it\'s \\ ü` + "\n" + `', 9223372036854775808, 1`},
		{"SELECT '?', `a?`, ? -- x", []any{uint32(7)}, "SELECT '?', `a?`, 7 -- x"},
		{"SELECT 'it\\'s ?', ?", []any{"x"}, "SELECT 'it\\'s ?', 'x'"},
		{"WHERE fp IN (?)", []any{ch.GroupSet{Value: []any{"a", "b"}}}, "WHERE fp IN ('a', 'b')"},
		{"SELECT ? AS fps, ? AS nss", []any{[]string{"a", "b'"}, []uint64{1, 2}}, `SELECT ['a', 'b\''] AS fps, [1, 2] AS nss`},
		{"SELECT ?", []any{at}, "SELECT toDateTime(1795863600)"},
	} {
		got, err := chtap.Bind(c.query, c.args...)
		if err != nil || got != c.want {
			t.Errorf("Bind(%q) = %q, %v; want %q", c.query, got, err, c.want)
		}
	}
	for _, c := range []struct {
		query string
		args  []any
	}{
		{"SELECT ?, ?", []any{1}},
		{"SELECT ?", []any{1, 2}},
		{"SELECT ?", []any{struct{}{}}},
	} {
		if got, err := chtap.Bind(c.query, c.args...); err == nil {
			t.Errorf("Bind(%q, %v) = %q, want an error", c.query, c.args, got)
		}
	}
}

func TestInsertText(t *testing.T) {
	s := chtap.Statement{Kind: chtap.Insert, SQL: "INSERT INTO d.t (a, b.key)", Rows: [][]any{{"x", []string{"k"}}, {"y", []string{}}}}
	got, err := s.Text()
	if want := "INSERT INTO d.t (a, b.key) VALUES ('x', ['k']), ('y', [])"; err != nil || got != want {
		t.Errorf("Text() = %q, %v; want %q", got, err, want)
	}
	s.Rows = [][]any{{map[string]int{}}}
	if _, err := s.Text(); err == nil || !strings.Contains(err.Error(), "row 1, column 1") {
		t.Errorf("a type without a literal: %v", err)
	}
}
