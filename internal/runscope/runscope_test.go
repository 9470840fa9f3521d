package runscope

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	doc, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"a": "1", "b": "two", "loop": "{{a}}", "empty": ""}
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{"plain", "plain", ""},
		{"{{a}}", "1", ""},
		{"x{{a}}y{{b}}z", "x1ytwoz", ""},
		{"{{ a }}", "1", ""},
		{"{{empty}}", "", ""},
		{"{{loop}}", "{{a}}", ""}, // values are not substituted again
		{`{"n":"{{b}}"}`, `{"n":"two"}`, ""},
		{"{{missing}}", "", "missing"},
		{"{{a}}{{x}}{{y}}", "", `["x" "y"]`},
		{"{{}}", "", `[""]`},
		{"{{random_int(3)}}", "", "random_int(3)"},
		{"{single}", "{single}", ""},
	}
	for _, tt := range tests {
		got, err := Substitute(tt.in, vars)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Substitute(%q) error = %v, want one mentioning %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestProperty(t *testing.T) {
	doc := mustJSON(t, `{"Resources":[{"id":"u1","name":{"familyName":"F"},"emails":[{"value":"a@b"}],"active":false}],
		"n":1,"nul":null,"m":{"a.b":"dotted"},"nested":[[1,2],[3]]}`)
	found := []struct{ path, want string }{
		{"Resources[0].name.familyName", "F"},
		{"Resources[0].emails[0].value", "a@b"},
		{"Resources[0].active", "false"},
		{"Resources[0]['id']", "u1"},
		{"n", "1"},
		{"nul", ""},
		{`m["a.b"]`, "dotted"},
		{"nested[1][0]", "3"},
		{"nested[0]", "[1,2]"},
	}
	for _, tt := range found {
		v, ok, err := Property(doc, tt.path)
		if err != nil || !ok || StringOf(v) != tt.want {
			t.Errorf("Property(%s) = %v, %v, %v; want %q", tt.path, v, ok, err, tt.want)
		}
	}
	for _, path := range []string{"Resources[1].name", "nope", "n.x", "Resources[0].emails[5].value", "Resources.id", "m.a.b", "n[0]"} {
		if v, ok, err := Property(doc, path); ok || err != nil {
			t.Errorf("Property(%s) = %v, %v, %v; want absent", path, v, ok, err)
		}
	}
	for _, path := range []string{"a..b", ".a", "a.", "a[", "a[x]", "a[-1]", "a[0]b"} {
		if _, _, err := Property(doc, path); err == nil {
			t.Errorf("Property(%s): malformed path accepted", path)
		}
	}
	if v, ok, err := Property(doc, ""); err != nil || !ok || v == nil {
		t.Errorf("empty path should be the document")
	}
	if v, ok, _ := Property(mustJSON(t, `[{"id":"x"}]`), "[0].id"); !ok || v != "x" {
		t.Errorf("root array index: %v %v", v, ok)
	}
}

func TestCompare(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	arr := []any{"a", n("2"), true}
	obj := map[string]any{"k": "v", "num": n("7")}
	tests := []struct {
		cmp      string
		actual   any
		present  bool
		expected string
		want     bool
	}{
		// not_empty / empty
		{"not_empty", "x", true, "", true},
		{"not_empty", false, true, "", true}, // false is a value
		{"not_empty", n("0"), true, "", true},
		{"not_empty", "", true, "", false},
		{"not_empty", nil, true, "", false},
		{"not_empty", nil, false, "", false},
		{"not_empty", []any{}, true, "", false},
		{"not_empty", map[string]any{}, true, "", false},
		{"not_empty", arr, true, "", true},
		{"empty", "", true, "", true},
		{"empty", nil, false, "", true},
		{"empty", []any{}, true, "", true},
		{"empty", false, true, "", false},
		{"empty", "x", true, "", false},
		// equal / not_equal by string form
		{"equal", true, true, "true", true},
		{"equal", false, true, "true", false},
		{"equal", "401", true, "401", true},
		{"equal", n("401"), true, "401", true},
		{"equal", n("0"), true, "0", true},
		{"equal", "x", true, "y", false},
		{"equal", nil, false, "", false},
		{"equal", "Runscope1", true, "runscope1", false}, // case-sensitive
		{"not_equal", "x", true, "y", true},
		{"not_equal", "x", true, "x", false},
		{"not_equal", nil, false, "x", true},
		// contains / does_not_contain
		{"contains", "hello", true, "ell", true},
		{"contains", "hello", true, "xyz", false},
		{"contains", []any{"urn:x"}, true, "urn:x", true},
		{"contains", []any{"urn:xy"}, true, "urn:x", false}, // elements, not substrings
		{"contains", obj, true, "k", true},
		{"contains", obj, true, "v", false},
		{"contains", n("12345"), true, "234", true},
		{"contains", nil, false, "x", false},
		{"does_not_contain", "hello", true, "xyz", true},
		{"does_not_contain", "hello", true, "ell", false},
		{"does_not_contain", arr, true, "a", false},
		{"does_not_contain", nil, false, "x", false},
		// has_key / has_value
		{"has_key", obj, true, "k", true},
		{"has_key", obj, true, "z", false},
		{"has_key", arr, true, "a", false},
		{"has_value", arr, true, "a", true},
		{"has_value", arr, true, "2", true},
		{"has_value", arr, true, "true", true},
		{"has_value", arr, true, "b", false},
		{"has_value", obj, true, "7", true},
		{"has_value", obj, true, "k", false},
		{"has_value", "a", true, "a", false},
		{"has_value", nil, false, "a", false},
		// is_null
		{"is_null", nil, true, "", true},
		{"is_null", nil, false, "", false},
		{"is_null", "", true, "", false},
		// is_a_number: JSON numbers only
		{"is_a_number", n("3"), true, "", true},
		{"is_a_number", n("-1.5e3"), true, "", true},
		{"is_a_number", "3", true, "", false},
		{"is_a_number", true, true, "", false},
		{"is_a_number", nil, false, "", false},
		// numeric comparisons (numeric strings are converted)
		{"equal_number", n("0"), true, "0", true},
		{"equal_number", n("200"), true, "200", true},
		{"equal_number", n("200"), true, "201", false},
		{"equal_number", "0", true, "0", true},
		{"equal_number", n("1.0"), true, "1", true},
		{"equal_number", "abc", true, "0", false},
		{"equal_number", n("0"), true, "zero", false},
		{"equal_number", nil, false, "0", false},
		{"equal_number", true, true, "1", false},
		{"is_less_than", n("10"), true, "600", true},
		{"is_less_than", n("600"), true, "600", false},
		{"is_less_than", n("700"), true, "600", false},
		{"is_less_than_or_equal", n("600"), true, "600", true},
		{"is_less_than_or_equal", n("601"), true, "600", false},
		{"is_greater_than", n("2"), true, "1", true},
		{"is_greater_than", n("1"), true, "1", false},
		{"is_greater_than_or_equal", n("1"), true, "1", true},
		{"is_greater_than_or_equal", n("0"), true, "1", false},
		{"is_greater_than", "x", true, "1", false},
		// unknown comparisons never pass
		{"no_such_comparison", "x", true, "x", false},
		{"greater_than", n("2"), true, "1", false},
		{"", "x", true, "x", false},
	}
	for _, tt := range tests {
		got, reason := Compare(tt.cmp, tt.actual, tt.present, tt.expected)
		if got != tt.want {
			t.Errorf("Compare(%s, %#v, present=%v, %q) = %v (%s), want %v", tt.cmp, tt.actual, tt.present, tt.expected, got, reason, tt.want)
		}
		if !got && reason == "" {
			t.Errorf("Compare(%s, %#v): failure without a reason", tt.cmp, tt.actual)
		}
	}
	if _, reason := Compare("bogus", "x", true, "x"); !strings.Contains(reason, `unsupported comparison "bogus"`) {
		t.Errorf("unknown comparison reason = %q", reason)
	}
}

func TestStringOf(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{nil, ""}, {"s", "s"}, {json.Number("010"), "010"}, {true, "true"}, {3.5, "3.5"},
		{[]any{"a", json.Number("1")}, `["a",1]`}, {map[string]any{"k": nil}, `{"k":null}`},
	} {
		if got := StringOf(tt.v); got != tt.want {
			t.Errorf("StringOf(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestEncodeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://h/scim/v2/Users?count=1&startIndex=1", "http://h/scim/v2/Users?count=1&startIndex=1"},
		{`http://h/scim/v2/Users?filter=userName eq "abcdefgh@atko.com"`,
			"http://h/scim/v2/Users?filter=userName%20eq%20%22abcdefgh@atko.com%22"},
		{`https://h:8443/v2/Users?filter=userName eq "a+b@x.com"&count=1`,
			"https://h:8443/v2/Users?filter=userName%20eq%20%22a%2Bb@x.com%22&count=1"},
		{`http://h/Users?filter=userName eq "RUNSCOPE1@ATKO.COM"`, "http://h/Users?filter=userName%20eq%20%22RUNSCOPE1@ATKO.COM%22"},
		{"http://h/a b/Users", "http://h/a%20b/Users"},
		{"http://h/Users?filter=already%20encoded", "http://h/Users?filter=already%20encoded"},
		{"http://h/Users?q=50%", "http://h/Users?q=50%25"},
		{"http://h/Users?q=a;b#c", "http://h/Users?q=a%3Bb%23c"},
		{"http://h/Users?q=x=y", "http://h/Users?q=x%3Dy"},
		{"http://h/Users?q=é", "http://h/Users?q=%C3%A9"},
		{"http://h/Users?flag", "http://h/Users?flag"},
		{"http://h", "http://h"},
		{"http://h?x=1", "http://h?x=1"},
	}
	for _, tt := range tests {
		got, err := EncodeURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("EncodeURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// The server decodes exactly the text that was written.
	enc, _ := EncodeURL(`http://h/Users?filter=userName eq "a+b;c&d@x.com"`)
	u, err := url.Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := url.ParseQuery(u.RawQuery); err != nil || len(q["filter"]) != 1 {
		t.Fatalf("ParseQuery(%s) = %v, %v", u.RawQuery, q, err)
	}
	for _, bad := range []string{"/relative/Users", "ftp://h/x", "http:///path", "{{SCIMBaseURL}}/Users"} {
		if got, err := EncodeURL(bad); err == nil {
			t.Errorf("EncodeURL(%q) = %q, want an error", bad, got)
		}
	}
}

// The '&' inside a filter value cannot be told from a parameter separator
// in raw text; EncodeURL treats it as a separator, like Runscope's client.
func TestEncodeURLAmpersandIsSeparator(t *testing.T) {
	got, _ := EncodeURL(`http://h/Users?filter=userName eq "a&b"`)
	if got != `http://h/Users?filter=userName%20eq%20%22a&b%22` {
		t.Errorf("got %s", got)
	}
}

func TestParse(t *testing.T) {
	if _, err := Parse([]byte(`{"steps":[]}`)); err == nil {
		t.Error("empty suite accepted")
	}
	if _, err := Parse([]byte(`not json`)); err == nil {
		t.Error("bad JSON accepted")
	}
	if _, err := Load("testdata/does-not-exist.json"); err == nil {
		t.Error("missing file accepted")
	}
	s, err := Load("testdata/mini-suite.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 5 || s.Steps[1].StepType != "pause" || !s.Steps[2].Skipped {
		t.Fatalf("parsed %+v", s.Steps)
	}
	if got := s.RequestIndex("GET", `{{SCIMBaseURL}}/things?filter=name eq "{{name}}"&count=1`); got != 2 {
		t.Errorf("RequestIndex = %d, want 2 (pauses not counted)", got)
	}
	if got := s.RequestIndex("GET", "nope"); got != -1 {
		t.Errorf("RequestIndex(nope) = %d", got)
	}
}

func TestInitialVariables(t *testing.T) {
	r := &Runner{BaseURL: "http://h/scim/v2/", Auth: "Bearer x", Rand: rand.New(rand.NewPCG(7, 7)),
		Variables: map[string]string{"extra": "e", "InvalidUserEmail": "override@atko.com"}}
	v := r.InitialVariables()
	if v["SCIMBaseURL"] != "http://h/scim/v2" || v["auth"] != "Bearer x" || v["extra"] != "e" || v["InvalidUserEmail"] != "override@atko.com" {
		t.Errorf("vars = %v", v)
	}
	if !strings.HasPrefix(v["randomGivenName"], "Runscope") || len(v["randomGivenName"]) != len("Runscope")+3 {
		t.Errorf("randomGivenName = %q", v["randomGivenName"])
	}
	if v["randomUsername"] != v["randomEmail"] || !strings.HasSuffix(v["randomUsername"], "@atko.com") ||
		v["randomUsernameCaps"] != strings.ToUpper(v["randomUsername"]) || v["randomUsernameCaps"] == v["randomUsername"] {
		t.Errorf("random user vars = %v", v)
	}
	if v["UserIdThatDoesNotExist"] != "010101001010101011001010101011" {
		t.Errorf("UserIdThatDoesNotExist = %q", v["UserIdThatDoesNotExist"])
	}
	// Deterministic with the same seed.
	r2 := &Runner{Rand: rand.New(rand.NewPCG(7, 7))}
	if r2.InitialVariables()["randomUsername"] != v["randomUsername"] {
		t.Error("Rand does not make the random variables deterministic")
	}
	if _, ok := (&Runner{}).InitialVariables()["auth"]; ok {
		t.Error("auth defined without Auth")
	}
}

// miniServer implements the hand-written testdata suite.
func miniServer(t *testing.T, breakIt bool) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/things":
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"name":"widget"}` {
				t.Errorf("body = %s", b)
			}
			w.Header().Set("Location", "/things/t-201")
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"t-201"}`))
		case r.Method == "GET" && r.URL.Path == "/things":
			if f := r.URL.Query().Get("filter"); f != `name eq "widget"` {
				t.Errorf("filter = %q", f)
			}
			if breakIt {
				_, _ = w.Write([]byte(`{"totalResults":"1","schemas":["urn:other"],"Resources":[{"id":"t-999"}]}`))
				return
			}
			_, _ = w.Write([]byte(`{"totalResults":1,"schemas":["urn:list"],"Resources":[{"id":"t-201"}]}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestRunMiniSuite(t *testing.T) {
	suite, err := Load("testdata/mini-suite.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, seen := miniServer(t, false)
	hookCalls := 0
	r := &Runner{BaseURL: srv.URL, Auth: "Bearer tok", Variables: map[string]string{"name": "widget"},
		StepHooks: map[int]func(int, []byte) error{2: func(status int, body []byte) error {
			hookCalls++
			if status != 200 || !strings.Contains(string(body), "t-201") {
				return errors.New("unexpected response")
			}
			return nil
		}}}
	start := time.Now()
	rep := r.Run(context.Background(), suite)
	if time.Since(start) > 10*time.Second {
		t.Error("pause steps must not sleep")
	}
	t.Logf("\n%s", rep)
	if len(rep.Steps) != 4 {
		t.Fatalf("got %d step results, want 4 (pause not reported)", len(rep.Steps))
	}
	create, disabled, search, cond := rep.Steps[0], rep.Steps[1], rep.Steps[2], rep.Steps[3]

	// Variables extracted, and usable by the same step's assertions.
	if !create.Passed() || rep.Variables["thingId"] != "t-201" || rep.Variables["loc"] != "/things/t-201" || rep.Variables["createStatus"] != "201" {
		t.Errorf("create: %+v, vars %v", create, rep.Variables)
	}
	if _, ok := rep.Variables["nope"]; ok || len(create.Notes) != 1 || !strings.Contains(create.Notes[0], "does.not.exist") {
		t.Errorf("missing property should leave the variable unset with a note: %v", create.Notes)
	}
	if len(create.Skipped) != 1 || !strings.Contains(create.Skipped[0], "pre-request script 1: JavaScript script not evaluated") {
		t.Errorf("before_script not reported: %v", create.Skipped)
	}
	if !disabled.Passed() || disabled.Status != 0 || len(disabled.Skipped) != 1 || !strings.Contains(disabled.Skipped[0], "disabled") {
		t.Errorf("disabled step: %+v", disabled)
	}
	if !search.Passed() || hookCalls != 1 || search.Assertions[len(search.Assertions)-1].Comparison != "go_hook" {
		t.Errorf("search: %+v, hook calls %d", search, hookCalls)
	}
	if len(search.Skipped) != 1 || !strings.Contains(search.Skipped[0], "JavaScript script not evaluated (checked in Go by StepHooks[2])") {
		t.Errorf("script not reported: %v", search.Skipped)
	}
	if search.RequestURL != srv.URL+"/things?filter=name%20eq%20%22widget%22&count=1" || search.URL != srv.URL+`/things?filter=name eq "widget"&count=1` {
		t.Errorf("URL %q, RequestURL %q", search.URL, search.RequestURL)
	}
	if cond.Passed() || cond.Err == nil || !strings.Contains(cond.Err.Error(), `unsupported step type "condition"`) {
		t.Errorf("condition step: %+v", cond)
	}
	if failed := rep.Failed(); len(failed) != 1 || failed[0].Index != 3 {
		t.Errorf("failed = %+v", failed)
	}
	if len(*seen) != 2 {
		t.Errorf("requests sent: %v (disabled step must not be sent)", *seen)
	}
	out := rep.String()
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "✓  1 POST ") || !strings.HasPrefix(lines[3], "✗  4 ") {
		t.Errorf("String():\n%s", out)
	}
}

func TestRunMiniSuiteBroken(t *testing.T) {
	suite, err := Load("testdata/mini-suite.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := miniServer(t, true)
	r := &Runner{BaseURL: srv.URL, Auth: "Bearer tok", Variables: map[string]string{"name": "widget"},
		StepHooks: map[int]func(int, []byte) error{2: func(int, []byte) error { return errors.New("hook says no") }}}
	rep := r.Run(context.Background(), suite)
	search := rep.Steps[2]
	var failing []string
	for _, a := range search.Assertions {
		if !a.Passed {
			failing = append(failing, a.Comparison+" "+a.Property)
		}
	}
	want := []string{"is_a_number totalResults", "equal Resources[0].id", "has_value schemas", "contains ", "go_hook "}
	if strings.Join(failing, "|") != strings.Join(want, "|") {
		t.Errorf("failing assertions = %q, want %q\n%s", failing, want, rep)
	}
	line := strings.Split(rep.String(), "\n")[2]
	if !strings.HasPrefix(line, "✗  3 GET") || !strings.Contains(line, `response_json totalResults is_a_number "": got "1" (not a JSON number)`) ||
		!strings.Contains(line, "hook says no") {
		t.Errorf("report line: %s", line)
	}
}

func TestRunErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Id", "h1")
		_, _ = w.Write([]byte(`not json`))
	}))
	defer srv.Close()
	suite := &Suite{Steps: []Step{
		{StepType: "request", Method: "GET", URL: "{{SCIMBaseURL}}/a/{{undefinedVar}}"},
		{StepType: "request", Method: "GET", URL: "{{SCIMBaseURL}}/a", Headers: map[string][]string{"Authorization": {"{{auth}}"}}},
		{StepType: "request", Method: "GET", URL: "{{SCIMBaseURL}}/a", Assertions: []Assertion{
			{Source: "response_json", Property: "id", Comparison: "not_empty"},
			{Source: "response_status", Comparison: "equal_number", Value: "{{nowhere}}"},
			{Source: "response_cookie", Comparison: "equal", Value: "x"},
			{Source: "response_header", Property: "X-Id", Comparison: "equal", Value: "h1"},
			{Source: "response_header", Property: "X-None", Comparison: "not_empty"},
			{Source: "response_status", Comparison: "equal_number", Value: json.Number("200")},
			{Source: "response_status", Comparison: "equal_number", Value: float64(200)},
		}},
		{StepType: "request", Method: "GET", URL: "{{SCIMBaseURL}}/a", Body: "{{nobody}}"},
	}}
	rep := (&Runner{BaseURL: srv.URL}).Run(context.Background(), suite)
	if e := rep.Steps[0].Err; e == nil || !strings.Contains(e.Error(), "undefinedVar") {
		t.Errorf("undefined URL variable: %v", e)
	}
	if e := rep.Steps[1].Err; e == nil || !strings.Contains(e.Error(), `header Authorization: undefined variable(s) ["auth"]`) {
		t.Errorf("undefined auth: %v", e)
	}
	if e := rep.Steps[3].Err; e == nil || !strings.Contains(e.Error(), "body") {
		t.Errorf("undefined body variable: %v", e)
	}
	got := rep.Steps[2].Assertions
	wantPass := []bool{false, false, false, true, false, true, true}
	for i, a := range got {
		if a.Passed != wantPass[i] {
			t.Errorf("assertion %d (%s %s): passed=%v, want %v (%s)", i, a.Source, a.Comparison, a.Passed, wantPass[i], a.Reason)
		}
	}
	if !strings.Contains(got[0].Reason, "not JSON") || !strings.Contains(got[1].Reason, "nowhere") || !strings.Contains(got[2].Reason, "unsupported source") {
		t.Errorf("reasons: %q / %q / %q", got[0].Reason, got[1].Reason, got[2].Reason)
	}
	if len(rep.Failed()) != 4 {
		t.Errorf("failed %d steps, want 4:\n%s", len(rep.Failed()), rep)
	}

	// A cancelled context stops the run; every step is still reported.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep = (&Runner{BaseURL: srv.URL}).Run(ctx, &Suite{Steps: []Step{{StepType: "request", Method: "GET", URL: "{{SCIMBaseURL}}/a"}}})
	if len(rep.Steps) != 1 || !errors.Is(rep.Steps[0].Err, context.Canceled) {
		t.Errorf("cancelled run: %+v", rep.Steps)
	}
}

func TestCheckGroupsList(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"totalResults":0,"Resources":[]}`, true},
		{`{"totalResults":0}`, true},
		{`{"totalResults":2,"Resources":[{},{}]}`, true},
		{`{"totalResults":1,"Resources":{}}`, false},
		{`{"totalResults":1}`, false},
		{`{"totalResults":"1","Resources":[]}`, false},
		{`[]`, false},
		{`<html>`, false},
	} {
		if err := CheckGroupsList(200, []byte(tt.body)); (err == nil) != tt.ok {
			t.Errorf("CheckGroupsList(%s) = %v, want ok=%v", tt.body, err, tt.ok)
		}
	}
}
