package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFiles loads each compose file as `docker compose config`
// does, validated against the Compose Specification's schema, and checks
// what the image needs: the settings mounted where it reads them, a stop
// grace longer than SHUTDOWN_GRACE, and a writable /tmp under read_only.
func TestComposeFiles(t *testing.T) {
	for _, tt := range []struct {
		file     string
		services []string
		envFile  string // the settings file the compose file names
	}{
		{"compose.yaml", []string{"p4scim"}, "p4scim.env"},
		{"compose.has.yaml", []string{"has", "p4scim"}, "shared.env"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			// A copy, with the settings file an operator would create.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(read(t, "deploy/compose/"+tt.file)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, tt.envFile), []byte(read(t, ".env.example")), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
				WorkingDir:  dir,
				ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, tt.file)}},
				Environment: types.Mapping{"HAS_IMAGE": "registry.example.com/helix-auth-svc:1"},
			}, func(o *loader.Options) { o.SetProjectName("validate", true) })
			if err != nil {
				t.Fatalf("compose-go: %v", err)
			}
			if got := p.ServiceNames(); !slices.Equal(sorted(got), tt.services) {
				t.Fatalf("services %v, want %v", got, tt.services)
			}
			s := p.Services["p4scim"]
			if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
				return v.Target == "/etc/p4scim/.env" && v.ReadOnly && filepath.Base(v.Source) == tt.envFile
			}) {
				t.Errorf("volumes %+v: want %s mounted read-only at /etc/p4scim/.env", s.Volumes, tt.envFile)
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= defaultDuration(t, "SHUTDOWN_GRACE") {
				t.Errorf("stop_grace_period %v is not longer than SHUTDOWN_GRACE", s.StopGracePeriod)
			}
			if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") || !slices.Contains(s.CapDrop, "ALL") {
				t.Errorf("read_only %v, tmpfs %v, cap_drop %v", s.ReadOnly, s.Tmpfs, s.CapDrop)
			}
			if len(s.Environment) != 0 {
				t.Errorf("environment %v: settings belong in the mounted file (the environment would outrank it)", s.Environment)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
