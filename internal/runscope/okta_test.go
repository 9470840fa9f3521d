package runscope

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// oktaExport loads Okta's SPEC test from the shared folder next to the
// repository root, or skips.
func oktaExport(t *testing.T) *Suite {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "conformance", "okta-scim-2.0-spec-test.json")
	if _, err := os.Stat(path); err != nil {
		t.Skip("../shared not present: the Okta conformance export is only available in CI")
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const stubToken = "Bearer good-token"

// scimStub is a tiny in-memory SCIM 2.0 Users/Groups server. The fault
// flags break it in specific ways.
type scimStub struct {
	t *testing.T

	dupCreateOK      bool // a duplicate POST /Users answers 201 instead of 409
	totalAsString    bool // totalResults is "1" rather than 1
	groupsObject     bool // GET /Groups has totalResults 1 and Resources {}
	caseSensitive    bool // userName filter matches case-sensitively
	errorNoSchemas   bool // errors lack the Error URN
	numericErrStatus bool // "status": 404 (a number; still accepted)

	mu     sync.Mutex
	users  []map[string]any
	nextID int
	log    []string // method, path, decoded filter
}

var filterRe = regexp.MustCompile(`^userName eq "([^"]*)"$`)

func (s *scimStub) write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.t.Error(err)
	}
}

func (s *scimStub) fail(w http.ResponseWriter, code int, detail string) {
	e := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "detail": detail, "status": strconv.Itoa(code)}
	if s.errorNoSchemas {
		delete(e, "schemas")
	}
	if s.numericErrStatus {
		e["status"] = code
	}
	s.write(w, code, e)
}

func (s *scimStub) list(w http.ResponseWriter, res []any, start int) {
	body := map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(res), "startIndex": start, "itemsPerPage": len(res), "Resources": res,
	}
	if s.totalAsString {
		body["totalResults"] = strconv.Itoa(len(res))
	}
	s.write(w, 200, body)
}

func (s *scimStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, fmt.Sprintf("%s %s %s", r.Method, r.URL.Path, r.URL.Query().Get("filter")))
	// A real client never sends raw spaces or quotes.
	if strings.ContainsAny(r.URL.RawQuery, " \"") {
		s.t.Errorf("unencoded query %q", r.URL.RawQuery)
	}
	if r.Header.Get("Authorization") != stubToken {
		s.fail(w, 401, "Authorization failure")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	switch {
	case r.Method == "GET" && path == "/Users":
		if r.Header.Get("Accept") != "application/scim+json" || r.Header.Get("User-Agent") != "OKTA SCIM Integration" {
			s.t.Errorf("GET headers not sent: %v", r.Header)
		}
		var res []any
		filter := r.URL.Query().Get("filter")
		m := filterRe.FindStringSubmatch(filter)
		if filter != "" && m == nil {
			s.fail(w, 400, "unsupported filter "+filter)
			return
		}
		for _, u := range s.users {
			name := u["userName"].(string)
			if m == nil || name == m[1] || (!s.caseSensitive && strings.EqualFold(name, m[1])) {
				res = append(res, u)
			}
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		if start < 1 {
			start = 1
		}
		if c, err := strconv.Atoi(r.URL.Query().Get("count")); err == nil && c < len(res) {
			res = res[:c]
		}
		if res == nil {
			res = []any{}
		}
		s.list(w, res, start)
	case r.Method == "GET" && strings.HasPrefix(path, "/Users/"):
		id := strings.TrimPrefix(path, "/Users/")
		for _, u := range s.users {
			if u["id"] == id {
				s.write(w, 200, u)
				return
			}
		}
		s.fail(w, 404, "User "+id+" not found")
	case r.Method == "POST" && path == "/Users":
		if r.Header.Get("Content-Type") != "application/json" {
			s.t.Errorf("POST Content-Type %q", r.Header.Get("Content-Type"))
		}
		var u map[string]any
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			s.fail(w, 400, err.Error())
			return
		}
		name, _ := u["userName"].(string)
		for _, o := range s.users {
			if strings.EqualFold(o["userName"].(string), name) && !s.dupCreateOK {
				s.fail(w, 409, "userName already exists")
				return
			}
		}
		s.add(u)
		s.write(w, 201, u)
	case r.Method == "GET" && path == "/Groups":
		if s.groupsObject {
			s.write(w, 200, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
				"totalResults": 1, "Resources": map[string]any{}})
			return
		}
		s.list(w, []any{}, 1)
	default:
		s.fail(w, 404, "no route "+r.Method+" "+path)
	}
}

