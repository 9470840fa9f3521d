// Package scimpatch applies SCIM PATCH operations (RFC 7644 §3.5.2) to a
// resource document. The pinned SCIM library validates PATCH requests but
// never applies them; this package does, including the forms IdPs send
// that the RFC leaves open: path-less values whose keys are paths
// (Entra's aadOptscim062020), member removal by a value list (Entra's
// default job), a filtered Add that creates the element it did not find,
// Okta's id inside a value, and "True"/"False" strings.
package scimpatch

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/p4scim/p4scim/scimhandlers/scimfilter"
	"github.com/scim2/filter-parser/v2"
)

// MaxOperations bounds the operations of one request (the library has no
// limit; a hostile request could carry millions).
const MaxOperations = 1000

// Apply applies ops in order to res. Either all apply or, on error, res
// is left as it was. changed reports whether the document differs
// afterwards. Errors are value errors.ScimError, as the library expects.
func Apply(res map[string]any, ops []scim.PatchOperation, s schema.Schema, exts ...schema.Schema) (changed bool, err error) {
	if len(ops) > MaxOperations {
		return false, scimerrors.ScimError{Status: 400, ScimType: scimerrors.ScimTypeTooMany,
			Detail: fmt.Sprintf("A PATCH request may carry at most %d operations.", MaxOperations)}
	}
	p := patcher{schema: s, exts: exts, id: res["id"]}
	work := DeepCopy(res)
	for i, op := range ops {
		if err := p.apply(work, op); err != nil {
			var se scimerrors.ScimError
			if ok := asScim(err, &se); ok {
				se.Detail = fmt.Sprintf("Operation %d (%s): %s", i+1, strings.ToLower(op.Op), se.Detail)
				return false, se
			}
			return false, err
		}
	}
	if reflect.DeepEqual(work, res) {
		return false, nil
	}
	for k := range res {
		delete(res, k)
	}
	for k, v := range work {
		res[k] = v
	}
	return true, nil
}

func asScim(err error, out *scimerrors.ScimError) bool {
	se, ok := err.(scimerrors.ScimError)
	if ok {
		*out = se
	}
	return ok
}

// DeepCopy copies a JSON-like document.
func DeepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return DeepCopy(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}

type patcher struct {
	schema schema.Schema
	exts   []schema.Schema
	id     any
}

func errValue(format string, args ...any) error {
	return scimerrors.ScimError{Status: 400, ScimType: scimerrors.ScimTypeInvalidValue, Detail: fmt.Sprintf(format, args...)}
}

func errPath(format string, args ...any) error {
	return scimerrors.ScimError{Status: 400, ScimType: scimerrors.ScimTypeInvalidPath, Detail: fmt.Sprintf(format, args...)}
}

func errMutability(name string) error {
	return scimerrors.ScimError{Status: 400, ScimType: scimerrors.ScimTypeMutability,
		Detail: fmt.Sprintf("%s is read-only and cannot be modified.", name)}
}

func (p patcher) apply(doc map[string]any, op scim.PatchOperation) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return errValue("unknown op %q (want add, replace or remove).", op.Op)
	}
	if op.Path == nil {
		if kind == "remove" {
			return scimerrors.ScimError{Status: 400, ScimType: scimerrors.ScimTypeNoTarget, Detail: "remove needs a path."}
		}
		value, ok := op.Value.(map[string]any)
		if !ok {
			return errValue("an operation without a path needs an object value.")
		}
		return p.applyPathless(doc, kind, value)
	}
	return p.applyPath(doc, kind, *op.Path, op.Value)
}

// applyPathless treats each key of the value as a path (RFC 7644 §3.5.2.1
// "the value parameter contains a set of attributes to be added", and
// Entra's dotted and URN-qualified keys).
func (p patcher) applyPathless(doc map[string]any, kind string, value map[string]any) error {
	for k, v := range value {
		if strings.EqualFold(k, "id") {
			// Okta repeats the resource's id in the value; it cannot change.
			if p.id != nil && fmt.Sprint(v) != fmt.Sprint(p.id) {
				return errMutability("id")
			}
			continue
		}
		if ext := p.extension(k); ext != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return errValue("the value of %s must be an object.", k)
			}
			for sub, sv := range m {
				path, err := filter.ParsePath([]byte(ext + ":" + sub))
				if err != nil {
					return errPath("invalid attribute %q in %s.", sub, ext)
				}
				if err := p.applyPath(doc, kind, path, sv); err != nil {
					return err
				}
			}
			continue
		}
		path, err := filter.ParsePath([]byte(k))
		if err != nil {
			return errPath("%q is not an attribute path.", k)
		}
		if err := p.applyPath(doc, kind, path, v); err != nil {
			return err
		}
	}
	return nil
}

