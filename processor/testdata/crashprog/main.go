// Command crashprog crashes on purpose, for the crash capture tests:
//
//	crashprog DIR panic|map|overflow [monitor|monitor-report]
//
// panic: a goroutine panics; map: concurrent map writes, a fatal error;
// overflow: a stack overflow.
// With monitor it runs under processor.MonitorCrashes; with
// monitor-report under processor.MonitorCrashesAndReport, whose exporter
// appends the records as JSON lines to $CRASHPROG_OUT.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
)

func main() {
	dir, mode := os.Args[1], os.Args[2]
	if len(os.Args) > 3 && os.Args[3] == "monitor" {
		processor.MonitorCrashes(dir)
	}
	if len(os.Args) > 3 && os.Args[3] == "monitor-report" {
		processor.MonitorCrashesAndReport(dir, processor.Config{}, func(context.Context) ([]processor.Option, error) {
			return []processor.Option{processor.WithExporter(fileExporter(os.Getenv("CRASHPROG_OUT")))}, nil
		})
	}
	p, err := processor.New(processor.Config{}, processor.WithCrashCapture(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = p
	switch mode {
	case "panic":
		go func() { loadOrder("token=hunter2") }()
	case "overflow":
		debug.SetMaxStack(1 << 20)
		recurse(0)
	case "map":
		m := map[int]int{}
		for range 4 {
			go func() {
				for i := 0; ; i++ {
					m[i%64] = i
				}
			}()
		}
	}
	time.Sleep(10 * time.Second)
	os.Exit(3) // not reached: the crash ends the process first
}

func recurse(n int) int {
	var b [64]byte
	b[n%64] = 1
	return recurse(n+1) + int(b[0])
}

func loadOrder(query string) {
	panic("load order: bad query " + query)
}

// fileExporter appends records to a file as JSON lines.
type fileExporter string

func (f fileExporter) Export(_ context.Context, recs []exporter.Record) error {
	out, err := os.OpenFile(string(f), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	for _, r := range recs {
		if err := json.NewEncoder(out).Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func (fileExporter) Shutdown(context.Context) error { return nil }
