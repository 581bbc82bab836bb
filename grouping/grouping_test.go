package grouping

import (
	"regexp"
	"strings"
	"testing"
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

// scopeStack writes a stack in package scope's format, with the capture
// call on top.
func scopeStack(functions ...string) string {
	var b strings.Builder
	for _, fn := range append([]string{scopePackage + ".CaptureException"}, functions...) {
		b.WriteString(fn + "(...)\n\t/src/x.go:10\n")
	}
	return b.String()
}

const (
	handler    = "example.com/shop/api.handleOrder"
	handler2   = "example.com/shop/api.handleCart"
	placeOrder = "example.com/shop/orders.(*Service).Place"
	parse      = "example.com/shop/orders.parseQuantity"
	notify     = "example.com/shop/api.notify"
)

func newTestGrouper(t testing.TB, rules ...Rule) *Grouper {
	t.Helper()
	g, err := New(Config{AppPackages: []string{"example.com/shop"}, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestV3(t *testing.T) {
	g := newTestGrouper(t)
	sdk := []string{"go.opentelemetry.io/otel/sdk/trace.recordStackTrace", "go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError"}
	withSDK := func(fns ...string) string { return stackOf(append(append([]string(nil), sdk...), fns...)...) }
	panicking := func(fns ...string) string {
		return scopeStack(append([]string{scopePackage + ".(*middleware).ServeHTTP.func1", "runtime.gopanic", "runtime.panicIndex"}, fns...)...)
	}
	fp := func(e Exception) string { fp, _ := g.Group(e); return fp }
	same := []struct {
		why  string
		a, b Exception
	}{
		{"ids, paths and addresses vary at one place",
			Exception{Service: "shop", Type: "*fmt.wrapError", Message: "load user 42 from /var/db/u-42.json via 10.0.0.1:5432: EOF", Stacktrace: stackOf(handler)},
			Exception{Service: "shop", Type: "*fmt.wrapError", Message: "load user 7 from /var/db/u-7.json via 10.0.0.2:5432: EOF", Stacktrace: stackOf(handler)}},
		{"unquoted words in the wrapping context vary at one place",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "login alice: wrong password", TypeMessage: "wrong password", Stacktrace: scopeStack(handler)},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "login bob: wrong password", TypeMessage: "wrong password", Stacktrace: scopeStack(handler)}},
		{"errors.Join: the first error decides",
			Exception{Service: "shop", Type: "*errors.joinError", Message: "name 1 is empty\nprice is negative"},
			Exception{Service: "shop", Type: "*errors.joinError", Message: "name 2 is empty\nquantity is 0"}},
		{"a panic in one function reached from two handlers",
			Exception{Service: "shop", Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicking(parse, placeOrder, handler)},
			Exception{Service: "shop", Type: "runtime.boundsError", Message: "runtime error: index out of range [9] with length 2", Stacktrace: panicking(parse, handler2)}},
		{"a panic that Track recovered, re-panicked and the middleware recorded again",
			Exception{Service: "shop", Type: "panic(string)", Message: "boom", Stacktrace: panicking(parse, handler)},
			Exception{Service: "shop", Type: "panic(string)", Message: "boom", Stacktrace: panicking(scopePackage+".Track.func1", "runtime.gopanic", parse, handler2)}},
		{"a site reached from two paths through a capture helper",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: scopeStack(notify, placeOrder, handler)},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: scopeStack(notify, placeOrder, handler2)}},
		{"closures and generics count as the function they are in; lines do not count",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: stackOf(handler + ".func1")},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: strings.ReplaceAll(stackOf(handler+"[...].func2.1"), "file.go:1", "file.go:9")}},
		{"the same error at one place, by package scope and by RecordError with a stack",
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "x": invalid syntax`, Stacktrace: scopeStack(parse, handler)},
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "y": invalid syntax`, Stacktrace: withSDK(parse, handler)}},
		{"a bare sentinel recorded on one span without a stack",
			Exception{Service: "shop", Type: "context.deadlineExceededError", Message: "context deadline exceeded", Span: "inventory.reserve"},
			Exception{Service: "shop", Type: "context.deadlineExceededError", Message: "context deadline exceeded", Span: "inventory.reserve"}},
	}
	for _, tt := range same {
		if a, b := fp(tt.a), fp(tt.b); a != b {
			_, ba := g.Group(tt.a)
			_, bb := g.Group(tt.b)
			t.Errorf("%s: two groups:\n  %s\n  %s", tt.why, ba, bb)
		}
	}
	differ := []struct {
		why  string
		a, b Exception
	}{
		{"two services", Exception{Service: "shop", Message: "boom"}, Exception{Service: "billing", Message: "boom"}},
		{"two messages", Exception{Service: "shop", Message: "user 42 not found"}, Exception{Service: "shop", Message: "user 42 was deleted"}},
		{"one sentinel captured in two functions",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "cancel order 7: forbidden", TypeMessage: "forbidden", Stacktrace: scopeStack(placeOrder, handler)},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "cancel order 7: forbidden", TypeMessage: "forbidden", Stacktrace: scopeStack(parse, handler)}},
		{"one standard-library failure met in two functions",
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "x": invalid syntax`, Stacktrace: scopeStack(parse, handler)},
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "x": invalid syntax`, Stacktrace: scopeStack(placeOrder, handler)}},
		{"two types with the same text at one line",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "item unavailable", Stacktrace: scopeStack(handler)},
			Exception{Service: "shop", Type: "*example.com/shop/orders.RecallError", Message: "item unavailable", Stacktrace: scopeStack(handler)}},
		{"two call sites of one capture helper",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: scopeStack(notify, placeOrder, handler)},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "EOF", Stacktrace: scopeStack(notify, parse, handler)}},
		{"the same panic text in two functions",
			Exception{Service: "shop", Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicking(parse, handler)},
			Exception{Service: "shop", Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicking(placeOrder, handler)}},
		{"two errors of one type at one place",
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "x": invalid syntax`, Stacktrace: scopeStack(parse)},
			Exception{Service: "shop", Type: "*strconv.NumError", Message: `strconv.Atoi: parsing "99999999999999999999": value out of range`, Stacktrace: scopeStack(parse)}},
		{"a bare sentinel recorded on two spans without a stack",
			Exception{Service: "shop", Type: "*errors.errorString", Message: "context deadline exceeded", Span: "GET /users/{id}"},
			Exception{Service: "shop", Type: "*errors.errorString", Message: "context deadline exceeded", Span: "GET /invoices/{id}"}},
		{"a captured message and an exception of the same text",
			Exception{Service: "shop", Type: "message", Message: "payment retried", IsMessage: true}, Exception{Service: "shop", Type: "message", Message: "payment retried"}},
		{"two types without a message", Exception{Service: "shop", Type: "main.emptyError"}, Exception{Service: "shop", Type: "main.otherError"}},
	}
	for _, tt := range differ {
		if a, b := fp(tt.a), fp(tt.b); a == b {
			_, basis := g.Group(tt.a)
			t.Errorf("%s: one group (%s)", tt.why, basis)
		}
	}
}

// TestPreviousVersionsAreUnchanged pins the v2 and v1 fingerprints that
// stores hold: values computed by the v2 code of commit 0f1a680, before
// grouping became a package.
func TestPreviousVersionsAreUnchanged(t *testing.T) {
	g := newTestGrouper(t)
	stack := "goroutine 1 [running]:\nexample.com/shop/orders.(*Service).Place(0x1)\n\t/src/orders/service.go:42 +0x1d\n" +
		"example.com/shop/api.handleOrder()\n\t/src/api/api.go:17\nnet/http.HandlerFunc.ServeHTTP()\n\t/go/net/http/server.go:2220\n"
	panicStack := "example.com/shop/api.recover()\n\t/src/a.go:1\nruntime.gopanic()\n\t/go/p.go:1\nexample.com/shop/orders.total()\n\t/src/o.go:3\n"
	for _, tt := range []struct {
		e      Exception
		v2, v1 string
	}{
		{Exception{Type: "*fmt.wrapError", Message: "load user 42: sql: no rows in result set", Stacktrace: stack}, "9a4a576044598ac89549de1baae730ab", "5ff082031185635d12d5421e8d752172"},
		{Exception{Type: "*errors.errorString", Message: "context deadline exceeded", Stacktrace: stack}, "addc6c12a434861661333fc70800bb0d", "9697eab0d3560668321efb3f42acc123"},
		{Exception{Type: "*errors.errorString", Message: "context deadline exceeded", Span: "GET /orders/{id}"}, "12709a3f71ff623dd8eb8a18b684cd61", "219c982c38c12aa1a5f7280a49cdb07c"},
		{Exception{Type: "*errors.errorString", Message: "context deadline exceeded", Span: "CaptureException", Stacktrace: stack}, "addc6c12a434861661333fc70800bb0d", "9697eab0d3560668321efb3f42acc123"},
		{Exception{Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicStack}, "428c868f3e43cd2276d66a89df415a4a", "e5cdb5d42b8a1e0d7587fec8c99bb0bd"},
		{Exception{Type: "message", Message: "checkout took 3s", IsMessage: true}, "359eaf9c13e6ad9f36115898d2780984", "6367cac67666ef1474ea24a3a69182d3"},
		{Exception{Type: "*fmt.wrapError", Message: "user 42 at /var/x not found"}, "", "459f1b72c4f00c7f1c0e01272306456c"},
	} {
		tt.e.Service = "shop"
		got := g.Previous(tt.e)
		if (tt.v2 != "" && got[0] != tt.v2) || got[1] != tt.v1 {
			t.Errorf("%q: previous = %v, want [%s %s]", tt.e.Message, got, tt.v2, tt.v1)
		}
		if v3, _ := g.Group(tt.e); v3 == got[0] || v3 == got[1] {
			t.Errorf("%q: v3 shares a fingerprint with an older version", tt.e.Message)
		}
	}
}

func TestRules(t *testing.T) {
	g := newTestGrouper(t,
		Rule{Type: "*net.OpError", Group: "network"},
		Rule{Message: regexp.MustCompile(`^rpc error: code = Unavailable`), Group: "upstream-unavailable"},
	)
	fp := func(service, typ, msg, stack string) string {
		fp, _ := g.Group(Exception{Service: service, Type: typ, Message: msg, Stacktrace: stack})
		return fp
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
	for _, bad := range []Rule{{Type: "*net.OpError"}, {Group: "everything"}} {
		if _, err := New(Config{Rules: []Rule{bad}}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
}

// The basis says in words what a fingerprint was made of; the exception's
// page shows it.
func TestBasis(t *testing.T) {
	g := newTestGrouper(t, Rule{Type: "*net.OpError", Group: "network"})
	panicStack := stackOf(handler+".func1", "panic", parse, handler)
	for _, tt := range []struct {
		e    Exception
		want string
	}{
		{Exception{Type: "*fmt.wrapError", Message: "load user 42: sql: no rows in result set"}, `message "load user <num>: sql: no rows in result set"`},
		{Exception{Type: "*errors.errorString", Message: "load user 42: sql: no rows in result set", TypeMessage: "sql: no rows in result set", Stacktrace: scopeStack(placeOrder, handler)},
			`type *errors.errorString, message "sql: no rows in result set", at example.com/shop/orders.(*Service).Place ← example.com/shop/api.handleOrder`},
		{Exception{Type: "runtime.boundsError", Message: "runtime error: index out of range [5] with length 3", Stacktrace: panicStack},
			`type runtime.boundsError, message "runtime error: index out of range [<num>] with length <num>", panicked in example.com/shop/orders.parseQuantity`},
		{Exception{Type: "*errors.errorString", Message: "context deadline exceeded", Span: "inventory.reserve"},
			`type *errors.errorString, message "context deadline exceeded", in span "inventory.reserve"`},
		{Exception{Type: "*net.OpError", Message: "dial tcp: connection refused"}, `grouping rule "network"`},
		{Exception{Type: "message", Message: "checkout took 3s", IsMessage: true}, `captured message "checkout took <duration>"`},
	} {
		if _, got := g.Group(tt.e); got != tt.want {
			t.Errorf("basis of %q = %q, want %q", tt.e.Message, got, tt.want)
		}
	}
}

// closurePattern is what enclosingFunction strips, as a regexp.
var closurePattern = regexp.MustCompile(`(?:\.(?:func|gowrap|deferwrap)?\d+)+$|\[[^\]]*\]`)

// FuzzFrames checks that the frame parser never panics, yields no frame
// without a function or with a line break, reads back the frames it is
// given in scope's format, and that enclosingFunction does what its regexp
// does.
func FuzzFrames(f *testing.F) {
	for _, s := range []string{
		stackOf(handler, "panic", placeOrder+".func1.2", "example.com/shop.F[...]"),
		scopeStack(notify, handler+".gowrap1"),
		"goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\ncreated by main.init in goroutine 1\n\t/y.go:2\n",
		"a.F(0x1, {0x2, 0x3}, ...)\n\t C:/src/a.go:12\r\n\tb.G()\n",
		"[[x]].func1\n\t:\n(\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stack string) {
		var rebuilt strings.Builder
		var frames []Frame
		for fr := range AllFrames(stack) {
			if fr.Function == "" || strings.ContainsAny(fr.Function, "\n") {
				t.Fatalf("frame %+v from %q", fr, stack)
			}
			if strings.ContainsAny(fr.Function, "\t \r") || fr.Function[0] == '(' || strings.HasSuffix(fr.Function, ")") {
				continue // not a name scope would write
			}
			frames = append(frames, Frame{Function: fr.Function, File: "/a.go", Line: 7})
			rebuilt.WriteString(fr.Function + "(...)\n\t/a.go:7\n")
		}
		if got := Frames(rebuilt.String()); len(got) != len(frames) {
			t.Fatalf("read back %d frames of %d: %q", len(got), len(frames), rebuilt.String())
		} else {
			for i := range got {
				if got[i] != frames[i] {
					t.Fatalf("frame %d: %+v, want %+v", i, got[i], frames[i])
				}
			}
		}
		if want, got := closurePattern.ReplaceAllString(stack, ""), enclosingFunction(stack); got != want {
			t.Fatalf("enclosingFunction(%q) = %q, the regexp gives %q", stack, got, want)
		}
	})
}

// The cut of a long message never changes the group: a quoted or unquoted
// value that runs past it groups the same whatever its length.
func TestCutNeverChangesTheGroup(t *testing.T) {
	g := newTestGrouper(t)
	fp := func(msg string) string {
		fp, _ := g.Group(Exception{Service: "shop", Type: "*errors.errorString", Message: msg, Stacktrace: scopeStack(handler)})
		return fp
	}
	prefix := "upstream rejected the request: " + strings.Repeat("detail ", 137) // 990 bytes
	for _, tt := range []struct{ why, a, b string }{
		{"a quoted value across the cut", prefix + `body "` + strings.Repeat("a", 50) + `" end`, prefix + `body "` + strings.Repeat("b", 5000) + `" end`},
		{"a quoted value that ends just before or after the cut", prefix + `body "` + strings.Repeat("c", 20) + `" end`, prefix + `body "` + strings.Repeat("c", 30) + `" end`},
		{"hex across the cut", prefix + "id deadbeefcafe" + strings.Repeat("0", 40), prefix + "id 0123abcd" + strings.Repeat("f", 400)},
	} {
		if a, b := fp(tt.a), fp(tt.b); a != b {
			t.Errorf("%s: two groups", tt.why)
		}
	}
	if fp(prefix+"x") == fp(strings.Repeat("other ", 200)) {
		t.Error("two different long messages share a group")
	}
}
