package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/chdb"
	"github.com/errortracker/errortracker/internal/chtap"
	"github.com/errortracker/errortracker/internal/testenv"
)

// TestTwoShardCluster runs the exporter on a cluster of two local servers
// (two shards) and a local ZooKeeper: DDL runs ON CLUSTER, inserts spread
// over both shards by fingerprint, and every query, from either server,
// sees all groups.
func TestTwoShardCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	zk := testenv.StartZooKeeper(t)
	ports := [2]int{testenv.FreePort(t), testenv.FreePort(t)}
	var servers [2]*testenv.ClickHouseServer
	for i := range servers {
		servers[i] = testenv.StartClickHouse(t, testenv.ClickHouseConfig{
			TCPPort: ports[i],
			Extra: fmt.Sprintf(`<remote_servers><shards>
  <shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
  <shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
</shards></remote_servers>
<zookeeper><node><host>127.0.0.1</host><port>%d</port></node></zookeeper>
<distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
<macros><shard>%02d</shard><replica>r1</replica></macros>`, ports[0], ports[1], zk, i+1),
		})
	}
	// Each server must hold a ZooKeeper session before the first ON
	// CLUSTER statement.
	for _, s := range servers {
		waitZooKeeperSession(t, s.Addr())
	}
	cfg := func(i int) clickhouse.Config {
		return clickhouse.Config{Addrs: []string{servers[i].Addr()}, Database: "errortracker", Cluster: "shards"}
	}
	// What the store sends in cluster mode is recorded, to be parsed by a
	// current release at the end.
	rec := &chtap.Recorder{}
	recording := chtap.With(context.Background(), rec.Wrap)
	first := newExporterCtx(t, recording, cfg(0))
	second := newExporterCtx(t, recording, cfg(1)) // migrations again, from the other server

	const groups, each = 40, 3
	var recs []exporter.Record
	for g := 0; g < groups; g++ {
		for n := 0; n < each; n++ {
			recs = append(recs, record(fmt.Sprintf("fp-%02d", g), time.Now().Add(-time.Duration(g)*time.Minute)))
		}
	}
	export(t, first, recs...)
	export(t, second, recs[:each]...) // the same batch again, through the other server

	// Distributed inserts are forwarded in the background.
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		page := mustList(t, second, exporter.GroupQuery{PageSize: 100})
		total := uint64(0)
		for _, g := range page.Groups {
			total += g.Count
		}
		if len(page.Groups) == groups && total == groups*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the cluster shows %d groups and %d occurrences, want %d and %d", len(page.Groups), total, groups, groups*each)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Both shards hold part of the groups, and each group lives on one.
	perShard := [2]map[string]bool{}
	for i, s := range servers {
		conn, err := ch.Open(&ch.Options{Addr: []string{s.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, "SELECT DISTINCT fingerprint FROM errortracker.occurrences_local")
		if err != nil {
			t.Fatal(err)
		}
		perShard[i] = map[string]bool{}
		for rows.Next() {
			var fp string
			if err := rows.Scan(&fp); err != nil {
				t.Fatal(err)
			}
			perShard[i][fp] = true
		}
		rows.Close()
		conn.Close()
	}
	if len(perShard[0]) == 0 || len(perShard[1]) == 0 || len(perShard[0])+len(perShard[1]) != groups {
		t.Errorf("shards hold %d and %d groups, want a split of %d with none on both", len(perShard[0]), len(perShard[1]), groups)
	}
	g, latest, err := first.GetGroup(ctx, "fp-00")
	if err != nil || g.Count != each || latest.Fingerprint != "fp-00" {
		t.Fatalf("GetGroup through the cluster: %+v, %v", g, err)
	}
	// State written through one server is read through the other.
	if err := second.Resolve(ctx, "fp-01"); err != nil {
		t.Fatal(err)
	}
	if page := mustList(t, first, exporter.GroupQuery{Status: exporter.StatusResolved}); fps(page) != "fp-01" {
		t.Errorf("resolved through the cluster: %s", fps(page))
	}
	// Ignore, merge and release reads through the cluster: each part and
	// its target may live on different shards.
	if err := second.SetState(ctx, []string{"fp-03", "fp-04"}, exporter.Change{Status: exporter.StatusIgnored, By: "ann",
		Ignore: exporter.Ignore{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	// A resolve in the next release records the groups' releases through
	// the Distributed table.
	if err := first.SetState(ctx, []string{"fp-08", "fp-09"}, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}); err != nil {
		t.Fatal(err)
	}
	if page := mustList(t, second, exporter.GroupQuery{Status: exporter.StatusResolved}); fps(page) != "fp-01,fp-08,fp-09" && fps(page) != "fp-01,fp-09,fp-08" {
		t.Errorf("resolved in the next release through the cluster: %s", fps(page))
	}
	if page := mustList(t, first, exporter.GroupQuery{Status: exporter.StatusIgnored}); fps(page) != "fp-03,fp-04" {
		t.Errorf("ignored through the cluster: %s", fps(page))
	}
	if err := first.Merge(ctx, "fp-05", []string{"fp-06", "fp-07"}, "ann"); err != nil {
		t.Fatal(err)
	}
	if g, _, err := second.GetGroup(ctx, "fp-07"); err != nil || g.MergedInto != "fp-05" || g.Count != 3*each {
		t.Errorf("a part through the cluster: %+v, %v", g, err)
	}
	if _, err := second.Releases(ctx, "fp-05"); err != nil {
		t.Errorf("releases through the cluster: %v", err)
	}
	if page := mustList(t, second, exporter.GroupQuery{PageSize: 100}); len(page.Groups) != groups-2 {
		t.Errorf("list with parts through the cluster: %d groups, want %d", len(page.Groups), groups-2)
	}
	if _, err := first.ApplyRetention(ctx, time.Now()); err != nil {
		t.Errorf("retention ON CLUSTER: %v", err)
	}
	if err := second.Delete(ctx, "fp-02"); err != nil {
		t.Errorf("delete ON CLUSTER: %v", err)
	}
	if err := second.DeleteGroups(ctx, []string{"fp-03", "fp-05"}); err != nil {
		t.Errorf("bulk delete ON CLUSTER: %v", err)
	}
	// A claim made through both servers at once has one holder.
	claimed := make(chan []string, 2)
	for _, e := range []*clickhouse.Exporter{first, second} {
		go func() {
			held, err := e.Claim(ctx, "mail/new/fp-00", "mail/new/fp-01")
			if err != nil {
				t.Errorf("claim through the cluster: %v", err)
			}
			claimed <- held
		}()
	}
	if a, b := <-claimed, <-claimed; len(a)+len(b) != 2 {
		t.Errorf("claims held through the two servers: %v and %v, want each key once", a, b)
	}
	parseOnCurrentClickHouse(t, rec.Statements())
}

// parseOnCurrentClickHouse checks that chDB's parser (ClickHouse 26.x)
// takes every statement: ON CLUSTER and Distributed tables cannot run in
// an in-process engine, but a syntax that current releases dropped shows.
func parseOnCurrentClickHouse(t *testing.T, stmts []chtap.Statement) {
	t.Helper()
	engine, err := chdb.OpenTemp(testenv.ChDBLibrary(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		text, err := s.Text()
		if err == nil {
			err = engine.Parse(text)
		}
		if err != nil {
			t.Errorf("%v\n  %.400s", err, s.SQL)
		}
	}
	t.Logf("chDB %s parsed the %d statements the store sent in cluster mode", engine.Version(), len(stmts))
}

func waitZooKeeperSession(t *testing.T, addr string) {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n uint64
		err := conn.QueryRow(context.Background(), "SELECT count() FROM system.zookeeper WHERE path = '/'").Scan(&n)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no ZooKeeper session after 60 s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
