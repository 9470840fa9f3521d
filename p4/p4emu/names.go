package p4emu

import (
	"strings"
)

// checkName applies the identifier rules of §2.5 and returns the server
// message, or "". Slashes are allowed for users (v17.1 table); the
// reference guesses groups follow the user rules, so they allow them too.
func checkName(id string) string {
	switch {
	case id == "":
		return "Empty identifier not allowed."
	case len(id) > 1024:
		return "Identifiers too long.  Must not be longer than 1024 bytes of UTF-8."
	case strings.HasPrefix(id, "-"):
		return "Initial dash character not allowed in '" + id + "'."
	case strings.IndexByte(id, 0) >= 0:
		return "Embedded null bytes not allowed - '" + id + "'."
	case strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "Non-printable characters not allowed in '" + id + "'."
	case strings.ContainsAny(id, "@#"):
		return "Revision chars (@, #) not allowed in '" + id + "'."
	case strings.Contains(id, ","):
		return "Commas (,) not allowed in '" + id + "'."
	case strings.Contains(id, "*") || strings.Contains(id, "...") || strings.Contains(id, "%%"):
		return "Wildcards (*, %%x, ...) not allowed in '" + id + "'."
	case strings.Contains(id, "%"):
		return "Percent character not allowed in '" + id + "'."
	case strings.Contains(id, "//"):
		return "Null directory (//) not allowed in '" + id + "'."
	case hasRelativePart(id):
		return "Relative paths (., ..) not allowed in '" + id + "'."
	case isNumeric(id):
		return "Purely numeric name not allowed - '" + id + "'."
	}
	return ""
}

func hasRelativePart(id string) bool {
	if !strings.Contains(id, "/") {
		return false
	}
	for _, p := range strings.Split(id, "/") {
		if p == "." || p == ".." {
			return true
		}
	}
	return false
}

func isNumeric(id string) bool {
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// globMatch matches p4 wildcards: '*' (and '...') match any run of
// characters. Case folding follows the server's caseHandling.
func (s *Server) globMatch(pattern, name string) bool {
	pattern = strings.ReplaceAll(pattern, "...", "*")
	if s.opts.CaseInsensitive {
		pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	}
	return wildMatch(pattern, name)
}

func wildMatch(p, s string) bool {
	for len(p) > 0 {
		if p[0] == '*' {
			for p != "" && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if wildMatch(p, s[i:]) {
					return true
				}
			}
			return false
		}
		if s == "" || p[0] != s[0] {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}
