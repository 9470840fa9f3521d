package main

// Tests that keep the admin documentation in docs/ honest: every setting is
// in the reference table of docs/operations.md, and every request example
// marked <!-- expect: N --> gets that status and a body with the keys shown.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/p4scim/p4scim/config"
)

const docsDir = "../../docs"

// TestSettingsDocumented checks the settings reference of
// docs/operations.md against config.Settings(), in both directions: every
// setting has exactly one row in the settings tables, whose Flag and
// Default cells agree with the code, and every name in a row is a
// setting. A setting added to the code and not documented fails it, and
// so does a row for a setting the code no longer has.
func TestSettingsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(docsDir, "operations.md"))
	if err != nil {
		t.Fatalf("docs/operations.md: %v", err)
	}
	for _, p := range settingsDocProblems(string(b), config.Settings()) {
		t.Error(p)
	}
}

// settingNameRE matches a setting name in backticks: `P4PORT`.
var settingNameRE = regexp.MustCompile("`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)`")

// settingsDocProblems compares the settings tables of doc with settings.
// A row is | `NAME` | flag | default | meaning |.
func settingsDocProblems(doc string, settings []config.Setting) []string {
	var problems []string
	known := map[string]config.Setting{}
	for _, s := range settings {
		known[s.Name] = s
	}
	rows := map[string][]string{} // setting name -> cells of its row
	lines := docTableLines(doc)
	if len(lines) == 0 {
		return []string{"docs/operations.md has no table under a heading \"Settings reference\""}
	}
	for _, line := range lines {
		for _, m := range settingNameRE.FindAllStringSubmatch(line, -1) {
			if _, ok := known[m[1]]; !ok {
				problems = append(problems, fmt.Sprintf("docs/operations.md settings table names `%s`, which is not a setting of config.Settings(): %s", m[1], line))
			}
		}
		cells := tableCells(line)
		if len(cells) == 0 || strings.Trim(cells[0], "-: ") == "" || strings.EqualFold(cells[0], "setting") {
			continue // separator or header row
		}
		m := settingNameRE.FindStringSubmatch(cells[0])
		if m == nil || m[0] != cells[0] {
			problems = append(problems, fmt.Sprintf("docs/operations.md settings row does not start with one `SETTING`: %s", line))
			continue
		}
		if rows[m[1]] != nil {
			problems = append(problems, fmt.Sprintf("docs/operations.md documents `%s` twice", m[1]))
		}
		rows[m[1]] = cells
	}
	for _, s := range settings {
		cells, ok := rows[s.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("setting %s has no row in the settings tables of docs/operations.md (| `%s` | flag | default | meaning |)", s.Name, s.Name))
			continue
		}
		if len(cells) < 4 {
			problems = append(problems, fmt.Sprintf("docs/operations.md row of `%s` has %d cells, want 4 (setting, flag, default, meaning)", s.Name, len(cells)))
			continue
		}
		if want := settingFlagCell(s); cells[1] != want {
			problems = append(problems, fmt.Sprintf("docs/operations.md row of `%s`: flag cell %q, the code says %q", s.Name, cells[1], want))
		}
		def := cells[2]
		switch {
		case s.Default != "" && !strings.HasPrefix(def, "`"+s.Default+"`"):
			problems = append(problems, fmt.Sprintf("docs/operations.md row of `%s`: default cell %q, the code's default is `%s`", s.Name, def, s.Default))
		case s.Default == "" && strings.HasPrefix(def, "`"):
			problems = append(problems, fmt.Sprintf("docs/operations.md row of `%s`: default cell %q, but the code has no default (write none, or say what applies instead)", s.Name, def))
		}
		if cells[3] == "" {
			problems = append(problems, fmt.Sprintf("docs/operations.md row of `%s` says nothing about it", s.Name))
		}
	}
	return problems
}

// settingFlagCell is what the Flag cell of a setting's row must read.
func settingFlagCell(s config.Setting) string {
	if s.Secret {
		return "none (secret)"
	}
	cell := "`--" + config.FlagName(s) + "`"
	if s.Flag != "" && s.Flag != config.FlagName(s) {
		cell = "`--" + s.Flag + "`, " + cell
	}
	return cell
}

// tableCells splits a Markdown table row into trimmed cells.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	parts := strings.Split(line, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// docTableLines returns the table rows of the settings reference: the
// lines starting with '|' in the section headed "Settings reference" and
// its subsections, up to the next heading of the same or a higher level.
// Rows inside fenced code blocks do not count.
func docTableLines(doc string) []string {
	var rows []string
	in, level, fenced := false, 0, false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if strings.HasPrefix(line, "#") {
			l := len(line) - len(strings.TrimLeft(line, "#"))
			if in && l <= level {
				in = false
			}
			if !in && strings.Contains(strings.ToLower(line), "settings reference") {
				in, level = true, l
				continue
			}
		}
		if in && strings.HasPrefix(strings.TrimSpace(line), "|") {
			rows = append(rows, line)
		}
	}
	return rows
}

