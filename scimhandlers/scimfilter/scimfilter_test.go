package scimfilter

import (
	"errors"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

var (
	userSchema = schema.CoreUserSchema()
	entSchema  = schema.ExtensionEnterpriseUser()
)

func user() map[string]any {
	return map[string]any{
		"id":          "ada",
		"externalId":  "Ext-1",
		"userName":    "Ada@Example.com",
		"displayName": "Ada Lovelace",
		"active":      false,
		"name":        map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails": []any{
			map[string]any{"value": "ada@work.example", "type": "work", "primary": true},
			map[string]any{"value": "ada@home.example", "type": "home"},
		},
		ent:    map[string]any{"employeeNumber": "42", "department": "Engines"},
		"meta": map[string]any{"created": "2024-01-02T03:04:05Z", "lastModified": "2024-06-01T00:00:00Z"},
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "ada@example.com"`, true},
		{`UserName EQ "ADA@EXAMPLE.COM"`, true},
		{`userName eq "bob@example.com"`, false},
		{`userName ne "bob"`, true},
		{`userName co "example"`, true},
		{`userName sw "ada"`, true},
		{`userName ew ".com"`, true},
		{`userName gt "aaa"`, true},
		{`userName lt "aaa"`, false},
		{`externalId eq "Ext-1"`, true},
		{`externalId eq "ext-1"`, false}, // caseExact
		{`id eq "ada"`, true},
		{`active eq false`, true},
		{`active eq true`, false},
		{`active ne true`, true},
		{`name.familyName eq "lovelace"`, true},
		{`emails.value eq "ada@home.example"`, true},
		{`emails[type eq "work"].value eq "ada@work.example"`, true},
		{`emails[type eq "work"].value eq "ada@home.example"`, false},
		{`emails[type eq "work" and value co "@work"]`, true},
		{`emails[type eq "other"]`, false},
		{`emails pr`, true},
		{`nickName pr`, false},
		{`title pr or displayName sw "Ada"`, true},
		{`not (displayName sw "Ada")`, false},
		{`userName eq "x" or (active eq false and name.givenName eq "Ada")`, true},
		{ent + `:employeeNumber eq "42"`, true},
		{ent + `:department eq "engines"`, true},
		{`meta.lastModified gt "2024-03-01T00:00:00Z"`, true},
		{`meta.created ge "2025-01-01T00:00:00Z"`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada@example.com"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			expr, err := Parse(tt.filter, userSchema, entSchema)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := Match(expr, user(), userSchema, entSchema); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchGroups(t *testing.T) {
	g := map[string]any{"id": "devs", "displayName": "Devs", "members": []any{
		map[string]any{"value": "ada", "type": "User"}, map[string]any{"value": "ops", "type": "Group"}}}
	gs := schema.CoreGroupSchema()
	for f, want := range map[string]bool{
		`id eq "devs" and members[value eq "ada"]`: true,
		`id eq "devs" and members[value eq "bob"]`: false,
		`members eq "ops"`:                         true,
		`members.value eq "ada"`:                   true,
		`displayName eq "devs"`:                    true,
	} {
		expr, err := Parse(f, gs)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := Match(expr, g, gs); got != want {
			t.Errorf("%s: got %v want %v", f, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, f := range []string{
		``, `userName eq`, `userName eq "x`, `nosuch eq "x"`, `name.nosuch eq "x"`, `userName eq x`,
		`active eq "true"`, `active gt true`, `emails[nosuch eq "x"]`, `userName[value eq "x"]`,
		`meta.created gt "yesterday"`, `urn:foo:bar:baz eq "x"`, `name eq "x"`,
		`((((((((((`, `userName eq "a" and`,
	} {
		_, err := Parse(f, userSchema, entSchema)
		var se scimerrors.ScimError
		if !errors.As(err, &se) || se.ScimType != scimerrors.ScimTypeInvalidFilter || se.Status != 400 || se.Detail == "" {
			t.Errorf("Parse(%q) = %v, want invalidFilter", f, err)
		}
	}
}

func TestEquality(t *testing.T) {
	tests := []struct {
		filter, attr, want string
		ok                 bool
	}{
		{`userName eq "a@b"`, "userName", "a@b", true},
		{`USERNAME eq "a@b"`, "userName", "a@b", true},
		{`userName co "a"`, "userName", "", false},
		{`userName eq "a" or userName eq "b"`, "userName", "", false},
		{`id eq "g" and members[value eq "u"]`, "id", "g", true},
		{`emails[type eq "work"].value eq "x@y"`, "emails.value", "x@y", true},
		{`emails.value eq "x@y"`, "emails.value", "x@y", true},
		{`externalId eq "e"`, "userName", "", false},
	}
	for _, tt := range tests {
		expr, err := Parse(tt.filter, userSchema, entSchema)
		if err != nil {
			// The group filter is parsed against the group schema.
			expr, err = Parse(tt.filter, schema.CoreGroupSchema())
			if err != nil {
				t.Fatalf("%s: %v", tt.filter, err)
			}
		}
		got, ok := Equality(expr, tt.attr)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Equality(%s, %s) = %q, %v; want %q, %v", tt.filter, tt.attr, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMatchOddDocuments(t *testing.T) {
	expr, err := Parse(`emails.value eq "x" or name.givenName eq "y" or `+ent+`:department eq "z"`, userSchema, entSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []map[string]any{
		nil, {}, {"emails": "not a list"}, {"emails": map[string]any{"value": "x"}}, {"name": []any{1, 2}},
		{ent: "string"}, {"emails": []any{nil, 3, []any{}}},
	} {
		_ = Match(expr, doc, userSchema, entSchema) // must not panic
	}
	if !Match(expr, map[string]any{"emails": map[string]any{"value": "x"}}, userSchema, entSchema) {
		t.Fatal("a single email object is not matched")
	}
}

func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work"].value eq "x"`, `not (a pr)`,
		`id eq "g" and members[value eq "u"]`, `meta.created gt "2024-01-01T00:00:00Z"`, `active eq true`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		expr, err := Parse(raw, userSchema, entSchema)
		if err != nil {
			var se scimerrors.ScimError
			if !errors.As(err, &se) || se.Status != 400 {
				t.Fatalf("non-SCIM error %v", err)
			}
			return
		}
		_ = Match(expr, user(), userSchema, entSchema)
		_, _ = Equality(expr, "userName")
	})
}
