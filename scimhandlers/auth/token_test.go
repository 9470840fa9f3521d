package auth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
	if _, ok := e.Lookup(""); ok {
		t.Fatal("empty token found")
	}
}

// TestIssuedTokenAcrossReplicas: a token is verified by any endpoint built
// from the same clients (another replica, or the same one after a
// restart), and by none whose configuration no longer has its client or
// has changed that client's secret; the other clients' tokens stay valid.
func TestIssuedTokenAcrossReplicas(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	okta := Client{ID: clientID, Secret: clientSecret, Name: "okta"}
	entra := Client{ID: "entra", Secret: "entra-client-secret-0123456789abcdef"}
	issuer := NewTokenEndpoint([]Client{okta, entra}, 10*time.Minute, c.Now)
	oktaTok := issueToken(t, issuer)
	rec := tokenReq{body: form("grant_type", "client_credentials"), basicUser: entra.ID, basicPass: entra.Secret}.do(issuer)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("entra token: %d %s", rec.Code, rec.Body)
	}
	entraTok := body.AccessToken
	rotated := okta
	rotated.Secret = "rotated-client-secret-0123456789abcdef"
	renamed := okta
	renamed.ID = "okta-2"
	tests := []struct {
		name      string
		clients   []Client
		oktaName  string // "" = okta's token refused
		entraName string
	}{
		{"another replica, same configuration", []Client{okta, entra}, "okta", "oauth:entra"},
		{"clients listed in another order", []Client{entra, okta}, "okta", "oauth:entra"},
		{"client removed", []Client{entra}, "", "oauth:entra"},
		{"client secret rotated", []Client{rotated, entra}, "", "oauth:entra"},
		{"client id changed, same secret", []Client{renamed, entra}, "", "oauth:entra"},
		{"no clients", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replica := NewTokenEndpoint(tt.clients, 10*time.Minute, c.Now)
			for _, tok := range []struct{ token, want string }{{oktaTok, tt.oktaName}, {entraTok, tt.entraName}} {
				name, ok := replica.Lookup(tok.token)
				if ok != (tok.want != "") || name != tok.want {
					t.Errorf("Lookup = %q, %v; want %q", name, ok, tok.want)
				}
			}
		})
	}
	c.Add(10 * time.Minute)
	if _, ok := NewTokenEndpoint([]Client{okta, entra}, 10*time.Minute, c.Now).Lookup(oktaTok); ok {
		t.Fatal("an expired token is accepted by another replica")
	}
}

// TestForgedTokens: a JWT the endpoint did not sign as it signs its own
// is refused, whatever it claims.
func TestForgedTokens(t *testing.T) {
	e, c := newEndpoint(t)
	good := issueToken(t, e)
	key := e.clients[0].key
	now := c.Now()
	claims := func(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		cl := jwt.RegisteredClaims{Issuer: tokenIssuer, Subject: clientID, Audience: jwt.ClaimStrings{tokenAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}
		if mod != nil {
			mod(&cl)
		}
		return cl
	}
	sign := func(m jwt.SigningMethod, k any, cl jwt.RegisteredClaims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, cl).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(good, ".")
	otherSub := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"p4scim","sub":"entra","aud":["p4scim-scim"],"exp":1893456000}`))
	tests := []struct {
		name, token string
	}{
		{"control: signed as the endpoint signs", sign(jwt.SigningMethodHS256, key, claims(nil))},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
		{"HS512 with the right key", sign(jwt.SigningMethodHS512, key, claims(nil))},
		{"signed with the client secret itself", sign(jwt.SigningMethodHS256, []byte(clientSecret), claims(nil))},
		{"payload swapped for another client's", parts[0] + "." + otherSub + "." + parts[2]},
		{"signature cut", parts[0] + "." + parts[1] + "."},
		{"no expiry", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))},
		{"expired", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now) }))},
		{"other issuer", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "someone" }))},
		{"other audience", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"api"} }))},
		{"unknown client", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.Subject = "ghost" }))},
		{"another client's subject under this key", sign(jwt.SigningMethodHS256, key, claims(func(c *jwt.RegisteredClaims) { c.Subject = "entra" }))},
		{"not a JWT", "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := e.Lookup(tt.token)
			if control := strings.HasPrefix(tt.name, "control"); ok != control || (control && name != "okta") {
				t.Fatalf("Lookup = %q, %v", name, ok)
			}
		})
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
