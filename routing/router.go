package routing

import (
	"context"
	"fmt"
	"sort"

	"github.com/p4scim/p4scim/bridge"
)

// Router serves every domain of a configuration: each call goes to the
// domain that DomainOf finds in its context (the authenticated token's).
type Router struct {
	domainOf func(context.Context) string
	domains  map[string]bridge.Provisioner
}

// New returns the router of a set of domains. The set may be incomplete
// (a domain whose servers have not all answered yet): its requests are
// answered 503 until the caller builds a router with it.
func New(domainOf func(context.Context) string, domains map[string]bridge.Provisioner) *Router {
	return &Router{domainOf: domainOf, domains: domains}
}

// Domains lists the domain names, sorted.
func (r *Router) Domains() []string {
	out := make([]string, 0, len(r.domains))
	for d := range r.domains {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// pick returns the request's domain. A token's domain that is not in the
// router is one whose servers have not all answered since the start: the
// request waits for them (503), and is never sent to another domain's
// servers, which would hand one IdP another's.
func (r *Router) pick(ctx context.Context) (bridge.Provisioner, error) {
	d := r.domainOf(ctx)
	if p, ok := r.domains[d]; ok {
		return p, nil
	}
	return nil, &bridge.Error{Code: bridge.EUnavailable,
		Message: fmt.Sprintf("Provisioning domain %q is not served yet: a Helix Core server it needs has not answered since p4scim started; retry later.", d)}
}

// via runs one call on the request's domain.
func via[T any](ctx context.Context, r *Router, call func(bridge.Provisioner) (T, error)) (T, error) {
	p, err := r.pick(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return call(p)
}

func (r *Router) CreateUser(ctx context.Context, doc map[string]any) (bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.User, error) { return p.CreateUser(ctx, doc) })
}

func (r *Router) GetUser(ctx context.Context, id string) (bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.User, error) { return p.GetUser(ctx, id) })
}

func (r *Router) ReplaceUser(ctx context.Context, id string, doc map[string]any, opts ...bridge.WriteOption) (bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.User, error) { return p.ReplaceUser(ctx, id, doc, opts...) })
}

func (r *Router) PatchUser(ctx context.Context, id string, mutate func(map[string]any) error, opts ...bridge.WriteOption) (bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.User, error) { return p.PatchUser(ctx, id, mutate, opts...) })
}

func (r *Router) DeleteUser(ctx context.Context, id string, opts ...bridge.WriteOption) error {
	_, err := via(ctx, r, func(p bridge.Provisioner) (struct{}, error) { return struct{}{}, p.DeleteUser(ctx, id, opts...) })
	return err
}

func (r *Router) FindUserByUserName(ctx context.Context, userName string) (*bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (*bridge.User, error) { return p.FindUserByUserName(ctx, userName) })
}

func (r *Router) FindUserByExternalID(ctx context.Context, externalID string) (*bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) (*bridge.User, error) { return p.FindUserByExternalID(ctx, externalID) })
}

func (r *Router) FindUsersByEmail(ctx context.Context, email string) ([]bridge.User, error) {
	return via(ctx, r, func(p bridge.Provisioner) ([]bridge.User, error) { return p.FindUsersByEmail(ctx, email) })
}

func (r *Router) ListUsers(ctx context.Context) (bridge.Listing[bridge.User], error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Listing[bridge.User], error) { return p.ListUsers(ctx) })
}

func (r *Router) GroupsOf(ctx context.Context, users ...string) (map[string][]string, error) {
	return via(ctx, r, func(p bridge.Provisioner) (map[string][]string, error) { return p.GroupsOf(ctx, users...) })
}

func (r *Router) CreateGroup(ctx context.Context, doc map[string]any) (bridge.Group, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Group, error) { return p.CreateGroup(ctx, doc) })
}

func (r *Router) GetGroup(ctx context.Context, id string) (bridge.Group, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Group, error) { return p.GetGroup(ctx, id) })
}

func (r *Router) ReplaceGroup(ctx context.Context, id string, doc map[string]any, opts ...bridge.WriteOption) (bridge.Group, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Group, error) { return p.ReplaceGroup(ctx, id, doc, opts...) })
}

func (r *Router) PatchGroup(ctx context.Context, id string, mutate func(map[string]any) error, opts ...bridge.WriteOption) (bridge.Group, error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Group, error) { return p.PatchGroup(ctx, id, mutate, opts...) })
}

func (r *Router) DeleteGroup(ctx context.Context, id string, opts ...bridge.WriteOption) error {
	_, err := via(ctx, r, func(p bridge.Provisioner) (struct{}, error) { return struct{}{}, p.DeleteGroup(ctx, id, opts...) })
	return err
}

func (r *Router) FindGroupByDisplayName(ctx context.Context, displayName string) (*bridge.Group, error) {
	return via(ctx, r, func(p bridge.Provisioner) (*bridge.Group, error) { return p.FindGroupByDisplayName(ctx, displayName) })
}

func (r *Router) ListGroups(ctx context.Context) (bridge.Listing[bridge.Group], error) {
	return via(ctx, r, func(p bridge.Provisioner) (bridge.Listing[bridge.Group], error) { return p.ListGroups(ctx) })
}

var _ bridge.Provisioner = (*Router)(nil)
