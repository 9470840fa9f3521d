// Package runscope runs a Runscope (BlazeMeter API Monitoring) test export,
// such as Okta's published SCIM 2.0 SPEC test, against a live server.
//
// For every request step it substitutes {{variables}}, percent-encodes the
// URL the way a real HTTP client does, sends the request, extracts
// variables from the response, and checks every assertion. The order
// follows Runscope's request lifecycle: variables are extracted before the
// assertions are checked, so an assertion may use a variable taken from the
// same response.
//
// What is deliberately not done:
//   - Pause steps are ignored (they only wait for Runscope's own servers).
//   - JavaScript (scripts and before_scripts) is not evaluated: there is no
//     JS engine here. Each non-blank script is listed in StepResult.Skipped
//     with the reason "JavaScript script not evaluated". To check the same
//     thing, register a Go function in Runner.StepHooks; its outcome is
//     reported as an assertion with Comparison "go_hook".
//   - Condition, subtest and other step types are reported as errors, never
//     silently passed.
//
// Comparison semantics are documented on Compare.
package runscope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Suite is a Runscope test export.
type Suite struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
}

// Step is one step of an export: a "request", a "pause" or another type.
type Step struct {
	StepType      string              `json:"step_type"`
	Skipped       bool                `json:"skipped"` // disabled in the export
	Note          string              `json:"note"`
	Duration      float64             `json:"duration"` // pause length in seconds (ignored)
	Method        string              `json:"method"`
	URL           string              `json:"url"`
	Headers       map[string][]string `json:"headers"`
	Body          string              `json:"body"`
	Assertions    []Assertion         `json:"assertions"`
	Variables     []Variable          `json:"variables"`
	Scripts       []string            `json:"scripts"`
	BeforeScripts []string            `json:"before_scripts"`
}

// Assertion is one check on a response. Value is the target value as
// exported (a string, a number or null).
type Assertion struct {
	Comparison string `json:"comparison"`
	Source     string `json:"source"`
	Property   string `json:"property"`
	Value      any    `json:"value"`
}

// Variable extracts a value from a response into the variable set for
// later steps.
type Variable struct {
	Source   string `json:"source"`
	Name     string `json:"name"`
	Property string `json:"property"`
}

// Load reads and parses an export file.
func Load(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse decodes an export. A suite without steps is an error.
func Parse(b []byte) (*Suite, error) {
	var s Suite
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("runscope export: %w", err)
	}
	if len(s.Steps) == 0 {
		return nil, errors.New("runscope export: no steps")
	}
	return &s, nil
}

// Runner runs a suite. The zero value is not useful: set BaseURL, and Auth
// for suites that use {{auth}}.
type Runner struct {
	// BaseURL is the value of {{SCIMBaseURL}} (a trailing slash is dropped).
	BaseURL string
	// Auth is the value of {{auth}}, the whole Authorization header value
	// (e.g. "Bearer abc"). When empty, {{auth}} is undefined and any step
	// using it fails, unless Variables defines "auth".
	Auth string
	// Client sends the requests; nil means a client with a 60 s timeout.
	Client *http.Client
	// Variables are extra variables; they override the initial ones.
	Variables map[string]string
	// Rand draws the random initial variables; nil means a random seed.
	Rand *rand.Rand
	// StepHooks are Go checks run on a request step's response, keyed by
	// StepResult.Index (the 0-based position among request steps; pauses
	// are not counted). Use them for what a step's JavaScript checks.
	StepHooks map[int]func(status int, body []byte) error
}

// Report is the outcome of a run.
type Report struct {
	Steps []StepResult
	// Variables is the variable set at the end of the run (for example
	// idUserOne, the user the suite created, for cleanup).
	Variables map[string]string
}

// StepResult is the outcome of one request step.
type StepResult struct {
	Index      int    // 0-based position among request steps
	Position   int    // 0-based position in Suite.Steps
	Note       string // the step's note from the export
	Method     string
	URL        string // after substitution, before percent-encoding
	RequestURL string // as sent
	Status     int
	Duration   time.Duration
	Assertions []AssertionResult
	// Skipped lists what was not evaluated and why: JavaScript scripts, a
	// step disabled in the export.
	Skipped []string
	// Notes are non-fatal remarks, e.g. a variable whose property was
	// absent from the response (later steps using it will fail).
	Notes []string
	// Err is set when the step could not run (undefined variable, network
	// error, unsupported step type, cancelled context).
	Err error
}

