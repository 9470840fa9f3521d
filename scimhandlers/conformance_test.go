package scimhandlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/p4scim/p4scim/internal/runscope"
	"github.com/p4scim/p4scim/internal/stacktest"
)

// sharedDir finds ../shared beside the repository (CI has it; a user's
// clone does not).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("../shared is not present (%v): the Okta conformance export is only available in CI", err)
	}
	return dir
}

// TestOktaSPECConformance runs Okta's published SCIM 2.0 SPEC test
// (Runscope export) against the full stack: HTTP, bridge, p4 exec,
// emulator. Every step must pass.
func TestOktaSPECConformance(t *testing.T) {
	suite, err := runscope.Load(filepath.Join(sharedDir(t), "conformance", "okta-scim-2.0-spec-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	st := stacktest.Start(t, stacktest.Options{})
	// Step 1 needs at least one user with name parts and an email.
	st.Do("POST", "/Users", oktaUser("existing.user@example.com", "Existing", "User", "Passw0rd-1")).Must(t, 201)

	r := &runscope.Runner{
		BaseURL: st.URL,
		Auth:    "Bearer " + stacktest.Token,
		// The GET /Groups step's JavaScript (not evaluated) checks that
		// Resources is an array whenever totalResults >= 1.
		StepHooks: map[int]func(int, []byte) error{9: func(_ int, body []byte) error {
			var list struct {
				TotalResults int   `json:"totalResults"`
				Resources    []any `json:"Resources"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				return err
			}
			if list.TotalResults >= 1 && list.Resources == nil {
				return errors.New("Resources is not an array")
			}
			return nil
		}},
	}
	rep := r.Run(context.Background(), suite)
	t.Logf("Okta SPEC test:\n%s", rep)
	if len(rep.Steps) != 12 {
		t.Fatalf("ran %d request steps, want 12", len(rep.Steps))
	}
	if failed := rep.Failed(); len(failed) > 0 {
		t.Fatalf("%d of %d steps failed", len(failed), len(rep.Steps))
	}
}
