package processor

import (
	"regexp"
	"strings"
	"testing"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/corpus"
)

// stackOf writes a stack in runtime.Stack's format (the SDK's RecordError),
// innermost function first.
func stackOf(functions ...string) string {
	var b strings.Builder
	b.WriteString("goroutine 7 [running]:\n")
	for i, fn := range functions {
		b.WriteString(fn + "(0xc000123456)\n\t/src/file.go:" + strings.Repeat("1", i+1) + " +0x1d\n")
	}
	return b.String()
}

func TestFingerprintV2(t *testing.T) {
	f, err := newFingerprinter([]string{"example.com/shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const (
		handler  = "example.com/shop/api.handleOrder"
		handler2 = "example.com/shop/api.handleCart"
		place    = "example.com/shop/orders.(*Service).Place"
		parse    = "example.com/shop/orders.parseQuantity"
	)
	sdk := []string{"go.opentelemetry.io/otel/sdk/trace.recordStackTrace", "go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError"}
	withSDK := func(fns ...string) string { return stackOf(append(append([]string(nil), sdk...), fns...)...) }
	panicking := func(fns ...string) string {
		return stackOf(append([]string{"example.com/shop/api.recoverer.func1", "panic", "runtime.panicIndex"}, fns...)...)
	}
	type exc struct{ service, typ, msg, stack, span string }
	fp := func(e exc) string {
		return f.Fingerprint(&exporter.Record{Service: e.service, Type: e.typ, Message: e.msg, Stacktrace: e.stack, SpanName: e.span})
	}
	same := []struct {
		why  string
		a, b exc
	}{
		{"scope's meaningful type and RecordError's wrapper, with and without a stack",
			exc{"shop", "*json.SyntaxError", "decode order: invalid character 'x' looking for beginning of value", stackOf(handler), ""},
			exc{"shop", "*fmt.wrapError", "decode order: invalid character 'y' looking for beginning of value", "", ""}},
		{"ids, paths and addresses vary",
			exc{"shop", "*fmt.wrapError", "load user 42 from /var/db/u-42.json via 10.0.0.1:5432: EOF", stackOf(handler), ""},
			exc{"shop", "*fmt.wrapError", "load user 7 from /var/db/u-7.json via 10.0.0.2:5432: EOF", stackOf(handler2), ""}},
		{"errors.Join: the first error decides",
			exc{"shop", "*errors.joinError", "name 1 is empty\nprice is negative", "", ""},
			exc{"shop", "*errors.joinError", "name 2 is empty\nquantity is 0", "", ""}},
		{"a bare sentinel reported by one function from two callers",
			exc{"shop", "*errors.errorString", "context deadline exceeded", withSDK(place, handler), ""},
			exc{"shop", "context.deadlineExceededError", "context deadline exceeded", withSDK(place, handler2), ""}},
		{"a panic in one function reached from two handlers",
			exc{"shop", "runtime.boundsError", "runtime error: index out of range [5] with length 3", panicking(parse, place, handler), ""},
			exc{"shop", "runtime.boundsError", "runtime error: index out of range [9] with length 2", panicking(parse, handler2), ""}},
		{"a bare sentinel recorded on one span with and without a stack",
			exc{"shop", "context.deadlineExceededError", "context deadline exceeded", withSDK(place), "inventory.reserve"},
			exc{"shop", "context.deadlineExceededError", "context deadline exceeded", "", "inventory.reserve"}},
		{"the same runtime error panicking in one function, by package scope and by RecordError's stack",
			exc{"shop", "runtime.errorString", "runtime error: invalid memory address or nil pointer dereference",
				"example.com/shop/api.recover()\n\t/src/a.go:1\nruntime.gopanic()\n\t/go/p.go:1\nruntime.panicmem()\n\t/go/p.go:2\n" + place + "()\n\t/src/o.go:3\n", "GET /a"},
			exc{"shop", "*errors.errorString", "runtime error: invalid memory address or nil pointer dereference", panicking(place, handler2), "GET /b"}},
		{"a panic with its own message, with and without a stack",
			exc{"shop", "panic(string)", "unauthenticated request to /admin/orders/7", panicking(handler), ""},
			exc{"shop", "*errors.errorString", "unauthenticated request to /admin/users/9", "", "GET /admin"}},
		{"closures count as the function they are in",
			exc{"shop", "*errors.errorString", "EOF", stackOf(handler + ".func1"), ""},
			exc{"shop", "*errors.errorString", "EOF", stackOf(handler + ".func2.1"), ""}},
	}
	for _, tt := range same {
		if a, b := fp(tt.a), fp(tt.b); a != b {
			t.Errorf("%s: two groups %s and %s", tt.why, a, b)
		}
	}
	differ := []struct {
		why  string
		a, b exc
	}{
		{"two services", exc{"shop", "", "boom", "", ""}, exc{"billing", "", "boom", "", ""}},
		{"two messages", exc{"shop", "", "user 42 not found", "", ""}, exc{"shop", "", "user 42 was deleted", "", ""}},
		{"a bare sentinel reported by two functions",
			exc{"shop", "*errors.errorString", "context deadline exceeded", stackOf(place), ""},
			exc{"shop", "*errors.errorString", "context deadline exceeded", stackOf(handler), ""}},
		{"the same panic text in two functions",
			exc{"shop", "runtime.boundsError", "runtime error: index out of range [5] with length 3", panicking(parse, handler), ""},
			exc{"shop", "runtime.boundsError", "runtime error: index out of range [5] with length 3", panicking(place, handler), ""}},
		{"a bare sentinel recorded on two spans",
			exc{"shop", "*errors.errorString", "context deadline exceeded", "", "inventory.reserve"},
			exc{"shop", "*errors.errorString", "context deadline exceeded", "", "mailer.send"}},
		{"a captured message and an exception of the same text",
			exc{"shop", "message", "payment retried", "", ""}, exc{"shop", "*errors.errorString", "payment retried", "", ""}},
		{"two types without a message", exc{"shop", "main.emptyError", "", "", ""}, exc{"shop", "main.otherError", "", "", ""}},
	}
	for _, tt := range differ {
		if a, b := fp(tt.a), fp(tt.b); a == b {
			t.Errorf("%s: one group %s", tt.why, a)
		}
	}
}

func TestPanickingFunctionInScopeStacks(t *testing.T) {
	// package scope's stacks name the runtime's frame runtime.gopanic.
	stack := "example.com/shop/api.recoverer.func1()\n\t/src/api.go:10\nruntime.gopanic()\n\t/go/panic.go:1\n" +
		"runtime.panicmem()\n\t/go/panic.go:2\nexample.com/shop/orders.total[...]()\n\t/src/orders.go:3\n"
	if got := panickingFunction(exporter.Frames(stack), []string{"example.com/shop"}); got != "example.com/shop/orders.total" {
		t.Errorf("panicking function = %q", got)
	}
}

func TestGroupingRules(t *testing.T) {
	f, err := newFingerprinter(nil, []GroupingRule{
		{Type: "*net.OpError", Group: "network"},
		{Message: regexp.MustCompile(`^rpc error: code = Unavailable`), Group: "upstream-unavailable"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fp := func(service, typ, msg, stack string) string {
		return f.Fingerprint(&exporter.Record{Service: service, Type: typ, Message: msg, Stacktrace: stack})
	}
	a := fp("shop", "*net.OpError", "dial tcp 10.0.0.1:5432: connect: connection refused", "")
	b := fp("shop", "*net.OpError", "read tcp 10.0.0.1:5432: i/o timeout", stackOf("main.run"))
	c := fp("shop", "*status.Error", "rpc error: code = Unavailable desc = node bob-laptop is gone", "")
	d := fp("shop", "*status.Error", "rpc error: code = Unavailable desc = all connections busy", "")
	if a != b || c != d || a == c {
		t.Errorf("rule groups: network %s %s, unavailable %s %s", a, b, c, d)
	}
	if fp("billing", "*net.OpError", "x", "") == a {
		t.Error("a rule's group spans services")
	}
	for _, bad := range []GroupingRule{{Type: "*net.OpError"}, {Group: "everything"}} {
		if _, err := newFingerprinter(nil, []GroupingRule{bad}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
}

// TestPreviousFingerprintIsV1 pins the v1 fingerprints that stores hold
// from before v2: values computed by the v1 code (commit 1f8405e).
func TestPreviousFingerprintIsV1(t *testing.T) {
	f, err := newFingerprinter([]string{"example.com/shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stack := "goroutine 1 [running]:\nexample.com/shop/orders.(*Service).Place(0x1)\n\t/src/orders/service.go:42 +0x1d\n" +
		"example.com/shop/api.handleOrder()\n\t/src/api/api.go:17\nnet/http.HandlerFunc.ServeHTTP()\n\t/go/net/http/server.go:2220\n"
	if got := f.Previous(&exporter.Record{Service: "shop", Type: "*errors.errorString", Message: "order 42 failed", Stacktrace: stack}); got != "9697eab0d3560668321efb3f42acc123" {
		t.Errorf("v1 with app frames = %s", got)
	}
	if got := f.Previous(&exporter.Record{Service: "shop", Type: "*fmt.wrapError", Message: "user 42 at /var/x not found"}); got != "459f1b72c4f00c7f1c0e01272306456c" {
		t.Errorf("v1 by message = %s", got)
	}
}

// BenchmarkFingerprint measures grouping one exception from the corpus, with
// a stack (package scope's) and without (span.RecordError's default): v1
// alone (the baseline, what the processor did before), v2 alone, and both
// (what it does now, for the carry-over).
func BenchmarkFingerprint(b *testing.B) {
	events := loadCorpus(b)
	f, err := newFingerprinter([]string{corpus.AppPackage}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var withStack, without *exporter.Record
	for _, e := range events {
		switch {
		case withStack == nil && e.Via == "scope" && e.Stacktrace != "" && !strings.Contains(e.Label, "panic"):
			withStack = record(e)
		case without == nil && e.Via == "record_error":
			without = record(e)
		}
	}
	for _, c := range []struct {
		name string
		r    *exporter.Record
	}{{"stack", withStack}, {"no-stack", without}} {
		b.Run(c.name+"/v1", func(b *testing.B) {
			for b.Loop() {
				_ = f.Previous(c.r)
			}
		})
		b.Run(c.name+"/v2", func(b *testing.B) {
			for b.Loop() {
				_ = f.Fingerprint(c.r)
			}
		})
		b.Run(c.name+"/v2+v1", func(b *testing.B) {
			for b.Loop() {
				_, _ = f.Fingerprint(c.r), f.Previous(c.r)
			}
		})
	}
}

// The basis says in words what a fingerprint was made of; the exception's
// page shows it.
func TestGroupingBasis(t *testing.T) {
	f, err := newFingerprinter([]string{"example.com/shop"}, []GroupingRule{{Type: "*net.OpError", Group: "network"}})
	if err != nil {
		t.Fatal(err)
	}
	panicStack := stackOf("example.com/shop/api.recoverer.func1", "panic", "example.com/shop/orders.parseQuantity", "example.com/shop/api.handleCart")
	for _, tt := range []struct {
		r    exporter.Record
		want string
	}{
		{exporter.Record{Type: "*fmt.wrapError", Message: "load user 42: sql: no rows in result set"}, `message "load user <num>: sql: no rows in result set"`},
		{exporter.Record{Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicStack},
			`message "runtime error: index out of range [<num>] with length <num>", panicked in example.com/shop/orders.parseQuantity`},
		{exporter.Record{Type: "*errors.errorString", Message: "context deadline exceeded", SpanName: "inventory.reserve"},
			`message "context deadline exceeded", in span "inventory.reserve"`},
		{exporter.Record{Type: "*net.OpError", Message: "dial tcp: connection refused"}, `grouping rule "network"`},
		{exporter.Record{Type: "message", Message: "checkout took 3s"}, `captured message "checkout took <duration>"`},
	} {
		if _, got := f.Group(&tt.r); got != tt.want {
			t.Errorf("basis of %q = %q, want %q", tt.r.Message, got, tt.want)
		}
	}
}
