// Package scimfilter parses and evaluates SCIM filters (RFC 7644
// §3.4.2.2) against p4scim's resource documents. The pinned SCIM library
// rejects filters IdPs send (id, externalId, Entra's
// emails[type eq "work"].value eq "x") and its own evaluation panics on some
// documents, so p4scim parses the raw filter text itself with the same
// grammar (github.com/scim2/filter-parser/v2) and evaluates it here.
package scimfilter

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// MaxLength bounds a filter's text: no IdP sends more than a few hundred
// bytes, and the parser's cost grows with the input.
const MaxLength = 4096

// subAttrComparison matches the form attr[filter].sub op value that RFC
// 7644 allows in some readings and Entra sends; the grammar lacks it, so it
// is rewritten to attr[filter and sub op value].
var subAttrComparison = regexp.MustCompile(
	`([A-Za-z][\w$-]*)\[([^\[\]]+)\]\.([A-Za-z][\w$-]*)\s+(?i:(eq|ne|co|sw|ew|gt|lt|ge|le))\s+("(?:[^"\\]|\\.)*"|[^\s()]+)`)

// Parse parses and validates a filter. Every failure is a value
// errors.ScimError of type invalidFilter whose detail names the problem.
func Parse(raw string, s schema.Schema, exts ...schema.Schema) (filter.Expression, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, invalid("the filter is empty")
	}
	if len(raw) > MaxLength {
		return nil, invalid(fmt.Sprintf("the filter is longer than %d bytes", MaxLength))
	}
	rewritten := subAttrComparison.ReplaceAllString(raw, "$1[$2 and $3 $4 $5]")
	expr, err := parseSafely(rewritten)
	if err != nil {
		return nil, invalid(fmt.Sprintf("cannot parse %q", raw))
	}
	if err := validate(expr, newResolver(s, exts), nil); err != nil {
		return nil, invalid(err.Error())
	}
	return expr, nil
}

// parseSafely guards against parser panics on hostile input.
func parseSafely(raw string) (expr filter.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panic: %v", r)
		}
	}()
	return filter.ParseFilter([]byte(raw))
}

func invalid(detail string) error {
	return scimerrors.ScimError{
		ScimType: scimerrors.ScimTypeInvalidFilter,
		Detail:   "Invalid filter: " + detail + ".",
		Status:   400,
	}
}

// Attribute is what filtering and patching need to know about an
// attribute of a schema.
type Attribute struct {
	Name       string // canonical spelling
	Type       string // schema type: string, boolean, complex, dateTime...
	Multi      bool
	CaseExact  bool
	Mutability string // readWrite, readOnly, immutable, writeOnly
	subs       schema.Attributes
}

// Lookup resolves a top-level attribute path against the schema, its
// extensions and the common attributes (id, externalId, meta). ext is the
// extension URN when the attribute lives in an extension, whose data is
// nested under that key.
func Lookup(p filter.AttributePath, s schema.Schema, exts ...schema.Schema) (Attribute, string, error) {
	return newResolver(s, exts).lookup(p)
}

// MatchElement evaluates a value filter (the part inside [...]) against
// one element of the multi-valued attribute parent.
func MatchElement(expr filter.Expression, element map[string]any, parent Attribute) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return match(expr, element, resolver{}, &parent)
}

// resolver finds attribute definitions: the schema's, the extensions'
// (under their URN), and the common attributes id, externalId and meta.
type resolver struct {
	core schema.Schema
	exts []schema.Schema
}

func newResolver(s schema.Schema, exts []schema.Schema) resolver {
	return resolver{core: s, exts: exts}
}

var metaSubs = map[string]string{"created": "dateTime", "lastmodified": "dateTime", "resourcetype": "string",
	"location": "string", "version": "string"}

// lookup resolves a top-level attribute. ext is the extension URN when the
// attribute lives in one (its data is nested under that key).
func (r resolver) lookup(p filter.AttributePath) (def Attribute, ext string, err error) {
	name := p.AttributeName
	uri := p.URI()
	if uri == "" || strings.EqualFold(uri, r.core.ID) {
		switch strings.ToLower(name) {
		case "id":
			return Attribute{Name: "id", Type: "string", CaseExact: true, Mutability: "readOnly"}, "", nil
		case "externalid":
			return Attribute{Name: "externalId", Type: "string", CaseExact: true, Mutability: "readWrite"}, "", nil
		case "meta":
			return Attribute{Name: "meta", Type: "complex", Mutability: "readOnly"}, "", nil
		}
		if a, ok := r.core.Attributes.ContainsAttribute(name); ok {
			return defOf(a), "", nil
		}
		if uri == "" {
			return Attribute{}, "", fmt.Errorf("unknown attribute %q", name)
		}
	}
	for _, e := range r.exts {
		if strings.EqualFold(uri, e.ID) {
			if a, ok := e.Attributes.ContainsAttribute(name); ok {
				return defOf(a), e.ID, nil
			}
			return Attribute{}, "", fmt.Errorf("unknown attribute %q in %s", name, e.ID)
		}
	}
	return Attribute{}, "", fmt.Errorf("unknown schema %q", uri)
}

