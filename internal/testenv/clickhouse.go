package testenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ClickHouseBinary is where Debian's clickhouse-server package puts the
// server.
const ClickHouseBinary = "/usr/sbin/clickhouse-server"

// ClickHouseConfig describes a private ClickHouse server.
type ClickHouseConfig struct {
	// Dir holds the configuration, data, temporary files and logs.
	Dir string
	// TCPPort and HTTPPort are the loopback ports of the native protocol
	// and of the HTTP interface.
	TCPPort, HTTPPort int
	// InterserverPort is the port replicas fetch parts on; 0 leaves it out.
	InterserverPort int
	// Extra is XML inserted into the server configuration as it is: a
	// remote_servers section, ZooKeeper, macros.
	Extra string
}

// WriteClickHouseConfig writes config.xml and users.xml for a server that
// listens on loopback only and keeps everything under c.Dir. It is the one
// place the project's ClickHouse configuration is written: scripts/test.sh
// and scripts/demo.sh call it through the chconfig command.
func WriteClickHouseConfig(c ClickHouseConfig) error {
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
	}
	users := `<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
	interserver := ""
	if c.InterserverPort != 0 {
		interserver = fmt.Sprintf("<interserver_http_port>%d</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>", c.InterserverPort)
	}
	config := fmt.Sprintf(`<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  %[4]s
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  %[5]s
</yandex>
`, c.Dir, c.TCPPort, c.HTTPPort, interserver, c.Extra)
	if err := os.WriteFile(filepath.Join(c.Dir, "users.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "config.xml"), []byte(config), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

// FreePort returns a loopback TCP port nothing listens on.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ClickHouseServer is a private server for one test: for tests that freeze,
// kill or reconfigure a server, which must not disturb the shared one.
type ClickHouseServer struct {
	Config ClickHouseConfig
	cmd    *exec.Cmd
	exited chan struct{}
}

// Addr is host:port of the native protocol.
func (s *ClickHouseServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Config.TCPPort) }

// StartClickHouse starts a private server with c (Dir and ports filled in
// when empty) and stops it when the test ends. Without the server binary it
// skips the test, or fails it in CI.
func StartClickHouse(t testing.TB, c ClickHouseConfig) *ClickHouseServer {
	t.Helper()
	if _, err := os.Stat(ClickHouseBinary); err != nil {
		if InCI() {
			t.Fatalf("%s is missing: run the tests with ./scripts/test.sh", ClickHouseBinary)
		}
		t.Skipf("%s is missing: ./scripts/test.sh installs it", ClickHouseBinary)
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if c.TCPPort == 0 {
		c.TCPPort = FreePort(t)
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = FreePort(t)
	}
	if err := WriteClickHouseConfig(c); err != nil {
		t.Fatal(err)
	}
	s := &ClickHouseServer{Config: c}
	s.start(t)
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() { // the server's own account, before TempDir goes
			if log, err := os.ReadFile(filepath.Join(c.Dir, "log", "server.err.log")); err == nil && len(log) > 0 {
				t.Logf("ClickHouse on port %d logged errors (last 3000 bytes):\n%s", c.TCPPort, log[max(0, len(log)-3000):])
			}
		}
	})
	return s
}

func (s *ClickHouseServer) start(t testing.TB) {
	t.Helper()
	out, err := os.OpenFile(filepath.Join(s.Config.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	s.cmd = exec.Command(ClickHouseBinary, "--config-file="+filepath.Join(s.Config.Dir, "config.xml"))
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	url := fmt.Sprintf("http://127.0.0.1:%d/ping", s.Config.HTTPPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.Config.Dir, "log", "server.err.log"))
			t.Fatalf("ClickHouse exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("ClickHouse did not answer /ping within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Freeze stops the server's process (SIGSTOP): connections stay open and
// nothing answers, as with a hung server.
func (s *ClickHouseServer) Freeze(t testing.TB) { s.signal(t, syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *ClickHouseServer) Thaw(t testing.TB) { s.signal(t, syscall.SIGCONT) }

func (s *ClickHouseServer) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Kill kills the server at once (SIGKILL), as a crash would.
func (s *ClickHouseServer) Kill(t testing.TB) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts the server again on the same ports and data.
func (s *ClickHouseServer) Restart(t testing.TB) {
	t.Helper()
	s.start(t)
}

// Stop stops the server, if it runs.
func (s *ClickHouseServer) Stop(t testing.TB) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// ZooKeeperJars is the class path of Debian's zookeeper package.
const ZooKeeperJars = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

// StartZooKeeper starts a standalone ZooKeeper on a free loopback port
// with its data in a temporary directory, stopped when the test ends, and
// returns the port. ClickHouse needs it for ON CLUSTER DDL and replicated
// tables. Without the package it skips the test, or fails it in CI.
func StartZooKeeper(t testing.TB) int {
	t.Helper()
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		if InCI() {
			t.Fatal("ZooKeeper is missing: run the tests with ./scripts/test.sh")
		}
		t.Skip("ZooKeeper is missing: ./scripts/test.sh installs it")
	}
	port := FreePort(t)
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("java", "-Xmx256m", "-cp", ZooKeeperJars,
		"-Dzookeeper.admin.enableServer=false",
		"org.apache.zookeeper.server.ZooKeeperServerMain", strconv.Itoa(port), filepath.Join(dir, "data"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if zooKeeperServes(port) {
			return port
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "zookeeper.log"))
			t.Fatalf("ZooKeeper exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("ZooKeeper did not listen within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// zooKeeperServes asks ZooKeeper for its state ("srvr", the one four-letter
// command allowed by default): an open port alone is not a serving server,
// and ClickHouse 18.16 crashes on DDL when its first session failed.
func zooKeeperServes(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	reply, _ := io.ReadAll(c)
	return strings.Contains(string(reply), "Mode: standalone")
}
