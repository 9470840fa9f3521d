package config

import (
	"slices"
	"strings"
	"testing"
)

// TestNameWarnings: a misspelled setting is warned about with the setting
// probably meant, in the .env and the environment alike; HAS's names, the
// p4 client's and everybody else's variables are not.
func TestNameWarnings(t *testing.T) {
	tests := []struct {
		name   string
		dotenv string
		env    []string
		want   []string // each a substring of one warning, in order
	}{
		{"typo in .env", "DELETE_POLCY=deactivate\n", nil,
			[]string{"/x/.env sets DELETE_POLCY, which is not a setting: did you mean DELETE_POLICY?"}},
		{"unknown name in .env", "FAVOURITE_COLOUR=blue\n", nil,
			[]string{"/x/.env sets FAVOURITE_COLOUR, which is not a setting of p4scim (nor of HAS)"}},
		{"HAS's names and p4's are silent in .env", "ALLOW_USER_RENAME=false\nSVC_BASE_URI=https://x\nCERT_FILE=/c\nP4CLIENT=ws\nP4HOST=h\nOIDC_CLIENT_ID=x\n", nil, nil},
		{"typo in the environment", "", []string{"DELETE_POLCY=deactivate"},
			[]string{"the environment sets DELETE_POLCY, which is not a setting: did you mean DELETE_POLICY?"}},
		{"transposed letters", "", []string{"P4_COMAMND_TIMEOUT=5s"},
			[]string{"did you mean P4_COMMAND_TIMEOUT?"}},
		{"wrong case", "", []string{"p4port=perforce:1666"},
			[]string{"the environment sets p4port, which is not a setting: did you mean P4PORT?"}},
		{"other variables in the environment are silent", "", []string{"HOSTNAME=h", "P4ROOT=/p4", "P4HOST=h", "DEBUG=1", "HOME=/root", "GOPATH=/go", "LOGNAME=x",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR=/etc/ssl/certs", "HTTPS_PROXY=http://proxy:3128"}, nil},
		{"both", "RATE_LIMT=5\n", []string{"MAX_INFLIGHT=3"},
			[]string{"sets RATE_LIMT, which is not a setting: did you mean RATE_LIMIT?", "the environment sets MAX_INFLIGHT, which is not a setting: did you mean MAX_IN_FLIGHT?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, []string{"--env-file", "/x/.env"}, with(validEnv(), append([]string{"TRUSTED_PROXIES=10.0.0.1"}, tt.env...)...),
				memFS(t, map[string]string{"/x/.env": tt.dotenv}))
			if len(cfg.Warnings) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", cfg.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(cfg.Warnings[i], w) {
					t.Errorf("warning %d: %q, want %q", i, cfg.Warnings[i], w)
				}
			}
		})
	}
}

func TestNearest(t *testing.T) {
	names := []string{"P4PORT", "P4USER", "DELETE_POLICY", "DEV"}
	for _, tt := range []struct{ in, want string }{
		{"DELETE_POLCY", "DELETE_POLICY"}, {"DELTEE_POLICY", "DELETE_POLICY"}, {"P4PROT", "P4PORT"},
		{"P4HOST", ""}, {"P4USERS", "P4USER"}, {"DEBUG", ""}, {"dev", "DEV"}, {"COMPLETELY_ELSE", ""},
	} {
		if got := nearest(tt.in, names); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !slices.Equal([]int{editDistance("", "ab"), editDistance("ab", "ba"), editDistance("kitten", "sitting")}, []int{2, 1, 3}) {
		t.Error("editDistance")
	}
}

// TestChanged: a reload sees every changed setting, secrets included, by
// name.
func TestChanged(t *testing.T) {
	a := mustLoad(t, nil, validEnv(), memFS(t, nil))
	b := mustLoad(t, nil, with(validEnv(), "P4PASSWD=another-long-Passw0rd-for-the-test", "MAX_IN_FLIGHT=7", "LOG_LEVEL=debug"), memFS(t, nil))
	if got := a.Changed(b); !slices.Equal(got, []string{"P4PASSWD", "MAX_IN_FLIGHT", "LOG_LEVEL"}) {
		t.Fatalf("Changed = %q", got)
	}
	if got := a.Changed(a); len(got) != 0 {
		t.Fatalf("Changed of itself = %q", got)
	}
}
