package p4

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// DryRun wraps a Client for DRY_RUN: reads run as usual, and every write
// is logged as the p4 command it would run (argv, and the spec it would
// send on stdin) and reported as successful without running. Passwords are
// never logged. Admins use it to check a mapping before going live.
type DryRun struct {
	*Client
	Log *slog.Logger
}

// NewDryRun returns a dry-run view of c.
func NewDryRun(c *Client, log *slog.Logger) *DryRun { return &DryRun{Client: c, Log: log} }

func (d *DryRun) would(ctx context.Context, argv []string, spec map[string]string) {
	attrs := []any{"p4", strings.Join(argv, " ")}
	if len(spec) > 0 {
		keys := make([]string, 0, len(spec))
		for k := range spec {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + strconv.Quote(spec[k]) + " ")
		}
		attrs = append(attrs, "stdin", strings.TrimSpace(b.String()))
	}
	d.Log.InfoContext(ctx, "dry run: would run", attrs...)
	if t := traceFrom(ctx); t != nil {
		t.add("", argv, "dry run", 0)
	}
}

// SaveUser logs `user -i -f` with the spec it would send.
func (d *DryRun) SaveUser(ctx context.Context, u User) error {
	spec := map[string]string{"User": u.Name, "Email": u.Email, "FullName": u.FullName}
	if u.Type != "" {
		spec["Type"] = u.Type
	}
	if u.AuthMethod != "" {
		spec["AuthMethod"] = u.AuthMethod
	}
	d.would(ctx, []string{"user", "-i", "-f"}, spec)
	return nil
}

// DeleteUser logs `user -d -f NAME`.
func (d *DryRun) DeleteUser(ctx context.Context, name string) error {
	d.would(ctx, []string{"user", "-d", "-f", name}, nil)
	return nil
}

// RenameUser logs `renameuser`.
func (d *DryRun) RenameUser(ctx context.Context, from, to string) error {
	d.would(ctx, []string{"renameuser", "--from=" + from, "--to=" + to}, nil)
	return nil
}

// SetPassword logs `passwd NAME`; the password itself is not logged.
func (d *DryRun) SetPassword(ctx context.Context, name, _ string) error {
	d.would(ctx, []string{"passwd", name}, map[string]string{"password": "(not logged)"})
	return nil
}

// Logout logs `logout -a NAME`.
func (d *DryRun) Logout(ctx context.Context, name string) error {
	d.would(ctx, []string{"logout", "-a", name}, nil)
	return nil
}

// SaveGroup logs `group -i` with the spec it would send.
func (d *DryRun) SaveGroup(ctx context.Context, g Group) (GroupSaveResult, error) {
	spec := map[string]string{"Group": g.Name}
	for k, v := range g.Fields {
		spec[k] = v
	}
	for tag, list := range map[string][]string{"Users": g.Users, "Subgroups": g.Subgroups, "Owners": g.Owners} {
		for i, m := range list {
			spec[tag+strconv.Itoa(i)] = m
		}
	}
	d.would(ctx, []string{"group", "-i"}, spec)
	return GroupUpdated, nil
}

// DeleteGroup logs `group -d NAME`.
func (d *DryRun) DeleteGroup(ctx context.Context, name string) error {
	d.would(ctx, []string{"group", "-d", name}, nil)
	return nil
}

// SetKey logs `-x - key` with the name and value it would send on stdin.
func (d *DryRun) SetKey(ctx context.Context, name, value string) error {
	d.would(ctx, []string{"key"}, map[string]string{name: value})
	return nil
}

// SetKeys logs `-x - key -m` with the names and values it would send on
// stdin.
func (d *DryRun) SetKeys(ctx context.Context, kv map[string]string) error {
	d.would(ctx, []string{"key", "-m"}, kv)
	return nil
}

// DeleteKey logs `key -d NAME`.
func (d *DryRun) DeleteKey(ctx context.Context, name string) error {
	d.would(ctx, []string{"key", "-d", name}, nil)
	return nil
}

// CompareAndSetKey pretends the swap succeeded: in a dry run nothing is
// written, so there is nothing to serialise.
func (d *DryRun) CompareAndSetKey(ctx context.Context, name, from, to string) error {
	d.Log.DebugContext(ctx, "dry run: lock not taken", "key", name)
	return nil
}

// IncrementKey pretends the key became 1.
func (d *DryRun) IncrementKey(ctx context.Context, name string) (int64, error) {
	return 1, nil
}
