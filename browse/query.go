package browse

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/errortracker/errortracker/exporter"
)

// Query-parameter names, shared by the pages and the API.
const (
	paramSearch      = "q"
	paramService     = "service"
	paramEnvironment = "env"
	paramType        = "type"
	paramStatus      = "status"
	paramRelease     = "release"
	paramNewRelease  = "new_in_release"
	paramSort        = "sort"
	paramPage        = "page"
	paramCursor      = "cursor"
	paramToken       = "token"
)

// parseGroupQuery reads the list's parameters. Every problem is reported,
// wrapped in exporter.ErrInvalid, for a 400.
func parseGroupQuery(v url.Values, pageSize int) (exporter.GroupQuery, error) {
	q := exporter.GroupQuery{
		Search:       v.Get(paramSearch),
		Service:      v.Get(paramService),
		Environment:  v.Get(paramEnvironment),
		Type:         v.Get(paramType),
		Status:       exporter.Status(v.Get(paramStatus)),
		Release:      v.Get(paramRelease),
		NewInRelease: v.Get(paramNewRelease),
		Sort:         exporter.Sort(v.Get(paramSort)),
		PageSize:     pageSize,
	}
	page, err := parsePage(v)
	if err != nil {
		return q, err
	}
	q.Page = page
	return q.Normalize()
}

func parsePage(v url.Values) (int, error) {
	s := v.Get(paramPage)
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: page %q: want a number from 1", exporter.ErrInvalid, s)
	}
	return n, nil
}

// withParam returns the query string of v with one parameter changed; an
// empty value removes it.
func withParam(v url.Values, key, value string) string {
	c := url.Values{}
	for k, vs := range v {
		if k != paramToken {
			c[k] = vs
		}
	}
	if value == "" {
		c.Del(key)
	} else {
		c.Set(key, value)
	}
	return c.Encode()
}

// badRequest reports whether err is the client's fault.
func badRequest(err error) bool { return errors.Is(err, exporter.ErrInvalid) }
