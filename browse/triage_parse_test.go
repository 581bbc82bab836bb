package browse

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// Every body the API takes becomes the change it names, and every bad one
// a 400 (ErrInvalid) that says what is wrong.
func TestParseActionBodies(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		act     action
		body    string
		want    exporter.Change
		into    string
		wantErr string
	}{
		{act: actResolve, body: ``, want: exporter.Change{Status: exporter.StatusResolved}},
		{act: actResolve, body: `{}`, want: exporter.Change{Status: exporter.StatusResolved}},
		{act: actResolve, body: `{"in_release": "next"}`, want: exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}},
		{act: actResolve, body: `{"in_release": "1.2.0"}`, wantErr: `in_release "1.2.0": want "next"`},
		{act: actResolve, body: `{"until": "2027-01-01T00:00:00Z"}`, wantErr: "until is not a field of resolve"},
		{act: actResolve, body: `{"in_relase": "next"}`, wantErr: `unknown field "in_relase"`},
		{act: actResolve, body: `{"in_release": "next"} {}`, wantErr: "more than one JSON value"},
		{act: actResolve, body: `[1]`, wantErr: "cannot unmarshal array"},
		{act: actReopen, body: ``, want: exporter.Change{Status: exporter.StatusOpen}},
		{act: actReopen, body: `{"into": "x"}`, wantErr: "into is not a field of reopen"},
		{act: actIgnore, body: `{}`, want: exporter.Change{Status: exporter.StatusIgnored}},
		{act: actIgnore, body: `{"until": "2026-12-01T09:00:00+01:00"}`,
			want: exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Until: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}}},
		{act: actIgnore, body: `{"count": 3}`, want: exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 3}}},
		{act: actIgnore, body: `{"rate": {"count": 100, "window": "1h"}}`,
			want: exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 100, Window: time.Hour}}}},
		{act: actIgnore, body: `{"count": 3, "until": "2027-01-01T00:00:00Z"}`, wantErr: "one condition at a time"},
		{act: actIgnore, body: `{"count": 0}`, wantErr: "count: want at least 1"},
		{act: actIgnore, body: `{"count": -1}`, wantErr: "cannot unmarshal number -1"},
		{act: actIgnore, body: `{"until": "tomorrow"}`, wantErr: `until "tomorrow": want an RFC 3339 time`},
		{act: actIgnore, body: `{"until": "2026-11-28T00:00:00Z"}`, wantErr: "that time has passed"},
		{act: actIgnore, body: `{"rate": {"count": 5, "window": "an hour"}}`, wantErr: `rate window "an hour": want a duration`},
		{act: actIgnore, body: `{"rate": {"count": 5}}`, wantErr: `rate window "": want a duration`},
		{act: actIgnore, body: `{"rate": {"count": 0, "window": "1h"}}`, wantErr: "rate count: want at least 1"},
		{act: actIgnore, body: `{"rate": {"count": 5, "window": "720h"}}`, wantErr: "want more than 0 and at most"},
		{act: actIgnore, body: `{"rate": {"count": 5, "window": "1h", "every": 2}}`, wantErr: `unknown field "every"`},
		{act: actIgnore, body: `{"in_release": "next"}`, wantErr: "in_release is not a field of ignore"},
		{act: actMerge, body: `{"into": "abc"}`, into: "abc"},
		{act: actMerge, body: `{}`, wantErr: "into: the fingerprint of the group to merge into is missing"},
		{act: actMerge, body: `{"into": "a\u0000b"}`, wantErr: "control character"},
		{act: actUnmerge, body: ``},
		{act: actUnmerge, body: `{"count": 1}`, wantErr: "count is not a field of unmerge"},
	} {
		t.Run(string(tc.act)+" "+tc.body, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			var b actionBody
			err := readJSON(w, r, &b)
			var o op
			if err == nil {
				o, err = parseOp(tc.act, b, now)
			}
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, exporter.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrInvalid saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.change != tc.want || o.into != tc.into || o.action != tc.act {
				t.Errorf("op %+v, want change %+v into %q", o, tc.want, tc.into)
			}
		})
	}
}

