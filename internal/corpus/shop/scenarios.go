package shop

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/internal/corpus/capture"
	"github.com/errortracker/errortracker/scope"
)

// Scenario makes the occurrences of one error: the same place, the same
// reason, inputs that vary from one run to the next.
type Scenario struct {
	// Label says where the error is made and why; it is the group the
	// occurrences belong in, fixed here before any fingerprint runs.
	Label string
	// Service runs the scenario; "shop" unless set.
	Service string
	// Runs is how many occurrences it makes.
	Runs int
	// Vias are the ways of recording, taken in turn; all four unless set.
	Vias []capture.Via
	// Run makes occurrence i.
	Run func(ctx context.Context, s *Shop, i int)
}

// pick returns values[i] round the list.
func pick[T any](i int, values ...T) T { return values[i%len(values)] }

// serve runs a request through the shop's routes.
func (s *Shop) serve(ctx context.Context, method, target, body string, header ...string) {
	req := httptest.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	s.routes.ServeHTTP(httptest.NewRecorder(), req)
}

// newRoutes mounts the handlers the way instrumented services do: a server
// span named by the route, then package scope's middleware when errors are
// recorded through scope, else the shop's own recoverer.
func (s *Shop) newRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /cart": s.handleCart, "GET /checkout": s.handleCheckout, "POST /checkout": s.handleCheckout,
		"POST /order": s.handleOrder, "GET /profile": s.handleProfile, "GET /admin/": s.handleAdmin,
	} {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, span := s.tracer.Start(r.Context(), r.Pattern, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			var next http.Handler = recoverer(h)
			if capture.ViaOf(ctx) == capture.Scope {
				next = scope.Middleware(h)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		}))
	}
	return mux
}

// recoverer is the middleware most services write themselves.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				capture.Panic(r.Context(), v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// payOrder charges an order and records what went wrong.
func (s *Shop) payOrder(ctx context.Context, base string, id, answer int, timeout time.Duration) {
	if err := s.charge(ctx, base, id, answer, timeout); err != nil {
		capture.Error(ctx, err)
	}
}

// checkStock reads the stock of an item and records what went wrong.
func (s *Shop) checkStock(ctx context.Context, sku string) {
	if _, err := s.stock(ctx, sku); err != nil {
		capture.Error(ctx, err)
	}
}

// signIn checks a password and records a failure.
func (s *Shop) signIn(ctx context.Context, user, password string) {
	if err := login(user, password); err != nil {
		capture.Error(ctx, err)
	}
}

// scheduleDelivery reads a delivery date and records a bad one.
func (s *Shop) scheduleDelivery(ctx context.Context, date string) {
	if _, err := parseDeliveryDate(date); err != nil {
		capture.Error(ctx, fmt.Errorf("schedule delivery: %w", err))
	}
}

// reloadConfig reads a configuration file and records a failure.
func (s *Shop) reloadConfig(ctx context.Context, name string) {
	if _, err := s.loadConfig(name); err != nil {
		capture.Error(ctx, err)
	}
}

// confirm mails an order confirmation within d.
func (s *Shop) confirm(ctx context.Context, email string, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_ = s.notify(ctx, email)
}

