package bridge

import "context"

// Provisioner is what the SCIM layer asks of the bridge: the operations on
// users and groups of one IdP's domain. *Service implements it for one
// Helix Core server; package routing implements it over the servers of a
// domain, and over every domain of a configuration.
type Provisioner interface {
	CreateUser(ctx context.Context, doc map[string]any) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	ReplaceUser(ctx context.Context, id string, doc map[string]any, opts ...WriteOption) (User, error)
	PatchUser(ctx context.Context, id string, mutate func(doc map[string]any) error, opts ...WriteOption) (User, error)
	DeleteUser(ctx context.Context, id string, opts ...WriteOption) error
	FindUserByUserName(ctx context.Context, userName string) (*User, error)
	FindUserByExternalID(ctx context.Context, externalID string) (*User, error)
	FindUsersByEmail(ctx context.Context, email string) ([]User, error)
	ListUsers(ctx context.Context) (Listing[User], error)
	GroupsOf(ctx context.Context, users ...string) (map[string][]string, error)

	CreateGroup(ctx context.Context, doc map[string]any) (Group, error)
	GetGroup(ctx context.Context, id string) (Group, error)
	ReplaceGroup(ctx context.Context, id string, doc map[string]any, opts ...WriteOption) (Group, error)
	PatchGroup(ctx context.Context, id string, mutate func(doc map[string]any) error, opts ...WriteOption) (Group, error)
	DeleteGroup(ctx context.Context, id string, opts ...WriteOption) error
	FindGroupByDisplayName(ctx context.Context, displayName string) (*Group, error)
	ListGroups(ctx context.Context) (Listing[Group], error)
}

var _ Provisioner = (*Service)(nil)
