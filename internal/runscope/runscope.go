// Package runscope runs a Runscope API-test export, such as Okta's
// published SCIM 2.0 SPEC test, against a live server: it substitutes
// variables, sends each request, checks each assertion and extracts
// variables for later steps. JavaScript scripts are not evaluated (no JS
// engine); they are reported as skipped, and StepHooks lets the caller
// check the same thing in Go.
package runscope

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Suite is a Runscope export.
type Suite struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Step is one step of the export.
type Step struct {
	StepType      string              `json:"step_type"`
	Method        string              `json:"method"`
	URL           string              `json:"url"`
	Headers       map[string][]string `json:"headers"`
	Body          string              `json:"body"`
	Assertions    []Assertion         `json:"assertions"`
	Variables     []Variable          `json:"variables"`
	Scripts       []string            `json:"scripts"`
	BeforeScripts []string            `json:"before_scripts"`
}

// Assertion is one check on a response.
type Assertion struct {
	Comparison string `json:"comparison"`
	Source     string `json:"source"`
	Property   string `json:"property"`
	Value      any    `json:"value"`
}

// Variable extracts a value from a response for later steps.
type Variable struct {
	Source   string `json:"source"`
	Name     string `json:"name"`
	Property string `json:"property"`
}

// Load reads an export file.
func Load(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse decodes an export.
func Parse(b []byte) (*Suite, error) {
	var s Suite
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("runscope export: %w", err)
	}
	return &s, nil
}

// Runner runs a suite against BaseURL.
type Runner struct {
	BaseURL   string
	Auth      string // the value of {{auth}}, the Authorization header
	Client    *http.Client
	Variables map[string]string // extra variables and overrides
	Rand      *rand.Rand        // for the random initial variables
	// StepHooks are Go checks for steps whose JavaScript is not evaluated,
	// by request index (0-based, pauses not counted).
	StepHooks map[int]func(status int, body []byte) error
}

// Report is the outcome of a run.
type Report struct{ Steps []StepResult }

// StepResult is the outcome of one request.
type StepResult struct {
	Index      int
	Method     string
	URL        string
	Status     int
	Duration   time.Duration
	Assertions []AssertionResult
	Skipped    []string
	Err        error
}

// AssertionResult is one checked assertion.
type AssertionResult struct {
	Comparison, Source, Property, Expected, Actual string
	Passed                                         bool
	Reason                                         string
}

// Passed says whether the step ran and every assertion held.
func (s StepResult) Passed() bool {
	if s.Err != nil {
		return false
	}
	for _, a := range s.Assertions {
		if !a.Passed {
			return false
		}
	}
	return true
}

// Failed returns the steps that did not pass.
func (r Report) Failed() []StepResult {
	var out []StepResult
	for _, s := range r.Steps {
		if !s.Passed() {
			out = append(out, s)
		}
	}
	return out
}

func (r Report) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		mark := "PASS"
		if !s.Passed() {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "%s %2d %s %s -> %d (%v)\n", mark, s.Index+1, s.Method, s.URL, s.Status, s.Duration.Round(time.Millisecond))
		if s.Err != nil {
			fmt.Fprintf(&b, "     error: %v\n", s.Err)
		}
		for _, a := range s.Assertions {
			if !a.Passed {
				fmt.Fprintf(&b, "     %s %s %s: expected %q, got %q (%s)\n", a.Source, a.Property, a.Comparison, a.Expected, a.Actual, a.Reason)
			}
		}
		for _, sk := range s.Skipped {
			fmt.Fprintf(&b, "     skipped: %s\n", sk)
		}
	}
	return b.String()
}

// initialVariables are the variables Okta's Initial_Script_Spec.txt sets.
func (r *Runner) initialVariables() map[string]string {
	rnd := r.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	digits := func() string { return strconv.Itoa(100 + rnd.IntN(900)) }
	given, family := "Runscope"+digits(), "Test"+digits()
	user := strings.ToLower(given+family) + "@atko.com"
	vars := map[string]string{
		"SCIMBaseURL":            strings.TrimRight(r.BaseURL, "/"),
		"auth":                   r.Auth,
		"randomGivenName":        given,
		"randomFamilyName":       family,
		"randomUsername":         user,
		"randomEmail":            user,
		"randomUsernameCaps":     strings.ToUpper(user),
		"InvalidUserEmail":       "abcdefgh@atko.com",
		"UserIdThatDoesNotExist": "010101001010101011001010101011",
	}
	for k, v := range r.Variables {
		vars[k] = v
	}
	return vars
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// substitute replaces {{name}}; an unknown name is an error, never "".
func substitute(s string, vars map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variables %v", missing)
	}
	return out, nil
}

// encodeURL percent-encodes a URL whose query holds raw filter text
// (spaces, quotes), as a real client sends it.
func encodeURL(raw string) (string, error) {
	base, query, hasQuery := strings.Cut(raw, "?")
	if _, err := url.Parse(base); err != nil {
		return "", err
	}
	if !hasQuery {
		return base, nil
	}
	var parts []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
	}
	return base + "?" + strings.Join(parts, "&"), nil
}

// Run runs every request step in order.
func (r *Runner) Run(ctx context.Context, s *Suite) Report {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	vars := r.initialVariables()
	var rep Report
	idx := 0
	for _, step := range s.Steps {
		if step.StepType != "request" {
			continue // pauses only wait for Runscope's servers
		}
		res := r.runStep(ctx, client, step, vars, idx)
		rep.Steps = append(rep.Steps, res)
		idx++
	}
	return rep
}

