package scimhandlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
)

// toResource turns a bridge document into the library's Resource. The
// attributes map is fresh on every call: the library writes into it.
func toResource(id string, doc map[string]any, created, modified time.Time, r *http.Request) scim.Resource {
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
	res := scim.Resource{ID: id, ExternalID: ext, Attributes: attrs}
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
			if m, ok := v.(map[string]any); ok && len(subs) > 0 {
				for sk := range m {
					if !containsFold(subs, sk) {
						delete(m, sk)
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
			if m, ok := v.(map[string]any); ok {
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
// schema URN prefix that clients may send ("urn:...:User:userName").
func splitAttrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
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
