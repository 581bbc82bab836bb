// Package otlpattr converts between OTLP (pdata) attributes and the
// OpenTelemetry API's, which packages maskattr and intake read.
package otlpattr

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
)

// Attributes converts OTLP attributes to the OpenTelemetry API's, which
// the masker and the intake read. Homogeneous arrays keep their type;
// maps, bytes and mixed arrays become their JSON (or base64) text, which
// the value rules still mask.
func Attributes(m pcommon.Map) []attribute.KeyValue {
	if m.Len() == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, attribute.KeyValue{Key: attribute.Key(k), Value: Value(v)})
	}
	return out
}

// Value converts one OTLP value; see [Attributes].
func Value(v pcommon.Value) attribute.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return attribute.StringValue(v.Str())
	case pcommon.ValueTypeInt:
		return attribute.Int64Value(v.Int())
	case pcommon.ValueTypeDouble:
		return attribute.Float64Value(v.Double())
	case pcommon.ValueTypeBool:
		return attribute.BoolValue(v.Bool())
	case pcommon.ValueTypeSlice:
		if a, ok := homogeneous(v.Slice()); ok {
			return a
		}
	}
	return attribute.StringValue(v.AsString())
}

// homogeneous converts an array whose elements share a scalar type.
func homogeneous(s pcommon.Slice) (attribute.Value, bool) {
	if s.Len() == 0 {
		return attribute.StringSliceValue(nil), true
	}
	switch s.At(0).Type() {
	case pcommon.ValueTypeStr:
		out := make([]string, s.Len())
		for i := range out {
			if s.At(i).Type() != pcommon.ValueTypeStr {
				return attribute.Value{}, false
			}
			out[i] = s.At(i).Str()
		}
		return attribute.StringSliceValue(out), true
	case pcommon.ValueTypeInt:
		out := make([]int64, s.Len())
		for i := range out {
			if s.At(i).Type() != pcommon.ValueTypeInt {
				return attribute.Value{}, false
			}
			out[i] = s.At(i).Int()
		}
		return attribute.Int64SliceValue(out), true
	case pcommon.ValueTypeBool:
		out := make([]bool, s.Len())
		for i := range out {
			if s.At(i).Type() != pcommon.ValueTypeBool {
				return attribute.Value{}, false
			}
			out[i] = s.At(i).Bool()
		}
		return attribute.BoolSliceValue(out), true
	case pcommon.ValueTypeDouble:
		out := make([]float64, s.Len())
		for i := range out {
			if s.At(i).Type() != pcommon.ValueTypeDouble {
				return attribute.Value{}, false
			}
			out[i] = s.At(i).Double()
		}
		return attribute.Float64SliceValue(out), true
	}
	return attribute.Value{}, false
}

// Put writes a masked value back into an OTLP map under key: strings and
// string arrays as such, anything else as its text.
func Put(m pcommon.Map, key string, v attribute.Value) {
	switch v.Type() {
	case attribute.STRINGSLICE:
		s := m.PutEmptySlice(key)
		for _, e := range v.AsStringSlice() {
			s.AppendEmpty().SetStr(e)
		}
	default:
		m.PutStr(key, v.Emit())
	}
}

// MaskMap masks an OTLP map in place with mask, which masks one attribute
// and reports whether it changed, and reports how many values changed.
func MaskMap(m pcommon.Map, mask func(attribute.KeyValue) (attribute.KeyValue, bool)) int {
	var changed []attribute.KeyValue
	for k, v := range m.All() {
		if kv, ok := mask(attribute.KeyValue{Key: attribute.Key(k), Value: Value(v)}); ok {
			changed = append(changed, kv)
		}
	}
	for _, kv := range changed {
		Put(m, string(kv.Key), kv.Value)
	}
	return len(changed)
}
