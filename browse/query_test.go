package browse

import (
	"errors"
	"net/url"
	"testing"

	"github.com/errortracker/errortracker/exporter"
)

// FuzzParseGroupQuery: any query string either parses into a query the
// store accepts, or fails with ErrInvalid (a 400); never a panic.
func FuzzParseGroupQuery(f *testing.F) {
	for _, s := range []string{"", "q=boom&page=2", "sort=count&status=resolved", "page=-1", "page=99999999999999999999",
		"sort=%00", "q=%3Cscript%3E&service=a&env=b&type=c", "status=open&status=resolved"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers these itself
		}
		q, err := parseGroupQuery(v, 20)
		if err != nil {
			if !errors.Is(err, exporter.ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", raw, err)
			}
			return
		}
		if _, err := q.Normalize(); err != nil {
			t.Fatalf("%q parsed into a query the store rejects: %v", raw, err)
		}
		if q.Page < 1 || q.PageSize != 20 {
			t.Fatalf("%q: page %d size %d", raw, q.Page, q.PageSize)
		}
	})
}

func TestWithParamDropsToken(t *testing.T) {
	v := url.Values{"q": {"x"}, "token": {"secret"}, "page": {"3"}}
	if got := withParam(v, "page", ""); got != "q=x" {
		t.Errorf("withParam = %q", got)
	}
}
