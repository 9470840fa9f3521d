package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// ReclaimEntry is a deactivated user whose grace period has passed: one
// `p4scim reclaim` lists, and with apply deletes.
type ReclaimEntry struct {
	Name          string // Helix Core user
	DeactivatedAt time.Time
	// Frees is how many licences deleting the user frees: 1 for a
	// standard user, 0 for the others (reference/p4-cli.md §5.4).
	Frees int
	// Blocked says why the user cannot be deleted: blockedProtected
	// (never changed through SCIM: protected, or privileged in the
	// protections table, which only apply finds out), or blockedOpenedFiles (Helix Core
	// refused the last deletion; apply tries again). "" = it can.
	Blocked string
	// With apply: Released, or Err.
	Released bool
	Err      error
}

// Result names what became of the entry, for logs and metric labels:
// deleted, opened_files, protected, failed, or due (a dry run).
func (e ReclaimEntry) Result() string {
	switch {
	case e.Err != nil:
		return "failed"
	case e.Blocked == blockedOpenedFiles:
		return "opened_files"
	case e.Blocked == blockedProtected:
		return "protected"
	case e.Released:
		return "deleted"
	}
	return "due"
}

// ReclaimReport is one pass of reclaim.
type ReclaimReport struct {
	Applied bool
	Entries []ReclaimEntry // sorted by name
	Waiting int            // deactivated users still within their grace period
}

// Freed is the licences the pass freed (with apply) or would free.
func (r ReclaimReport) Freed() int {
	n := 0
	for _, e := range r.Entries {
		if e.Blocked == "" && e.Err == nil && (e.Released || !r.Applied) {
			n += e.Frees
		}
	}
	return n
}

// Failed counts the users apply could not delete: an error, or Helix Core
// refusing (opened files). Protected users are not failures: they are
// never deleted by design.
func (r ReclaimReport) Failed() int {
	n := 0
	for _, e := range r.Entries {
		if r.Applied && (e.Err != nil || e.Blocked == blockedOpenedFiles) {
			n++
		}
	}
	return n
}

// Summary is the one line a cron job or the daemon's log carries.
func (r ReclaimReport) Summary() string {
	blocked := 0
	for _, e := range r.Entries {
		if e.Blocked != "" || e.Err != nil {
			blocked++
		}
	}
	if r.Applied {
		return fmt.Sprintf("reclaim: %d deleted, %d licences freed, %d not deleted (%d failed), %d within their grace period",
			len(r.Entries)-blocked, r.Freed(), blocked, r.Failed(), r.Waiting)
	}
	return fmt.Sprintf("reclaim: %d to delete, freeing %d licences, %d cannot be deleted, %d within their grace period (dry run: --apply deletes)",
		len(r.Entries)-blocked, r.Freed(), blocked, r.Waiting)
}

// Reclaim finds the deactivated users whose grace period (DeleteAfter)
// has passed and still have a Helix Core user, and with apply deletes
// each through the path an IdP's active:false takes (converge, then
// releaseUser), under the user's lock. It runs under either
// DeactivatePolicy: with keep, it is the operator's own tool. Users a
// DELETE hid are left alone: DELETE_POLICY decided their fate.
//
// p4 commands: users -a, keys of the records: 2; with apply, per user the
// commands of a PATCH active=false that releases.
func (s *Service) Reclaim(ctx context.Context, apply bool) (ReclaimReport, error) {
	specs, err := s.helix.Users(ctx)
	if err != nil {
		return ReclaimReport{}, helixError(err, "users")
	}
	byKey := make(map[string]p4.User, len(specs))
	for _, u := range specs {
		byKey[s.userKey(u.Name)] = u
	}
	recs, err := s.helix.Keys(ctx, s.cfg.KeyPrefix+"user.*", func(k string) bool { _, ok := byKey[k]; return ok })
	if err != nil {
		return ReclaimReport{}, helixError(err, "user records")
	}
	report := ReclaimReport{Applied: apply}
	now := s.cfg.Now()
	for k, raw := range recs {
		rec, _ := decodeUserRecord(raw)
		if rec == nil || activeOf(rec.Doc) || rec.Deleted {
			continue
		}
		u := byKey[k]
		if now.Before(deactivatedAt(rec).Add(s.cfg.DeleteAfter)) {
			report.Waiting++
			continue
		}
		e := ReclaimEntry{Name: u.Name, DeactivatedAt: deactivatedAt(rec)}
		if holdsLicence(u) {
			e.Frees = 1
		}
		switch {
		case s.isProtected(u.Name, u.Type):
			e.Blocked = blockedProtected
		case rec.Released != nil:
			e.Blocked = rec.Released.Blocked
		}
		report.Entries = append(report.Entries, e)
	}
	sort.Slice(report.Entries, func(i, j int) bool { return report.Entries[i].Name < report.Entries[j].Name })
	if !apply {
		return report, nil
	}
	for i := range report.Entries {
		e := &report.Entries[i]
		if e.Blocked == blockedProtected {
			continue
		}
		e.Blocked, e.Err = s.releaseNamed(ctx, e.Name)
		e.Released = e.Err == nil && e.Blocked == ""
		if e.Err != nil {
			s.cfg.Logger.WarnContext(ctx, "reclaim: user not deleted", "user", e.Name, "err", e.Err)
		}
	}
	return report, nil
}

