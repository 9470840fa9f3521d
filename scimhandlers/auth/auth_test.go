package auth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type issued map[string]string

func (i issued) Lookup(t string) (string, bool) { n, ok := i[t]; return n, ok }

func TestMiddleware(t *testing.T) {
	secretA := "okta-secret-0123456789abcdefghijklmnop"
	secretB := "entra-secret-0123456789abcdefghijklmno"
	var reasons []string
	mw := New([]Token{{Name: "okta", Secret: secretA}, {Name: "entra", Secret: secretB}},
		Options{OnFailure: func(r string) { reasons = append(reasons, r) }, Issued: issued{"short-lived": "oauth:client1"}})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(TokenName(r.Context())))
	}))
	tests := []struct {
		name, header string
		status       int
		who, reason  string
	}{
		{"raw token", "Bearer " + secretA, 200, "okta", ""},
		{"second token (rotation)", "Bearer " + secretB, 200, "entra", ""},
		{"base64 form", "Bearer " + base64.StdEncoding.EncodeToString([]byte(secretA)), 200, "okta", ""},
		{"lower-case scheme and spaces", "  bearer   " + secretB + " ", 200, "entra", ""},
		{"issued token", "Bearer short-lived", 200, "oauth:client1", ""},
		{"missing", "", 401, "", "missing"},
		{"not bearer", "Basic dXNlcjpwYXNz", 401, "", "malformed"},
		{"okta non-token", "non-token", 401, "", "malformed"},
		{"empty token", "Bearer ", 401, "", "malformed"},
		{"wrong token", "Bearer " + secretA + "x", 401, "", "invalid_token"},
		{"prefix of a token", "Bearer " + secretA[:10], 401, "", "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reasons = nil
			req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status == 200 {
				if rec.Body.String() != tt.who {
					t.Fatalf("token name %q, want %q", rec.Body, tt.who)
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["status"] != "401" || body["detail"] == "" || rec.Header().Get("Content-Type") != "application/scim+json" {
				t.Fatalf("401 body: %s", rec.Body)
			}
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="p4scim"`) {
				t.Fatalf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
			}
			if strings.Contains(rec.Body.String(), secretA) {
				t.Fatal("token echoed")
			}
			if len(reasons) != 1 || reasons[0] != tt.reason {
				t.Fatalf("reasons = %v, want %s", reasons, tt.reason)
			}
		})
	}
}
