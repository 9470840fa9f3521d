package bridge

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DeletePolicy says what a SCIM DELETE of a user does.
type DeletePolicy string

const (
	// DeleteRemoves deletes the Helix Core user (p4 user -d -f). A user with
	// opened files is deactivated instead: the bridge never destroys work.
	DeleteRemoves DeletePolicy = "delete"
	// DeleteDeactivates only deactivates the user and hides it from SCIM.
	DeleteDeactivates DeletePolicy = "deactivate"
)

// DeactivatePolicy says what an IdP's active:false does beyond the
// deactivation steps (release.go).
type DeactivatePolicy string

const (
	// DeactivateKeep keeps the deactivated Helix Core user: it still takes
	// a licence until an admin deletes it.
	DeactivateKeep DeactivatePolicy = "keep"
	// DeactivateDelete deletes the deactivated Helix Core user once
	// Config.DeleteAfter has passed, freeing its licence; SCIM keeps
	// showing it, inactive, from the bridge's record, and a reactivation
	// re-creates it.
	DeactivateDelete DeactivatePolicy = "delete"
)

// Config holds the bridge's policies.
type Config struct {
	// P4User is the bridge's own Helix Core user: never changed through SCIM,
	// and the owner of every group the bridge creates so that an empty group
	// survives (Helix Core deletes a group with no users, subgroups or owners).
	P4User              string
	KeyPrefix           string   // default "p4scim."
	UserNameRule        NameRule // default localpart
	GroupNameRule       NameRule // default replace
	NewUserType         string   // Type of created users; default standard
	NewUserAuth         string   // AuthMethod of created users; "" = server default
	DisablePasswordSync bool     // ignore SCIM passwords instead of setting them with p4 passwd
	AllowUserRename     bool     // a userName change renames the Helix Core user (rename.go)
	DenyGroup           string   // deactivated users are added to this group; "" = none
	Delete              DeletePolicy
	Deactivate          DeactivatePolicy // default keep
	// DeleteAfter is the grace period between a deactivation and the
	// deletion of the Helix Core user (DeactivateDelete, and `p4scim
	// reclaim` under either policy); 0 = at once.
	DeleteAfter    time.Duration
	Protected      []string      // users never changed through SCIM (P4User is always protected)
	LockTTL        time.Duration // a cross-replica lock older than this is taken over; default 30s
	LockWait       time.Duration // how long a write waits for a busy lock; default 20s
	ReplicaID      string        // identifies this process in lock holders; default random
	CaseSensitive  bool          // Helix Core compares names case-sensitively (p4 info caseHandling)
	Logger         *slog.Logger
	Now            func() time.Time
	RandomPassword func() string // for deactivation; default crypto/rand
	// OnChange, if set, is told of every change made in Helix Core:
	// resource "user", "group" or "member", an action such as "created",
	// and a count. A metrics hook.
	OnChange func(resource, action string, n int)

	// ProtectedGroups are groups whose members and existence are never
	// changed through SCIM (privilege.go).
	ProtectedGroups []string
	// AllowPrivilegedUsers lets SCIM change users the protections table
	// gives admin or super (privilege.go); off, they are refused with 403.
	AllowPrivilegedUsers bool
}

func (c *Config) setDefaults() error {
	if c.KeyPrefix == "" {
		c.KeyPrefix = "p4scim."
	}
	if c.UserNameRule == "" {
		c.UserNameRule = RuleLocalPart
	}
	if c.GroupNameRule == "" {
		c.GroupNameRule = RuleReplace
	}
	if c.NewUserType == "" {
		c.NewUserType = "standard"
	}
	if c.Delete == "" {
		c.Delete = DeleteRemoves
	}
	if c.Deactivate == "" {
		c.Deactivate = DeactivateKeep
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 30 * time.Second
	}
	if c.LockWait <= 0 {
		c.LockWait = 20 * time.Second
	}
	if c.ReplicaID == "" {
		c.ReplicaID = randomHex(8)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnChange == nil {
		c.OnChange = func(string, string, int) {}
	}
	if c.RandomPassword == nil {
		c.RandomPassword = func() string { return "Dx-" + randomHex(24) }
	}
	switch c.Delete {
	case DeleteRemoves, DeleteDeactivates:
	default:
		return fmt.Errorf("unknown delete policy %q (want delete or deactivate)", c.Delete)
	}
	switch c.Deactivate {
	case DeactivateKeep, DeactivateDelete:
	default:
		return fmt.Errorf("unknown deactivate policy %q (want keep or delete)", c.Deactivate)
	}
	if c.DeleteAfter < 0 {
		return fmt.Errorf("negative grace period %s", c.DeleteAfter)
	}
	if c.DenyGroup != "" {
		if err := ValidateName(c.DenyGroup); err != nil {
			return fmt.Errorf("deny group: %w", err)
		}
	}
	if strings.ContainsAny(c.KeyPrefix, " \t\n*") {
		return fmt.Errorf("key prefix %q must not contain whitespace or '*'", c.KeyPrefix)
	}
	return nil
}

// Service applies SCIM writes to Helix Core and reads SCIM resources back.
type Service struct {
	helix        Helix
	cfg          Config
	locks        *localLocks
	groupBatches *batcher[*groupChange]
}

// New returns a Service. The Config is copied; defaults fill its zero fields.
func New(h Helix, cfg Config) (*Service, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Service{helix: h, cfg: cfg, locks: newLocalLocks(), groupBatches: newBatcher[*groupChange]()}, nil
}

// sameName compares two Helix Core names the way the server does.
func (s *Service) sameName(a, b string) bool {
	if s.cfg.CaseSensitive {
		return a == b
	}
	return strings.EqualFold(a, b)
}

// nameKey is a name as the server compares it, for sets of names: a
// group's members are looked up in a set, not a list, or a PATCH of a
// 10,000-member group would compare every wanted member with every member.
func (s *Service) nameKey(name string) string {
	if s.cfg.CaseSensitive {
		return name
	}
	return strings.ToLower(name)
}

// nameSet is a set of names under nameKey.
func (s *Service) nameSet(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[s.nameKey(n)] = true
	}
	return set
}
