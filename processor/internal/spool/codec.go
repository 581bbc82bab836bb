package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/exporter"
)

// codecVersion starts every encoded record, so that a later layout can
// read what an older one wrote.
const codecVersion = 1

var errShort = errors.New("spool: record truncated")

// appendRecord appends the binary form of r to b. PreviousFingerprints are
// left out: the processor computes them again before export.
func appendRecord(b []byte, r *exporter.Record) []byte {
	b = append(b, codecVersion)
	b = appendString(b, r.ID)
	b = appendString(b, r.Fingerprint)
	b = appendBool(b, r.FingerprintByCaller)
	b = appendString(b, r.Grouping)
	b = binary.AppendVarint(b, r.Time.UnixNano())
	b = appendString(b, r.Type)
	b = appendString(b, r.Message)
	b = appendString(b, r.Stacktrace)
	b = appendBool(b, r.Escaped)
	b = appendString(b, r.Service)
	b = appendString(b, r.ServiceVersion)
	b = appendString(b, r.Environment)
	b = appendString(b, r.SpanName)
	b = append(b, r.TraceID[:]...)
	b = append(b, r.SpanID[:]...)
	b = appendString(b, r.Host)
	b = appendString(b, r.Method)
	b = appendString(b, r.Path)
	b = appendString(b, r.Route)
	b = binary.AppendVarint(b, int64(r.StatusCode))
	b = appendAttrs(b, r.Attributes)
	b = appendAttrs(b, r.Extras)
	b = appendAttrs(b, r.Resource)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendAttrs(b []byte, kvs []attribute.KeyValue) []byte {
	b = binary.AppendUvarint(b, uint64(len(kvs)))
	for _, kv := range kvs {
		b = appendString(b, string(kv.Key))
		t := kv.Value.Type()
		b = append(b, byte(t))
		switch t {
		case attribute.BOOL:
			b = appendBool(b, kv.Value.AsBool())
		case attribute.INT64:
			b = binary.AppendVarint(b, kv.Value.AsInt64())
		case attribute.FLOAT64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(kv.Value.AsFloat64()))
		case attribute.STRING:
			b = appendString(b, kv.Value.AsString())
		case attribute.BOOLSLICE:
			vs := kv.Value.AsBoolSlice()
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = appendBool(b, v)
			}
		case attribute.INT64SLICE:
			vs := kv.Value.AsInt64Slice()
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = binary.AppendVarint(b, v)
			}
		case attribute.FLOAT64SLICE:
			vs := kv.Value.AsFloat64Slice()
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
			}
		case attribute.STRINGSLICE:
			vs := kv.Value.AsStringSlice()
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = appendString(b, v)
			}
		default:
			// A type this version does not know: keep its text.
			b[len(b)-1] = byte(attribute.STRING)
			b = appendString(b, kv.Value.Emit())
		}
	}
	return b
}

// decoder reads what appendRecord wrote; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bytes(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail()
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

// count reads a length and checks it against what is left, so that a
// corrupt length cannot make a huge allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) attrs() []attribute.KeyValue {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, n)
	for range n {
		k := attribute.Key(d.string())
		switch attribute.Type(d.byte()) {
		case attribute.BOOL:
			out = append(out, k.Bool(d.byte() == 1))
		case attribute.INT64:
			out = append(out, k.Int64(d.varint()))
		case attribute.FLOAT64:
			out = append(out, k.Float64(d.float()))
		case attribute.STRING:
			out = append(out, k.String(d.string()))
		case attribute.BOOLSLICE:
			vs := make([]bool, d.count())
			for i := range vs {
				vs[i] = d.byte() == 1
			}
			out = append(out, k.BoolSlice(vs))
		case attribute.INT64SLICE:
			vs := make([]int64, d.count())
			for i := range vs {
				vs[i] = d.varint()
			}
			out = append(out, k.Int64Slice(vs))
		case attribute.FLOAT64SLICE:
			vs := make([]float64, d.count())
			for i := range vs {
				vs[i] = d.float()
			}
			out = append(out, k.Float64Slice(vs))
		case attribute.STRINGSLICE:
			vs := make([]string, d.count())
			for i := range vs {
				vs[i] = d.string()
			}
			out = append(out, k.StringSlice(vs))
		default:
			d.fail()
		}
		if d.err != nil {
			return nil
		}
	}
	return out
}

// decodeRecord reads one record written by appendRecord.
func decodeRecord(b []byte) (exporter.Record, error) {
	d := decoder{b: b}
	var r exporter.Record
	if v := d.byte(); d.err == nil && v != codecVersion {
		return r, fmt.Errorf("spool: record of codec version %d, want %d", v, codecVersion)
	}
	r.ID = d.string()
	r.Fingerprint = d.string()
	r.FingerprintByCaller = d.byte() == 1
	r.Grouping = d.string()
	r.Time = time.Unix(0, d.varint())
	r.Type = d.string()
	r.Message = d.string()
	r.Stacktrace = d.string()
	r.Escaped = d.byte() == 1
	r.Service = d.string()
	r.ServiceVersion = d.string()
	r.Environment = d.string()
	r.SpanName = d.string()
	d.bytes(r.TraceID[:])
	d.bytes(r.SpanID[:])
	r.Host = d.string()
	r.Method = d.string()
	r.Path = d.string()
	r.Route = d.string()
	r.StatusCode = int(d.varint())
	r.Attributes = d.attrs()
	r.Extras = d.attrs()
	r.Resource = d.attrs()
	if d.err != nil {
		return exporter.Record{}, d.err
	}
	return r, nil
}
