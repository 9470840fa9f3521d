package bridge

import (
	"strings"
	"testing"
)

func TestMapName(t *testing.T) {
	tests := []struct {
		rule    NameRule
		in      string
		want    string
		wantErr string
	}{
		{RuleLocalPart, "ada@example.com", "ada", ""},
		{RuleLocalPart, "Test_User_00aa00aa-bb11", "Test_User_00aa00aa-bb11", ""},
		{RuleLocalPart, "first.last+tag@example.com", "first.last+tag", ""},
		{RuleLocalPart, "@example.com", "", "revision character"},
		{RuleLocalPart, "-rf@example.com", "", "starts with '-'"},
		{RuleLocalPart, "12345@example.com", "", "purely numeric"},
		{RuleLocalPart, "a b@example.com", "", "whitespace"},
		{RuleLocalPart, "a*b", "", "wildcard"},
		{RuleLocalPart, "a,b", "", "comma"},
		{RuleLocalPart, "a#b", "", "revision character"},
		{RuleLocalPart, "a...b", "", "'...'"},
		{RuleLocalPart, "a\tb", "", "whitespace"},
		{RuleLocalPart, "a\x01b", "", "non-printable"},
		{RuleLocalPart, "none", "", "reserved"},
		{RuleLocalPart, "", "", "empty"},
		{RuleVerbatim, "ada@example.com", "", "revision character"},
		{RuleVerbatim, "ada", "ada", ""},
		{RuleReplace, "Test SCIMv2", "Test_SCIMv2", ""},
		{RuleReplace, "Eng / R&D, Berlin", "Eng___R&D__Berlin", ""},
		{RuleReplace, "-admins", "_admins", ""},
		{RuleReplace, "2024", "g_2024", ""},
		{RuleReplace, "all...", "all_", ""},
		{RuleReplace, "   ", "", "empty"},
		{RuleReplace, "ops@example.com", "ops_example.com", ""},
		{RuleReplace, strings.Repeat("é", 600), strings.Repeat("é", 512), ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule)+"/"+tt.in, func(t *testing.T) {
			got, err := MapName(tt.rule, "userName", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MapName(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if ErrorCode(err) != EInvalid {
					t.Fatalf("code = %s, want invalid", ErrorCode(err))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("MapName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestReplaceAlwaysValid(t *testing.T) {
	for _, in := range []string{"a@b#c*d%e,f g\th", "-", "...", "..", "head", "0", "x\x00y", "\xff\xfe"} {
		got := replaceInvalid(in)
		if got == "" {
			continue
		}
		if err := ValidateName(got); err != nil {
			t.Errorf("replaceInvalid(%q) = %q, still invalid: %v", in, got, err)
		}
	}
}

func FuzzMapName(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Test SCIMv2", "-x", "123", "a...b", "é@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, rule := range []NameRule{RuleLocalPart, RuleVerbatim, RuleReplace} {
			name, err := MapName(rule, "name", in)
			if err != nil {
				continue
			}
			if verr := ValidateName(name); verr != nil {
				t.Fatalf("rule %s mapped %q to invalid %q: %v", rule, in, name, verr)
			}
		}
	})
}

func TestSpecText(t *testing.T) {
	tests := []struct {
		in   string
		word bool
		want string
	}{
		{"Bob #2", false, "Bob _2"},
		{"line1\nline2", false, "line1 line2"},
		{"a b@x.com", true, "a_b@x.com"},
		{" Zoë\x00 ", false, "Zoë"},
	}
	for _, tt := range tests {
		if got := specText(tt.in, tt.word); got != tt.want {
			t.Errorf("specText(%q, %v) = %q, want %q", tt.in, tt.word, got, tt.want)
		}
	}
}