// AssertionResult is one checked assertion.
type AssertionResult struct {
	Comparison, Source, Property string
	Expected, Actual             string
	Passed                       bool
	Reason                       string // why it failed
}

// Passed says whether the step ran and every assertion held. A step
// disabled in the export counts as passed (it is listed in Skipped).
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

// String prints one line per step: ✓ or ✗, number, method, URL, status,
// duration, then the failing assertions, errors, skipped items and notes.
func (r Report) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		mark := "✓"
		if !s.Passed() {
			mark = "✗"
		}
		fmt.Fprintf(&b, "%s %2d %s %s", mark, s.Index+1, s.Method, s.URL)
		if s.Status != 0 {
			fmt.Fprintf(&b, " → %d (%v)", s.Status, s.Duration.Round(100*time.Microsecond))
		}
		var extra []string
		if s.Err != nil {
			extra = append(extra, "error: "+s.Err.Error())
		}
		for _, a := range s.Assertions {
			if !a.Passed {
				extra = append(extra, a.describe())
			}
		}
		for _, sk := range s.Skipped {
			extra = append(extra, "skipped: "+sk)
		}
		for _, n := range s.Notes {
			extra = append(extra, "note: "+n)
		}
		if len(extra) > 0 {
			b.WriteString(": ")
			b.WriteString(strings.Join(extra, "; "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (a AssertionResult) describe() string {
	what := a.Source
	if a.Property != "" {
		what += " " + a.Property
	}
	return fmt.Sprintf("%s %s %q: got %q (%s)", what, a.Comparison, a.Expected, a.Actual, a.Reason)
}

// InitialVariables returns the variables Okta's Initial_Script_Spec.txt
// sets, plus SCIMBaseURL and auth, overridden by r.Variables.
// randomGivenName is "Runscope" and three random digits, randomFamilyName
// "Username" and three digits, randomUsername = randomEmail is their
// concatenation @atko.com (mixed case, so the upper-case randomUsernameCaps
// differs from it).
func (r *Runner) InitialVariables() map[string]string {
	rnd := r.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	digits := func() string { return fmt.Sprintf("%03d", rnd.IntN(1000)) }
	given, family := "Runscope"+digits(), "Username"+digits()
	user := given + family + "@atko.com"
	vars := map[string]string{
		"SCIMBaseURL":            strings.TrimRight(r.BaseURL, "/"),
		"randomGivenName":        given,
		"randomFamilyName":       family,
		"randomUsername":         user,
		"randomEmail":            user,
		"randomUsernameCaps":     strings.ToUpper(user),
		"InvalidUserEmail":       "abcdefgh@atko.com",
		"UserIdThatDoesNotExist": "010101001010101011001010101011",
	}
	if r.Auth != "" {
		vars["auth"] = r.Auth
	}
	for k, v := range r.Variables {
		vars[k] = v
	}
	return vars
}

// Run runs every request step in order and reports each one. Steps after a
// failing one still run, as in Runscope. When ctx ends, the remaining
// steps are reported with ctx's error.
func (r *Runner) Run(ctx context.Context, s *Suite) Report {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	vars := r.InitialVariables()
	var rep Report
	idx := 0
	for pos, step := range s.Steps {
		if step.StepType == "pause" {
			continue // only waits for Runscope's servers; never sleep
		}
		res := StepResult{Index: idx, Position: pos, Note: step.Note, Method: step.Method, URL: step.URL}
		idx++
		switch {
		case step.StepType != "request":
			res.Err = fmt.Errorf("unsupported step type %q", step.StepType)
		case step.Skipped:
			res.Skipped = append(res.Skipped, "step disabled in the export")
		case ctx.Err() != nil:
			res.Err = ctx.Err()
		default:
			r.runStep(ctx, client, step, vars, &res)
		}
		rep.Steps = append(rep.Steps, res)
	}
	rep.Variables = vars
	return rep
}

func (r *Runner) runStep(ctx context.Context, client *http.Client, step Step, vars map[string]string, res *StepResult) {
	for i, sc := range step.BeforeScripts {
		if strings.TrimSpace(sc) != "" {
			res.Skipped = append(res.Skipped, fmt.Sprintf("pre-request script %d: JavaScript script not evaluated", i+1))
		}
	}
	rawURL, err := Substitute(step.URL, vars)
	if err != nil {
		res.Err = fmt.Errorf("url: %w", err)
		return
	}
	res.URL = rawURL
	target, err := EncodeURL(rawURL)
	if err != nil {
		res.Err = err
		return
	}
	res.RequestURL = target
	body, err := Substitute(step.Body, vars)
	if err != nil {
		res.Err = fmt.Errorf("body: %w", err)
		return
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, step.Method, target, rd)
	if err != nil {
		res.Err = err
		return
	}
	names := make([]string, 0, len(step.Headers))
	for k := range step.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range step.Headers[k] {
			sv, err := Substitute(v, vars)
			if err != nil {
				res.Err = fmt.Errorf("header %s: %w", k, err)
				return
			}
			switch http.CanonicalHeaderKey(k) {
			case "Host":
				req.Host = sv
			case "Content-Length":
				// computed by the client
			default:
				req.Header.Add(k, sv)
			}
		}
	}

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.Duration = time.Since(start)
		res.Err = err
		return
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.Duration = time.Since(start)
	if err != nil {
		res.Err = fmt.Errorf("reading response: %w", err)
		return
	}
	res.Status = resp.StatusCode
	rsp := &response{status: resp.StatusCode, header: resp.Header, body: raw, duration: res.Duration}

	// Runscope's order: variables, then scripts, then assertions.
	for _, v := range step.Variables {
		val, err := rsp.extract(v.Source, v.Property)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("variable %s not set: %v", v.Name, err))
			continue
		}
		vars[v.Name] = val
	}
	hook := r.StepHooks[res.Index]
	for i, sc := range step.Scripts {
		if strings.TrimSpace(sc) == "" {
			continue
		}
		why := fmt.Sprintf("post-response script %d: JavaScript script not evaluated", i+1)
		if hook != nil {
			why += fmt.Sprintf(" (checked in Go by StepHooks[%d])", res.Index)
		} else {
			why += fmt.Sprintf(" (no StepHooks[%d] to check it in Go)", res.Index)
		}
		res.Skipped = append(res.Skipped, why)
	}
	for _, a := range step.Assertions {
		res.Assertions = append(res.Assertions, rsp.check(a, vars))
	}
	if hook != nil {
		ar := AssertionResult{Comparison: "go_hook", Source: "hook", Passed: true}
		if err := hook(res.Status, raw); err != nil {
			ar.Passed, ar.Reason, ar.Actual = false, err.Error(), "error"
		}
		res.Assertions = append(res.Assertions, ar)
	}
}

