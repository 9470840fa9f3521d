package runscope

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		cmp      string
		actual   any
		present  bool
		expected string
		want     bool
	}{
		{"not_empty", "x", true, "", true},
		{"not_empty", false, true, "", true},
		{"not_empty", "", true, "", false},
		{"not_empty", nil, false, "", false},
		{"not_empty", []any{}, true, "", false},
		{"equal", true, true, "true", true},
		{"equal", "401", true, "401", true},
		{"equal", float64(401), true, "401", true},
		{"equal", "x", true, "y", false},
		{"equal_number", float64(0), true, "0", true},
		{"equal_number", "abc", true, "0", false},
		{"is_a_number", float64(3), true, "", true},
		{"is_a_number", "3", true, "", false},
		{"has_value", []any{"a", "b"}, true, "b", true},
		{"has_value", []any{"a"}, true, "b", false},
		{"contains", []any{"urn:x"}, true, "urn:x", true},
		{"contains", "hello", true, "ell", true},
		{"is_less_than", float64(10), true, "600", true},
		{"is_less_than", float64(700), true, "600", false},
		{"no_such_comparison", "x", true, "x", false},
	}
	for _, tt := range tests {
		if got, _ := compare(tt.cmp, tt.actual, tt.present, tt.expected); got != tt.want {
			t.Errorf("compare(%s, %v, %q) = %v, want %v", tt.cmp, tt.actual, tt.expected, got, tt.want)
		}
	}
}

func TestProperty(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"Resources":[{"name":{"familyName":"F"},"emails":[{"value":"a@b"}]}],"n":1}`), &doc)
	for path, want := range map[string]string{"Resources[0].name.familyName": "F", "Resources[0].emails[0].value": "a@b", "n": "1"} {
		v, ok := property(doc, path)
		if !ok || stringOf(v) != want {
			t.Errorf("property(%s) = %v, %v", path, v, ok)
		}
	}
	for _, path := range []string{"Resources[1].name", "nope", "n.x", "Resources[0].emails[5].value"} {
		if _, ok := property(doc, path); ok {
			t.Errorf("property(%s) found something", path)
		}
	}
}

func TestSubstituteAndEncode(t *testing.T) {
	if _, err := substitute("{{missing}}", map[string]string{}); err == nil {
		t.Fatal("unknown variable accepted")
	}
	got, err := encodeURL(`http://h/scim/v2/Users?filter=userName eq "a+b@x.com"&count=1`)
	if err != nil || got != `http://h/scim/v2/Users?filter=userName%20eq%20%22a%2Bb%40x.com%22&count=1` {
		t.Fatalf("encodeURL = %s, %v", got, err)
	}
}

// TestRunReportsFailures runs a small suite against a stub that answers
// a duplicate create with 200 and a count as a string: the runner must
// name exactly those steps.
func TestRunReportsFailures(t *testing.T) {
	suite, err := Parse([]byte(`{"steps":[
	 {"step_type":"request","method":"POST","url":"{{SCIMBaseURL}}/Users","body":"{\"userName\":\"{{randomUsername}}\"}",
	  "headers":{"Authorization":["{{auth}}"]},
	  "assertions":[{"comparison":"equal_number","source":"response_status","value":"201"}],
	  "variables":[{"source":"response_json","name":"id","property":"id"}]},
	 {"step_type":"pause"},
	 {"step_type":"request","method":"GET","url":"{{SCIMBaseURL}}/Users/{{id}}",
	  "assertions":[{"comparison":"is_a_number","source":"response_json","property":"totalResults"},
	                {"comparison":"equal","source":"response_json","property":"id","value":"{{id}}"}],
	  "scripts":["assert(true)"]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	var gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		if r.Method == "POST" {
			gotAuth = r.Header.Get("Authorization")
			_, _ = w.Write([]byte(`{"id":"u1"}`)) // 200, not 201
			return
		}
		_, _ = w.Write([]byte(`{"id":"u1","totalResults":"1"}`))
	}))
	defer srv.Close()
	r := &Runner{BaseURL: srv.URL, Auth: "Bearer t", Rand: rand.New(rand.NewPCG(1, 2)),
		StepHooks: map[int]func(int, []byte) error{1: func(status int, _ []byte) error { return nil }}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep := r.Run(ctx, suite)
	if len(rep.Steps) != 2 {
		t.Fatalf("ran %d steps", len(rep.Steps))
	}
	failed := rep.Failed()
	if len(failed) != 2 {
		t.Fatalf("failed steps = %d, want 2:\n%s", len(failed), rep)
	}
	if failed[0].Assertions[0].Passed || !failed[1].Assertions[1].Passed || failed[1].Assertions[0].Passed {
		t.Fatalf("wrong assertions failed:\n%s", rep)
	}
	if gotAuth != "Bearer t" || gotPath != "/Users/u1" {
		t.Fatalf("auth %q path %q: variables not substituted", gotAuth, gotPath)
	}
	if len(rep.Steps[1].Skipped) != 1 || !strings.Contains(rep.String(), "JavaScript") {
		t.Fatalf("script not reported as skipped:\n%s", rep)
	}
}
