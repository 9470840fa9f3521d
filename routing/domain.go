package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"

	"github.com/p4scim/p4scim/bridge"
)

// Server is one Helix Core server's bridge, and the name that labels it in
// errors, logs and metrics.
type Server struct {
	Name string
	bridge.Provisioner
}

// Domain is the servers of one domain, leader first.
type Domain struct {
	name    string
	servers []Server
	log     *slog.Logger
}

// NewDomain returns the provisioner of a domain served by servers, the
// first being its leader. With one server it is that server's bridge
// itself.
func NewDomain(name string, log *slog.Logger, servers ...Server) (bridge.Provisioner, error) {
	switch {
	case len(servers) == 0:
		return nil, fmt.Errorf("routing: domain %q has no server", name)
	case len(servers) == 1:
		return servers[0].Provisioner, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Domain{name: name, servers: servers, log: log}, nil
}

func (d *Domain) leader() Server      { return d.servers[0] }
func (d *Domain) followers() []Server { return d.servers[1:] }

// Writes records, for one request, the servers a write reached and those
// it did not: the audit line's. WithWrites puts one in a context.
type Writes struct {
	mu      sync.Mutex
	done    []string
	missing []string
}

type writesKey struct{}

// WithWrites returns a context in which the domains record their writes.
func WithWrites(ctx context.Context) (context.Context, *Writes) {
	w := &Writes{}
	return context.WithValue(ctx, writesKey{}, w), w
}

func (w *Writes) record(server string, err error) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.done = append(w.done, server)
	} else {
		w.missing = append(w.missing, server)
	}
}

// Done lists the servers written, in order (none for a nil Writes).
func (w *Writes) Done() []string {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.done...)
}

// Missing lists the servers a write did not reach.
func (w *Writes) Missing() []string {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.missing...)
}

func writesFrom(ctx context.Context) *Writes {
	w, _ := ctx.Value(writesKey{}).(*Writes)
	return w
}

// onLeader names the leader in an unavailable error: the IdP's operator
// then knows which server to look at. Every other error of the leader is
// about the request and passes as it is. Either way no other server of the
// domain was written.
func (d *Domain) onLeader(err error) error {
	if bridge.ErrorCode(err) != bridge.EUnavailable {
		return err
	}
	return &bridge.Error{Code: bridge.EUnavailable,
		Message: fmt.Sprintf("Helix Core server %s (leader of domain %s) did not complete the request, and no other server was written: %s",
			d.leader().Name, d.name, bridge.ErrorMessage(err)),
		Err: err}
}

// follow applies a write the leader took to every other server, each
// alone: one server's failure does not keep the write from the others.
func (d *Domain) follow(ctx context.Context, op, id string, apply func(Server) error) error {
	w := writesFrom(ctx)
	w.record(d.leader().Name, nil)
	done := []string{d.leader().Name}
	var missing []string
	var first error
	retryable := false
	for _, s := range d.followers() {
		err := apply(s)
		w.record(s.Name, err)
		if err == nil {
			done = append(done, s.Name)
			continue
		}
		missing = append(missing, s.Name)
		if first == nil {
			first = fmt.Errorf("server %s: %w", s.Name, err)
		}
		if c := bridge.ErrorCode(err); c == bridge.EUnavailable || c == bridge.EInternal {
			retryable = true
		}
		d.log.WarnContext(ctx, "write not done on every server of the domain", "domain", d.name, "operation", op,
			"id", id, "server", s.Name, "err", err)
	}
	if first == nil {
		return nil
	}
	code, retry := bridge.ErrorCode(first), ""
	if retryable {
		// The leader has the write: a retry finishes it where it is
		// missing, so the IdP must retry rather than give up.
		code, retry = bridge.EUnavailable, " Retry the request to finish it; what is done is not repeated."
	}
	return &bridge.Error{Code: code,
		Message: fmt.Sprintf("Done on Helix Core server %s; not on %s: %s%s",
			strings.Join(done, ", "), strings.Join(missing, ", "), bridge.ErrorMessage(first), retry),
		Err: first}
}

// Reads are the leader's.

func (d *Domain) GetUser(ctx context.Context, id string) (bridge.User, error) {
	u, err := d.leader().GetUser(ctx, id)
	return u, d.onLeader(err)
}

func (d *Domain) FindUserByUserName(ctx context.Context, userName string) (*bridge.User, error) {
	u, err := d.leader().FindUserByUserName(ctx, userName)
	return u, d.onLeader(err)
}

func (d *Domain) FindUserByExternalID(ctx context.Context, externalID string) (*bridge.User, error) {
	u, err := d.leader().FindUserByExternalID(ctx, externalID)
	return u, d.onLeader(err)
}