// extension returns the canonical URN when key names an extension schema.
func (p patcher) extension(key string) string {
	for _, e := range p.exts {
		if strings.EqualFold(key, e.ID) {
			return e.ID
		}
	}
	return ""
}

func (p patcher) applyPath(doc map[string]any, kind string, path filter.Path, value any) error {
	attr, ext, err := scimfilter.Lookup(path.AttributePath, p.schema, p.exts...)
	if err != nil {
		return errPath("%v.", err)
	}
	if attr.Mutability == "readOnly" {
		return errMutability(attr.Name)
	}
	container := doc
	if ext != "" {
		m, _ := getFold(doc, ext).(map[string]any)
		if m == nil {
			if kind == "remove" {
				return nil
			}
			m = map[string]any{}
		}
		setFold(doc, ext, m)
		container = m
	}
	sub := path.AttributePath.SubAttributeName()
	if path.ValueExpression != nil {
		if !attr.Multi {
			return errPath("%s is not multi-valued: it cannot take a filter.", attr.Name)
		}
		if sub != "" {
			return errPath("invalid path %q.", path.String())
		}
		return p.applyFiltered(container, kind, attr, path.ValueExpression, path.SubAttributeName(), value)
	}
	if sub != "" {
		subAttr, err := attr.Sub(sub)
		if err != nil {
			return errPath("%v.", err)
		}
		if attr.Multi {
			// "emails.value" without a filter: every element.
			return p.applyFiltered(container, kind, attr, nil, subAttr.Name, value)
		}
		return applySub(container, kind, attr, subAttr, value)
	}
	return applyWhole(container, kind, attr, value)
}

