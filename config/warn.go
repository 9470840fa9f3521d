package config

import (
	"fmt"
	"slices"
	"strings"
)

// nameWarnings finds settings probably meant but misspelled, so that a
// typo (DELETE_POLCY=deactivate) does not silently leave a destructive
// default in force. In the .env file every name that is not a setting is
// warned about, because the file is ours; in the environment, which holds
// everybody's variables, only near-misses of a setting's name are. HAS's
// names, and the p4 client's own variables, are silent in both: one .env
// commonly serves HAS and p4scim, and P4CLIENT or P4HOST mean something
// to p4.
func nameWarnings(envNames, dotenvNames []string, envFile string) []string {
	names := make([]string, 0, len(Settings()))
	for _, s := range Settings() {
		names = append(names, s.Name)
	}
	var out []string
	slices.Sort(dotenvNames)
	for _, n := range dotenvNames {
		if slices.Contains(names, n) || isForeignName(n) {
			continue
		}
		if near := nearest(n, names); near != "" {
			out = append(out, fmt.Sprintf("%s sets %s, which is not a setting: did you mean %s? It is ignored", envFile, n, near))
		} else {
			out = append(out, fmt.Sprintf("%s sets %s, which is not a setting of p4scim (nor of HAS); it is ignored", envFile, n))
		}
	}
	slices.Sort(envNames)
	for _, n := range envNames {
		if slices.Contains(names, n) || isForeignName(n) || len(n) < 5 {
			continue
		}
		if near := nearest(n, names); near != "" {
			out = append(out, fmt.Sprintf("the environment sets %s, which is not a setting: did you mean %s? It is ignored", n, near))
		}
	}
	return out
}

// isForeignName reports a name that belongs to HAS (peers.md §A12), to
// the p4 client or to the platform, and so is expected beside p4scim's
// settings.
func isForeignName(n string) bool {
	switch n {
	case "ALLOW_USER_RENAME", "DEBUG_SCIM", "DEBUG", "LOGGING", "PROVISIONING", "SVC_BASE_URI", "PROTOCOL", "PORT",
		"CERT_FILE", "KEY_FILE", "KEY_PASSPHRASE", "KEY_PASSPHRASE_FILE", "PFX_FILE", "CA_CERT_FILE", "CA_CERT_PATH",
		"ASSUME_CLIENT_AUTHORIZED", "TRUST_PROXY", "NODE_ENV", "DEFAULT_PROTECTIONS_GROUP",
		"P4CLIENT", "P4HOST", "P4CONFIG", "P4ENVIRO", "P4LANGUAGE", "P4DIFF", "P4EDITOR", "P4MERGE", "P4PAGER",
		"P4IGNORE", "P4LOGINSSO", "P4ROOT", "P4API_TIMEOUT",
		// The platform's own: OpenSSL's and Go's CA bundle (one edit from
		// TLS_CERT_FILE), and the proxy variables every HTTP client reads.
		"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
		return true
	}
	// HAS's authentication settings come in families. [INF] peers.md §A12
	// lists the provisioning settings only; these prefixes are HAS's
	// identity-provider settings as its configure script writes them.
	for _, prefix := range []string{"OIDC_", "SAML_", "IDP_", "SESSION_", "SP_", "REDIS_"} {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// nearest returns the candidate closest to name, compared without case,
// if it is close enough to be a typo: one edit for short names, one per
// five characters for longer ones. A name that differs only in case is
// always a near-miss.
func nearest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToUpper(name), strings.ToUpper(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist >= 0 && bestDist <= max(1, len(name)/5) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
