package limit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/time/rate"
)

// echo answers 200 with the body it read, so tests see what passed through.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(599)
		return
	}
	w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
	_, _ = w.Write(b)
})

// scimError asserts a SCIM error body with the given status and returns
// its detail.
func scimError(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var body struct {
		Schemas  []string
		Status   any
		Detail   string
		ScimType *string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	if len(body.Schemas) != 1 || body.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" ||
		body.Status != strconv.Itoa(status) || body.Detail == "" || body.ScimType != nil {
		t.Fatalf("not a SCIM error for %d: %s", status, rec.Body)
	}
	return body.Detail
}

// chunked hides the length of a reader from httptest.NewRequest, as a
// chunked request arrives.
type chunked struct{ io.Reader }

func TestMaxBody(t *testing.T) {
	h := MaxBody(10)(echo)
	tests := []struct {
		name    string
		body    io.Reader
		length  int64 // declared Content-Length; -1 unknown
		status  int
		through string
	}{
		{"declared, at the limit", strings.NewReader("0123456789"), 10, 200, "0123456789"},
		{"declared, over the limit", strings.NewReader("01234567890"), 11, 413, ""},
		{"declared huge, nothing read", iotest.ErrReader(errors.New("must not be read")), 1 << 40, 413, ""},
		{"chunked, at the limit", chunked{strings.NewReader("0123456789")}, -1, 200, "0123456789"},
		{"chunked, one byte over", chunked{strings.NewReader("01234567890")}, -1, 413, ""},
		{"chunked, far over", chunked{strings.NewReader(strings.Repeat("x", 1<<20))}, -1, 413, ""},
		{"chunked, empty", chunked{strings.NewReader("")}, -1, 200, ""},
		{"chunked, read error", chunked{iotest.ErrReader(errors.New("connection reset"))}, -1, 400, ""},
		{"no body", nil, 0, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/scim/v2/Users", tt.body)
			req.ContentLength = tt.length
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tt.status != 200 {
				d := scimError(t, rec, tt.status)
				if tt.status == 413 && !strings.Contains(d, "10 bytes") {
					t.Fatalf("detail does not state the limit: %q", d)
				}
				return
			}
			if rec.Code != 200 || rec.Body.String() != tt.through {
				t.Fatalf("%d %q, want the body %q passed through", rec.Code, rec.Body, tt.through)
			}
			if tt.length < 0 && rec.Header().Get("X-Content-Length") != strconv.Itoa(len(tt.through)) {
				t.Fatalf("ContentLength not set after buffering: %s", rec.Header().Get("X-Content-Length"))
			}
		})
	}
}

// TestMaxBodyOverHTTP sends a real chunked request through a server: the
// path the SCIM library would otherwise turn into a 400.
func TestMaxBodyOverHTTP(t *testing.T) {
	srv := httptest.NewServer(MaxBody(1024)(echo))
	defer srv.Close()
	for _, tt := range []struct {
		size   int
		status int
	}{{1024, 200}, {1025, 413}, {64 << 10, 413}} {
		req, _ := http.NewRequest("POST", srv.URL, chunked{bytes.NewReader(make([]byte, tt.size))})
		req.ContentLength = -1
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%d bytes: %v", tt.size, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%d bytes chunked: status %d, want %d", tt.size, resp.StatusCode, tt.status)
		}
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func get(h http.Handler, remote string, xff ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
	req.RemoteAddr = remote
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRatePerClient(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var mu sync.Mutex
	limited := 0
	h := Rate(RateOptions{
		Overall: 100, Burst: 100, PerClient: 0.5, ClientBurst: 2,
		Now: clk.Now, OnLimited: func() { mu.Lock(); limited++; mu.Unlock() },
	})(echo)
	const a, b = "10.0.0.1:1234", "10.0.0.2:1234"
	for i := range 2 {
		if c := get(h, a).Code; c != 200 {
			t.Fatalf("request %d within burst: %d", i, c)
		}
	}
	rec := get(h, a)
	d := scimError(t, rec, 429)
	// One token per 2 s: the next comes in 2 s.
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After = %q, want 2", ra)
	}
	if d != "Too many requests; retry after 2 seconds." {
		t.Fatalf("detail %q", d)
	}
	// Per-client isolation: another client still has its burst.
	if c := get(h, b).Code; c != 200 {
		t.Fatalf("other client limited too: %d", c)
	}
	// Refused requests do not spend tokens: after 1.5 s the wait left is 0.5 s, rounded up to 1.
	clk.Add(1500 * time.Millisecond)
	rec = get(h, a)
	scimError(t, rec, 429)
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After = %q, want 1 (ceil, min 1)", ra)
	}
	clk.Add(500 * time.Millisecond)
	if c := get(h, a).Code; c != 200 {
		t.Fatalf("after waiting: %d", c)
	}
	if limited != 2 {
		t.Fatalf("OnLimited called %d times, want 2", limited)
	}
}

