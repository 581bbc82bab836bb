// Package shop is a small web shop written the way Go services are: wrapped
// errors, database/sql, JSON bodies, outgoing HTTP calls with deadlines,
// panics in helpers. Its scenarios make the exception events of the
// grouping corpus; each names, before anything is fingerprinted, where its
// error is made and why — the group an engineer would want.
package shop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/internal/corpus/capture"
)

// Shop holds the services the handlers use.
type Shop struct {
	db       *sql.DB
	closedDB *sql.DB
	payments string // base URL of the payment service
	slow     string // base URL of a service that answers too late
	refused  string // base URL nobody listens on
	client   *http.Client
	tracer   trace.Tracer
	dir      string
	routes   *http.ServeMux
}

// New starts the shop's fake neighbours; Close stops them.
func New(tracer trace.Tracer, dir string) (*Shop, func()) {
	payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("answer"))
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	closed := sql.OpenDB(memConnector{})
	_ = closed.Close()
	s := &Shop{
		db: sql.OpenDB(memConnector{}), closedDB: closed,
		payments: payments.URL, slow: slow.URL, refused: refusedURL,
		client: &http.Client{}, tracer: tracer, dir: dir,
	}
	s.routes = s.newRoutes()
	return s, func() {
		payments.Close()
		slow.Close()
		_ = s.db.Close()
	}
}

// Errors made by the shop.
var (
	errBadPassword = errors.New("wrong password")
	errJobCorrupt  = errors.New("job payload is corrupt")
	errNameEmpty   = errors.New("name is empty")
)

// ValidationError tells which field of an order is wrong.
type ValidationError struct {
	Field, Value, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid order: %s %q %s", e.Field, e.Value, e.Reason)
}

type order struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// --- orders ---

func parseQuantity(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("parse quantity %q: %w", s, err)
	}
	return n, nil
}

func decodeOrder(r *http.Request) (order, error) {
	var o order
	body := http.MaxBytesReader(nil, r.Body, 64)
	if err := json.NewDecoder(body).Decode(&o); err != nil {
		return o, fmt.Errorf("decode order: %w", err)
	}
	return o, nil
}

func validateEmail(email string) error {
	if !strings.Contains(email, "@") {
		return &ValidationError{Field: "email", Value: email, Reason: "is not an address"}
	}
	return nil
}

func validateItem(name string, qty int) error {
	var errs []error
	if name == "" {
		errs = append(errs, errNameEmpty)
	}
	if qty <= 0 {
		errs = append(errs, fmt.Errorf("quantity %d is not positive", qty))
	}
	return errors.Join(errs...)
}

func parseDeliveryDate(s string) (time.Time, error) {
	return time.Parse("2006-01-02", s)
}

// --- store ---

func (s *Shop) userName(ctx context.Context, db *sql.DB, id int) (string, error) {
	var name string
	if err := db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", int64(id)).Scan(&name); err != nil {
		return "", fmt.Errorf("load user %d: %w", id, err)
	}
	return name, nil
}

func (s *Shop) stock(ctx context.Context, sku string) (int, error) {
	var qty int
	if err := s.db.QueryRowContext(ctx, "SELECT qty FROM stock WHERE sku = ?", sku).Scan(&qty); err != nil {
		return 0, fmt.Errorf("read stock of %s: %w", sku, err)
	}
	return qty, nil
}

// --- payments ---

func (s *Shop) charge(ctx context.Context, base string, orderID, answer int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/charge?order=%d&answer=%d", base, orderID, answer), nil)
	if err != nil {
		return fmt.Errorf("charge order %d: %w", orderID, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("charge order %d: %w", orderID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("charge order %d: payment service answered %d %s", orderID, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// reserve holds stock for an order within the caller's deadline; it records
// its own failures on its own span and returns the context's bare error.
func (s *Shop) reserve(ctx context.Context, sku string) error {
	ctx, span := s.tracer.Start(ctx, "inventory.reserve")
	defer span.End()
	select {
	case <-ctx.Done():
		capture.Error(ctx, ctx.Err())
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}

// notify sends the confirmation mail within the caller's deadline; like
// reserve, it records the bare context error on its own span.
func (s *Shop) notify(ctx context.Context, email string) error {
	ctx, span := s.tracer.Start(ctx, "mailer.send")
	defer span.End()
	select {
	case <-ctx.Done():
		capture.Error(ctx, ctx.Err())
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}

// --- auth ---

func login(user, password string) error {
	if password != "correct horse" {
		return fmt.Errorf("login %s: %w", user, errBadPassword)
	}
	return nil
}

func requireAdmin(r *http.Request) {
	if r.Header.Get("X-Admin") == "" {
		panic("unauthenticated request to " + r.URL.Path)
	}
}

// --- config ---

func (s *Shop) loadConfig(name string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("load config %s: %w", name, err)
	}
	return cfg, nil
}

// --- cart, with the bugs that panic ---

func cartTotal(prices []int, lines []int) int {
	total := 0
	for _, l := range lines {
		total += prices[l] // a line may point past the price list
	}
	return total
}

type coupon struct{ percent int }

func applyCoupon(total int, c *coupon) int {
	return total - total*c.percent/100 // c is nil for an unknown code
}

type report struct{ rows []string }

func renderReport(r *report) string {
	return strings.Join(r.rows, "\n") // r is nil when the query failed
}

// --- worker ---

func (s *Shop) processJob(ctx context.Context, id int, payload []byte) {
	defer func() {
		if r := recover(); r != nil {
			capture.Panic(ctx, r)
		}
	}()
	if len(payload) == 0 {
		panic(fmt.Errorf("job %d: %w", id, errJobCorrupt))
	}
}
