package processor

import (
	"strings"
	"testing"
)

func TestParseCrash(t *testing.T) {
	for _, tc := range []struct {
		name, text, typ, msg, stackHas, stackHasNot string
	}{
		{"panic", "panic: boom\n\ngoroutine 7 [running]:\nmain.f()\n\t/a.go:1 +0x1\n\ngoroutine 1 [sleep]:\nmain.main()\n\t/a.go:2\n",
			"panic", "boom", "main.f", "main.main"},
		{"re-panic", "panic: first [recovered]\n\tpanic: second\n\ngoroutine 7 [running]:\nmain.f()\n\t/a.go:1\n",
			"panic", "first", "main.f", ""},
		{"fatal, message lost", "\ngoroutine 20 [running]:\ninternal/runtime/maps.fatal({0x1?})\n\t/p.go:1\nmain.g()\n\t/a.go:3\n",
			"fatal error", missingFatalLine, "main.g", ""},
		{"fatal, whole", "fatal error: concurrent map writes\n\ngoroutine 20 [running]:\nmain.g()\n\t/a.go:3\n",
			"fatal error", "concurrent map writes", "main.g", ""},
		{"throw", "\nruntime stack:\nruntime.throw({0x1?})\n\t/p.go:1\n\ngoroutine 1 gp=0x1 m=0 [running]:\nmain.r(...)\n\t/a.go:9\n",
			"fatal error", missingFatalLine, "main.r", "runtime.throw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, msg, stack := parseCrash(tc.text)
			if typ != tc.typ || msg != tc.msg || !strings.Contains(stack, tc.stackHas) || (tc.stackHasNot != "" && strings.Contains(stack, tc.stackHasNot)) {
				t.Errorf("got %q, %q\n%s", typ, msg, stack)
			}
		})
	}
}

func TestCrashReportInStderr(t *testing.T) {
	for in, want := range map[string]string{
		"log line\nfatal error: concurrent map writes\n\ngoroutine 1 [running]:\nmain.g()\n":                                          "fatal error: concurrent map writes\n\ngoroutine 1 [running]:\nmain.g()\n",
		"panic: boom\n\ngoroutine 1 [running]:\n":                                                                                     "panic: boom\n\ngoroutine 1 [running]:\n",
		"runtime: goroutine stack exceeds 1000-byte limit\nfatal error: stack overflow\n\nruntime stack:\n\ngoroutine 1 [running]:\n": "fatal error: stack overflow\n\nruntime stack:\n\ngoroutine 1 [running]:\n",
		"panic: in a log line, no stack\n":                                                                                            "",
		"exit status 1\n":                                                                                                             "",
	} {
		if got := string(crashReport([]byte(in))); got != want {
			t.Errorf("crashReport(%q) = %q, want %q", in, got, want)
		}
	}
}