// applyWhole handles a path naming a whole attribute.
func applyWhole(container map[string]any, kind string, attr scimfilter.Attribute, value any) error {
	if kind == "remove" {
		if attr.Multi && value != nil {
			return removeListed(container, attr, value)
		}
		deleteFold(container, attr.Name)
		return nil
	}
	if value == nil {
		// An explicit null on replace clears the attribute (RFC 7644 §3.5.2.3
		// treats unassigned as absent; Entra sends nulls).
		if kind == "replace" {
			deleteFold(container, attr.Name)
			return nil
		}
		return errValue("add needs a value for %s.", attr.Name)
	}
	if attr.Multi {
		values, err := asList(value)
		if err != nil {
			return errValue("%s: %v", attr.Name, err)
		}
		for i, v := range values {
			values[i] = normalise(attr, v)
		}
		if kind == "replace" {
			setFold(container, attr.Name, uniquePrimary(values, -1))
			return nil
		}
		current := asListLoose(getFold(container, attr.Name))
		byValue := valueIndex(current)
		for _, v := range values {
			if idx := indexOfIn(current, byValue, v); idx >= 0 {
				if m, ok := v.(map[string]any); ok {
					if cm, ok := current[idx].(map[string]any); ok {
						mergeInto(cm, m)
					}
				}
				continue
			}
			current = append(current, v)
			if k, ok := elementValue(v); ok {
				byValue[k] = len(current) - 1
			}
			if isPrimary(v) {
				current = uniquePrimary(current, len(current)-1)
			}
		}
		setFold(container, attr.Name, current)
		return nil
	}
	if attr.Type == "complex" {
		m, ok := value.(map[string]any)
		if !ok {
			return errValue("%s must be an object.", attr.Name)
		}
		cur, _ := getFold(container, attr.Name).(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for k, v := range m {
			sub, err := attr.Sub(k)
			if err != nil {
				return errPath("%v.", err)
			}
			if v == nil {
				deleteFold(cur, sub.Name)
				continue
			}
			setFold(cur, sub.Name, normalise(sub, v))
		}
		setFold(container, attr.Name, cur)
		return nil
	}
	setFold(container, attr.Name, normalise(attr, value))
	return nil
}

// applySub handles name.givenName: a sub-attribute of a single complex one.
func applySub(container map[string]any, kind string, attr, sub scimfilter.Attribute, value any) error {
	cur, _ := getFold(container, attr.Name).(map[string]any)
	if kind == "remove" || value == nil && kind == "replace" {
		if cur != nil {
			deleteFold(cur, sub.Name)
		}
		return nil
	}
	if value == nil {
		return errValue("add needs a value for %s.%s.", attr.Name, sub.Name)
	}
	if cur == nil {
		cur = map[string]any{}
		setFold(container, attr.Name, cur)
	}
	setFold(cur, sub.Name, normalise(sub, value))
	return nil
}

// applyFiltered handles attr[filter] and attr[filter].sub (filter nil:
// every element).
func (p patcher) applyFiltered(container map[string]any, kind string, attr scimfilter.Attribute, expr filter.Expression, subName string, value any) error {
	var sub scimfilter.Attribute
	if subName != "" {
		var err error
		if sub, err = attr.Sub(subName); err != nil {
			return errPath("%v.", err)
		}
	}
	list := asListLoose(getFold(container, attr.Name))
	var matched []int
	for i, el := range list {
		m, ok := el.(map[string]any)
		if ok && (expr == nil || scimfilter.MatchElement(expr, m, attr)) {
			matched = append(matched, i)
		}
	}
	// The library wraps the value of a filtered path in a list; one element
	// targets one element.
	if l, ok := value.([]any); ok && len(l) == 1 && subName == "" {
		value = l[0]
	}
	switch kind {
	case "remove":
		if subName != "" {
			for _, i := range matched {
				deleteFold(list[i].(map[string]any), sub.Name)
			}
		} else {
			list = without(list, matched)
		}
		if len(list) == 0 {
			deleteFold(container, attr.Name)
		} else {
			setFold(container, attr.Name, list)
		}
		return nil
	}
	if value == nil {
		return errValue("%s needs a value.", kind)
	}
	if len(matched) == 0 {
		// Nothing matches: create the element the filter describes (Entra
		// adds emails[type eq "work"].value this way).
		el := equalities(expr)
		if subName != "" {
			el[sub.Name] = normalise(sub, value)
		} else {
			m, ok := value.(map[string]any)
			if !ok {
				return errValue("the value for %s must be an object.", attr.Name)
			}
			mergeInto(el, normaliseMap(attr, m))
		}
		list = append(list, el)
		if isPrimary(el) {
			list = uniquePrimary(list, len(list)-1)
		}
		setFold(container, attr.Name, list)
		return nil
	}
	for _, i := range matched {
		el := list[i].(map[string]any)
		if subName != "" {
			setFold(el, sub.Name, normalise(sub, value))
			continue
		}
		m, ok := value.(map[string]any)
		if !ok {
			return errValue("the value for %s must be an object.", attr.Name)
		}
		if kind == "replace" {
			for k := range el {
				delete(el, k)
			}
		}
		mergeInto(el, normaliseMap(attr, m))
	}
	last := matched[len(matched)-1]
	if isPrimary(list[last]) {
		list = uniquePrimary(list, last)
	}
	setFold(container, attr.Name, list)
	return nil
}

// removeListed removes only the listed elements (Entra's
// {"op":"Remove","path":"members","value":[{"value":"u"}]}), matching by
// "value" where elements have one.
func removeListed(container map[string]any, attr scimfilter.Attribute, value any) error {
	values, err := asList(value)
	if err != nil {
		return errValue("%s: %v", attr.Name, err)
	}
	list := asListLoose(getFold(container, attr.Name))
	var drop []int
	for i, el := range list {
		for _, v := range values {
			if sameElement(el, v) {
				drop = append(drop, i)
				break
			}
		}
	}
	list = without(list, drop)
	if len(list) == 0 {
		deleteFold(container, attr.Name)
	} else {
		setFold(container, attr.Name, list)
	}
	return nil
}

// equalities collects the attr eq "v" conjuncts of a value filter.
func equalities(expr filter.Expression) map[string]any {
	out := map[string]any{}
	var walk func(filter.Expression)
	walk = func(e filter.Expression) {
		switch t := e.(type) {
		case *filter.AttributeExpression:
			if strings.EqualFold(string(t.Operator), "eq") {
				out[t.AttributePath.AttributeName] = t.CompareValue
			}
		case *filter.LogicalExpression:
			if strings.EqualFold(string(t.Operator), "and") {
				walk(t.Left)
				walk(t.Right)
			}
		}
	}
	if expr != nil {
		walk(expr)
	}
	return out
}

func asList(v any) ([]any, error) {
	switch t := v.(type) {
	case []any:
		return DeepCopy(map[string]any{"x": t})["x"].([]any), nil
	case map[string]any:
		return []any{DeepCopy(t)}, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("expected a list of values")
}

func asListLoose(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case map[string]any:
		return []any{t}
	}
	return nil
}

func without(list []any, drop []int) []any {
	if len(drop) == 0 {
		return list
	}
	skip := make(map[int]bool, len(drop))
	for _, i := range drop {
		skip[i] = true
	}
	out := make([]any, 0, len(list)-len(drop))
	for i, el := range list {
		if !skip[i] {
			out = append(out, el)
		}
	}
	return out
}

// indexOfIn is indexOf with byValue (valueIndex of list) finding the
// elements that have a value in constant time: an add of thousands of
// members is then linear, not quadratic.
func indexOfIn(list []any, byValue map[string]int, v any) int {
	if k, ok := elementValue(v); ok {
		if i, found := byValue[k]; found {
			return i
		}
		return -1
	}
	return indexOf(list, v)
}

// valueIndex maps the value of each element that has one (elementValue)
// to the index of its first occurrence.
func valueIndex(list []any) map[string]int {
	idx := make(map[string]int, len(list))
	for i, el := range list {
		if k, ok := elementValue(el); ok {
			if _, dup := idx[k]; !dup {
				idx[k] = i
			}
		}
	}
	return idx
}

func indexOf(list []any, v any) int {
	for i, el := range list {
		if sameElement(el, v) {
			return i
		}
	}
	return -1
}

// elementValue is what sameElement compares an element by when it is an
// object with a "value" (members, emails).
func elementValue(el any) (string, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return "", false
	}
	v, has := m["value"]
	if !has {
		return "", false
	}
	return fmt.Sprint(v), true
}

