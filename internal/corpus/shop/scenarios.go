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

// Scenario makes the occurrences of one error: the same root cause at the
// same place, inputs that vary from one run to the next, recorded one way,
// as a real service records an error at a given line every time.
type Scenario struct {
	// Label says where the error is met and why; it is the group the
	// occurrences belong in, fixed here before any fingerprint runs. The
	// rule: one bug is one root cause at one place, the place being the
	// function that met the error (that panicked, for a panic).
	Label string
	// Service runs the scenario; "shop" unless set.
	Service string
	// Runs is how many occurrences it makes.
	Runs int
	// Via is the way the scenario's code records the error; package scope
	// unless set.
	Via capture.Via
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

// Scenarios returns the corpus's scenarios. Their labels were written
// with the code, before grouping ran on their events.
func Scenarios() []Scenario {
	return []Scenario{
		{Label: "handleCart: quantity is not a number", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", "/cart?qty="+pick(i, "abc", "1x", "", "two", "3.5", "%C2%BD", "7-"), "")
		}},
		{Label: "handleCheckout: quantity is not a number", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", "/checkout?qty="+pick(i, "x1", "", "seven", "2,5", "%E2%85%93"), "")
		}},
		{Label: "handleCheckout: quantity out of range", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", "/checkout?qty="+pick(i, "99999999999999999999", "-123456789012345678901"), "")
		}},
		{Label: "handleOrder: body is not JSON", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"qty": }`, `{bad json}`, `not json`, `{"sku": "a" "qty": 1}`, `{"qty": 1`))
		}},
		{Label: "handleOrder: empty body", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", "")
		}},
		{Label: "handleOrder: quantity of the wrong JSON type", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"sku": "a", "qty": "two"}`, `{"qty": [1]}`, `{"qty": true}`, `{"qty": 1.5}`, `{"qty": {"n": 1}}`))
		}},
		{Label: "handleOrder: body too large", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", `{"sku": "`+strings.Repeat("x", 64+i)+`"}`)
		}},
		{Label: "handleProfile: e-mail is not an address", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d&email=%s", 1+i, pick(i, "bob", "alice.example.com", "x", "me-at-home")), "")
		}},
		{Label: "handleOrder: item name is empty", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", pick(i, `{"qty": 0}`, `{"qty": 3}`, `{"sku": "", "qty": -2}`))
		}},
		{Label: "handleOrder: quantity is not positive", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", "/order", fmt.Sprintf(`{"sku": "SKU-%d", "qty": %d}`, i, -i))
		}},
		{Label: "scheduleDelivery: month out of range", Runs: 6, Via: capture.RecordErrorStack, Run: func(ctx context.Context, s *Shop, i int) {
			s.scheduleDelivery(ctx, pick(i, "2026-13-01", "2026-14-07", "2027-00-12"))
		}},
		{Label: "scheduleDelivery: not a date", Runs: 6, Via: capture.RecordErrorStack, Run: func(ctx context.Context, s *Shop, i int) {
			s.scheduleDelivery(ctx, pick(i, "tomorrow", "next week", "soon", "12/24"))
		}},
		{Label: "handleProfile: no such user", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d", 101+i*7), "")
		}},
		{Label: "handleCheckout: no such customer", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "POST", fmt.Sprintf("/checkout?user=%d", 500+i), "")
		}},
		{Label: "handleProfile: database is closed", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d&maintenance=1", 1+i), "")
		}},
		{Label: "checkStock: quantity column holds text", Runs: 6, Via: capture.Slog, Run: func(ctx context.Context, s *Shop, i int) {
			s.checkStock(ctx, fmt.Sprintf("SKU-%d", 1000+i*37))
		}},
		{Label: "payOrder: payment deadline exceeded", Runs: 6, Via: capture.RecordError, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.slow, 4000+i, 0, time.Duration(20+i)*time.Millisecond)
		}},
		{Label: "payOrder: payment service refused the connection", Runs: 6, Via: capture.RecordError, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.refused, 4100+i, 0, time.Second)
		}},
		{Label: "payOrder: payment service failed", Runs: 9, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.payments, 4200+i, pick(i, 500, 502, 503), time.Second)
		}},
		{Label: "reserve: deadline exceeded", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("%s?reserve=%d", pick(i, "/cart", "/checkout"), 5+i), "") // two call paths
		}},
		{Label: "notify: deadline exceeded", Runs: 8, Via: capture.Slog, Run: func(ctx context.Context, s *Shop, i int) {
			s.confirm(ctx, fmt.Sprintf("customer%d@example.com", i), time.Duration(5+i)*time.Millisecond)
		}},
		{Label: "signIn: wrong password", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.signIn(ctx, pick(i, "alice", "bob", "carol", "dave", "u1042"), "hunter2")
		}},
		{Label: "requireAdmin: unauthenticated request (panic)", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", pick(i, "/admin/orders/", "/admin/users/", "/admin/refunds/")+fmt.Sprint(i), "")
		}},
		{Label: "reloadConfig: file is missing", Runs: 6, Via: capture.RecordErrorStack, Run: func(ctx context.Context, s *Shop, i int) {
			s.reloadConfig(ctx, fmt.Sprintf("app-%d.json", i))
		}},
		{Label: "reloadConfig: file is not JSON", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			name := fmt.Sprintf("bad-%d.json", i)
			_ = os.WriteFile(filepath.Join(s.dir, name), []byte(pick(i, "port: 8080", "{port = 1}", "[1, 2")), 0o600)
			s.reloadConfig(ctx, name)
		}},
		{Label: "cartTotal: line past the price list (panic)", Runs: 10, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("%s?line=%d", pick(i, "/cart", "/checkout"), 3+i), "") // two call paths
		}},
		{Label: "applyCoupon: unknown coupon is nil (panic)", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", "/checkout?coupon="+pick(i, "FREE", "SAVE20", "XMAS"), "")
		}},
		{Label: "renderReport: report is nil (panic)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/admin/report?report=%d", i), "", "X-Admin", "yes")
		}},
		{Label: "processJob: payload is corrupt (panic)", Runs: 6, Via: capture.Slog, Run: func(ctx context.Context, s *Shop, i int) {
			s.processJob(ctx, 9000+i, nil)
		}},
		{Label: "checkout: slow checkout (message)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			capture.Message(ctx, fmt.Sprintf("checkout took %s for order %d", time.Duration(2000+i*137)*time.Millisecond, 77+i))
		}},
		{Label: "billing: handleProfile: no such user", Service: "billing", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.serve(ctx, "GET", fmt.Sprintf("/profile?id=%d", 300+i), "")
		}},
		{Label: "billing: payOrder: payment service refused the connection", Service: "billing", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.payOrder(ctx, s.refused, 8000+i, 0, time.Second)
		}},

		// One sentinel, one type, one library failure met in two functions.
		{Label: "deleteAddress: not the owner", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.deleteAddress(ctx, pick(i, "dave", "erin", "frank", "u77"), i)
		}},
		{Label: "shareWishlist: not the owner", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.shareWishlist(ctx, pick(i, "gina", "dave", "hank"), 10+i)
		}},
		{Label: "updateProfile: text too long", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.updateProfile(ctx, strings.Repeat(pick(i, "bio ", "about me "), 11+i))
		}},
		{Label: "submitReview: text too long", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.submitReview(ctx, strings.Repeat(pick(i, "great ", "awful "), 9+i))
		}},
		{Label: "listOrders: page is not a number", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.listOrders(ctx, pick(i, "next", "2a", "last", ""))
		}},
		{Label: "listReviews: page is not a number", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.listReviews(ctx, pick(i, "first", "x", "1.0"))
		}},
		{Label: "readTemplate: template file is missing", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.readTemplate(ctx, fmt.Sprintf("%s-%d.html", pick(i, "invoice", "receipt"), i))
		}},
		{Label: "readPriceList: price list is missing", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.readPriceList(ctx, fmt.Sprintf("%s-%d.csv", pick(i, "eu", "us", "uk"), 2020+i))
		}},
		{Label: "quoteShipping: carrier refused the connection", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.quoteShipping(ctx, 700+i)
		}},
		{Label: "trackParcel: carrier refused the connection", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.trackParcel(ctx, 900+i*3)
		}},
		{Label: "receiveWebhook: body is not JSON", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.receiveWebhook(ctx, []byte(pick(i, `{"event": paid}`, `<xml/>`, `{"event" "x"}`)))
		}},
		{Label: "requestReturn: body is not JSON", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.requestReturn(ctx, []byte(pick(i, `{reason: broken}`, `[1,,2]`, `tru`)))
		}},

		// Two types with one text at one line.
		{Label: "redeem: promotion used before (the shop's sentinel)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.redeem(ctx, pick(i, "alice", "bob"), pick(i, "SPRING", "WELCOME5", "X2"))
		}},
		{Label: "redeem: promotion turned down by the partner (PromoError)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.redeem(ctx, pick(i, "carol", "dave"), pick(i, "PARTNER10", "P-42", "PROMO"))
		}},

		// Words that vary with the data, unquoted, at one place.
		{Label: "allocate: no warehouse for the region", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			s.allocate(ctx, pick(i, "north", "Lyon", "EU_WEST", "sud-ouest", "Tromsø"))
		}},

		// A capture helper shared by three sites; one site reached two ways.
		{Label: "syncStockLevels: partner feed too slow", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.syncStockLevels(ctx, 5+i)
		}},
		{Label: "syncExchangeRates: partner feed too slow", Runs: 8, Run: func(ctx context.Context, s *Shop, i int) {
			if i%2 == 0 {
				s.nightly(ctx, 5+i)
				return
			}
			s.syncNow(ctx, 5+i)
		}},
		{Label: "syncSupplierPrices: partner feed too slow", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.syncSupplierPrices(ctx, 5+i)
		}},

		// One callee failing at two steps with one sentinel, met at one line.
		{Label: "showAccount: no such customer", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.showAccount(ctx, 200+i*3)
		}},
		{Label: "showAccount: customer has no address", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			s.showAccount(ctx, 10+i)
		}},

		// Background jobs under Track.
		{Label: "rebuildSearchIndex: lock held (Track)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			capture.Track(ctx, s.rebuildSearchIndex)
		}},
		{Label: "purgeOldCarts: lock held (Track)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			capture.Track(ctx, s.purgeOldCarts)
		}},
		{Label: "recomputeRatings: write to a nil map (Track, panic)", Runs: 6, Run: func(ctx context.Context, s *Shop, i int) {
			capture.Track(ctx, s.recomputeRatings)
		}},
	}
}