// response is what assertions and variables read from.
type response struct {
	status   int
	header   http.Header
	body     []byte
	duration time.Duration

	parsed  bool
	doc     any
	jsonErr error
}

func (r *response) json() (any, error) {
	if !r.parsed {
		r.parsed = true
		r.doc, r.jsonErr = decodeJSON(r.body)
	}
	return r.doc, r.jsonErr
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number so
// that is_a_number can tell 1 from "1" and large ids keep their digits.
func decodeJSON(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("response body is empty, not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("response body is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("response body is not JSON: data after the value")
	}
	return doc, nil
}

// value returns the actual value of a source and property, and whether it
// is present.
func (r *response) value(source, prop string) (any, bool, error) {
	switch source {
	case "response_status":
		return json.Number(strconv.Itoa(r.status)), true, nil
	case "response_time":
		ms := float64(r.duration) / float64(time.Millisecond)
		return json.Number(strconv.FormatFloat(ms, 'f', 3, 64)), true, nil
	case "response_size":
		return json.Number(strconv.Itoa(len(r.body))), true, nil
	case "response_text":
		return string(r.body), true, nil
	case "response_header":
		vs := r.header.Values(prop)
		if len(vs) == 0 {
			return nil, false, nil
		}
		return strings.Join(vs, ", "), true, nil
	case "response_json":
		doc, err := r.json()
		if err != nil {
			return nil, false, err
		}
		v, ok, err := Property(doc, prop)
		return v, ok, err
	}
	return nil, false, fmt.Errorf("unsupported source %q", source)
}

func (r *response) extract(source, prop string) (string, error) {
	v, ok, err := r.value(source, prop)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s %q not found in the response", source, prop)
	}
	return StringOf(v), nil
}

