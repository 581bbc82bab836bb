package browse

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// genericTypes are the exception types whose name says nothing of the
// error: errors.New's, and fmt.Errorf's and errors.Join's wrappers, which
// span.RecordError writes for a wrapped error.
var genericTypes = map[string]bool{
	"*errors.errorString": true,
	"*fmt.wrapError":      true,
	"*fmt.wrapErrors":     true,
	"*errors.joinError":   true,
}

// stdSentinels returns the texts of the standard library's sentinel
// errors, taken from the values themselves, longest first: "sql: no rows
// in result set" must be found whole, not as "no rows in result set".
func stdSentinels() []string {
	errs := []error{
		io.EOF, io.ErrUnexpectedEOF, io.ErrShortWrite, io.ErrShortBuffer, io.ErrNoProgress, io.ErrClosedPipe,
		sql.ErrNoRows, sql.ErrConnDone, sql.ErrTxDone, driver.ErrBadConn, driver.ErrSkip,
		fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrClosed, fs.ErrInvalid, os.ErrDeadlineExceeded,
		net.ErrClosed, http.ErrServerClosed, http.ErrHandlerTimeout, http.ErrNoCookie, http.ErrNoLocation,
		http.ErrBodyNotAllowed, http.ErrAbortHandler, http.ErrMissingFile, http.ErrUseLastResponse,
		bufio.ErrBufferFull, bufio.ErrNegativeCount, bufio.ErrTooLong, strconv.ErrSyntax, strconv.ErrRange,
		errors.ErrUnsupported, context.Canceled, context.DeadlineExceeded,
	}
	texts := make([]string, 0, len(errs))
	for _, err := range errs {
		texts = append(texts, err.Error())
	}
	// Longest first, so that a longer text wins over its own tail.
	for i := 1; i < len(texts); i++ {
		for j := i; j > 0 && len(texts[j]) > len(texts[j-1]); j-- {
			texts[j], texts[j-1] = texts[j-1], texts[j]
		}
	}
	return texts
}

// listTitle is what the list shows for a group: its type, unless the type
// is generic; then the text of the error at the end of the chain, which
// is what the group is — a standard library sentinel's whole text when the
// message ends with one, else what follows the last "context: " prefix the
// wrappers added, else the message itself. The group's page keeps the raw
// type.
func listTitle(typ, msg string, sentinels []string) string {
	if !genericTypes[typ] || msg == "" {
		return typ
	}
	for _, s := range sentinels {
		if msg == s || strings.HasSuffix(msg, ": "+s) {
			return s
		}
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}
