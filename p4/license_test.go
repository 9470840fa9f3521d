package p4_test

import (
	"context"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestLicense reads `license -u` from servers with and without a user
// limit and an end date; operator and service users take no licence.
func TestLicense(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opts p4emu.Options
		want p4.License
	}{
		{"no user limit", p4emu.Options{}, p4.License{Users: 3, UserLimit: -1, TimeRemaining: -1}},
		{"limited", p4emu.Options{LicenseUsers: 10}, p4.License{Licensed: true, Users: 3, UserLimit: 10, TimeRemaining: -1}},
		{"expiring", p4emu.Options{LicenseUsers: 10, LicenseExpires: now.Add(30 * 24 * time.Hour)},
			p4.License{Licensed: true, Users: 3, UserLimit: 10, TimeRemaining: 30 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = func() time.Time { return now }
			c, env := newClient(t, tt.opts, nil)
			for _, u := range []p4emu.User{{Name: "ada"}, {Name: "bob", Type: "standard"}, {Name: "svc", Type: "service"}, {Name: "ops", Type: "operator"}} {
				if err := env.Server.CreateUser(u, ""); err != nil {
					t.Fatal(err)
				}
			}
			// The bootstrap super user is the third standard user.
			got, err := c.License(context.Background())
			if err != nil || got != tt.want {
				t.Fatalf("License() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