func (r *response) check(a Assertion, vars map[string]string) AssertionResult {
	out := AssertionResult{Comparison: a.Comparison, Source: a.Source, Property: a.Property}
	expected := ""
	if a.Value != nil {
		var err error
		expected, err = Substitute(StringOf(a.Value), vars)
		if err != nil {
			out.Expected = StringOf(a.Value)
			out.Reason = "target value: " + err.Error()
			return out
		}
	}
	out.Expected = expected
	actual, present, err := r.value(a.Source, a.Property)
	if err != nil {
		out.Actual = "<error>"
		out.Reason = err.Error()
		return out
	}
	out.Actual = "<absent>"
	if present {
		out.Actual = StringOf(actual)
	}
	out.Passed, out.Reason = Compare(a.Comparison, actual, present, expected)
	if out.Passed {
		out.Reason = ""
	}
	return out
}

// Compare applies a Runscope comparison to an actual value (as decoded by
// encoding/json with UseNumber: nil, bool, string, json.Number, []any,
// map[string]any) and a target value. present is false when the property
// does not exist. It returns whether the assertion holds and, if not, why.
//
//   - equal / not_equal: the string forms are compared (StringOf: "true"
//     equals JSON true; "401" equals JSON "401" and 401). An absent value
//     never equals; so not_equal passes on it.
//   - empty / not_empty: not_empty holds when the value is present and not
//     null, "", [] or {}. false and 0 ARE values, so not_empty holds for
//     them (Runscope: "a value other than an empty string or null"; an
//     inactive user's "active": false must pass Okta's not_empty check).
//     empty is its exact negation (absent counts as empty).
//   - contains / does_not_contain: substring of a string (or of a number's
//     or bool's string form); element of an array (by string form); key of
//     an object. does_not_contain fails on an absent value.
//   - has_key: the value is an object with that key.
//   - has_value: an array element, or an object member value, whose string
//     form equals the target.
//   - is_null: present and JSON null.
//   - is_a_number: a JSON number; a numeric string such as "3" does NOT
//     pass (Okta needs totalResults etc. to be JSON numbers).
//   - equal_number, is_less_than, is_less_than_or_equal, is_greater_than,
//     is_greater_than_or_equal: both sides converted to numbers (a JSON
//     number or a numeric string); fails if either is not numeric.
//
// Any other comparison fails with "unsupported comparison".
func Compare(cmp string, actual any, present bool, expected string) (bool, string) {
	switch cmp {
	case "not_empty":
		if !present {
			return false, "absent"
		}
		return !isEmpty(actual), "empty"
	case "empty":
		return !present || isEmpty(actual), "not empty"
	case "equal":
		if !present {
			return false, "absent"
		}
		return StringOf(actual) == expected, "not equal"
	case "not_equal":
		return !present || StringOf(actual) != expected, "equal"
	case "contains":
		if !present {
			return false, "absent"
		}
		return contains(actual, expected), "does not contain the value"
	case "does_not_contain":
		if !present {
			return false, "absent"
		}
		return !contains(actual, expected), "contains the value"
	case "has_key":
		obj, ok := actual.(map[string]any)
		if !ok {
			return false, "not an object"
		}
		_, has := obj[expected]
		return has, "no such key"
	case "has_value":
		switch t := actual.(type) {
		case []any:
			for _, e := range t {
				if StringOf(e) == expected {
					return true, ""
				}
			}
		case map[string]any:
			for _, e := range t {
				if StringOf(e) == expected {
					return true, ""
				}
			}
		default:
			return false, "not an array or object"
		}
		return false, "value not found"
	case "is_null":
		if !present {
			return false, "absent"
		}
		return actual == nil, "not null"
	case "is_a_number":
		if !present {
			return false, "absent"
		}
		_, ok := actual.(json.Number)
		return ok, "not a JSON number"
	case "equal_number", "is_less_than", "is_less_than_or_equal", "is_greater_than", "is_greater_than_or_equal":
		if !present {
			return false, "absent"
		}
		a, ok := toNumber(actual)
		if !ok {
			return false, "actual value is not a number"
		}
		e, ok := toNumber(expected)
		if !ok {
			return false, "target value is not a number"
		}
		switch cmp {
		case "equal_number":
			return a == e, "not the same number"
		case "is_less_than":
			return a < e, "not less"
		case "is_less_than_or_equal":
			return a <= e, "greater"
		case "is_greater_than":
			return a > e, "not greater"
		default:
			return a >= e, "less"
		}
	}
	return false, fmt.Sprintf("unsupported comparison %q", cmp)
}

