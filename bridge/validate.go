package bridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what the IdP may store through the bridge. Real directory data
// is far below them; anything above is a mistake or an attack, and it would
// end up in Helix Core keys and specs.
const (
	maxStringBytes = 16 << 10 // one attribute value
	maxDocDepth    = 8        // nesting of objects and lists
	maxListLength  = 1000     // elements of one multi-valued attribute (members are checked separately)
	// maxDocBytes bounds what one resource stores, encoded: the record is
	// a Helix Core key value, one line of p4 -x's stdin (no longer argv,
	// which Linux caps at 128 KiB per argument), and whatever p4's line
	// reading allows, a record far above any directory's is a mistake.
	maxDocBytes = 64 << 10
)

// validateDoc refuses values no IdP sends on purpose: control characters
// where the value reaches a Helix Core spec field or a name (see
// reachesHelix), invalid UTF-8, oversized strings and deep nesting (the
// error names the attribute), and a document too large to store. A group's
// members are not stored in its record, so they do not count towards that
// size.
//
// Control characters elsewhere are kept verbatim: free text such as
// addresses[].formatted may hold newlines (RFC 7643 §4.1.2), and the
// record is JSON, which escapes them, in a key value, which is no spec.
func validateDoc(doc map[string]any) error {
	if err := validateValue("", doc, 0); err != nil {
		return err
	}
	stored := make(map[string]any, len(doc))
	for k, v := range doc {
		if !strings.EqualFold(k, "members") {
			stored[k] = v
		}
	}
	b, err := json.Marshal(stored)
	if err != nil {
		return errorf(EInvalid, "The attributes cannot be stored: %v.", err)
	}
	if len(b) > maxDocBytes {
		return errorf(EInvalid, "The attributes take %d bytes; p4scim stores at most %d bytes per resource.", len(b), maxDocBytes)
	}
	return nil
}

func validateValue(path string, v any, depth int) error {
	if depth > maxDocDepth {
		return errorf(EInvalid, "%s is nested too deeply.", name(path))
	}
	switch t := v.(type) {
	case string:
		if len(t) > maxStringBytes {
			return errorf(EInvalid, "%s is longer than %d bytes.", name(path), maxStringBytes)
		}
		if !utf8.ValidString(t) {
			return errorf(EInvalid, "%s is not valid UTF-8.", name(path))
		}
		if i := strings.IndexFunc(t, isControl); i >= 0 && reachesHelix(path) {
			return errorf(EInvalid, "%s contains a control character (%q).", name(path), t[i:i+1])
		}
	case map[string]any:
		for k, e := range t {
			if err := validateValue(join(path, k), e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if len(t) > maxListLength && !strings.EqualFold(path, "members") {
			return errorf(EInvalid, "%s has more than %d values.", name(path), maxListLength)
		}
		for _, e := range t {
			if err := validateValue(path, e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// reachesHelix says whether the attribute at path (as validateValue joins
// it: "name.givenName", "emails.value") becomes a Helix Core name, a spec
// field, or an identifier the bridge indexes. A newline there would end a
// spec field and start another (spec injection): userName and a group's
// displayName become names, emails[].value and userName become Email, the
// name parts and displayName become FullName (specFields), members[].value
// are names, and externalId is an identifier matched exactly by filters.
func reachesHelix(path string) bool {
	switch strings.ToLower(path) {
	case "username", "displayname", "externalid", "name.formatted", "name.givenname", "name.familyname",
		"emails.value", "members.value":
		return true
	}
	return false
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func name(path string) string {
	if path == "" {
		return "The resource"
	}
	return fmt.Sprintf("Attribute %q", path)
}