func (r *Runner) runStep(ctx context.Context, client *http.Client, step Step, vars map[string]string, idx int) StepResult {
	res := StepResult{Index: idx, Method: step.Method}
	rawURL, err := substitute(step.URL, vars)
	if err != nil {
		res.Err = err
		return res
	}
	res.URL = rawURL
	target, err := encodeURL(rawURL)
	if err != nil {
		res.Err = err
		return res
	}
	body, err := substitute(step.Body, vars)
	if err != nil {
		res.Err = err
		return res
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, step.Method, target, rd)
	if err != nil {
		res.Err = err
		return res
	}
	for k, vs := range step.Headers {
		for _, v := range vs {
			sv, err := substitute(v, vars)
			if err != nil {
				res.Err = err
				return res
			}
			req.Header.Add(k, sv)
		}
	}
	start := time.Now()
	resp, err := client.Do(req)
	res.Duration = time.Since(start)
	if err != nil {
		res.Err = err
		return res
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		res.Err = err
		return res
	}
	res.Status = resp.StatusCode
	var doc any
	jsonErr := json.Unmarshal(raw, &doc)
	for _, a := range step.Assertions {
		res.Assertions = append(res.Assertions, check(a, res.Status, res.Duration, doc, jsonErr, vars))
	}
	for _, v := range step.Variables {
		if v.Source != "response_json" {
			res.Skipped = append(res.Skipped, "variable "+v.Name+" from "+v.Source)
			continue
		}
		if val, ok := property(doc, v.Property); ok {
			vars[v.Name] = stringOf(val)
		}
	}
	for _, sc := range append(step.BeforeScripts, step.Scripts...) {
		if strings.TrimSpace(sc) != "" {
			res.Skipped = append(res.Skipped, "JavaScript script not evaluated")
		}
	}
	if hook := r.StepHooks[idx]; hook != nil {
		if err := hook(res.Status, raw); err != nil {
			res.Assertions = append(res.Assertions, AssertionResult{Comparison: "go_hook", Source: "hook", Reason: err.Error()})
		} else {
			res.Assertions = append(res.Assertions, AssertionResult{Comparison: "go_hook", Source: "hook", Passed: true})
		}
	}
	return res
}

// check evaluates one assertion.
func check(a Assertion, status int, d time.Duration, doc any, jsonErr error, vars map[string]string) AssertionResult {
	out := AssertionResult{Comparison: a.Comparison, Source: a.Source, Property: a.Property}
	expected := ""
	if a.Value != nil {
		expected, _ = substitute(stringOf(a.Value), vars)
	}
	out.Expected = expected
	var actual any
	present := true
	switch a.Source {
	case "response_status":
		actual = float64(status)
	case "response_time":
		actual = float64(d.Milliseconds())
	case "response_json":
		if jsonErr != nil {
			out.Reason = "response is not JSON"
			return out
		}
		actual, present = property(doc, a.Property)
	default:
		out.Reason = "unsupported source " + a.Source
		return out
	}
	out.Actual = stringOf(actual)
	out.Passed, out.Reason = compare(a.Comparison, actual, present, expected)
	return out
}

// compare implements Runscope's comparisons. An unknown one fails.
func compare(cmp string, actual any, present bool, expected string) (bool, string) {
	num := func(v any) (float64, bool) {
		switch t := v.(type) {
		case float64:
			return t, true
		case string:
			f, err := strconv.ParseFloat(t, 64)
			return f, err == nil
		}
		return 0, false
	}
	switch cmp {
	case "not_empty":
		// Runscope: present and not null, "" or an empty list/object;
		// false and 0 are values, so they count as not empty.
		return present && !isEmpty(actual), "empty or absent"
	case "empty":
		return !present || isEmpty(actual), "not empty"
	case "equal":
		return present && stringOf(actual) == expected, "not equal"
	case "not_equal":
		return !present || stringOf(actual) != expected, "equal"
	case "equal_number":
		a, ok1 := num(actual)
		e, ok2 := num(expected)
		return ok1 && ok2 && a == e, "not the same number"
	case "is_a_number":
		_, ok := actual.(float64)
		return ok, "not a JSON number"
	case "is_less_than", "is_less_than_or_equal", "is_greater_than", "is_greater_than_or_equal":
		a, ok1 := num(actual)
		e, ok2 := num(expected)
		if !ok1 || !ok2 {
			return false, "not numbers"
		}
		switch cmp {
		case "is_less_than":
			return a < e, "not less"
		case "is_less_than_or_equal":
			return a <= e, "not less or equal"
		case "is_greater_than":
			return a > e, "not greater"
		}
		return a >= e, "not greater or equal"
	case "has_value", "contains", "does_not_contain":
		found := false
		switch t := actual.(type) {
		case []any:
			for _, e := range t {
				if stringOf(e) == expected {
					found = true
				}
			}
		case string:
			found = strings.Contains(t, expected)
		}
		if cmp == "does_not_contain" {
			return present && !found, "contains it"
		}
		return present && found, "value not found"
	case "is_null":
		return present && actual == nil, "not null"
	}
	return false, "unsupported comparison " + cmp
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// stringOf renders a JSON value as Runscope compares it.
func stringOf(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var segment = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// property walks a path like Resources[0].name.familyName.
func property(doc any, path string) (any, bool) {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		m := segment.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		if m[1] != "" {
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[m[1]]; !ok {
				return nil, false
			}
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(idx)
			list, ok := cur.([]any)
			if !ok || n >= len(list) {
				return nil, false
			}
			cur = list[n]
		}
	}
	return cur, true
}