// releaseNamed releases one deactivated user as an active:false write
// would, re-reading it under its lock (the IdP may have reactivated it
// since the listing). It returns why Helix Core kept it, if it did.
func (s *Service) releaseNamed(ctx context.Context, name string) (blocked string, err error) {
	unlock, err := s.locks.lock(ctx, "user/"+name)
	if err != nil {
		return "", busyError(name, err)
	}
	defer unlock()
	st, err := s.readUser(ctx, name, true)
	if err != nil {
		return "", err
	}
	if st.gone || st.rec == nil || activeOf(st.rec.Doc) {
		return "", nil // released or reactivated meanwhile
	}
	// The privilege check of every write (privilege.go): a user an admin
	// made admin or super since its deactivation is not deleted either.
	// One protects -m per user deleted; the listing above costs none.
	if p, err := s.userPrivilege(ctx, st.spec.Name, st.spec.Type); err != nil {
		return "", err
	} else if p.denied() {
		return blockedProtected, nil
	}
	next := *st.rec
	next.Doc = cloneDoc(st.rec.Doc)
	if _, err := s.converge(ctx, st, &next, userIntent{release: true}); err != nil {
		return "", err
	}
	if !st.gone && st.rec.Released != nil {
		return st.rec.Released.Blocked, nil
	}
	return "", nil
}

// minSweepLease is the shortest lease (and time budget) of a sweep: a
// pass deleting many users needs minutes, whatever the interval.
const minSweepLease = 2 * time.Minute

// Sweep is the daemon's scheduled reclaim --apply, run by one replica at a
// time: the one that holds the sweep lease, a Helix Core key taken by
// compare-and-set (lock.go) for one interval (at least minSweepLease). A
// replica that finds it held by another, unexpired, skips its turn (ran
// false); the holder takes its own lease back at its next turn. The pass
// runs under a deadline of the lease's length, so it never outlives it.
// The lease is not given back: the next pass, by whichever replica, comes
// one interval later.
func (s *Service) Sweep(ctx context.Context, every time.Duration) (report ReclaimReport, ran bool, err error) {
	ttl := max(every, minSweepLease)
	ok, err := s.takeLease(ctx, s.cfg.KeyPrefix+"lease.reclaim", ttl)
	if err != nil || !ok {
		return ReclaimReport{}, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, ttl)
	defer cancel()
	report, err = s.Reclaim(ctx, true)
	return report, true, err
}

// leaseRounds bounds the compare-and-set rounds of takeLease: each round
// that fails learns the key's current value, which the next one starts
// from.
const leaseRounds = 4

// takeLease takes the lease key for ttl unless another replica holds it
// unexpired. It shares lock.go's protocol (a free key holds a number, a
// held one "<replica>/<expiry unix ms>"), so that an expired lease, or
// one this replica holds, is taken over, but never waits.
func (s *Service) takeLease(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	from := lockFree
	for range leaseRounds {
		holder := s.cfg.ReplicaID + "/" + strconv.FormatInt(s.cfg.Now().Add(ttl).UnixMilli(), 10)
		err := s.helix.CompareAndSetKey(ctx, key, from, holder)
		if err == nil {
			return true, nil
		}
		var pe *p4.Error
		if !errors.As(err, &pe) || pe.Kind != p4.KindConflict {
			return false, helixError(err, "lease "+key)
		}
		switch current := pe.Current; {
		case current == "0" || current == "":
			if from, err = s.makeNumeric(ctx, key); err != nil {
				return false, err
			}
		case isNumeric(current), strings.HasPrefix(current, s.cfg.ReplicaID+"/"), lockExpired(current, s.cfg.Now()):
			from = current
		default:
			return false, nil // another replica's turn
		}
	}
	return false, nil
}
