package p4_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// BenchmarkOperations times each client operation against the emulator
// exec'd as p4 and reports the p4 processes it cost:
//
//	go test -run '^$' -bench Operations -benchtime 100x ./p4/
func BenchmarkOperations(b *testing.B) {
	ctx := context.Background()
	c, env := newClient(b, p4emu.Options{}, nil)
	for i := range 50 {
		if err := c.SaveUser(ctx, p4.User{Name: fmt.Sprintf("u%02d", i), Email: "u@x", FullName: "U"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.SaveGroup(ctx, p4.Group{Name: "g", Users: []string{"u01"}, Owners: []string{env.User}}); err != nil {
		b.Fatal(err)
	}
	n := 0
	ops := []struct {
		name string
		run  func() error
	}{
		{"Info", func() error { _, err := c.Info(ctx); return err }},
		{"Users/one", func() error { _, err := c.Users(ctx, "u01"); return err }},
		{"Users/all", func() error { _, err := c.Users(ctx); return err }},
		{"UserSpec", func() error { _, _, err := c.UserSpec(ctx, "u01"); return err }},
		{"SaveUser", func() error {
			n++
			return c.SaveUser(ctx, p4.User{Name: "bench", Email: "b@x", FullName: fmt.Sprint("B", n)})
		}},
		{"SetPassword", func() error { n++; return c.SetPassword(ctx, "u02", fmt.Sprint("Passw0rd-", n)) }},
		{"Logout", func() error { return c.Logout(ctx, "u03") }},
		{"Group", func() error { _, err := c.Group(ctx, "g"); return err }},
		{"Groups", func() error { _, err := c.Groups(ctx); return err }},
		{"SaveGroup", func() error {
			n++
			_, err := c.SaveGroup(ctx, p4.Group{Name: "g", Users: []string{"u01", fmt.Sprintf("u%02d", n%50)}, Owners: []string{env.User}})
			return err
		}},
		{"Key", func() error { _, _, err := c.Key(ctx, "k"); return err }},
		{"SetKey", func() error { return c.SetKey(ctx, "k", `{"v":1}`) }},
		{"Keys", func() error { _, err := c.Keys(ctx, "*", nil); return err }},
		{"IncrementKey", func() error { _, err := c.IncrementKey(ctx, "n"); return err }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			env.Server.ResetInvocations()
			for range b.N {
				if err := op.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(env.Server.Invocations()))/float64(b.N), "p4-invocations/op")
		})
	}
}