func toNumber(v any) (float64, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = string(t)
	case string:
		s = strings.TrimSpace(t)
	case float64:
		return t, true
	case int:
		return float64(t), true
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func contains(actual any, expected string) bool {
	switch t := actual.(type) {
	case []any:
		for _, e := range t {
			if StringOf(e) == expected {
				return true
			}
		}
		return false
	case map[string]any:
		_, ok := t[expected]
		return ok
	case nil:
		return false
	}
	return strings.Contains(StringOf(actual), expected)
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

// StringOf renders a JSON value as comparisons and variables see it:
// strings as themselves, numbers as written in the response, booleans as
// "true"/"false", null as "", arrays and objects as compact JSON.
func StringOf(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return string(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var placeholder = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// Substitute replaces every {{name}} (spaces inside the braces allowed)
// with its value. An undefined name is an error, never an empty string.
// Substituted values are not scanned again.
func Substitute(s string, vars map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-2])
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variable(s) %q", missing)
	}
	return out, nil
}

// Property walks a JavaScript-style path such as
// Resources[0].name.familyName, emails[0].value, [0].id or
// meta["last.Modified"]. The empty path is the whole document. It returns
// the value and whether it exists; a malformed path is an error.
func Property(doc any, path string) (any, bool, error) {
	toks, err := splitPath(path)
	if err != nil {
		return nil, false, err
	}
	cur := doc
	for _, tk := range toks {
		if tk.isIndex {
			list, ok := cur.([]any)
			if !ok || tk.index >= len(list) {
				return nil, false, nil
			}
			cur = list[tk.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		if cur, ok = obj[tk.key]; !ok {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

type pathToken struct {
	key     string
	index   int
	isIndex bool
}

func splitPath(path string) ([]pathToken, error) {
	var toks []pathToken
	bad := func(why string) ([]pathToken, error) {
		return nil, fmt.Errorf("bad property path %q: %s", path, why)
	}
	i := 0
	expectKey := true // at the start or after '.'
	for i < len(path) {
		switch c := path[i]; {
		case c == '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return bad("unclosed [")
			}
			inner := path[i+1 : i+end]
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				toks = append(toks, pathToken{key: inner[1 : len(inner)-1]})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return bad("index " + inner)
				}
				toks = append(toks, pathToken{index: n, isIndex: true})
			}
			i += end + 1
			expectKey = false
		case c == '.':
			if expectKey {
				return bad("empty name")
			}
			i++
			expectKey = true
		default:
			if !expectKey {
				return bad("missing . before a name")
			}
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			toks = append(toks, pathToken{key: path[i : i+end]})
			i += end
			expectKey = false
		}
	}
	if expectKey && len(path) > 0 {
		return bad("ends with .")
	}
	return toks, nil
}

// EncodeURL percent-encodes a URL as a real HTTP client sends it. Runscope
// exports hold raw text in URLs (?filter=userName eq "a@b.c"): spaces
// become %20, quotes %22, and '+', '#', ';' and non-ASCII bytes are
// escaped too so the server decodes exactly the text written. Existing
// %XX escapes are kept. The query is split on '&' and on the first '=' of
// each parameter, which are kept.
func EncodeURL(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", fmt.Errorf("url %q: want an absolute http(s) URL", raw)
	}
	hostPath, query, hasQuery := strings.Cut(rest, "?")
	host, path, hasPath := strings.Cut(hostPath, "/")
	if host == "" {
		return "", fmt.Errorf("url %q: no host", raw)
	}
	var b strings.Builder
	b.WriteString(scheme + "://" + host)
	if hasPath {
		b.WriteByte('/')
		b.WriteString(escape(path, "/:@!$&'()*+,;="))
	}
	if hasQuery {
		b.WriteByte('?')
		for i, kv := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, v, hasEq := strings.Cut(kv, "=")
			b.WriteString(escape(k, queryKeep))
			if hasEq {
				b.WriteByte('=')
				b.WriteString(escape(v, queryKeep))
			}
		}
	}
	out := b.String()
	if _, err := url.Parse(out); err != nil {
		return "", err
	}
	return out, nil
}

// queryKeep are the characters left as they are in a query key or value
// besides the unreserved ones. '+' (a space to form decoders), '&', '=',
// ';' (rejected by Go's url.ParseQuery) and '#' are escaped.
const queryKeep = "/?:@!$'()*,"

func escape(s, keep string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c) // already escaped
		case c < 0x80 && strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
