package maskattr_test

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/maskattr"
)

func mustNew(t testing.TB, r maskattr.Rules) *maskattr.Masker {
	t.Helper()
	m, err := maskattr.New(r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeyRule(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	tests := []struct {
		key    string
		masked bool
	}{
		{"password", true},
		{"user.Password", true},
		{"DB_PASSWD", true},
		{"client_secret", true},
		{"http.request.header.authorization", true},
		{"http.request.header.cookie", true},
		{"X-Api-Key", true}, // '-' and '_' are alike
		{"x_api_key", true},
		{"APIKEY", true},
		{"refresh_token", true},
		{"aws.credentials", true},
		{"tls.private_key", true},
		{"session.id", true},
		{"username", false},
		{"http.route", false},
		{"gen_ai.usage.input_tokens", false}, // allow-listed
		{"gen_ai.usage.output_tokens", false},
		{"http.request.body.size", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := m.KeyMatches(tt.key); got != tt.masked {
				t.Fatalf("KeyMatches(%q) = %v, want %v", tt.key, got, tt.masked)
			}
			kv, changed := m.KeyValue(attribute.String(tt.key, "hunter2"))
			if changed != tt.masked {
				t.Fatalf("KeyValue changed = %v, want %v", changed, tt.masked)
			}
			want := "hunter2"
			if tt.masked {
				want = maskattr.DefaultMask
			}
			if kv.Value.AsString() != want || kv.Key != attribute.Key(tt.key) {
				t.Fatalf("got %v, want %s=%s", kv, tt.key, want)
			}
		})
	}
}

func TestKeyRuleMasksEveryType(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	for _, kv := range []attribute.KeyValue{
		attribute.Int("session_count", 3),
		attribute.Bool("password_set", true),
		attribute.StringSlice("tokens", []string{"a", "b"}),
		attribute.Float64("secret_ratio", 0.5),
	} {
		got, changed := m.KeyValue(kv)
		if !changed || got.Value.AsString() != maskattr.DefaultMask {
			t.Errorf("%s: got %v (changed %v), want the mask", kv.Key, got.Value.Emit(), changed)
		}
	}
}

func TestCustomRulesLikePythonLibrary(t *testing.T) {
	// The Python library's test: keys "key", "password", "secret" with mask
	// THIS_IS_MASK, configured in mixed case (it forgot to lower-case these).
	m := mustNew(t, maskattr.Rules{KeyHas: []string{"Key", "PASSWORD", "secret"}, MaskWith: "THIS_IS_MASK"})
	in := []attribute.KeyValue{
		attribute.String("KeyName", "v1"),
		attribute.String("my_password", "v2"),
		attribute.String("Secret", "v3"),
		attribute.String("token", "v4"), // not in this custom list
	}
	out, n := m.Attributes(in)
	if n != 3 {
		t.Fatalf("masked %d, want 3", n)
	}
	want := []string{"THIS_IS_MASK", "THIS_IS_MASK", "THIS_IS_MASK", "v4"}
	for i, kv := range out {
		if kv.Value.AsString() != want[i] {
			t.Errorf("%s = %q, want %q", kv.Key, kv.Value.AsString(), want[i])
		}
	}
	if in[0].Value.AsString() != "v1" {
		t.Fatal("Attributes wrote into its input")
	}
}

func TestMaskingDisabled(t *testing.T) {
	m := mustNew(t, maskattr.Rules{KeyHas: []string{}, DisableAuthRule: true})
	in := []attribute.KeyValue{
		attribute.String("password", "hunter2"),
		attribute.String("exception.message", "login failed: password=hunter2"),
	}
	out, n := m.Attributes(in)
	if n != 0 || out[0].Value.AsString() != "hunter2" || out[1].Value.AsString() != "login failed: password=hunter2" {
		t.Fatalf("masking disabled changed %d values: %v", n, out)
	}
}

func TestAllowKeysConfigurable(t *testing.T) {
	m := mustNew(t, maskattr.Rules{AllowKeys: []string{"app.session_count"}})
	if m.KeyMatches("app.session_count") {
		t.Error("allow-listed key masked")
	}
	if !m.KeyMatches("gen_ai.usage.input_tokens") {
		t.Error("a custom allow-list replaces the default one, so this key should be masked")
	}
}

func TestNewRejectsEmptySubstring(t *testing.T) {
	_, err := maskattr.New(maskattr.Rules{KeyHas: []string{"password", " "}})
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("err = %v, want an error about the empty substring", err)
	}
}

