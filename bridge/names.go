package bridge

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NameRule says how an IdP name becomes a Helix Core name.
type NameRule string

const (
	// RuleLocalPart takes an e-mail's local part ("ada@example.com" → "ada")
	// and uses any other name as sent. The default for users, as in HAS.
	RuleLocalPart NameRule = "localpart"
	// RuleVerbatim uses the name exactly as sent; invalid names are refused.
	RuleVerbatim NameRule = "verbatim"
	// RuleReplace replaces every character Helix Core refuses with '_'.
	// The default for groups, whose IdP names often hold spaces.
	RuleReplace NameRule = "replace"
)

// ParseNameRule validates a configured rule.
func ParseNameRule(s string) (NameRule, error) {
	switch r := NameRule(strings.ToLower(strings.TrimSpace(s))); r {
	case RuleLocalPart, RuleVerbatim, RuleReplace:
		return r, nil
	}
	return "", fmt.Errorf("unknown name rule %q (want localpart, verbatim or replace)", s)
}

// maxNameBytes is Helix Core's identifier limit (p4-cli.md §2.5).
const maxNameBytes = 1024

// reservedNames cannot name anything in Helix Core.
var reservedNames = map[string]bool{"head": true, "have": true, "none": true}

// ValidateName reports why Helix Core would refuse name as a user or group
// name, or returns nil. It applies the rules of p4-cli.md §2.5 plus what
// breaks a spec's word field (whitespace) and the form parser (#, quotes),
// so that no invalid name ever reaches a p4 argv.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > maxNameBytes:
		return fmt.Errorf("name longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("name %q starts with '-'", name)
	case reservedNames[strings.ToLower(name)]:
		return fmt.Errorf("name %q is reserved in Helix Core", name)
	case isNumeric(name):
		return fmt.Errorf("name %q is purely numeric", name)
	case strings.Contains(name, "..."):
		return fmt.Errorf("name %q contains the wildcard '...'", name)
	case strings.Contains(name, "//"):
		return fmt.Errorf("name %q contains '//'", name)
	case name == "." || name == "..":
		return fmt.Errorf("name %q is a relative path", name)
	}
	for _, r := range name {
		if c := badNameRune(r); c != "" {
			return fmt.Errorf("name %q contains %s", name, c)
		}
	}
	return nil
}

// badNameRune names the class of a character Helix Core refuses in an
// identifier, or returns "".
func badNameRune(r rune) string {
	switch {
	case r == '@' || r == '#':
		return fmt.Sprintf("the revision character %q", r)
	case r == '*' || r == '%':
		return fmt.Sprintf("the wildcard %q", r)
	case r == ',':
		return "a comma"
	case r == '"' || r == '\\':
		return fmt.Sprintf("the character %q", r)
	case unicode.IsSpace(r):
		return "whitespace"
	case !unicode.IsPrint(r):
		return "a non-printable character"
	}
	return ""
}

func isNumeric(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// MapName applies rule to an IdP name. It returns an EInvalid error naming
// the problem when the result is not a valid Helix Core name.
func MapName(rule NameRule, what, idpName string) (string, error) {
	name := idpName
	switch rule {
	case RuleLocalPart:
		if at := strings.LastIndexByte(name, '@'); at > 0 {
			name = name[:at]
		}
	case RuleReplace:
		name = replaceInvalid(name)
	}
	if err := ValidateName(name); err != nil {
		return "", &Error{Code: EInvalid, Message: fmt.Sprintf(
			"%s %q cannot be a Helix Core name (rule %s): %v", what, idpName, rule, err)}
	}
	return name, nil
}

// replaceInvalid makes the smallest change that turns s into a valid name:
// refused characters become '_', and a name that would still be refused as a
// whole (numeric, reserved, leading '-') gets a prefix.
func replaceInvalid(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r == '/' || badNameRune(r) != "" || r == utf8.RuneError {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	for strings.Contains(out, "...") {
		out = strings.ReplaceAll(out, "...", "_")
	}
	if strings.HasPrefix(out, "-") {
		out = "_" + out[1:]
	}
	if out == "." || out == ".." || isNumeric(out) || reservedNames[strings.ToLower(out)] {
		out = "g_" + out
	}
	if len(out) > maxNameBytes {
		out = out[:maxNameBytes]
		for !utf8.ValidString(out) {
			out = out[:len(out)-1]
		}
	}
	return out
}

// specText makes a value safe for a Helix Core spec field: p4 turns the
// marshalled dict into a text form, where '#' starts a comment and a newline
// ends the field. word fields (Email) additionally cannot hold spaces.
func specText(s string, word bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '#':
			b.WriteByte('_')
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case !unicode.IsPrint(r):
		case word && unicode.IsSpace(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
