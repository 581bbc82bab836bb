package grouping_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/errortracker/errortracker/grouping"
)

// The stacks under testdata/stacks are real: python-chained.txt is
// CPython 3.11's traceback.format_exc() of a RuntimeError raised from a
// json.JSONDecodeError, java-caused-by.txt OpenJDK 17's printStackTrace of
// an IllegalStateException caused in a stream lambda, nodejs.txt Node 20's
// error.stack of a TypeError thrown through a package in node_modules.
// dotnet-inner.txt is .NET's Exception.ToString() layout (an inner
// exception, async state machines, ASP.NET Core frames), written after
// traces published in issues; no .NET runtime runs here.
func readStack(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stacks", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDetectLanguage(t *testing.T) {
	for name, want := range map[string]grouping.Language{
		"python-chained.txt": grouping.Python,
		"java-caused-by.txt": grouping.Java,
		"nodejs.txt":         grouping.NodeJS,
		"dotnet-inner.txt":   grouping.DotNet,
	} {
		if got := grouping.DetectLanguage(readStack(t, name)); got != want {
			t.Errorf("%s: detected %q, want %q", name, got, want)
		}
	}
	goStack := "goroutine 7 [running]:\nmain.main()\n\t/src/shop/main.go:12 +0x25\n"
	if got := grouping.DetectLanguage(goStack); got != grouping.Go {
		t.Errorf("Go stack: detected %q", got)
	}
}

func TestParseFrames(t *testing.T) {
	for _, tc := range []struct {
		file  string
		lang  grouping.Language
		first []grouping.Frame // innermost first
		n     int
	}{
		{"python-chained.txt", grouping.Python, []grouping.Frame{
			{Function: "place", File: "/tmp/st/shop/orders.py", Line: 10},
			{Function: "handler", File: "/tmp/st/app.py", Line: 5},
			{Function: "<module>", File: "/tmp/st/app.py", Line: 7},
		}, 3},
		{"java-caused-by.txt", grouping.Java, []grouping.Frame{
			{Function: "com.acme.shop.Orders.place", File: "Orders.java", Line: 7},
			{Function: "com.acme.shop.Orders.lambda$main$1", File: "Orders.java", Line: 10},
		}, 3},
		{"nodejs.txt", grouping.NodeJS, []grouping.Frame{
			{Function: "check", File: "/tmp/st/node/orders.js", Line: 2},
			{Function: "Array.forEach", File: "<anonymous>"},
			{Function: "exports.each", File: "/tmp/st/node/node_modules/lib/index.js", Line: 1},
		}, 10},
		{"dotnet-inner.txt", grouping.DotNet, []grouping.Frame{
			{Function: "Shop.Services.OrderService.<PlaceAsync>d__4.MoveNext", File: `C:\src\Shop\Services\OrderService.cs`, Line: 36},
			{Function: "Shop.Controllers.OrdersController.Post", File: `C:\src\Shop\Controllers\OrdersController.cs`, Line: 18},
			{Function: "lambda_method5"},
		}, 7},
	} {
		stack := readStack(t, tc.file)
		for _, lang := range []grouping.Language{tc.lang, ""} {
			got := grouping.ParseFrames(lang, stack)
			if len(got) != tc.n || !reflect.DeepEqual(got[:len(tc.first)], tc.first) {
				t.Errorf("%s (%q): %d frames, first %+v", tc.file, lang, len(got), got[:min(len(got), len(tc.first))])
			}
		}
	}
}

// TestForeignPlaces checks that the app frames are chosen rightly: the
// basis names the innermost two application functions, never the
// standard library, site-packages, node_modules, java.* or System.*.
func TestForeignPlaces(t *testing.T) {
	g, err := grouping.New(grouping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, typ, message string
		lang               grouping.Language
		at                 string
	}{
		{"python-chained.txt", "RuntimeError", "order 4711 could not be parsed", grouping.Python, "shop/orders.py:place ← st/app.py:handler"},
		{"java-caused-by.txt", "java.lang.IllegalStateException", "order 4711 failed", grouping.Java, "com.acme.shop.Orders.place ← com.acme.shop.Orders.main"},
		{"nodejs.txt", "TypeError", "order 4711 has no items", grouping.NodeJS, "node/orders.js:check ← node/orders.js:place"},
		{"dotnet-inner.txt", "System.InvalidOperationException", "Order 4711 could not be placed", grouping.DotNet, "Shop.Services.OrderService.PlaceAsync ← Shop.Controllers.OrdersController.Post"},
	} {
		stack := readStack(t, tc.file)
		for _, lang := range []grouping.Language{tc.lang, ""} {
			fp, basis := g.Group(grouping.Exception{Service: "shop", Type: tc.typ, Message: tc.message, Stacktrace: stack, Language: lang})
			if !strings.HasSuffix(basis, ", at "+tc.at) {
				t.Errorf("%s (%q): basis %q, want the place %q", tc.file, lang, basis, tc.at)
			}
			// Another deploy: another root directory, other line numbers, other ids: the same group.
			moved := strings.NewReplacer("/tmp/st/", "/srv/deploy-2/st/", "4711", "99", "line 36", "line 40", ":7)", ":9)", `C:\src\`, `D:\build\`).Replace(stack)
			fp2, _ := g.Group(grouping.Exception{Service: "shop", Type: tc.typ, Message: strings.ReplaceAll(tc.message, "4711", "99"), Stacktrace: moved, Language: lang})
			if fp2 != fp {
				t.Errorf("%s (%q): a redeploy elsewhere changed the group", tc.file, lang)
			}
		}
	}
}

// TestLanguageFramesConfig: configured app prefixes narrow the app frames,
// configured libraries take frames out of them.
func TestLanguageFramesConfig(t *testing.T) {
	g, err := grouping.New(grouping.Config{Languages: map[grouping.Language]grouping.LanguageFrames{
		grouping.Python: {App: []string{"/tmp/st/shop/"}},
		grouping.Java:   {Library: []string{"com.acme.shop.Orders.place"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, basis := g.Group(grouping.Exception{Type: "RuntimeError", Stacktrace: readStack(t, "python-chained.txt")})
	if !strings.HasSuffix(basis, ", at shop/orders.py:place") {
		t.Errorf("python with App: %q", basis)
	}
	_, basis = g.Group(grouping.Exception{Type: "E", Stacktrace: readStack(t, "java-caused-by.txt")})
	if !strings.HasSuffix(basis, ", at com.acme.shop.Orders.main") {
		t.Errorf("java with Library: %q", basis)
	}
}