// TestSettingsDocumentedFailsOnDrift proves the check above is not
// vacuous: a setting missing from the table, a row for a setting that
// does not exist, and a wrong default are each reported.
func TestSettingsDocumentedFailsOnDrift(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(docsDir, "operations.md"))
	if err != nil {
		t.Fatalf("docs/operations.md: %v", err)
	}
	doc := string(b)
	settings := config.Settings()
	if p := settingsDocProblems(doc, settings); len(p) > 0 {
		t.Skipf("the documentation itself has problems (TestSettingsDocumented reports them): %d", len(p))
	}
	added := append(slices.Clone(settings), config.Setting{Name: "NEW_SETTING_NOT_DOCUMENTED", Default: "1", Help: "x"})
	if p := settingsDocProblems(doc, added); len(p) != 1 || !strings.Contains(p[0], "NEW_SETTING_NOT_DOCUMENTED") {
		t.Errorf("a setting added to the code but not documented: problems %q, want one naming it", p)
	}
	removed := slices.DeleteFunc(slices.Clone(settings), func(s config.Setting) bool { return s.Name == "DELETE_POLICY" })
	if p := settingsDocProblems(doc, removed); len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "`DELETE_POLICY`, which is not a setting") {
		t.Errorf("a setting documented but gone from the code: problems %q, want one naming it", p)
	}
	changed := slices.Clone(settings)
	for i := range changed {
		if changed[i].Name == "RATE_LIMIT" {
			changed[i].Default = "51"
		}
	}
	if p := settingsDocProblems(doc, changed); len(p) != 1 || !strings.Contains(p[0], "RATE_LIMIT") {
		t.Errorf("a changed default: problems %q, want one naming RATE_LIMIT", p)
	}
}

// docExample is one request of a guide and what it must answer.
type docExample struct {
	line    int
	status  int
	method  string
	path    string
	headers [][2]string
	body    string
	keys    []string // top-level keys of the documented response; nil = none shown
}

var expectRE = regexp.MustCompile(`^<!--\s*expect:\s*(\d{3})\s*-->$`)

// parseDocExamples reads the <!-- expect: N --> + ```http (+ ```json)
// examples of one Markdown file.
func parseDocExamples(t *testing.T, name, text string) []docExample {
	t.Helper()
	lines := strings.Split(text, "\n")
	var out []docExample
	// fence returns the body of the fenced block of the given language
	// starting at or after i (blank lines skipped), and the line after it.
	fence := func(i int, lang string) ([]string, int, bool) {
		for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			i++
		}
		if i >= len(lines) || strings.TrimSpace(lines[i]) != "```"+lang {
			return nil, i, false
		}
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "```" {
				return lines[i+1 : j], j + 1, true
			}
		}
		t.Fatalf("%s:%d: unterminated ```%s block", name, i+1, lang)
		return nil, 0, false
	}
	for i := 0; i < len(lines); i++ {
		m := expectRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			if strings.Contains(lines[i], "<!-- expect") {
				t.Fatalf("%s:%d: malformed marker %q; write <!-- expect: NNN -->", name, i+1, lines[i])
			}
			continue
		}
		status, _ := strconv.Atoi(m[1])
		req, next, ok := fence(i+1, "http")
		if !ok || len(req) == 0 {
			t.Fatalf("%s:%d: <!-- expect --> is not followed by a ```http block", name, i+1)
		}
		ex := docExample{line: i + 1, status: status}
		f := strings.Fields(req[0])
		if len(f) < 2 {
			t.Fatalf("%s:%d: request line %q", name, i+1, req[0])
		}
		ex.method, ex.path = f[0], f[1]
		k := 1
		for ; k < len(req) && strings.TrimSpace(req[k]) != ""; k++ {
			h, v, ok := strings.Cut(req[k], ":")
			if !ok {
				t.Fatalf("%s:%d: header line %q", name, i+1, req[k])
			}
			ex.headers = append(ex.headers, [2]string{strings.TrimSpace(h), strings.TrimSpace(v)})
		}
		if k < len(req) {
			ex.body = strings.TrimSpace(strings.Join(req[k+1:], "\n"))
		}
		if resp, after, ok := fence(next, "json"); ok {
			next = after
			if len(resp) == 0 {
				t.Fatalf("%s:%d: empty ```json block", name, i+1)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(resp[0]), &obj); err != nil {
				t.Fatalf("%s:%d: the first line of the ```json block is not a JSON object: %v", name, i+1, err)
			}
			ex.keys = []string{}
			for key := range obj {
				ex.keys = append(ex.keys, key)
			}
			sort.Strings(ex.keys)
		}
		out = append(out, ex)
		i = next - 1
	}
	return out
}

