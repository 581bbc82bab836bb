package browseextension

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func load(t *testing.T, file, id string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return cfg
}

func TestLoadConfig(t *testing.T) {
	def := load(t, "config.yaml", "errortracker_browse")
	if !reflect.DeepEqual(def, createDefaultConfig()) {
		t.Errorf("defaults: %+v", def)
	}
	full := load(t, "config.yaml", "errortracker_browse/full")
	want := &Config{Endpoint: "127.0.0.1:18080", URLPrefix: "/errors", User: "ops", Password: "browse-pass", Secret: "fleet-secret",
		ClickHouse: ClickHouseConfig{Addr: "10.0.0.1:9000, 10.0.0.2:9000", Database: "errors", Username: "tracker", Password: "ch-pass"}}
	if !reflect.DeepEqual(full, want) {
		t.Errorf("got %+v", full)
	}
	if got := full.addrs(); !reflect.DeepEqual(got, []string{"10.0.0.1:9000", "10.0.0.2:9000"}) {
		t.Errorf("addrs %v", got)
	}
	for _, cfg := range []*Config{def, full} {
		if err := confmap.Validate(cfg); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	for id, want := range map[string]string{
		"errortracker_browse/bad_endpoint":     `endpoint "nowhere"`,
		"errortracker_browse/bad_prefix":       "must start with /",
		"errortracker_browse/half_credentials": "set both or neither",
		"errortracker_browse/bad_clickhouse":   `clickhouse.addr "clickhouse"`,
	} {
		err := confmap.Validate(load(t, "config-invalid.yaml", id))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Validate said %v, want an error about %q", id, err, want)
		}
	}
}