func (d *Domain) FindUsersByEmail(ctx context.Context, email string) ([]bridge.User, error) {
	u, err := d.leader().FindUsersByEmail(ctx, email)
	return u, d.onLeader(err)
}

func (d *Domain) ListUsers(ctx context.Context) (bridge.Listing[bridge.User], error) {
	l, err := d.leader().ListUsers(ctx)
	return l, d.onLeader(err)
}

func (d *Domain) GroupsOf(ctx context.Context, users ...string) (map[string][]string, error) {
	m, err := d.leader().GroupsOf(ctx, users...)
	return m, d.onLeader(err)
}

func (d *Domain) GetGroup(ctx context.Context, id string) (bridge.Group, error) {
	g, err := d.leader().GetGroup(ctx, id)
	return g, d.onLeader(err)
}

func (d *Domain) FindGroupByDisplayName(ctx context.Context, displayName string) (*bridge.Group, error) {
	g, err := d.leader().FindGroupByDisplayName(ctx, displayName)
	return g, d.onLeader(err)
}

func (d *Domain) ListGroups(ctx context.Context) (bridge.Listing[bridge.Group], error) {
	l, err := d.leader().ListGroups(ctx)
	return l, d.onLeader(err)
}

// Writes. Users and groups follow the same rules; the generic functions
// below hold them once, and the methods name the bridge's operations.

// CreateUser creates the user on every server. A retry after a partial
// create finds it on the servers that have it (bridge.ErrExists) and
// creates it on the others; only when every server had it is the answer
// the leader's 409.
func (d *Domain) CreateUser(ctx context.Context, doc map[string]any) (bridge.User, error) {
	return createAll(ctx, d, func(s Server) (bridge.User, error) { return s.CreateUser(ctx, doc) },
		func() (*bridge.User, error) { return d.leader().FindUserByUserName(ctx, trimmed(doc, "userName")) },
		func(u bridge.User) string { return u.ID })
}

// ReplaceUser replaces the user on every server; a server that lacks it
// gets it created from the same document.
func (d *Domain) ReplaceUser(ctx context.Context, id string, doc map[string]any, opts ...bridge.WriteOption) (bridge.User, error) {
	return replaceAll(ctx, d, "replace", id,
		func(s Server, opts ...bridge.WriteOption) (bridge.User, error) {
			return s.ReplaceUser(ctx, id, doc, opts...)
		},
		func(s Server, _ bridge.User) (bridge.User, error) { return s.CreateUser(ctx, doc) }, opts)
}

// PatchUser applies the same patch on every server. A server that lacks
// the user gets it created from the leader's result, then patched, so that
// what the patch alone carries (a password) reaches it too.
func (d *Domain) PatchUser(ctx context.Context, id string, mutate func(map[string]any) error, opts ...bridge.WriteOption) (bridge.User, error) {
	return patchAll(ctx, d, id, func(s Server, opts ...bridge.WriteOption) (bridge.User, error) {
		return s.PatchUser(ctx, id, mutate, opts...)
	},
		func(s Server, leader bridge.User) error {
			_, err := s.CreateUser(ctx, maps.Clone(leader.Doc))
			return err
		}, opts)
}

// DeleteUser deletes the user on every server; a server without it is
// done. Only when no server had it is the answer 404.
func (d *Domain) DeleteUser(ctx context.Context, id string, opts ...bridge.WriteOption) error {
	return deleteAll(ctx, d, id, func(s Server, opts ...bridge.WriteOption) error { return s.DeleteUser(ctx, id, opts...) }, opts)
}

// CreateGroup: as CreateUser, by displayName.
func (d *Domain) CreateGroup(ctx context.Context, doc map[string]any) (bridge.Group, error) {
	return createAll(ctx, d, func(s Server) (bridge.Group, error) { return s.CreateGroup(ctx, doc) },
		func() (*bridge.Group, error) {
			return d.leader().FindGroupByDisplayName(ctx, trimmed(doc, "displayName"))
		},
		func(g bridge.Group) string { return g.ID })
}

// ReplaceGroup: as ReplaceUser.
func (d *Domain) ReplaceGroup(ctx context.Context, id string, doc map[string]any, opts ...bridge.WriteOption) (bridge.Group, error) {
	return replaceAll(ctx, d, "replace", id,
		func(s Server, opts ...bridge.WriteOption) (bridge.Group, error) {
			return s.ReplaceGroup(ctx, id, doc, opts...)
		},
		func(s Server, _ bridge.Group) (bridge.Group, error) { return s.CreateGroup(ctx, doc) }, opts)
}

