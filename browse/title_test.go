package browse_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
)

// The list names a group by what it is: the meaningful type, or, for an
// error whose type says nothing (errors.New's *errors.errorString, a
// fmt.Errorf wrapper), the sentinel's own text; the group's page keeps the
// raw type.
func TestListTitleOfAWrappedSentinel(t *testing.T) {
	s := newStore(t)
	now := time.Now().Add(-time.Minute)
	recs := []exporter.Record{
		record("sentinel", now, "load order 7: "+sql.ErrNoRows.Error()),
		record("appsentinel", now, "charge order 7: card declined"),
		record("wrapper", now, "charge order 7: card declined"),
		record("bare", now, "something went wrong"),
		record("typed", now, "order 42 failed"),
	}
	recs[0].Type, recs[1].Type, recs[2].Type, recs[3].Type = "*errors.errorString", "*errors.errorString", "*fmt.wrapError", "*errors.errorString"
	if err := s.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	c := newServer(t, s, withAuth(browse.Config{}))
	c.user, c.pass = "admin", "pw"
	_, body := c.get("/dev/error/")
	for fp, want := range map[string]string{
		"sentinel":    `<span class="type" title="*errors.errorString">sql: no rows in result set</span><span class="message">load order 7: sql: no rows in result set</span>`,
		"appsentinel": `<span class="type" title="*errors.errorString">card declined</span><span class="message">charge order 7: card declined</span>`,
		"wrapper":     `<span class="type" title="*fmt.wrapError">card declined</span><span class="message">charge order 7: card declined</span>`,
		"bare":        `<span class="type" title="*errors.errorString">something went wrong</span></a>`,
		"typed":       `<span class="type" title="*app.OrderError">*app.OrderError</span><span class="message">order 42 failed</span>`,
	} {
		row := body[strings.Index(body, `data-fingerprint="`+fp+`"`):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, want) {
			t.Errorf("%s: row lacks %s:\n%s", fp, want, row)
		}
	}
	if _, detail := c.get("/dev/error/sentinel"); !strings.Contains(detail, `<span class="type">*errors.errorString</span>`) {
		t.Errorf("the group's page lost the raw type")
	}
	_, api := c.get("/dev/error/api/exceptions")
	if !strings.Contains(api, `"title":"sql: no rows in result set"`) || !strings.Contains(api, `"type":"*errors.errorString"`) {
		t.Errorf("API: %s", api)
	}
}
