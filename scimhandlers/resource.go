package scimhandlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/scim2/filter-parser/v2"
)

// toResource turns a bridge document into the library's Resource. The
// attributes map is fresh on every call: the library writes into it.
//
// version is meta.version; the library also sends it as the ETag header.
func toResource(id string, doc map[string]any, created, modified time.Time, version string, r *http.Request) scim.Resource {
	attrs := make(scim.ResourceAttributes, len(doc))
	var ext optional.String
	for k, v := range doc {
		if k == "externalId" {
			if s, ok := v.(string); ok && s != "" {
				ext = optional.NewString(s)
			}
			continue
		}
		attrs[k] = v
	}
	project(attrs, r)
	res := scim.Resource{ID: id, ExternalID: ext, Attributes: attrs, Meta: scim.Meta{Version: version}}
	if !created.IsZero() {
		c := created.UTC()
		res.Meta.Created = &c
	}
	if !modified.IsZero() {
		m := modified.UTC()
		res.Meta.LastModified = &m
	}
	return res
}

// filterView is the document a filter is evaluated against: the attributes
// plus id, externalId and meta, as the IdP sees them.
func filterView(id string, doc map[string]any, created, modified time.Time) map[string]any {
	v := make(map[string]any, len(doc)+2)
	for k, x := range doc {
		v[k] = x
	}
	v["id"] = id
	meta := map[string]any{}
	if !created.IsZero() {
		meta["created"] = created.UTC().Format(time.RFC3339)
	}
	if !modified.IsZero() {
		meta["lastModified"] = modified.UTC().Format(time.RFC3339)
	}
	v["meta"] = meta
	return v
}

// project applies the attributes and excludedAttributes query parameters
// (RFC 7644 §3.4.2.5), which the library ignores. id, schemas and meta are
// always returned (the library adds them after this).
func project(attrs scim.ResourceAttributes, r *http.Request) {
	if r == nil {
		return
	}
	q := r.URL.Query()
	if inc := splitAttrs(q.Get("attributes")); len(inc) > 0 {
		for k, v := range attrs {
			subs, keep := selected(inc, k)
			if !keep {
				delete(attrs, k)
				continue
			}
			if len(subs) > 0 {
				for _, m := range complexValues(v) {
					for sk := range m {
						if !containsFold(subs, sk) {
							delete(m, sk)
						}
					}
				}
			}
		}
		return
	}
	for _, ex := range splitAttrs(q.Get("excludedAttributes")) {
		top, sub, hasSub := strings.Cut(ex, ".")
		for k, v := range attrs {
			if !strings.EqualFold(k, top) {
				continue
			}
			if !hasSub {
				delete(attrs, k)
				continue
			}
			for _, m := range complexValues(v) {
				for sk := range m {
					if strings.EqualFold(sk, sub) {
						delete(m, sk)
					}
				}
			}
		}
	}
}

// splitAttrs parses a comma-separated attribute list, dropping the core
// schema URN prefix that clients may send ("urn:...:User:userName"). An
// entry with a value filter selects its attribute: emails[type eq "work"]
// is emails, emails[type eq "work"].value is emails.value (what the
// reference clients expect; RFC 7644 §3.4.2.5 defines no filters here).
// A malformed list is refused before it gets here (attrListError).
func splitAttrs(s string) []string {
	var out []string
	for _, a := range splitOutside(s, ',') {
		a = strings.TrimSpace(a)
		if open := strings.IndexByte(a, '['); open >= 0 {
			if end := strings.LastIndexByte(a, ']'); end > open {
				a = a[:open] + a[end+1:]
			}
		}
		for _, urn := range []string{"urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:core:2.0:Group:"} {
			if len(a) > len(urn) && strings.EqualFold(a[:len(urn)], urn) {
				a = a[len(urn):]
			}
		}
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// selected says whether attribute k is requested, and which of its
// sub-attributes ("name.givenName" selects only givenName of name).
func selected(inc []string, k string) (subs []string, keep bool) {
	for _, a := range inc {
		top, sub, hasSub := strings.Cut(a, ".")
		if !strings.EqualFold(top, k) {
			continue
		}
		if !hasSub {
			return nil, true
		}
		subs = append(subs, sub)
		keep = true
	}
	return subs, keep
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// splitOutside splits s at sep where sep is outside brackets and quoted
// strings, so that a value filter may hold commas.
func splitOutside(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '[':
			depth++
		case !quoted && c == ']':
			depth--
		case !quoted && depth == 0 && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// attrListError describes what is wrong with an attributes or
// excludedAttributes list, or is "": an entry's value filter must be one
// bracketed, quoted-balanced filter, optionally followed by .subAttribute.
func attrListError(s string) string {
	for _, a := range splitOutside(s, ',') {
		a = strings.TrimSpace(a)
		open := strings.IndexByte(a, '[')
		if open < 0 {
			if strings.ContainsAny(a, "]\"") {
				return "The attribute " + strconv.Quote(a) + " is not an attribute name."
			}
			continue
		}
		end := strings.LastIndexByte(a, ']')
		rest := ""
		if end > open {
			rest = a[end+1:]
		}
		if open == 0 || end < open || strings.Count(a, "[") != 1 || strings.Count(a, "]") != 1 ||
			strings.Count(a[open:end], "\"")%2 != 0 || (rest != "" && (!strings.HasPrefix(rest, ".") || len(rest) < 2)) {
			return "The attribute " + strconv.Quote(a) + " has a malformed value filter."
		}
		if !parsesAsFilter(a[open+1 : end]) {
			return "The attribute " + strconv.Quote(a) + " has a malformed value filter."
		}
	}
	return ""
}

// parsesAsFilter reports whether s is a filter; the parser panics on some
// inputs, which count as malformed.
func parsesAsFilter(s string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := filter.ParseFilter([]byte(s))
	return err == nil
}

// optionalString is s, or unassigned when s is empty: the library writes
// an unassigned value as "", which discovery then leaves out.
func optionalString(s string) optional.String {
	if s == "" {
		return optional.String{}
	}
	return optional.NewString(s)
}

// complexValues are the objects of a complex attribute: the value itself,
// or each element of a multi-valued one (emails.value selects the value of
// every address). They are the resource's own copies, edited in place.
func complexValues(v any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}