func TestRateOverall(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	h := Rate(RateOptions{Overall: 1, Burst: 3, PerClient: 100, ClientBurst: 100, Now: clk.Now})(echo)
	for i := range 3 {
		if c := get(h, "10.0.0."+strconv.Itoa(i)+":1").Code; c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	rec := get(h, "10.0.0.9:1")
	scimError(t, rec, 429)
	if rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	// The refused request gave its client token back: after the overall
	// bucket refills, that client's full burst is still there.
	clk.Add(time.Second)
	if c := get(h, "10.0.0.9:1").Code; c != 200 {
		t.Fatalf("after refill: %d", c)
	}
}

func TestRateDisabled(t *testing.T) {
	h := Rate(RateOptions{Overall: rate.Inf, PerClient: 0})(echo)
	for range 1000 {
		if c := get(h, "10.0.0.1:1").Code; c != 200 {
			t.Fatalf("disabled limiter refused: %d", c)
		}
	}
}

// TestRateUsesClientIP: with no ClientKey the peer address is the key, and
// a forged X-Forwarded-For from an untrusted peer does not buy a new bucket.
func TestRateUsesClientIP(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	h := Rate(RateOptions{PerClient: 1, ClientBurst: 1, Now: clk.Now})(echo)
	if c := get(h, "203.0.113.5:1000").Code; c != 200 {
		t.Fatal(c)
	}
	if c := get(h, "203.0.113.5:2000", "198.51.100.1").Code; c != 429 {
		t.Fatalf("spoofed XFF from an untrusted peer got a fresh bucket: %d", c)
	}
}

func TestClientTableEviction(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newLimiter(0, 0, 1, 2, clk.Now, 100)
	if l.idle != minIdle {
		t.Fatalf("idle = %v, want %v (refill time 2s raised to the minimum)", l.idle, minIdle)
	}
	// A flood from many addresses never grows the table past its bound.
	for i := range 1000 {
		l.allow("flood-" + strconv.Itoa(i))
	}
	if n := l.size(); n != 100 {
		t.Fatalf("table holds %d, want the bound 100", n)
	}
	// New clients share the overflow bucket meanwhile: it is limited too.
	if _, ok := l.allow("late-1"); ok {
		t.Fatal("overflow bucket not shared: the flood spent it")
	}
	// Once idle long enough (their buckets are full again) they are swept.
	clk.Add(minIdle)
	if _, ok := l.allow("after"); !ok {
		t.Fatal("new client refused after the sweep")
	}
	if n := l.size(); n != 1 {
		t.Fatalf("table holds %d after the sweep, want 1", n)
	}
	// An active client is kept while idle ones go.
	clk.Add(minIdle / 2)
	l.allow("after")
	clk.Add(minIdle / 2)
	l.allow("other")
	if n := l.size(); n != 2 {
		t.Fatalf("table holds %d, want the active client and the new one", n)
	}
	// Eviction loses nothing: a client that spent its burst is still
	// limited until its bucket has refilled, evicted or not.
	l2 := newLimiter(0, 0, 0.01, 1, clk.Now, 10)
	if l2.idle != 100*time.Second {
		t.Fatalf("idle = %v, want the 100s refill time", l2.idle)
	}
	l2.allow("x")
	if _, ok := l2.allow("x"); ok {
		t.Fatal("second request allowed")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {90 * time.Second, 90}, {-time.Second, 1}} {
		if got := retryAfter(tt.d); got != tt.want {
			t.Errorf("retryAfter(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.1.2.3/8")}
	key := ClientIP(trusted)
	none := ClientIP(nil)
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
		noProx string // with no trusted proxies
	}{
		{"plain peer", "198.51.100.7:1", nil, "198.51.100.7", "198.51.100.7"},
		{"spoofed XFF from untrusted peer ignored", "198.51.100.7:1", []string{"1.2.3.4"}, "198.51.100.7", "198.51.100.7"},
		{"trusted proxy", "192.0.2.10:1", []string{"1.2.3.4"}, "1.2.3.4", "192.0.2.10"},
		{"right-most untrusted wins over a forged left part", "192.0.2.10:1", []string{"6.6.6.6, 1.2.3.4, 192.0.2.11"}, "1.2.3.4", "192.0.2.10"},
		{"several header lines", "192.0.2.10:1", []string{"6.6.6.6", "1.2.3.4", "192.0.2.11"}, "1.2.3.4", "192.0.2.10"},
		{"garbage stops the walk at the last trusted hop", "192.0.2.10:1", []string{"1.2.3.4, garbage, 192.0.2.11"}, "192.0.2.11", "192.0.2.10"},
		{"garbage only", "192.0.2.10:1", []string{"garbage"}, "192.0.2.10", "192.0.2.10"},
		{"all trusted: the left-most", "192.0.2.10:1", []string{"192.0.2.12, 192.0.2.11"}, "192.0.2.12", "192.0.2.10"},
		{"empty XFF", "192.0.2.10:1", []string{""}, "192.0.2.10", "192.0.2.10"},
		{"entry with port", "192.0.2.10:1", []string{"1.2.3.4:5678"}, "1.2.3.4", "192.0.2.10"},
		{"IPv6 proxy and client", "[2001:db8::1]:443", []string{"2001:db8::2, 2600::1"}, "2600::1", "2001:db8::1"},
		{"IPv4-mapped peer is unmapped", "[::ffff:192.0.2.10]:1", []string{"1.2.3.4"}, "1.2.3.4", "192.0.2.10"},
		{"zone dropped", "[fe80::1%eth0]:1", nil, "fe80::1", "fe80::1"},
		{"non-IP remote address", "@unix", []string{"1.2.3.4"}, "@unix", "@unix"},
		{"unmasked prefix still matches", "10.9.9.9:1", []string{"1.2.3.4"}, "1.2.3.4", "10.9.9.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := key(req); got != tt.want {
				t.Errorf("trusted: got %s, want %s", got, tt.want)
			}
			if got := none(req); got != tt.noProx {
				t.Errorf("no proxies: got %s, want %s", got, tt.noProx)
			}
		})
	}
}
