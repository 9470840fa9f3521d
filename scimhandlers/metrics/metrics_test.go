package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestResource(t *testing.T) {
	tests := map[string]string{
		"/scim/v2/Users":                 "Users",
		"/scim/v2/Users/alice":           "Users",
		"/scim/v2/Groups/x%2Fy":          "Groups",
		"/scim/v2/ServiceProviderConfig": "ServiceProviderConfig",
		"/scim/v2/Bulk":                  "other",
		"/metrics":                       "other",
	}
	for path, want := range tests {
		if got := Resource(path); got != want {
			t.Errorf("Resource(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestMiddlewareRecordsStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{Version: "test"})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("{}")) // implicit 200, as the SCIM library does
	}))
	for _, p := range []string{"/scim/v2/Users/a", "/scim/v2/Users/missing", "/scim/v2/Users/b"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("Users", "GET", "200")); got != 2 {
		t.Fatalf("200s = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("Users", "GET", "404")); got != 1 {
		t.Fatalf("404s = %v, want 1", got)
	}
	m.Server("main").P4Command("user", "ok", 3*time.Millisecond)
	m.AuthFailure("invalid_token")
	m.RateLimited()
	m.Server("main").Provisioned("user", "created", 1)
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gather: %d, %v", n, err)
	}
	if got := testutil.ToFloat64(m.p4Commands.WithLabelValues("main", "user", "ok")); got != 1 {
		t.Fatalf("p4 commands = %v", got)
	}
}