func (s *scimStub) add(u map[string]any) {
	s.nextID++
	u["id"] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", s.nextID)
	u["meta"] = map[string]any{"resourceType": "User"}
	s.users = append(s.users, u)
}

func newStub(t *testing.T, configure func(*scimStub), active bool) (*scimStub, *httptest.Server) {
	s := &scimStub{t: t}
	if configure != nil {
		configure(s)
	}
	s.add(map[string]any{
		"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "existing.user@example.com",
		"name":     map[string]any{"givenName": "Existing", "familyName": "User"},
		"emails":   []any{map[string]any{"value": "existing.user@example.com", "primary": true}},
		"active":   active,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func runOkta(t *testing.T, suite *Suite, baseURL string) Report {
	t.Helper()
	groups := suite.RequestIndex("GET", "{{SCIMBaseURL}}/Groups")
	if groups != 9 {
		t.Fatalf("GET /Groups is request %d, want 9", groups)
	}
	r := &Runner{
		BaseURL:   baseURL + "/scim/v2",
		Auth:      stubToken,
		Rand:      rand.New(rand.NewPCG(42, 42)),
		StepHooks: map[int]func(int, []byte) error{groups: CheckGroupsList},
	}
	rep := r.Run(context.Background(), suite)
	t.Logf("Okta SPEC test:\n%s", rep)
	if len(rep.Steps) != 12 {
		t.Fatalf("ran %d request steps, want 12", len(rep.Steps))
	}
	return rep
}

// TestOktaSPECAgainstGoodStub: every step of Okta's export passes against
// a correct server, also when the only existing user is inactive
// (not_empty on active=false must pass).
func TestOktaSPECAgainstGoodStub(t *testing.T) {
	suite := oktaExport(t)
	for _, active := range []bool{true, false} {
		t.Run(fmt.Sprintf("active=%v", active), func(t *testing.T) {
			stub, srv := newStub(t, nil, active)
			rep := runOkta(t, suite, srv.URL)
			if failed := rep.Failed(); len(failed) > 0 {
				t.Fatalf("%d steps failed:\n%s", len(failed), rep)
			}
			// The filter arrived decoded exactly as written.
			want := `GET /scim/v2/Users userName eq "abcdefgh@atko.com"`
			if stub.log[2] != want {
				t.Errorf("request 3 = %q, want %q", stub.log[2], want)
			}
			// The POST created the random user, and idUserOne was used.
			if len(stub.users) != 2 || rep.Variables["idUserOne"] != stub.users[1]["id"] ||
				!strings.HasPrefix(stub.users[1]["userName"].(string), "Runscope") {
				t.Errorf("created users %v, vars %v", stub.users, rep.Variables)
			}
			for _, s := range rep.Steps {
				if s.Index == 9 {
					if len(s.Skipped) != 1 || !strings.Contains(s.Skipped[0], "JavaScript script not evaluated") {
						t.Errorf("GET /Groups script not reported as skipped: %v", s.Skipped)
					}
				} else if len(s.Skipped) != 0 {
					t.Errorf("step %d skipped %v (the POST's blank script must not count)", s.Index+1, s.Skipped)
				}
			}
		})
	}
	// A numeric "status" in errors is also accepted ("401" equals 401).
	t.Run("numeric error status", func(t *testing.T) {
		_, srv := newStub(t, func(s *scimStub) { s.numericErrStatus = true }, true)
		if failed := runOkta(t, suite, srv.URL).Failed(); len(failed) > 0 {
			t.Fatalf("%d steps failed", len(failed))
		}
	})
}

// TestOktaSPECAgainstBrokenStubs: each fault is reported at exactly the
// steps and assertions it breaks.
func TestOktaSPECAgainstBrokenStubs(t *testing.T) {
	suite := oktaExport(t)
	type failure struct {
		step int // 1-based request number
		what string
	}
	tests := []struct {
		name      string
		configure func(*scimStub)
		want      []failure
	}{
		{"duplicate create accepted", func(s *scimStub) { s.dupCreateOK = true },
			[]failure{{8, "response_status equal_number 409 got 201"}}},
		{"totalResults as a string", func(s *scimStub) { s.totalAsString = true },
			// CheckGroupsList (stricter than Okta's script) also wants a number.
			[]failure{{1, "response_json totalResults is_a_number  got 1"}, {10, "hook go_hook  got error"}}},
		{"Groups Resources not an array", func(s *scimStub) { s.groupsObject = true },
			[]failure{{10, "hook go_hook  got error"}}},
		{"errors without the Error URN", func(s *scimStub) { s.errorNoSchemas = true },
			[]failure{
				{4, "response_json schemas has_value urn:ietf:params:scim:api:messages:2.0:Error got <absent>"},
				{11, "response_json schemas has_value urn:ietf:params:scim:api:messages:2.0:Error got <absent>"},
				{12, "response_json schemas has_value urn:ietf:params:scim:api:messages:2.0:Error got <absent>"},
			}},
		// Okta's step 9 only checks for a 200, so a case-sensitive server
		// passes it; the runner must not invent failures.
		{"case-sensitive userName", func(s *scimStub) { s.caseSensitive = true }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newStub(t, tt.configure, true)
			rep := runOkta(t, suite, srv.URL)
			var got []failure
			for _, s := range rep.Failed() {
				if s.Err != nil {
					got = append(got, failure{s.Index + 1, "error " + s.Err.Error()})
				}
				for _, a := range s.Assertions {
					if !a.Passed {
						got = append(got, failure{s.Index + 1, strings.TrimSpace(a.Source+" "+a.Property) + " " + a.Comparison + " " + a.Expected + " got " + a.Actual})
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("failures:\n got %v\nwant %v\n%s", got, tt.want, rep)
			}
			for _, f := range tt.want {
				line := strings.Split(rep.String(), "\n")[f.step-1]
				if !strings.HasPrefix(line, fmt.Sprintf("✗ %2d ", f.step)) {
					t.Errorf("report line for step %d: %s", f.step, line)
				}
			}
		})
	}
}

// TestOktaSPECWrongToken: with a wrong token every step but the 401 check
// fails, and the 401 check passes.
func TestOktaSPECWrongToken(t *testing.T) {
	suite := oktaExport(t)
	_, srv := newStub(t, nil, true)
	r := &Runner{BaseURL: srv.URL + "/scim/v2", Auth: "Bearer wrong"}
	rep := r.Run(context.Background(), suite)
	for _, s := range rep.Steps {
		if pass := s.Passed(); pass != (s.Index == 10) {
			t.Errorf("step %d passed=%v", s.Index+1, pass)
		}
	}
	// ISVUserid is never extracted, so step 2 cannot even be sent.
	if e := rep.Steps[1].Err; e == nil || !strings.Contains(e.Error(), "ISVUserid") {
		t.Errorf("step 2 error = %v", e)
	}
	if n := rep.Steps[0].Notes; len(n) != 1 || !strings.Contains(n[0], "ISVUserid") {
		t.Errorf("step 1 notes = %v", n)
	}
}
