package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type issuedMap map[string]string

func (i issuedMap) Lookup(t string) (string, bool) { n, ok := i[t]; return n, ok }

const (
	secretA = "okta-secret-0123456789abcdefghijklmnop"
	secretB = "entra-secret-0123456789abcdefghijklmno"
)

func TestMiddleware(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	mw := New([]Token{{Name: "okta", Secret: secretA}, {Name: "entra", Secret: secretB}, {Name: "empty", Secret: ""}},
		Options{
			OnFailure: func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() },
			Issued:    issuedMap{"short-lived-token": "oauth:client1"},
		})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(TokenName(r.Context())))
	}))
	b64A := base64.StdEncoding.EncodeToString([]byte(secretA))
	tests := []struct {
		name      string
		headers   []string // Authorization header values; nil = none
		status    int
		who       string
		reason    string
		challenge string
	}{
		{name: "raw token", headers: []string{"Bearer " + secretA}, status: 200, who: "okta"},
		{name: "second token (rotation)", headers: []string{"Bearer " + secretB}, status: 200, who: "entra"},
		{name: "base64 form (HAS)", headers: []string{"Bearer " + b64A}, status: 200, who: "okta"},
		{name: "lower-case scheme", headers: []string{"bearer " + secretA}, status: 200, who: "okta"},
		{name: "upper-case scheme", headers: []string{"BEARER " + secretA}, status: 200, who: "okta"},
		{name: "extra spaces", headers: []string{"  Bearer   " + secretB + "  "}, status: 200, who: "entra"},
		{name: "tab separator", headers: []string{"Bearer\t" + secretB}, status: 200, who: "entra"},
		{name: "issued token", headers: []string{"Bearer short-lived-token"}, status: 200, who: "oauth:client1"},

		{name: "missing", status: 401, reason: ReasonMissing, challenge: `Bearer realm="p4scim"`},
		{name: "empty header", headers: []string{"  "}, status: 401, reason: ReasonMissing, challenge: `Bearer realm="p4scim"`},
		{name: "basic scheme", headers: []string{"Basic dXNlcjpwYXNz"}, status: 401, reason: ReasonScheme, challenge: `Bearer realm="p4scim"`},
		{name: "token without scheme (Okta non-token)", headers: []string{secretA}, status: 401, reason: ReasonScheme, challenge: `Bearer realm="p4scim"`},
		{name: "scheme only", headers: []string{"Bearer"}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "scheme and blanks", headers: []string{"Bearer   "}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "two tokens (HAS 'danger mouse')", headers: []string{"Bearer danger mouse"}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "two headers", headers: []string{"Bearer " + secretA, "Bearer " + secretB}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "control character", headers: []string{"Bearer " + secretA[:5] + "\x01" + secretA[6:]}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "huge token", headers: []string{"Bearer " + strings.Repeat("a", maxTokenLen+1)}, status: 401, reason: ReasonMalformed, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "wrong token", headers: []string{"Bearer " + secretA + "x"}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "prefix of a token", headers: []string{"Bearer " + secretA[:10]}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "same length, one byte off", headers: []string{"Bearer " + secretA[:len(secretA)-1] + "q"}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "base64 of base64 is not accepted", headers: []string{"Bearer " + base64.StdEncoding.EncodeToString([]byte(b64A))}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "URL-safe base64 is not the HAS form", headers: []string{"Bearer " + base64.RawURLEncoding.EncodeToString([]byte(secretA+"?>"))}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
		{name: "case matters in the token", headers: []string{"Bearer " + strings.ToUpper(secretA)}, status: 401, reason: ReasonInvalid, challenge: `Bearer realm="p4scim", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			reasons = nil
			mu.Unlock()
			req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
			for _, v := range tt.headers {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				if rec.Body.String() != tt.who {
					t.Fatalf("token name %q, want %q", rec.Body, tt.who)
				}
				if len(reasons) != 0 {
					t.Fatalf("OnFailure called on success: %v", reasons)
				}
				return
			}
			checkSCIMError(t, rec, 401)
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			for _, s := range []string{secretA, secretB, "dXNlcjpwYXNz", "danger", secretA[:10]} {
				if strings.Contains(rec.Body.String(), s) {
					t.Fatalf("body echoes the header (%q): %s", s, rec.Body)
				}
			}
			if len(reasons) != 1 || reasons[0] != tt.reason {
				t.Fatalf("reasons = %v, want [%s]", reasons, tt.reason)
			}
		})
	}
}

// checkSCIMError asserts the RFC 7644 §3.12 error form Okta and Entra expect.
func checkSCIMError(t *testing.T, rec *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	schemas, _ := body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("schemas = %v", body["schemas"])
	}
	if body["status"] != strconv.Itoa(status) {
		t.Fatalf("status = %#v, want the string %q", body["status"], strconv.Itoa(status))
	}
	if d, _ := body["detail"].(string); d == "" {
		t.Fatalf("no detail: %s", rec.Body)
	}
	if _, ok := body["scimType"]; ok {
		t.Fatalf("unexpected scimType: %s", rec.Body)
	}
	return body
}

func sha256Sum(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

func TestNoTokensRefusesEverything(t *testing.T) {
	h := New(nil, Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Fatal("handler reached without credentials")
	}))
	for _, hdr := range []string{"Bearer ", "Bearer x", "Bearer " + base64.StdEncoding.EncodeToString(nil)} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", hdr)
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Fatalf("%q: status %d", hdr, rec.Code)
		}
	}
}

func TestRealmOption(t *testing.T) {
	h := New(nil, Options{Realm: "corp"})(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="corp"` {
		t.Fatalf("challenge %q", got)
	}
}

// TestMatchScansEveryCredential exercises the constant-time path directly:
// the comparison runs over all credentials, a hit on the last one is found,
// the first hit wins when two tokens share a secret, and tokens of every
// length (shorter, equal, longer) are compared as digests.
func TestMatchScansEveryCredential(t *testing.T) {
	var toks []Token
	for _, n := range []string{"a", "b", "c", "d"} {
		toks = append(toks, Token{Name: n, Secret: strings.Repeat(n, 40)})
	}
	toks = append(toks, Token{Name: "dup", Secret: strings.Repeat("d", 40)})
	var creds []credential
	mwCreds := func() []credential {
		creds = creds[:0]
		for _, t := range toks {
			c := credential{name: t.Name}
			c.raw = sha256Sum(t.Secret)
			c.b64 = sha256Sum(base64.StdEncoding.EncodeToString([]byte(t.Secret)))
			creds = append(creds, c)
		}
		return creds
	}()
	tests := []struct {
		token string
		name  string
		ok    bool
	}{
		{strings.Repeat("a", 40), "a", true},
		{strings.Repeat("d", 40), "d", true}, // first of two equal secrets
		{base64.StdEncoding.EncodeToString([]byte(strings.Repeat("c", 40))), "c", true},
		{"", "", false},
		{strings.Repeat("a", 39), "", false},
		{strings.Repeat("a", 41), "", false},
		{strings.Repeat("e", 40), "", false},
	}
	for _, tt := range tests {
		name, ok := match(mwCreds, tt.token)
		if name != tt.name || ok != tt.ok {
			t.Errorf("match(%.8q…) = %q, %v; want %q, %v", tt.token, name, ok, tt.name, tt.ok)
		}
	}
}

// TestLimitFailure: only failed authentications are put to the failure
// limit; a limited one is a 429 with the Retry-After it gives, and a valid
// token is served whatever the limit says.
func TestLimitFailure(t *testing.T) {
	asked := 0
	mw := New([]Token{{Name: "okta", Secret: secretA}}, Options{
		LimitFailure: func(*http.Request) (int, bool) { asked++; return 7, true },
	})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	tests := []struct {
		name       string
		header     string
		status     int
		retryAfter string
		asked      int
	}{
		{"valid token, never asked", "Bearer " + secretA, 200, "", 0},
		{"wrong token, limited", "Bearer wrong-0123456789abcdefghijklmnopqrstuvwxyz", 429, "7", 1},
		{"no header, limited", "", 429, "7", 1},
		{"malformed, limited", "Bearer a b", 429, "7", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = 0
			req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retryAfter || asked != tt.asked {
				t.Fatalf("status %d Retry-After %q asked %d, want %d %q %d", rec.Code, rec.Header().Get("Retry-After"), asked,
					tt.status, tt.retryAfter, tt.asked)
			}
			if tt.status == 429 && !strings.Contains(rec.Body.String(), `"status":"429"`) {
				t.Fatalf("not a SCIM error: %s", rec.Body)
			}
		})
	}
}
