package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/errortracker/errortracker/internal/corpus/capture"
)

// This file holds the shop's code whose errors look alike from the outside:
// one sentinel, one type or one library failure met in several functions,
// two types with one text, and a capture helper shared by many sites. An
// engineer files each place apart.

// --- accounts: one sentinel met in two functions ---

var errNotOwner = errors.New("not the owner of this resource")

// authorize checks that user owns what owner names; both the address book
// and the wish lists call it, so the error reads the same from both.
func authorize(user, owner string) error {
	if user != owner {
		return fmt.Errorf("authorize %s: %w", user, errNotOwner)
	}
	return nil
}

// ownerOf returns who owns a numbered resource.
func ownerOf(id int) string { return pick(id, "alice", "bob", "carol") }

func (s *Shop) deleteAddress(ctx context.Context, user string, address int) {
	if err := authorize(user, ownerOf(address)); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) shareWishlist(ctx context.Context, user string, list int) {
	if err := authorize(user, ownerOf(list)); err != nil {
		capture.Error(ctx, err)
	}
}

// --- forms: one app error type from two forms ---

// LengthError says a text field is longer than its form allows.
type LengthError struct {
	Field string
	Max   int
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("field %s is longer than %d characters", e.Field, e.Max)
}

func checkLength(field, value string, max int) error {
	if utf8.RuneCountInString(value) > max {
		return &LengthError{Field: field, Max: max}
	}
	return nil
}

func (s *Shop) updateProfile(ctx context.Context, text string) {
	if err := checkLength("text", text, 40); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) submitReview(ctx context.Context, text string) {
	if err := checkLength("text", text, 40); err != nil {
		capture.Error(ctx, err)
	}
}

// --- listings: one library failure met in two functions ---

func (s *Shop) listOrders(ctx context.Context, page string) {
	if _, err := strconv.Atoi(page); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) listReviews(ctx context.Context, page string) {
	if _, err := strconv.Atoi(page); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) readTemplate(ctx context.Context, name string) {
	f, err := os.Open(filepath.Join(s.dir, "templates", name))
	if err != nil {
		capture.Error(ctx, err)
		return
	}
	_ = f.Close()
}

func (s *Shop) readPriceList(ctx context.Context, name string) {
	f, err := os.Open(filepath.Join(s.dir, "prices", name))
	if err != nil {
		capture.Error(ctx, err)
		return
	}
	_ = f.Close()
}

func (s *Shop) get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (s *Shop) quoteShipping(ctx context.Context, parcel int) {
	if err := s.get(ctx, fmt.Sprintf("%s/parcels/%d", s.refused, parcel)); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) trackParcel(ctx context.Context, parcel int) {
	if err := s.get(ctx, fmt.Sprintf("%s/parcels/%d", s.refused, parcel)); err != nil {
		capture.Error(ctx, err)
	}
}

type webhook struct {
	Event string `json:"event"`
}

func (s *Shop) receiveWebhook(ctx context.Context, body []byte) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		capture.Error(ctx, err)
	}
}

func (s *Shop) requestReturn(ctx context.Context, body []byte) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		capture.Error(ctx, err)
	}
}

// --- promotions: two types with one text at one line ---

var errPromoUsed = errors.New("promotion already used")

// PromoError is a promotion the partner's system turned down; it reads
// like the shop's own sentinel.
type PromoError struct {
	Code, Reason string
}

func (e *PromoError) Error() string { return e.Reason }

// applyPromo turns down codes used before in the shop (the sentinel) and
// codes the partner refuses (its own type), with the same words.
func applyPromo(code string) error {
	if code[0] == 'P' {
		return &PromoError{Code: code, Reason: "promotion already used"}
	}
	return errPromoUsed
}

func (s *Shop) redeem(ctx context.Context, user, code string) {
	if err := applyPromo(code); err != nil {
		capture.Error(ctx, fmt.Errorf("redeem %s for %s: %w", code, user, err))
	}
}

// --- warehouses: words that vary with the data, unquoted ---

func pickWarehouse(region string) error {
	return fmt.Errorf("no warehouse serves region %s", region)
}

func (s *Shop) allocate(ctx context.Context, region string) {
	if err := pickWarehouse(region); err != nil {
		capture.Error(ctx, err)
	}
}

// --- sync jobs: a capture helper shared by many sites ---

// report records a failed sync: the jobs below call it instead of the
// capture call.
func (s *Shop) report(ctx context.Context, err error) {
	capture.Error(ctx, err)
}

// syncFrom reads a partner's feed within d; the partner is too slow.
func (s *Shop) syncFrom(ctx context.Context, d int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d)*time.Millisecond)
	defer cancel()
	return s.get(ctx, s.slow+"/feed")
}

func (s *Shop) syncStockLevels(ctx context.Context, d int) {
	if err := s.syncFrom(ctx, d); err != nil {
		s.report(ctx, err)
	}
}

func (s *Shop) syncExchangeRates(ctx context.Context, d int) {
	if err := s.syncFrom(ctx, d); err != nil {
		s.report(ctx, err)
	}
}

func (s *Shop) syncSupplierPrices(ctx context.Context, d int) {
	if err := s.syncFrom(ctx, d); err != nil {
		s.report(ctx, err)
	}
}

// nightly runs the exchange-rate sync from the scheduler; the admin page
// runs it too, by hand.
func (s *Shop) nightly(ctx context.Context, d int) { s.syncExchangeRates(ctx, d) }

func (s *Shop) syncNow(ctx context.Context, d int) { s.syncExchangeRates(ctx, d) }

// --- background jobs run by Track ---

var errLockHeld = errors.New("lock held by another worker")

func (s *Shop) rebuildSearchIndex(ctx context.Context) error {
	return fmt.Errorf("rebuild search index: %w", errLockHeld)
}

func (s *Shop) purgeOldCarts(ctx context.Context) error {
	return fmt.Errorf("purge carts: %w", errLockHeld)
}

type ratings struct{ byProduct map[string]int }

// recomputeRatings writes into a map nobody made: it panics.
func (s *Shop) recomputeRatings(ctx context.Context) error {
	var r ratings
	r.byProduct["sku"]++
	return nil
}

// --- account page: one callee, two steps that end in one sentinel ---

func (s *Shop) address(ctx context.Context, user int) (string, error) {
	var line string
	if err := s.db.QueryRowContext(ctx, "SELECT line FROM addresses WHERE user = ?", int64(user)).Scan(&line); err != nil {
		return "", fmt.Errorf("load address of user %d: %w", user, err)
	}
	return line, nil
}

// accountPage loads a customer's name, then their address: an unknown
// customer and a customer without an address both end in sql.ErrNoRows.
func (s *Shop) accountPage(ctx context.Context, user int) error {
	if _, err := s.userName(ctx, s.db, user); err != nil {
		return err
	}
	_, err := s.address(ctx, user)
	return err
}

func (s *Shop) showAccount(ctx context.Context, user int) {
	if err := s.accountPage(ctx, user); err != nil {
		capture.Error(ctx, err)
	}
}
