package bridge

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// Licence is the licence headroom an operator watches: Helix Core's own
// figures (each standard user takes a licence; operator and service users
// take none, reference/p4-cli.md §5.4) and how many of the licences are
// held by users the IdP has deactivated, which deleting them would free.
type Licence struct {
	Licensed bool
	Users    int64 // standard users counted against the licence
	Limit    int64 // -1: no user limit
	// TimeRemaining is how long the licence stays valid; -1: no end.
	TimeRemaining time.Duration
	// InactiveHolding are the users the IdP deactivated (active=false in
	// the bridge's record) that still exist in Helix Core as standard
	// users, sorted by name.
	InactiveHolding []string
}

// Free is how many more standard users the licence takes; -1 without a
// limit.
func (l Licence) Free() int64 {
	if l.Limit < 0 {
		return -1
	}
	return max(l.Limit-l.Users, 0)
}

// String is the one-line summary `check` prints and the logs carry.
func (l Licence) String() string {
	limit := "no user limit"
	if l.Limit >= 0 {
		limit = fmt.Sprintf("%d of %d licensed users taken, %d free", l.Users, l.Limit, l.Free())
	} else {
		limit = fmt.Sprintf("%d standard users, %s", l.Users, limit)
	}
	if l.TimeRemaining >= 0 {
		limit += fmt.Sprintf(", licence ends in %d days", int64(l.TimeRemaining/(24*time.Hour)))
	}
	return fmt.Sprintf("%s; %d deactivated users still hold a licence", limit, len(l.InactiveHolding))
}

// Licence reads the licence headroom. It reads every user and every user
// record, so it is meant for a schedule (the daemon's refresh, `check`),
// never for a request or a scrape.
//
// p4 commands: license -u, users -a, keys of the user records: 3.
func (s *Service) Licence(ctx context.Context) (Licence, error) {
	lic, err := s.helix.License(ctx)
	if err != nil {
		return Licence{}, helixError(err, "licence")
	}
	out := Licence{Licensed: lic.Licensed, Users: lic.Users, Limit: lic.UserLimit, TimeRemaining: lic.TimeRemaining}
	out.InactiveHolding, err = s.inactiveHolding(ctx)
	return out, err
}

// inactiveHolding lists the deactivated users that still take a licence.
// p4 commands: users -a, keys: 2.
func (s *Service) inactiveHolding(ctx context.Context) ([]string, error) {
	specs, err := s.helix.Users(ctx)
	if err != nil {
		return nil, helixError(err, "users")
	}
	licensed := make(map[string]string, len(specs)) // record key -> user name
	for _, u := range specs {
		if holdsLicence(u) && !s.isProtected(u.Name, u.Type) {
			licensed[s.userKey(u.Name)] = u.Name
		}
	}
	recs, err := s.helix.Keys(ctx, s.cfg.KeyPrefix+"user.*", func(k string) bool { _, ok := licensed[k]; return ok })
	if err != nil {
		return nil, helixError(err, "user records")
	}
	var names []string
	for k, raw := range recs {
		if rec, _ := decodeUserRecord(raw); rec != nil && !activeOf(rec.Doc) {
			names = append(names, licensed[k])
		}
	}
	sort.Strings(names)
	return names, nil
}

// holdsLicence: standard users take a licence, operator and service users
// none (§5.4). A Type left empty is a standard user.
func holdsLicence(u p4.User) bool { return u.Type == "" || u.Type == "standard" }

// createError is helixError for a failed user create, with Helix Core's
// licence-quota refusal enriched with what the operator can do about it:
// how many deactivated users hold a licence. Counting them costs 2 p4
// commands, on this error path only; if the count fails the plain refusal
// is returned.
func (s *Service) createError(ctx context.Context, err error, what string) error {
	base := helixError(err, what)
	if p4.KindOf(err) != p4.KindLicenseQuota {
		return base
	}
	inactive, cerr := s.inactiveHolding(context.WithoutCancel(ctx))
	if cerr != nil || len(inactive) == 0 {
		return base
	}
	return &Error{Code: EQuota, Err: err, Message: fmt.Sprintf(
		"Helix Core licence quota reached: no more users can be created. %d deactivated users still hold a licence; "+
			"p4scim reclaim lists them and, with --apply, deletes them to free their licences (DEACTIVATE_POLICY=delete does it on deactivation).", len(inactive))}
}