// Scenarios returns the corpus's scenarios.
func Scenarios() []Scenario {
	return []Scenario{
		{Label: "orders.parseQuantity: quantity is not a number", Runs: 16, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", pick(i, "/cart", "/checkout")+"?qty="+pick(i, "abc", "1x", "", "two", "3.5", "%C2%BD", "7-"), "")
		}},
		{Label: "orders.parseQuantity: quantity out of range", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", pick(i, "/checkout", "/cart")+"?qty="+pick(i, "99999999999999999999", "-123456789012345678901"), "")
		}},
		{Label: "orders.decodeOrder: body is not JSON", Runs: 15, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"qty": }`, `{bad json}`, `not json`, `{"sku": "a" "qty": 1}`, `{"qty": 1`))
		}},
		{Label: "orders.decodeOrder: empty body", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", "")
		}},
		{Label: "orders.decodeOrder: quantity of the wrong JSON type", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"sku": "a", "qty": "two"}`, `{"qty": [1]}`, `{"qty": true}`, `{"qty": 1.5}`, `{"qty": {"n": 1}}`))
		}},
		{Label: "orders.decodeOrder: body too large", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", `{"sku": "`+strings.Repeat("x", 64+i)+`"}`)
		}},
		{Label: "orders.validateEmail: not an address", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d&email=%s", 1+i, pick(i, "bob", "alice.example.com", "x", "me-at-home")), "")
		}},
		{Label: "orders.validateItem: name is empty", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"qty": 0}`, `{"qty": 3}`, `{"sku": "", "qty": -2}`))
		}},
		{Label: "orders.validateItem: quantity is not positive", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", fmt.Sprintf(`{"sku": "SKU-%d", "qty": %d}`, i, -i))
		}},
		{Label: "orders.parseDeliveryDate: month out of range", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.scheduleDelivery(ctx, pick(i, "2026-13-01", "2026-14-07", "2027-00-12"))
		}},
		{Label: "orders.parseDeliveryDate: not a date", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.scheduleDelivery(ctx, pick(i, "tomorrow", "next week", "soon", "12/24"))
		}},
		{Label: "store.userName: no such user", Runs: 16, Run: func(ctx context.Context, s *Shop, i int) {
			if i%2 == 0 { // two call paths
				s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d", 101+i*7), "")
				return
			}
			s.serve(ctx, "POST", fmt.Sprintf("/checkout?user=%d", 500+i), "")
		}},
		{Label: "store.userName: database is closed", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d&maintenance=1", 1+i), "")
		}},
		{Label: "store.stock: quantity column holds text", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.checkStock(ctx, fmt.Sprintf("SKU-%d", 1000+i*37))
		}},
		{Label: "payments.charge: deadline exceeded", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.slow, 4000+i, 0, time.Duration(20+i)*time.Millisecond)
		}},
		{Label: "payments.charge: connection refused", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.refused, 4100+i, 0, time.Second)
		}},
		{Label: "payments.charge: payment service failed", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.payments, 4200+i, pick(i, 500, 502, 503), time.Second)
		}},
		{Label: "inventory.reserve: deadline exceeded", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("%s?reserve=%d", pick(i, "/cart", "/checkout"), 5+i), "") // two call paths
		}},
		{Label: "mailer.notify: deadline exceeded", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.confirm(ctx, fmt.Sprintf("customer%d@example.com", i), time.Duration(5+i)*time.Millisecond)
		}},
		{Label: "auth.login: wrong password", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.signIn(ctx, pick(i, "alice", "bob", "carol", "dave", "u1042"), "hunter2")
		}},
		{Label: "auth.requireAdmin: unauthenticated request (panic)", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", pick(i, "/admin/orders/", "/admin/users/", "/admin/refunds/")+fmt.Sprint(i), "")
		}},
		{Label: "config.loadConfig: file is missing", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.reloadConfig(ctx, fmt.Sprintf("app-%d.json", i))
		}},
		{Label: "config.loadConfig: file is not JSON", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			name := fmt.Sprintf("bad-%d.json", i)
			_ = os.WriteFile(filepath.Join(s.dir, name), []byte(pick(i, "port: 8080", "{port = 1}", "[1, 2")), 0o600)
			s.reloadConfig(ctx, name)
		}},
		{Label: "cart.cartTotal: line past the price list (panic)", Runs: 12, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("%s?line=%d", pick(i, "/cart", "/checkout"), 3+i), "") // two call paths
		}},
		{Label: "cart.applyCoupon: unknown coupon is nil (panic)", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", "/checkout?coupon="+pick(i, "FREE", "SAVE20", "XMAS"), "")
		}},
		{Label: "report.renderReport: report is nil (panic)", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/admin/report?report=%d", i), "", "X-Admin", "yes")
		}},
		{Label: "worker.processJob: payload is corrupt (panic)", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.processJob(ctx, 9000+i, nil)
		}},
		{Label: "checkout: slow checkout (message)", Runs: 6, Vias: []capture.Via{capture.Scope}, Run: func(ctx context.Context, s *Shop, i int) {
			capture.Message(ctx, fmt.Sprintf("checkout took %s for order %d", time.Duration(2000+i*137)*time.Millisecond, 77+i))
		}},
		{Label: "billing: store.userName: no such user", Service: "billing", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d", 300+i), "")
		}},
		{Label: "billing: payments.charge: connection refused", Service: "billing", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.refused, 8000+i, 0, time.Second)
		}},
	}
}
