package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	clientID     = "okta-prod"
	clientSecret = "client-secret-0123456789abcdefghij+/%"
)

func newEndpoint(t *testing.T) (*TokenEndpoint, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := NewTokenEndpoint([]Client{
		{ID: clientID, Secret: clientSecret, Name: "okta"},
		{ID: "entra", Secret: "entra-client-secret-0123456789abcdef"},
		{ID: "", Secret: "ignored-without-id-0123456789abcdef"},
	}, 10*time.Minute, c.Now)
	return e, c
}

type tokenReq struct {
	method      string
	contentType string
	body        string
	basicUser   string
	basicPass   string
	rawAuth     string
}

func (tr tokenReq) do(h http.Handler) *httptest.ResponseRecorder {
	method := tr.method
	if method == "" {
		method = "POST"
	}
	req := httptest.NewRequest(method, "/oauth/token", strings.NewReader(tr.body))
	ct := tr.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ct)
	if tr.basicUser != "" {
		req.SetBasicAuth(tr.basicUser, tr.basicPass)
	}
	if tr.rawAuth != "" {
		req.Header.Set("Authorization", tr.rawAuth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestTokenEndpoint(t *testing.T) {
	e, _ := newEndpoint(t)
	enc := url.QueryEscape
	tests := []struct {
		name   string
		req    tokenReq
		status int
		errc   string // OAuth error code; "" = success
		who    string
		basic  bool // a Basic challenge is expected
	}{
		{name: "form credentials", req: tokenReq{body: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", clientSecret)}, status: 200, who: "okta"},
		{name: "basic credentials, form-encoded per RFC 6749 2.3.1", req: tokenReq{body: form("grant_type", "client_credentials"), basicUser: enc(clientID), basicPass: enc(clientSecret)}, status: 200, who: "okta"},
		{name: "basic credentials, not encoded", req: tokenReq{body: form("grant_type", "client_credentials"), basicUser: "entra", basicPass: "entra-client-secret-0123456789abcdef"}, status: 200, who: "oauth:entra"},
		{name: "scope is ignored", req: tokenReq{body: form("grant_type", "client_credentials", "scope", "scim"), basicUser: "entra", basicPass: "entra-client-secret-0123456789abcdef"}, status: 200, who: "oauth:entra"},
		{name: "content type with charset", req: tokenReq{contentType: "application/x-www-form-urlencoded; charset=utf-8", body: form("grant_type", "client_credentials"), basicUser: "entra", basicPass: "entra-client-secret-0123456789abcdef"}, status: 200, who: "oauth:entra"},

		{name: "wrong secret (form)", req: tokenReq{body: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", "nope")}, status: 401, errc: "invalid_client"},
		{name: "wrong secret (basic)", req: tokenReq{body: form("grant_type", "client_credentials"), basicUser: clientID, basicPass: "nope"}, status: 401, errc: "invalid_client", basic: true},
		{name: "secret of another client", req: tokenReq{body: form("grant_type", "client_credentials", "client_id", "entra", "client_secret", clientSecret)}, status: 401, errc: "invalid_client"},
		{name: "client without id cannot log in", req: tokenReq{body: form("grant_type", "client_credentials", "client_id", "", "client_secret", "ignored-without-id-0123456789abcdef")}, status: 401, errc: "invalid_client"},
		{name: "no credentials", req: tokenReq{body: form("grant_type", "client_credentials")}, status: 401, errc: "invalid_client"},
		{name: "bearer header is not client auth", req: tokenReq{body: form("grant_type", "client_credentials"), rawAuth: "Bearer " + clientSecret}, status: 401, errc: "invalid_client"},
		{name: "both methods", req: tokenReq{body: form("grant_type", "client_credentials", "client_secret", clientSecret), basicUser: clientID, basicPass: clientSecret}, status: 400, errc: "invalid_request"},
		{name: "password grant", req: tokenReq{body: form("grant_type", "password", "client_id", clientID, "client_secret", clientSecret)}, status: 400, errc: "unsupported_grant_type"},
		{name: "missing grant_type", req: tokenReq{body: form("client_id", clientID, "client_secret", clientSecret)}, status: 400, errc: "invalid_request"},
		{name: "repeated parameter", req: tokenReq{body: form("grant_type", "client_credentials", "grant_type", "client_credentials", "client_id", clientID, "client_secret", clientSecret)}, status: 400, errc: "invalid_request"},
		{name: "JSON body", req: tokenReq{contentType: "application/json", body: `{"grant_type":"client_credentials"}`}, status: 400, errc: "invalid_request"},
		{name: "GET", req: tokenReq{method: "GET"}, status: 405, errc: "invalid_request"},
		{name: "oversized body", req: tokenReq{body: "grant_type=client_credentials&x=" + strings.Repeat("a", maxFormBytes)}, status: 400, errc: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.req.do(e)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q", cc)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(rec.Body.String(), clientSecret) {
				t.Fatal("secret echoed")
			}
			if tt.errc != "" {
				if body["error"] != tt.errc || body["error_description"] == "" {
					t.Fatalf("error body %s, want error %q", rec.Body, tt.errc)
				}
				if got := rec.Header().Get("WWW-Authenticate") != ""; got != tt.basic {
					t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			tok, _ := body["access_token"].(string)
			if len(tok) < 40 || body["token_type"] != "Bearer" || body["expires_in"] != float64(600) {
				t.Fatalf("token response %s", rec.Body)
			}
			if name, ok := e.Lookup(tok); !ok || name != tt.who {
				t.Fatalf("Lookup = %q, %v; want %q", name, ok, tt.who)
			}
		})
	}
}

func issueToken(t *testing.T, e *TokenEndpoint) string {
	t.Helper()
	rec := tokenReq{body: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", clientSecret)}.do(e)
	if rec.Code != 200 {
		t.Fatalf("issue: %d %s", rec.Code, rec.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body.AccessToken
}

// TestIssuedTokenThroughMiddleware: an issued token opens the SCIM API
// until it expires, then gets the ordinary invalid-token 401.
func TestIssuedTokenThroughMiddleware(t *testing.T) {
	e, c := newEndpoint(t)
	h := New([]Token{{Name: "static", Secret: secretA}}, Options{Issued: e})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(TokenName(r.Context())))
	}))
	tok := issueToken(t, e)
	call := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call(); rec.Code != 200 || rec.Body.String() != "okta" {
		t.Fatalf("fresh token: %d %s", rec.Code, rec.Body)
	}
	c.Add(10*time.Minute - time.Second)
	if rec := call(); rec.Code != 200 {
		t.Fatalf("token just before expiry: %d", rec.Code)
	}
	c.Add(time.Second)
	rec := call()
	if rec.Code != 401 {
		t.Fatalf("expired token: %d", rec.Code)
	}
	checkSCIMError(t, rec, 401)
	if e.Len() != 0 {
		t.Fatalf("expired token still held: %d", e.Len())
	}
	if _, ok := e.Lookup(""); ok {
		t.Fatal("empty token found")
	}
}

func TestTokenStoreIsBounded(t *testing.T) {
	e, c := newEndpoint(t)
	e.max = 5
	var toks []string
	for i := 0; i < 5; i++ {
		toks = append(toks, issueToken(t, e))
		c.Add(time.Second)
	}
	// Full: the next token pushes out the one closest to expiry.
	newest := issueToken(t, e)
	if e.Len() != 5 {
		t.Fatalf("len %d, want 5", e.Len())
	}
	if _, ok := e.Lookup(toks[0]); ok {
		t.Fatal("oldest token survived eviction")
	}
	for _, tok := range append(toks[1:], newest) {
		if _, ok := e.Lookup(tok); !ok {
			t.Fatal("a newer token was evicted")
		}
	}
	// After a TTL every old token is swept on the next issue.
	c.Add(11 * time.Minute)
	issueToken(t, e)
	if e.Len() != 1 {
		t.Fatalf("len %d after sweep, want 1", e.Len())
	}
}

func TestTokensAreUnique(t *testing.T) {
	e, _ := newEndpoint(t)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok := issueToken(t, e)
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
	}
}

func TestTokenEndpointDefaults(t *testing.T) {
	e := NewTokenEndpoint(nil, 0, nil)
	if e.ttl != DefaultTokenTTL || e.now == nil {
		t.Fatalf("defaults not applied: ttl %v", e.ttl)
	}
	rec := tokenReq{body: form("grant_type", "client_credentials", "client_id", "x", "client_secret", "y")}.do(e)
	if rec.Code != 401 {
		t.Fatalf("no clients: %d", rec.Code)
	}
}