func defOf(a schema.CoreAttribute) Attribute {
	return Attribute{Name: a.Name(), Type: a.AttributeType(), Multi: a.MultiValued(), CaseExact: a.CaseExact(),
		Mutability: a.Mutability(), subs: a.SubAttributes()}
}

// Sub resolves a sub-attribute of a complex attribute.
func (d Attribute) Sub(name string) (Attribute, error) {
	if d.Name == "meta" {
		if t, ok := metaSubs[strings.ToLower(name)]; ok {
			return Attribute{Name: canonicalMeta(name), Type: t, CaseExact: true, Mutability: "readOnly"}, nil
		}
		return Attribute{}, fmt.Errorf("unknown attribute meta.%s", name)
	}
	if a, ok := d.subs.ContainsAttribute(name); ok {
		return defOf(a), nil
	}
	return Attribute{}, fmt.Errorf("unknown attribute %s.%s", d.Name, name)
}

func canonicalMeta(name string) string {
	switch strings.ToLower(name) {
	case "lastmodified":
		return "lastModified"
	case "resourcetype":
		return "resourceType"
	}
	return strings.ToLower(name)
}

// validate checks every attribute path; within a value path, names are
// sub-attributes of parent.
func validate(expr filter.Expression, r resolver, parent *Attribute) error {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if err := validate(e.Left, r, parent); err != nil {
			return err
		}
		return validate(e.Right, r, parent)
	case *filter.NotExpression:
		return validate(e.Expression, r, parent)
	case *filter.AttributeExpression:
		def, err := resolveExpr(e.AttributePath, r, parent)
		if err != nil {
			return err
		}
		return checkOperator(e, def)
	case *filter.ValuePath:
		if parent != nil {
			return fmt.Errorf("nested value filters are not supported")
		}
		def, _, err := r.lookup(e.AttributePath)
		if err != nil {
			return err
		}
		if def.Type != "complex" {
			return fmt.Errorf("%s is not a complex attribute", def.Name)
		}
		return validate(e.ValueFilter, r, &def)
	case nil:
		return fmt.Errorf("empty expression")
	}
	return fmt.Errorf("unsupported expression %T", expr)
}

func resolveExpr(p filter.AttributePath, r resolver, parent *Attribute) (Attribute, error) {
	if parent != nil {
		def, err := parent.Sub(p.AttributeName)
		if err != nil {
			return Attribute{}, err
		}
		if p.SubAttribute != nil {
			return Attribute{}, fmt.Errorf("%s.%s is too deep", p.AttributeName, *p.SubAttribute)
		}
		return def, nil
	}
	def, _, err := r.lookup(p)
	if err != nil {
		return Attribute{}, err
	}
	if p.SubAttribute != nil {
		return def.Sub(*p.SubAttribute)
	}
	if def.Type == "complex" && def.Multi {
		// "members eq x" compares the elements' value (RFC 7644 §3.4.2.2).
		if v, err := def.Sub("value"); err == nil {
			return v, nil
		}
	}
	return def, nil
}