// sameElement compares multi-valued elements by their "value" when both
// have one (members, emails), else as a whole.
func sameElement(a, b any) bool {
	av, aHas := elementValue(a)
	bv, bHas := elementValue(b)
	if aHas && bHas {
		return av == bv
	}
	return reflect.DeepEqual(a, b)
}

func isPrimary(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	b, _ := m["primary"].(bool)
	return b
}

// uniquePrimary leaves at most one primary element (RFC 7643 §2.4): the
// one at keep, or the first when keep < 0.
func uniquePrimary(list []any, keep int) []any {
	if keep < 0 {
		for i, el := range list {
			if isPrimary(el) {
				keep = i
				break
			}
		}
	}
	for i, el := range list {
		if i != keep && isPrimary(el) {
			el.(map[string]any)["primary"] = false
		}
	}
	return list
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			deleteFold(dst, k)
			continue
		}
		setFold(dst, k, v)
	}
}

// normalise converts "True"/"False" for booleans, whatever the library's
// lenient mode did, and canonicalises sub-attribute names of objects.
func normalise(attr scimfilter.Attribute, v any) any {
	switch attr.Type {
	case "boolean":
		if s, ok := v.(string); ok {
			switch strings.ToLower(s) {
			case "true":
				return true
			case "false":
				return false
			}
		}
	case "complex":
		if m, ok := v.(map[string]any); ok {
			return normaliseMap(attr, m)
		}
	}
	return v
}

func normaliseMap(attr scimfilter.Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, err := attr.Sub(k); err == nil {
			out[sub.Name] = normalise(sub, v)
		} else {
			out[k] = v
		}
	}
	return out
}

// getFold reads a key case-insensitively.
func getFold(m map[string]any, key string) any {
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

// setFold writes under the canonical key, dropping other spellings.
func setFold(m map[string]any, key string, v any) {
	deleteFold(m, key)
	m[key] = v
}

func deleteFold(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}