func TestValueRules(t *testing.T) {
	const M = maskattr.DefaultMask
	tests := []struct {
		name, in, want string
	}{
		{"query param", "https://api.example.com/v1?token=abc123&page=2", "https://api.example.com/v1?token=" + M + "&page=2"},
		{"query param case", "/login?Session_ID=s3cr3t#top", "/login?Session_ID=" + M + "#top"},
		{"bare query", "page=2&api_key=k-123", "page=2&api_key=" + M},
		{"userinfo", "postgres://admin:hunter2@db:5432/app", "postgres://admin:" + M + "@db:5432/app"},
		{"userinfo no password", "https://user@example.com/", "https://user@example.com/"},
		{"bearer", "Authorization header was Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "Authorization header was Bearer " + M},
		{"basic", "got basic dXNlcjpwYXNzd29yZA== from client", "got basic " + M + " from client"},
		{"header pair", "Authorization: Bearer abcdefgh12345", "Authorization: " + M},
		{"prose basic", "basic auth failed", "basic auth failed"},
		{"prose bearer", "bearer token expired", "bearer token expired"},
		{"text equals", "login failed for bob: password=hunter2 retry", "login failed for bob: password=" + M + " retry"},
		{"text colon", "config error: secret: s3cr3t, other: x", "config error: secret: " + M + ", other: x"},
		{"json", `{"user":"bob","password":"hunter 2"}`, `{"user":"bob","password":"` + M + `"}`},
		{"spaces", "db_passwd = 'hunter2'", "db_passwd = '" + M + "'"},
		{"file line", "\t/app/auth/token.go:42 +0x1d", "\t/app/auth/token.go:42 +0x1d"},
		{"host port", "dial tcp session-store:6379: refused", "dial tcp session-store:6379: refused"},
		{"nothing", "sql: no rows in result set", "sql: no rows in result set"},
		{"two", "token=a1&secret=b2", "token=" + M + "&secret=" + M},
	}
	m := mustNew(t, maskattr.Rules{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := m.String(tt.in)
			if got != tt.want {
				t.Fatalf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if changed != (tt.in != tt.want) {
				t.Fatalf("changed = %v", changed)
			}
			again, changedAgain := m.String(got)
			if again != got || changedAgain {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestValueRulesSwitches(t *testing.T) {
	in := "GET https://u:pw1234567@h/x?token=t1 failed: password=p1, Bearer abcdefgh123"
	tests := []struct {
		name  string
		rules maskattr.Rules
		kept  []string
		gone  []string
	}{
		{"all on", maskattr.Rules{}, nil, []string{"pw1234567", "t1", "p1", "abcdefgh123"}},
		{"no url", maskattr.Rules{DisableURLRule: true}, []string{"pw1234567"}, []string{"t1", "p1", "abcdefgh123"}},
		{"no auth", maskattr.Rules{DisableAuthRule: true}, []string{"abcdefgh123"}, []string{"pw1234567", "t1", "p1"}},
		{"no text", maskattr.Rules{DisableTextRule: true}, []string{"p1"}, []string{"pw1234567", "t1", "abcdefgh123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := mustNew(t, tt.rules).String(in)
			for _, s := range tt.kept {
				if !strings.Contains(got, s) {
					t.Errorf("%q was masked in %q", s, got)
				}
			}
			for _, s := range tt.gone {
				if strings.Contains(got, s) {
					t.Errorf("%q survived in %q", s, got)
				}
			}
		})
	}
}

func TestNestedValues(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	kv := attribute.KeyValue{Key: "http.request.body", Value: attribute.MapValue(
		attribute.String("user", "bob"),
		attribute.String("password", "hunter2"),
		attribute.KeyValue{Key: "nested", Value: attribute.SliceValue(
			attribute.StringValue("x?token=abc123"),
			attribute.MapValue(attribute.String("client_secret", "s3")),
		)},
	)}
	got, changed := m.KeyValue(kv)
	if !changed {
		t.Fatal("nothing masked")
	}
	s := got.Value.Emit()
	for _, secret := range []string{"hunter2", "abc123", "s3"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q survived in %s", secret, s)
		}
	}
	if !strings.Contains(s, "bob") {
		t.Errorf("user name lost: %s", s)
	}
	slice, changed := m.KeyValue(attribute.StringSlice("http.request.header.x-forwarded-uri", []string{"/a", "/b?token=zzz"}))
	if !changed || slice.Value.AsStringSlice()[1] != "/b?token="+maskattr.DefaultMask || slice.Value.AsStringSlice()[0] != "/a" {
		t.Fatalf("string slice: %v", slice.Value.Emit())
	}
}

func TestEventsAndLinksCopyOnWrite(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	evs := []sdktrace.Event{
		{Name: "ok", Attributes: []attribute.KeyValue{attribute.String("a", "b")}},
		{Name: "exception", Attributes: []attribute.KeyValue{attribute.String("exception.message", "bad password=hunter2")}},
	}
	out, n := m.Events(evs)
	if n != 1 || strings.Contains(out[1].Attributes[0].Value.AsString(), "hunter2") || out[0].Name != "ok" {
		t.Fatalf("Events: n=%d %v", n, out)
	}
	if evs[1].Attributes[0].Value.AsString() != "bad password=hunter2" {
		t.Fatal("Events wrote into its input")
	}
	links := []sdktrace.Link{{Attributes: []attribute.KeyValue{attribute.String("auth_token", "x")}}}
	outLinks, n := m.Links(links)
	if n != 1 || outLinks[0].Attributes[0].Value.AsString() != maskattr.DefaultMask || links[0].Attributes[0].Value.AsString() != "x" {
		t.Fatalf("Links: %v", outLinks)
	}
	same, n := m.Events(evs[:1])
	if n != 0 || &same[0] != &evs[0] {
		t.Fatal("clean events were copied")
	}
}

func TestNoAllocationsWhenClean(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	attrs := cleanAttrs()
	allocs := testing.AllocsPerRun(100, func() {
		if _, n := m.Attributes(attrs); n != 0 {
			t.Fatal("masked a clean attribute")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per clean call, want 0", allocs)
	}
}

func TestConcurrentSafe(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				out, _ := m.Attributes(secretAttrs())
				for _, kv := range out {
					if strings.Contains(kv.Value.Emit(), "hunter2") {
						t.Error("secret survived")
						return
					}
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

func cleanAttrs() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/api/v1/orders/42"),
		attribute.String("http.route", "/api/v1/orders/{id}"),
		attribute.Int("http.response.status_code", 200),
		attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
	}
}

func secretAttrs() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.full", "https://api.example.com/x?access_token=hunter2"),
		attribute.String("db.password", "hunter2"),
		attribute.String("exception.message", "login failed: password=hunter2"),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer hunter2hunter2"}),
	}
}

func BenchmarkAttributes(b *testing.B) {
	m := mustNew(b, maskattr.Rules{})
	for _, bc := range []struct {
		name  string
		attrs []attribute.KeyValue
	}{{"clean", cleanAttrs()}, {"secrets", secretAttrs()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Attributes(bc.attrs)
			}
		})
	}
}

func BenchmarkStackTrace(b *testing.B) {
	m := mustNew(b, maskattr.Rules{})
	stack := strings.Repeat("github.com/acme/shop/orders.(*Service).Place(0xc000123456, {0x1, 0x2})\n\t/src/shop/orders/service.go:128 +0x1d5\n", 40)
	b.ReportAllocs()
	b.SetBytes(int64(len(stack)))
	for b.Loop() {
		m.String(stack)
	}
}

// The key cache compares content: a key whose bytes change under the same
// address (a zero-copy string over a reused buffer) is judged afresh.
func TestKeyCacheIsNeverWrong(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	buf := []byte("username")
	key := unsafe.String(&buf[0], len(buf))
	if m.KeyMatches(key) {
		t.Fatal("username masked")
	}
	copy(buf, "password")
	if !m.KeyMatches(key) {
		t.Fatal("the cache answered for the old content of a reused buffer")
	}
	// Many distinct keys: the cache fills, answers stay right.
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("field_%d", i)
		if m.KeyMatches(k) {
			t.Fatalf("%s masked", k)
		}
		if !m.KeyMatches(k + "_token") {
			t.Fatalf("%s_token not masked", k)
		}
	}
}

// Long values are remembered once found clean; a long value with a secret
// is masked every time it comes, and a clean one is left as it is.
func TestLongValuesRepeat(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	clean := strings.Repeat("github.com/acme/shop.handler(...)\n\t/src/shop/h.go:12\n", 10)
	dirty := clean + "password=hunter2\n"
	for i := range 3 {
		out, n := m.Attributes([]attribute.KeyValue{attribute.String("exception.stacktrace", clean), attribute.String("exception.message", dirty)})
		if n != 1 || out[0].Value.AsString() != clean || strings.Contains(out[1].Value.AsString(), "hunter2") {
			t.Fatalf("round %d: %d masked, %q", i, n, out[1].Value.AsString())
		}
	}
}