// PatchGroup replays the patch on every server, never copies the leader's
// members: two replicas' concurrent PATCHes of one group then reach each
// server in some order, and adds and removes of different members commute,
// so every server ends with the same members. A server that lacks the
// group gets it from the leader's result, then the patch (a no-op on
// members it already has).
func (d *Domain) PatchGroup(ctx context.Context, id string, mutate func(map[string]any) error, opts ...bridge.WriteOption) (bridge.Group, error) {
	return patchAll(ctx, d, id, func(s Server, opts ...bridge.WriteOption) (bridge.Group, error) {
		return s.PatchGroup(ctx, id, mutate, opts...)
	},
		func(s Server, leader bridge.Group) error {
			_, err := s.CreateGroup(ctx, maps.Clone(leader.Doc))
			return err
		}, opts)
}

// DeleteGroup: as DeleteUser.
func (d *Domain) DeleteGroup(ctx context.Context, id string, opts ...bridge.WriteOption) error {
	return deleteAll(ctx, d, id, func(s Server, opts ...bridge.WriteOption) error { return s.DeleteGroup(ctx, id, opts...) }, opts)
}

// createAll runs a create on the leader, then on the others. A leader that
// already has the resource (a retry) lends its resource to the answer; a
// server that has it counts as done.
func createAll[T any](ctx context.Context, d *Domain, create func(Server) (T, error), leaderHas func() (*T, error), id func(T) string) (T, error) {
	var zero T
	out, err := create(d.leader())
	existed := errors.Is(err, bridge.ErrExists)
	if err != nil && !existed {
		return zero, d.onLeader(err)
	}
	if existed {
		found, ferr := leaderHas()
		if ferr != nil || found == nil {
			return zero, err
		}
		out = *found
	}
	created := !existed
	ferr := d.follow(ctx, "create", id(out), func(s Server) error {
		_, err := create(s)
		switch {
		case errors.Is(err, bridge.ErrExists):
			return nil
		case err == nil:
			created = true
		}
		return err
	})
	switch {
	case ferr != nil:
		return zero, ferr
	case !created:
		return zero, err // every server had it: the IdP's create of an existing resource
	}
	return out, nil
}

// replaceAll runs a PUT or PATCH on the leader (with the request's
// preconditions), then on the others; a server without the resource gets
// it from recreate.
func replaceAll[T any](ctx context.Context, d *Domain, op, id string, write func(Server, ...bridge.WriteOption) (T, error),
	recreate func(s Server, leader T) (T, error), opts []bridge.WriteOption) (T, error) {
	out, err := write(d.leader(), opts...)
	if err != nil {
		return out, d.onLeader(err)
	}
	return out, d.follow(ctx, op, id, func(s Server) error {
		_, err := write(s)
		if bridge.ErrorCode(err) == bridge.ENotFound {
			_, err = recreate(s, out)
		}
		return err
	})
}

// patchAll is replaceAll for a PATCH: a server without the resource gets
// it created from the leader's result (create), then the patch itself.
func patchAll[T any](ctx context.Context, d *Domain, id string, patch func(Server, ...bridge.WriteOption) (T, error),
	create func(s Server, leader T) error, opts []bridge.WriteOption) (T, error) {
	return replaceAll(ctx, d, "patch", id, patch, func(s Server, leader T) (T, error) {
		if err := create(s, leader); err != nil && !errors.Is(err, bridge.ErrExists) {
			var zero T
			return zero, err
		}
		return patch(s)
	}, opts)
}

// deleteAll runs a DELETE on the leader (with the request's
// preconditions), then on the others; a server without the resource is
// done, and the answer is 404 only when no server had it.
func deleteAll(ctx context.Context, d *Domain, id string, del func(Server, ...bridge.WriteOption) error, opts []bridge.WriteOption) error {
	err := del(d.leader(), opts...)
	leaderMissing := bridge.ErrorCode(err) == bridge.ENotFound
	if err != nil && !leaderMissing {
		return d.onLeader(err)
	}
	deleted := !leaderMissing
	ferr := d.follow(ctx, "delete", id, func(s Server) error {
		err := del(s)
		switch {
		case bridge.ErrorCode(err) == bridge.ENotFound:
			return nil
		case err == nil:
			deleted = true
		}
		return err
	})
	switch {
	case ferr != nil:
		return ferr
	case !deleted:
		return err
	}
	return nil
}

func trimmed(doc map[string]any, key string) string {
	v, _ := doc[key].(string)
	return strings.TrimSpace(v)
}

var _ bridge.Provisioner = (*Domain)(nil)