// TestDocExamples sends every documented request, in document order, to a
// fresh daemon per document, and checks the status and the response keys.
// Placeholders: {{token}} (the bearer token), {{base}} (the daemon's
// http://host:port) and {{p4user}} (the bridge's own P4USER).
func TestDocExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no docs/*.md")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			examples := parseDocExamples(t, name, string(b))
			if len(examples) == 0 {
				t.Skip("no examples")
			}
			d := startDaemon(t, docDaemonSettings(t, name, string(b))...)
			for _, ex := range examples {
				runDocExample(t, d, name, ex)
			}
		})
	}
}

var daemonRE = regexp.MustCompile(`^<!--\s*daemon:\s*(.*?)\s*-->$`)

// docDaemonSettings reads a document's <!-- daemon: NAME=value ... -->
// line: the settings its examples' daemon runs with, so that a guide can
// prove a policy other than the default (DELETE_POLICY=deactivate, a
// DEPROVISION_GROUP). Each NAME must be a setting; at most one such line.
func docDaemonSettings(t *testing.T, name, text string) []string {
	t.Helper()
	known := map[string]bool{}
	for _, s := range config.Settings() {
		known[s.Name] = true
	}
	var env []string
	seen := false
	for i, line := range strings.Split(text, "\n") {
		m := daemonRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			if strings.Contains(line, "<!-- daemon") {
				t.Fatalf("%s:%d: malformed marker %q; write <!-- daemon: NAME=value ... -->", name, i+1, line)
			}
			continue
		}
		if seen {
			t.Fatalf("%s:%d: a second <!-- daemon --> line; one document runs one daemon", name, i+1)
		}
		seen = true
		for _, kv := range strings.Fields(m[1]) {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || !known[k] {
				t.Fatalf("%s:%d: %q is not NAME=value for a setting of config.Settings()", name, i+1, kv)
			}
			env = append(env, kv)
		}
	}
	return env
}

func runDocExample(t *testing.T, d *daemon, name string, ex docExample) {
	t.Helper()
	subst := func(s string) string {
		return strings.NewReplacer("{{token}}", testToken, "{{base}}", d.base, "{{p4user}}", d.emu.User).Replace(s)
	}
	url := subst(ex.path)
	if strings.HasPrefix(url, "/") {
		url = d.base + url
	}
	var body io.Reader
	if ex.body != "" {
		body = strings.NewReader(subst(ex.body))
	}
	req, err := http.NewRequest(ex.method, url, body)
	if err != nil {
		t.Fatalf("%s:%d: %v", name, ex.line, err)
	}
	for _, h := range ex.headers {
		if strings.EqualFold(h[0], "Host") {
			continue
		}
		req.Header.Add(h[0], subst(h[1]))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("%s:%d: %s %s: %v", name, ex.line, ex.method, ex.path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != ex.status {
		t.Errorf("%s:%d: %s %s: status %d, documented %d; body %s", name, ex.line, ex.method, ex.path, resp.StatusCode, ex.status, got)
		return
	}
	if ex.keys == nil {
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(got, &obj); err != nil {
		t.Errorf("%s:%d: %s %s: response is not a JSON object: %v; body %q", name, ex.line, ex.method, ex.path, err, got)
		return
	}
	for _, k := range ex.keys {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s:%d: %s %s: response lacks the documented key %q; body %s", name, ex.line, ex.method, ex.path, k, got)
		}
	}
}

// mdLinkRE matches a Markdown link's target: [text](target).
var mdLinkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks checks that every relative link in docs/*.md and README.md
// names a file that exists and, with #anchor, a heading of that file (as
// GitHub turns headings into anchors).
func TestDocLinks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(docsDir, "..", "README.md"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fenced := false
		for n, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fenced = !fenced
			}
			if fenced {
				continue
			}
			for _, m := range mdLinkRE.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
				}
				db, err := os.ReadFile(dest)
				if err != nil {
					if _, serr := os.Stat(dest); serr == nil && anchor == "" {
						continue // a directory or other file
					}
					t.Errorf("%s:%d: link %q: %v", filepath.Base(file), n+1, target, err)
					continue
				}
				if anchor != "" && !slices.Contains(mdAnchors(string(db)), anchor) {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", filepath.Base(file), n+1, target, filepath.Base(dest), anchor)
				}
			}
		}
	}
}

// mdAnchors lists the anchors of a Markdown file's headings, GitHub style:
// lower case, punctuation other than '-' and '_' dropped, blanks to '-'.
func mdAnchors(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}
