package scimhandlers_test

import (
	"net/url"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestAdoptUnlinkedUserByShownUserName: a Helix Core user made outside
// SCIM shows a userName that, under every USERNAME_RULE, a filter
// userName eq "<that value>" resolves back to the user, so the IdP matches
// it and links it (a PUT) instead of getting 409 on a create.
func TestAdoptUnlinkedUserByShownUserName(t *testing.T) {
	tests := []struct {
		rule      bridge.NameRule
		user      p4emu.User
		wantShown string
	}{
		{bridge.RuleLocalPart, p4emu.User{Name: "ada", Email: "ada@example.com", FullName: "Ada Lovelace"}, "ada@example.com"},
		{bridge.RuleLocalPart, p4emu.User{Name: "bob", Email: "robert@example.com", FullName: "Bob"}, "bob"},
		{bridge.RuleVerbatim, p4emu.User{Name: "ada", Email: "ada@example.com", FullName: "Ada Lovelace"}, "ada"},
		{bridge.RuleVerbatim, p4emu.User{Name: "carol", FullName: "Carol"}, "carol"},
		{bridge.RuleReplace, p4emu.User{Name: "ada", Email: "ada@example.com", FullName: "Ada Lovelace"}, "ada"},
		{bridge.RuleReplace, p4emu.User{Name: "dan_example.com", Email: "dan@example.com", FullName: "Dan"}, "dan@example.com"},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule)+"/"+tt.user.Name, func(t *testing.T) {
			st := stacktest.Start(t, stacktest.Options{Bridge: bridge.Config{UserNameRule: tt.rule}})
			if err := st.Emu.Server.CreateUser(tt.user, ""); err != nil {
				t.Fatal(err)
			}
			got := st.Do("GET", "/Users/"+url.PathEscape(tt.user.Name), nil).Must(t, 200)
			shown := got.Str("userName")
			if shown != tt.wantShown {
				t.Fatalf("userName shown %q, want %q", shown, tt.wantShown)
			}
			filter := "/Users?filter=" + url.QueryEscape(`userName eq "`+shown+`"`)
			found := st.Do("GET", filter, nil).Must(t, 200).Resources()
			if len(found) != 1 || found[0]["id"] != tt.user.Name {
				t.Fatalf("filter on the shown userName %q found %v", shown, found)
			}
			// The IdP links what it found: a PUT with its own document.
			doc := map[string]any{"schemas": []string{userSchema}, "userName": shown, "externalId": "ext-" + tt.user.Name}
			if tt.user.Email != "" {
				doc["emails"] = []any{map[string]any{"value": tt.user.Email, "primary": true}}
			}
			st.Do("PUT", "/Users/"+url.PathEscape(tt.user.Name), doc).Must(t, 200)
			found = st.Do("GET", filter, nil).Must(t, 200).Resources()
			if len(found) != 1 || found[0]["id"] != tt.user.Name || found[0]["externalId"] != "ext-"+tt.user.Name {
				t.Fatalf("after linking, the filter found %v", found)
			}
		})
	}
}