// The forms send what the API's bodies say: a datetime-local taken as
// UTC, counts as numbers, the rate as two fields.
func TestFormBody(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		act     action
		form    url.Values
		want    exporter.Change
		wantErr string
	}{
		{actResolve, url.Values{"token": {"x"}, "in_release": {"next"}}, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}, ""},
		{actIgnore, url.Values{"until": {"2026-12-24T18:30"}}, exporter.Change{Status: exporter.StatusIgnored,
			Ignore: exporter.Ignore{Until: time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC)}}, ""},
		{actIgnore, url.Values{"count": {" 25 "}}, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 25}}, ""},
		{actIgnore, url.Values{"rate_count": {"10"}, "rate_window": {"10m"}}, exporter.Change{Status: exporter.StatusIgnored,
			Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 10, Window: 10 * time.Minute}}}, ""},
		{actIgnore, url.Values{"count": {""}}, exporter.Change{}, `count "": want a whole number from 1`},
		{actIgnore, url.Values{"rate_count": {"x"}, "rate_window": {"1h"}}, exporter.Change{}, `rate count "x"`},
		{actIgnore, url.Values{"count": {"2"}, "rate_count": {"1"}, "rate_window": {"1h"}}, exporter.Change{}, "one condition at a time"},
	} {
		b, err := formBody(tc.form)
		var o op
		if err == nil {
			o, err = parseOp(tc.act, b, now)
		}
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, exporter.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.form, err, tc.wantErr)
			}
			continue
		}
		if err != nil || o.change != tc.want {
			t.Errorf("%v: %+v %v, want %+v", tc.form, o.change, err, tc.want)
		}
	}
}

func TestCheckFingerprints(t *testing.T) {
	fps, err := checkFingerprints([]string{"a", "b", "a"})
	if err != nil || strings.Join(fps, ",") != "a,b" {
		t.Errorf("duplicates: %v %v, want a,b once each", fps, err)
	}
	many := make([]string, exporter.MaxPageSize+1)
	for i := range many {
		many[i] = "fp" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
	}
	if _, err := checkFingerprints(many); err == nil || !strings.Contains(err.Error(), "at most 500 at once") {
		t.Errorf("%d groups: %v", len(many), err)
	}
	if _, err := checkFingerprints(nil); err == nil || !strings.Contains(err.Error(), "select at least one") {
		t.Errorf("none: %v", err)
	}
	if _, err := checkFingerprints([]string{"ok", ""}); !errors.Is(err, exporter.ErrInvalid) {
		t.Errorf("an empty fingerprint: %v", err)
	}
}

func TestDescribeIgnore(t *testing.T) {
	for _, tc := range []struct {
		i    exporter.Ignore
		want string
	}{
		{exporter.Ignore{}, "forever"},
		{exporter.Ignore{Count: 1}, "until 1 more occurrence"},
		{exporter.Ignore{Count: 3}, "until 3 more occurrences"},
		{exporter.Ignore{Until: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, "until 2026-12-01 09:00:00 UTC"},
		{exporter.Ignore{Rate: exporter.Rate{Count: 100, Window: time.Hour}}, "until 100 occurrences within 1h"},
		{exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: 90 * time.Minute}}, "until 5 occurrences within 1h30m"},
		{exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: 10 * time.Minute}}, "until 5 occurrences within 10m"},
	} {
		if got := describeIgnore(tc.i); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.i, got, tc.want)
		}
	}
	for _, d := range []time.Duration{time.Minute, 90 * time.Minute, 24 * time.Hour, 45 * time.Second} {
		if back, err := time.ParseDuration(windowText(d)); err != nil || back != d {
			t.Errorf("windowText(%s) = %q reads back as %s, %v", d, windowText(d), back, err)
		}
	}
}

// Who made a change: the hook, else the name BasicAuth checked, else api;
// never a Basic name nobody checked.
func TestActor(t *testing.T) {
	basic := BasicAuth("alice", "pw")
	req := func(user string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if user != "" {
			r.SetBasicAuth(user, "pw")
		}
		return withActorSlot(r)
	}
	r := req("alice")
	if !basic(r) || (Config{}).actor(r) != "alice" {
		t.Errorf("BasicAuth's user: %q", Config{}.actor(r))
	}
	r = req("mallory")
	if basic(r) || (Config{}).actor(r) != exporter.ActorAPI {
		t.Errorf("a user BasicAuth refused: %q", Config{}.actor(r))
	}
	r = req("mallory") // another authorizer let it through; the header proves nothing
	if got := (Config{}).actor(r); got != exporter.ActorAPI {
		t.Errorf("an unchecked Basic name: %q, want api", got)
	}
	hook := Config{Actor: func(r *http.Request) string { return r.Header.Get("X-Forwarded-User") }}
	r = req("")
	r.Header.Set("X-Forwarded-User", "bob\x00\n"+strings.Repeat("é", 200))
	if got := hook.actor(r); strings.ContainsAny(got, "\x00\n") || len(got) > maxActorBytes || !strings.HasPrefix(got, "bobé") {
		t.Errorf("the hook's name, cleaned: %q (%d bytes)", got, len(got))
	}
	if got := hook.actor(req("")); got != exporter.ActorAPI {
		t.Errorf("the hook says nothing: %q, want api", got)
	}
	if err := (exporter.Change{Status: exporter.StatusOpen, By: hook.actor(r)}).Validate(); err != nil {
		t.Errorf("the store refuses the cleaned name: %v", err)
	}
}
