package grouping_test

import (
	"reflect"
	"testing"

	"github.com/errortracker/errortracker/grouping"
)

func TestFrames(t *testing.T) {
	sdk := "goroutine 7 [running]:\n" +
		"github.com/acme/shop/orders.(*Service).Place(0xc000123456, {0x1, 0x2})\n" +
		"\t/src/shop/orders/service.go:128 +0x1d5\n" +
		"main.main()\n" +
		"\t/src/shop/main.go:12 +0x25\n" +
		"created by net/http.(*Server).Serve in goroutine 1\n" +
		"\t/usr/local/go/src/net/http/server.go:3454 +0x485\n"
	ours := "github.com/acme/shop/orders.(*Service).Place(...)\n\t/src/shop/orders/service.go:128\n" +
		"main.main(...)\n\t/src/shop/main.go:12\n"
	want := []grouping.Frame{
		{Function: "github.com/acme/shop/orders.(*Service).Place", File: "/src/shop/orders/service.go", Line: 128},
		{Function: "main.main", File: "/src/shop/main.go", Line: 12},
	}
	for name, stack := range map[string]string{"sdk": sdk, "scope": ours} {
		if got := grouping.Frames(stack); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v", name, got)
		}
	}
	if got := grouping.Frames("github.com/x/y.F(0x1, 0x2, ...)"); len(got) != 1 || got[0].Function != "github.com/x/y.F" || got[0].File != "" {
		t.Errorf("cut stack: %+v", got)
	}
}

func TestAppPackages(t *testing.T) {
	app := grouping.AppPackages{"github.com/acme/shop"}
	for fn, want := range map[string]bool{
		"github.com/acme/shop/orders.(*Service).Place":           true,
		"github.com/acme/shop.handler":                           true,
		"github.com/acme/shop_test.TestX":                        true,
		"github.com/acme/shopping.F":                             false,
		"net/http.HandlerFunc.ServeHTTP":                         false,
		"main.main":                                              true,
		"github.com/errortracker/errortracker/scope.Track.func1": false,
	} {
		if got := app.Contains(fn); got != want {
			t.Errorf("Contains(%q) = %v, want %v", fn, got, want)
		}
	}
	var none grouping.AppPackages
	if !none.Contains("github.com/acme/lib.F") || none.Contains("runtime.gopanic") || none.Contains("go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).End") {
		t.Error("the fallback without a module")
	}
}

func TestAllFramesStopsWhenAsked(t *testing.T) {
	stack := "a.F()\n\t/a.go:1\nb.G()\n\t/b.go:2\nc.H()\n\t/c.go:3\n"
	var seen []string
	for fr := range grouping.AllFrames(stack) {
		seen = append(seen, fr.Function+":"+fr.File)
		if len(seen) == 2 {
			break
		}
	}
	if !reflect.DeepEqual(seen, []string{"a.F:/a.go", "b.G:/b.go"}) {
		t.Errorf("frames = %v", seen)
	}
}

func TestFoldMachinery(t *testing.T) {
	stack := "goroutine 7 [running]:\n" +
		"github.com/errortracker/errortracker/scope.(*middleware).ServeHTTP.func1(...)\n\t/src/scope/middleware.go:80\n" +
		"panic({0x1, 0x2})\n\t/go/src/runtime/panic.go:785 +0x132\n" +
		"runtime.panicIndex(...)\n\t/go/src/runtime/panic.go:115\n" +
		"example.com/shop.cartTotal(...)\n\t/src/shop/cart.go:12\n" +
		"go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).End(...)\n\t/x/span.go:1\n" +
		"example.com/shop.handler(...)\n\t/src/shop/h.go:3\n"
	got, n := grouping.FoldMachinery(stack)
	want := "goroutine 7 [running]:\nexample.com/shop.cartTotal(...)\n\t/src/shop/cart.go:12\nexample.com/shop.handler(...)\n\t/src/shop/h.go:3\n"
	if got != want || n != 4 {
		t.Errorf("folded %d frames:\n%s\nwant 4:\n%s", n, got, want)
	}
	if got, n := grouping.FoldMachinery("main.main()\n\t/m.go:1\n"); n != 0 || got != "main.main()\n\t/m.go:1\n" {
		t.Errorf("a stack without machinery changed: %q %d", got, n)
	}
}
