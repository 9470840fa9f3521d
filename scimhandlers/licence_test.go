package scimhandlers_test

import (
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestLicenceQuotaSaysWhatToFree: when the licence is full, the 403 says
// how many deactivated users still hold a licence, so the IdP admin knows
// there is something to free; without any, the plain refusal stays.
func TestLicenceQuotaSaysWhatToFree(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{Emulator: p4emu.Options{LicenseUsers: 3}})
	create := func(userName string, status int) string {
		return st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": userName}).Must(t, status).Str("detail")
	}
	create("one@example.com", 201)
	id := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "two@example.com"}).Must(t, 201).Str("id")
	if d := create("three@example.com", 403); !strings.Contains(d, "licence quota") || strings.Contains(d, "deactivated") {
		t.Fatalf("quota without deactivated users: %q", d)
	}
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "active", "value": false})).Must(t, 200)
	d := create("three@example.com", 403)
	if !strings.Contains(d, "licence quota") || !strings.Contains(d, "1 deactivated users still hold a licence") {
		t.Fatalf("quota detail: %q", d)
	}
}
