package otlpattr

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
)

func TestAttributes(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "v")
	m.PutInt("i", 7)
	m.PutDouble("d", 1.5)
	m.PutBool("b", true)
	m.PutEmptySlice("ss").FromRaw([]any{"a", "b"})
	m.PutEmptySlice("mixed").FromRaw([]any{"a", int64(1)})
	m.PutEmptyMap("m").PutStr("password", "x")
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range Attributes(m) {
		got[kv.Key] = kv.Value
	}
	for k, want := range map[attribute.Key]attribute.Value{
		"s": attribute.StringValue("v"), "i": attribute.Int64Value(7), "d": attribute.Float64Value(1.5),
		"b": attribute.BoolValue(true), "ss": attribute.StringSliceValue([]string{"a", "b"}),
		"mixed": attribute.StringValue(`["a",1]`), "m": attribute.StringValue(`{"password":"x"}`),
	} {
		if got[k] != want {
			t.Errorf("%s: got %v (%v), want %v", k, got[k].Emit(), got[k].Type(), want.Emit())
		}
	}
}

func TestMaskMap(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("keep", "v")
	m.PutStr("secret", "x")
	m.PutEmptySlice("list").FromRaw([]any{"a"})
	n := MaskMap(m, func(kv attribute.KeyValue) (attribute.KeyValue, bool) {
		switch kv.Key {
		case "secret":
			return attribute.String("secret", "***"), true
		case "list":
			return attribute.StringSlice("list", []string{"***"}), true
		}
		return kv, false
	})
	if n != 2 {
		t.Errorf("%d changed", n)
	}
	if v, _ := m.Get("secret"); v.Str() != "***" {
		t.Errorf("secret %q", v.Str())
	}
	if v, _ := m.Get("list"); v.Slice().At(0).Str() != "***" {
		t.Errorf("list %v", v.AsRaw())
	}
	if v, _ := m.Get("keep"); v.Str() != "v" {
		t.Errorf("keep %q", v.Str())
	}
}
