// Command chconfig writes the configuration of a private ClickHouse server,
// so that the scripts and the tests share one. Usage:
//
//	go run ./internal/testenv/chconfig DIR TCP_PORT HTTP_PORT
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/errortracker/errortracker/internal/testenv"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: chconfig DIR TCP_PORT HTTP_PORT")
		os.Exit(2)
	}
	tcp, err1 := strconv.Atoi(os.Args[2])
	http, err2 := strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "chconfig: ports must be numbers")
		os.Exit(2)
	}
	if err := testenv.WriteClickHouseConfig(testenv.ClickHouseConfig{Dir: os.Args[1], TCPPort: tcp, HTTPPort: http}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