func checkOperator(e *filter.AttributeExpression, def Attribute) error {
	op := strings.ToLower(string(e.Operator))
	if op == "pr" {
		return nil
	}
	switch def.Type {
	case "complex":
		return fmt.Errorf("%s is complex: compare one of its sub-attributes", def.Name)
	case "boolean":
		if op != "eq" && op != "ne" {
			return fmt.Errorf("%s is a boolean: only eq and ne apply", def.Name)
		}
		if _, ok := e.CompareValue.(bool); !ok {
			return fmt.Errorf("%s is a boolean: compare it with true or false", def.Name)
		}
	case "dateTime":
		s, ok := e.CompareValue.(string)
		if !ok {
			return fmt.Errorf("%s is a dateTime: compare it with a quoted RFC 3339 time", def.Name)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time", s)
		}
	case "integer", "decimal":
		if _, ok := toFloat(e.CompareValue); !ok {
			return fmt.Errorf("%s is a number: compare it with a number", def.Name)
		}
	default:
		if _, ok := e.CompareValue.(string); !ok {
			return fmt.Errorf("%s is a string: quote the value", def.Name)
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case interface{ Float64() (float64, error) }:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// Match reports whether a resource document passes the filter. A nil
// filter matches everything. It never panics, whatever the document holds.
func Match(expr filter.Expression, res map[string]any, s schema.Schema, exts ...schema.Schema) (ok bool) {
	if expr == nil {
		return true
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return match(expr, res, newResolver(s, exts), nil)
}

func match(expr filter.Expression, res map[string]any, r resolver, parent *Attribute) bool {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if strings.EqualFold(string(e.Operator), "or") {
			return match(e.Left, res, r, parent) || match(e.Right, res, r, parent)
		}
		return match(e.Left, res, r, parent) && match(e.Right, res, r, parent)
	case *filter.NotExpression:
		return !match(e.Expression, res, r, parent)
	case *filter.AttributeExpression:
		return matchAttr(e, res, r, parent)
	case *filter.ValuePath:
		def, ext, err := r.lookup(e.AttributePath)
		if err != nil {
			return false
		}
		for _, el := range elements(get(scope(res, ext), def.Name)) {
			if m, ok := el.(map[string]any); ok && match(e.ValueFilter, m, r, &def) {
				return true
			}
		}
	}
	return false
}

func matchAttr(e *filter.AttributeExpression, res map[string]any, r resolver, parent *Attribute) bool {
	var values []any
	var def Attribute
	if parent != nil {
		d, err := parent.Sub(e.AttributePath.AttributeName)
		if err != nil {
			return false
		}
		def = d
		values = elements(get(res, d.Name))
	} else {
		top, ext, err := r.lookup(e.AttributePath)
		if err != nil {
			return false
		}
		raw := get(scope(res, ext), top.Name)
		sub := e.AttributePath.SubAttributeName()
		if sub == "" && top.Type == "complex" && top.Multi {
			sub = "value"
		}
		def = top
		if sub != "" {
			d, err := top.Sub(sub)
			if err != nil {
				return false
			}
			def = d
			for _, el := range elements(raw) {
				if m, ok := el.(map[string]any); ok {
					values = append(values, elements(get(m, d.Name))...)
				}
			}
		} else {
			values = elements(raw)
		}
	}
	op := strings.ToLower(string(e.Operator))
	if op == "pr" {
		for _, v := range values {
			if present(v) {
				return true
			}
		}
		return false
	}
	for _, v := range values {
		if compare(op, v, e.CompareValue, def) {
			return true
		}
	}
	return false
}

// scope returns the map an attribute lives in: the resource, or the
// extension's nested object.
func scope(res map[string]any, ext string) map[string]any {
	if ext == "" {
		return res
	}
	m, _ := get(res, ext).(map[string]any)
	return m
}

// get reads a key case-insensitively, preferring the exact spelling.
func get(m map[string]any, key string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// elements returns a value as a list of values.
func elements(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	case []map[string]any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = t[i]
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i := range t {
			out[i] = t[i]
		}
		return out
	}
	return []any{v}
}

func present(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

func compare(op string, have, want any, def Attribute) bool {
	switch def.Type {
	case "boolean":
		hb, ok1 := asBool(have)
		wb, ok2 := want.(bool)
		if !ok1 || !ok2 {
			return false
		}
		return (op == "eq") == (hb == wb)
	case "integer", "decimal":
		hf, ok1 := toFloat(have)
		wf, ok2 := toFloat(want)
		if !ok1 || !ok2 || math.IsNaN(hf) {
			return false
		}
		return order(op, cmpFloat(hf, wf))
	case "dateTime":
		hs, _ := have.(string)
		ws, _ := want.(string)
		ht, err1 := time.Parse(time.RFC3339Nano, hs)
		wt, err2 := time.Parse(time.RFC3339Nano, ws)
		if err1 != nil || err2 != nil {
			return false
		}
		return order(op, ht.Compare(wt))
	}
	hs, ok1 := have.(string)
	ws, ok2 := want.(string)
	if !ok1 || !ok2 {
		return false
	}
	if !def.CaseExact {
		hs, ws = strings.ToLower(hs), strings.ToLower(ws)
	}
	switch op {
	case "co":
		return strings.Contains(hs, ws)
	case "sw":
		return strings.HasPrefix(hs, ws)
	case "ew":
		return strings.HasSuffix(hs, ws)
	}
	return order(op, strings.Compare(hs, ws))
}

func order(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func asBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(t) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// Equality finds a top-level `attr eq "value"` (alone, or as a conjunct of
// an and), so a handler can look the value up directly instead of listing
// the directory. attr may be "emails.value", which also recognises
// emails[value eq "x"] and emails[type eq "work" and value eq "x"]. The
// caller still evaluates the whole filter on what it finds.
func Equality(expr filter.Expression, attr string) (string, bool) {
	top, sub, _ := strings.Cut(attr, ".")
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if !strings.EqualFold(string(e.Operator), "eq") || !strings.EqualFold(e.AttributePath.AttributeName, top) ||
			!strings.EqualFold(e.AttributePath.SubAttributeName(), sub) {
			return "", false
		}
		v, ok := e.CompareValue.(string)
		return v, ok
	case *filter.LogicalExpression:
		if !strings.EqualFold(string(e.Operator), "and") {
			return "", false
		}
		if v, ok := Equality(e.Left, attr); ok {
			return v, true
		}
		return Equality(e.Right, attr)
	case *filter.ValuePath:
		if sub == "" || !strings.EqualFold(e.AttributePath.AttributeName, top) {
			return "", false
		}
		return Equality(e.ValueFilter, sub)
	}
	return "", false
}
