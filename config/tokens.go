package config

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// TokenSource is a token and the setting it came from.
type TokenSource struct {
	Setting string
	Token   auth.Token
}

// CheckTokens reports every problem of a token set through fail (a name or
// a secret used twice, a weak secret) and returns the tokens. Problems name
// tokens, never show a secret. Start-up and the reload of BEARER_TOKEN_FILE
// (tokens.go) apply the same rules.
func CheckTokens(toks []TokenSource, fail func(setting, format string, a ...any)) []auth.Token {
	out := make([]auth.Token, 0, len(toks))
	names, secrets := map[string]bool{}, map[[sha256.Size]byte]string{}
	for _, s := range toks {
		t := s.Token
		if names[t.Name] {
			fail(s.Setting, "token name %q is used twice; give each token its own name", t.Name)
		}
		names[t.Name] = true
		sum := sha256.Sum256([]byte(t.Secret))
		if other, dup := secrets[sum]; dup {
			fail(s.Setting, "token %q has the same secret as token %q; remove one", t.Name, other)
		}
		secrets[sum] = t.Name
		if why := weakSecret(t.Secret); why != "" {
			fail(s.Setting, "token %q %s; generate one with: openssl rand -base64 32", t.Name, why)
		}
		out = append(out, t)
	}
	return out
}

// ParseTokenFile reads BEARER_TOKEN_FILE: one token per line, name=secret
// or a bare secret (HAS's format: the file holds just the token). Blank
// lines and # comments are skipped. Bare secrets are named "file", or
// "file-N" (N the line) when there are several.
//
// A line is named only if the part before the first '=' is a valid name
// and something other than '=' follows it: a base64 secret's '=' padding
// therefore never reads as a name. A bare secret with '=' in the middle
// must be given a name.
func ParseTokenFile(text string) []auth.Token {
	type line struct {
		n      int
		name   string
		secret string
	}
	var lines []line
	bare := 0
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, secret, ok := strings.Cut(l, "=")
		if ok && isTokenName(strings.TrimSpace(name)) && strings.Trim(secret, "= ") != "" {
			lines = append(lines, line{i + 1, strings.TrimSpace(name), strings.TrimSpace(secret)})
			continue
		}
		lines = append(lines, line{n: i + 1, secret: l})
		bare++
	}
	out := make([]auth.Token, 0, len(lines))
	for _, l := range lines {
		name := l.name
		if name == "" {
			name = "file"
			if bare > 1 {
				name = "file-" + strconv.Itoa(l.n)
			}
		}
		out = append(out, auth.Token{Name: name, Secret: l.secret})
	}
	return out
}

func isTokenName(s string) bool {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,31}$`).MatchString(s)
}

func isClientID(s string) bool {
	return regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`).MatchString(s)
}

// weakSecret says why a secret is unfit for a service on the internet, or
// returns "". Beyond length it refuses what documentation and examples
// put in circulation (HAS's shipped 'keyboard cat' among them) and values
// too regular to be random, in plain or base64 form.
func weakSecret(s string) string {
	if len(s) < configMinSecretLen {
		return fmt.Sprintf("is shorter than %d characters", configMinSecretLen)
	}
	candidates := []string{strings.ToLower(s)}
	if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		candidates = append(candidates, strings.ToLower(string(d)))
	}
	for _, c := range candidates {
		norm := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, c)
		for _, w := range wellKnownSecrets() {
			if norm == w || strings.Trim(norm, "0123456789") == w {
				return "is a well-known example value"
			}
		}
	}
	// Repetitions ("aaaa…", "abcabc…"), plain or base64-encoded, and tiny
	// alphabets are no secret however long; 32 random hex digits show
	// about 14 distinct characters.
	for _, c := range candidates {
		if isRepetition(c) {
			return "is a repetition, not a random value"
		}
	}
	distinct := map[rune]bool{}
	for _, r := range s {
		distinct[r] = true
	}
	if len(distinct) < 8 {
		return "uses too few distinct characters to be random"
	}
	return ""
}

func isRepetition(s string) bool {
	for period := 1; period <= len(s)/2; period++ {
		if strings.Repeat(s[:period], len(s)/period+1)[:len(s)] == s {
			return true
		}
	}
	return false
}

// wellKnownSecrets are refused whatever their length, compared after
// lower-casing and dropping everything but letters and digits.
func wellKnownSecrets() []string {
	return []string{
		"changeme", "secret", "password", "token", "bearer", "bearertoken", "test", "example",
		"keyboardcat", "dangermouse", "surfingboar", // HAS defaults.env and test tokens (peers.md A12, A14)
		"replacewithoutputofopensslrandbase6432", // the placeholder in .env.example
		"abcdefghijklmnopqrstuvwxyz0123456789", "0123456789abcdefghijklmnopqrstuvwxyz",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		"01234567890123456789012345678901", "12345678901234567890123456789012",
	}
}
