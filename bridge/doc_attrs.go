package bridge

import (
	"strings"
)

// SCIM attribute helpers. The bridge stores the IdP's document as JSON-like
// maps ([]any, map[string]any, string, bool, float64/int64/json.Number)
// and reads the few attributes that map to Helix Core fields.

// attrNames the bridge never stores: they are computed (id, meta, schemas,
// groups) or secret (password).
var computedAttrs = []string{"id", "meta", "schemas", "groups", "password"}

// stripComputed removes computed and secret attributes from doc, returning
// the password if one was sent. Attribute names are matched
// case-insensitively, as SCIM requires.
func stripComputed(doc map[string]any) (password string, hasPassword bool) {
	for k, v := range doc {
		for _, c := range computedAttrs {
			if strings.EqualFold(k, c) {
				if c == "password" {
					if s, ok := v.(string); ok {
						password, hasPassword = s, true
					}
				}
				delete(doc, k)
			}
		}
	}
	return password, hasPassword
}

func str(doc map[string]any, key string) string {
	s, _ := doc[key].(string)
	return s
}

func subMap(doc map[string]any, key string) map[string]any {
	m, _ := doc[key].(map[string]any)
	return m
}

// list returns a multi-valued attribute as a list, accepting the single
// object that some clients send in its place.
func list(doc map[string]any, key string) []any {
	switch v := doc[key].(type) {
	case []any:
		return v
	case map[string]any:
		return []any{v}
	}
	return nil
}

// activeOf reads "active"; absent means active, as in RFC 7643 practice.
func activeOf(doc map[string]any) bool {
	switch v := doc["active"].(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(v, "false")
	}
	return true
}

// primaryEmail picks the address Helix Core's single Email field gets: the
// primary one, else the work one, else the first.
func primaryEmail(doc map[string]any) string {
	var first, work string
	for _, e := range list(doc, "emails") {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		v, _ := m["value"].(string)
		if v == "" {
			continue
		}
		if p, _ := m["primary"].(bool); p {
			return v
		}
		if t, _ := m["type"].(string); strings.EqualFold(t, "work") && work == "" {
			work = v
		}
		if first == "" {
			first = v
		}
	}
	if work != "" {
		return work
	}
	return first
}

// fullNameOf picks Helix Core's FullName: the formatted name, the display
// name, given + family, or the userName.
func fullNameOf(doc map[string]any) string {
	name := subMap(doc, "name")
	if f := str(name, "formatted"); strings.TrimSpace(f) != "" {
		return f
	}
	if d := str(doc, "displayName"); strings.TrimSpace(d) != "" {
		return d
	}
	parts := []string{}
	for _, k := range []string{"givenName", "middleName", "familyName"} {
		if v := strings.TrimSpace(str(name, k)); v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	return str(doc, "userName")
}

// setPrimaryEmail makes value the address of the element primaryEmail would
// pick, adding a work email when there is none.
func setPrimaryEmail(doc map[string]any, value string) {
	emails := list(doc, "emails")
	pick := -1
	for i, e := range emails {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if p, _ := m["primary"].(bool); p {
			pick = i
			break
		}
		if pick < 0 {
			pick = i
		}
	}
	if pick < 0 {
		doc["emails"] = append(emails, map[string]any{"value": value, "type": "work", "primary": true})
		return
	}
	emails[pick].(map[string]any)["value"] = value
	doc["emails"] = emails
}
