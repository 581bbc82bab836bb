// Command crashprog crashes on purpose, for the crash capture tests:
//
//	crashprog DIR panic|map [monitor]
//
// panic: a goroutine panics; map: concurrent map writes, a fatal error.
// With monitor it runs under processor.MonitorCrashes.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/errortracker/errortracker/processor"
)

func main() {
	dir, mode := os.Args[1], os.Args[2]
	if len(os.Args) > 3 && os.Args[3] == "monitor" {
		processor.MonitorCrashes(dir)
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

func loadOrder(query string) {
	panic("load order: bad query " + query)
}
