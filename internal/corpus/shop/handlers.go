package shop

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/errortracker/errortracker/internal/corpus/capture"
)

// handleCart shows a cart: quantities from the query, prices by line.
func (s *Shop) handleCart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if q.Has("qty") {
		if _, err := parseQuantity(q.Get("qty")); err != nil {
			capture.Error(ctx, err)
			http.Error(w, "bad quantity", http.StatusBadRequest)
			return
		}
	}
	if q.Has("line") {
		line, _ := strconv.Atoi(q.Get("line"))
		_ = cartTotal([]int{100, 250, 990}, []int{0, line})
	}
	if q.Has("reserve") {
		s.reserveWithin(w, r)
	}
}

// handleCheckout places an order: the same steps as the cart, and more.
func (s *Shop) handleCheckout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	switch {
	case q.Has("qty"):
		if _, err := parseQuantity(q.Get("qty")); err != nil {
			capture.Error(ctx, err)
			http.Error(w, "bad quantity", http.StatusBadRequest)
		}
	case q.Has("line"):
		line, _ := strconv.Atoi(q.Get("line"))
		_ = cartTotal([]int{100, 250}, []int{line})
	case q.Has("reserve"):
		s.reserveWithin(w, r)
	case q.Has("user"):
		id, _ := strconv.Atoi(q.Get("user"))
		if _, err := s.userName(ctx, s.db, id); err != nil {
			capture.Error(ctx, err)
			http.Error(w, "no such customer", http.StatusNotFound)
		}
	case q.Has("coupon"):
		total := cartTotal([]int{100}, []int{0})
		var c *coupon
		if q.Get("coupon") == "WELCOME10" {
			c = &coupon{percent: 10}
		}
		_ = applyCoupon(total, c)
	}
}

func (s *Shop) reserveWithin(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("reserve"))
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(ms)*time.Millisecond)
	defer cancel()
	if err := s.reserve(ctx, "SKU-1"); err != nil {
		http.Error(w, "out of time", http.StatusServiceUnavailable)
	}
}

// handleOrder takes an order as a JSON body.
func (s *Shop) handleOrder(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := decodeOrder(r)
	if err != nil {
		capture.Error(ctx, err)
		http.Error(w, "bad order", http.StatusBadRequest)
		return
	}
	if err := validateItem(o.SKU, o.Qty); err != nil {
		capture.Error(ctx, err)
		http.Error(w, "bad order", http.StatusBadRequest)
	}
}

// handleProfile shows a customer.
func (s *Shop) handleProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	db := s.db
	if r.URL.Query().Has("maintenance") {
		db = s.closedDB
	}
	if _, err := s.userName(ctx, db, id); err != nil {
		capture.Error(ctx, err)
		http.Error(w, "no such customer", http.StatusNotFound)
		return
	}
	if email := r.URL.Query().Get("email"); email != "" {
		if err := validateEmail(email); err != nil {
			capture.Error(ctx, err)
			http.Error(w, "bad e-mail", http.StatusBadRequest)
		}
	}
}

// handleAdmin shows the back office.
func (s *Shop) handleAdmin(w http.ResponseWriter, r *http.Request) {
	requireAdmin(r)
	if r.URL.Query().Has("report") {
		var rep *report
		_, _ = w.Write([]byte(renderReport(rep)))
	}
}
