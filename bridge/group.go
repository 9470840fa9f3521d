package bridge

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// Group is a SCIM group as the bridge returns it.
type Group struct {
	// ID is the Helix Core group name (see the package comment).
	ID string
	// Doc holds displayName, externalId and any other attribute the IdP
	// wrote, plus "members" computed from the spec's Users and Subgroups.
	Doc      map[string]any
	Created  time.Time
	Modified time.Time
	Linked   bool
}

// Member types in SCIM "members" elements.
const (
	MemberUser  = "User"
	MemberGroup = "Group"
)

type groupState struct {
	spec p4.Group
	rec  *groupRecord
	ids  map[string]string // SCIM ids of renamed members (renamedIDs); nil: names are ids
}

// CreateGroup provisions a group from a SCIM document (displayName,
// optional externalId and members).
//
// p4 commands: lock (2), index, group -o, protects (the privilege
// check), record (pending), group -i, record, plus one `users` when members
// are given: 9 (10 with members).
func (s *Service) CreateGroup(ctx context.Context, doc map[string]any) (Group, error) {
	doc = cloneDoc(doc)
	stripComputed(doc)
	if err := validateDoc(doc); err != nil {
		return Group{}, err
	}
	displayName := strings.TrimSpace(str(doc, "displayName"))
	if displayName == "" {
		return Group{}, errorf(EInvalid, "displayName is required.")
	}
	name, err := MapName(s.cfg.GroupNameRule, "displayName", displayName)
	if err != nil {
		return Group{}, err
	}
	if s.isReservedGroup(name) {
		return Group{}, errorf(EConflict, "displayName %q maps to the Helix Core group %q, which p4scim reserves for deactivated users.", displayName, name)
	}
	members, hasMembers := doc["members"]
	delete(doc, "members")

	var out Group
	var final *groupRecord // the record that ends the create, written after the lock's release
	var added int
	err = s.withCreateLock(ctx, name, func(ctx context.Context) error {
		if err := s.checkDisplayNameFree(ctx, displayName, name); err != nil {
			return err
		}
		cur, err := s.helix.Group(ctx, name)
		var resume *groupRecord // the pending claim of an unfinished create of this group
		switch {
		case err == nil:
			rec, rerr := s.readGroupRecord(ctx, name)
			if rerr != nil {
				return rerr
			}
			sameName := rec != nil && strings.EqualFold(str(rec.Doc, "displayName"), displayName)
			switch {
			case rec == nil:
				return errorf(EConflict, "Helix Core group %q already exists and is not linked to a SCIM group; "+
					"link it by matching on displayName %q instead of creating it.", name, name)
			case rec.Pending == pendingCreate && sameName:
				resume = rec // the IdP's retry of a create that stopped after the spec: finish it
			case sameName:
				return existsError("Group", displayName)
			default:
				return errorf(EConflict, "displayName %q maps to Helix Core group %q, which already belongs to displayName %q.",
					displayName, name, str(rec.Doc, "displayName"))
			}
		case !errors.Is(err, p4.ErrNotFound):
			return helixError(err, "group "+name)
		}
		if err := s.checkGroupWritable(ctx, name); err != nil {
			return err
		}
		spec := p4.Group{Name: name, Owners: []string{s.cfg.P4User}}
		if resume != nil {
			spec = cur
		}
		var users, subgroups []string
		if hasMembers {
			users, subgroups, err = s.resolveMembers(ctx, members, nil, name)
			if err != nil {
				return err
			}
		}
		now := s.cfg.Now().UTC()
		rec := &groupRecord{Doc: doc, Created: now, Modified: now}
		if resume != nil {
			rec.Created = resume.Created
		} else {
			// Record (marked pending) and name index in one command, before
			// the spec, so that a retry after any later failure finds its
			// own claim (DESIGN §10, §13).
			claim := *rec
			claim.Pending = pendingCreate
			if err := s.writeGroupRecord(ctx, name, &claim, s.groupNameKey(displayName)); err != nil {
				return err
			}
		}
		if resume == nil || !sameSet(spec.Users, users) || !sameSet(spec.Subgroups, subgroups) {
			spec.Users, spec.Subgroups = users, subgroups
			s.keepGroup(&spec)
			if _, err := s.helix.SaveGroup(ctx, spec); err != nil {
				// As for users: a form-commit trigger can fail after the spec
				// was committed, and then the record must stay.
				if saved, cerr := s.helix.GroupExists(ctx, name); cerr == nil && !saved && resume == nil {
					s.forgetGroup(ctx, name, displayName)
					return helixError(err, "group "+name)
				} else if cerr != nil || !saved {
					return helixError(err, "group "+name)
				}
				s.cfg.Logger.WarnContext(ctx, "Helix Core reported an error after saving the group spec; the group is created", "group", name, "err", err)
			}
		}
		ids, err := s.renamedIDs(ctx)
		if err != nil {
			return err
		}
		out = s.toGroup(&groupState{spec: spec, rec: rec, ids: ids})
		final, added = rec, len(spec.Users)+len(spec.Subgroups)
		return nil
	}, func(ctx context.Context) error {
		// The claim's mark cleared, last, after the lock's release: until
		// then a retry finishes the create. (A write from another replica
		// in between would be lost; an IdP does not write to a group whose
		// create has not answered.)
		if err := s.commit(ctx, func() error { return s.writeGroupRecord(ctx, name, final) }); err != nil {
			return err
		}
		s.cfg.OnChange("group", "created", 1)
		s.cfg.OnChange("member", "added", added)
		return nil
	})
	return out, err
}

func (s *Service) isReservedGroup(name string) bool {
	return s.cfg.DenyGroup != "" && s.sameName(name, s.cfg.DenyGroup)
}

func (s *Service) forgetGroup(ctx context.Context, name, displayName string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range []string{s.groupKey(name), s.groupNameKey(displayName)} {
		if err := s.helix.DeleteKey(ctx, k); err != nil && !errors.Is(err, p4.ErrNotFound) {
			s.cfg.Logger.WarnContext(ctx, "could not remove key", "key", k, "err", err)
		}
	}
}

func (s *Service) checkDisplayNameFree(ctx context.Context, displayName, name string) error {
	owner, err := s.lookupIndex(ctx, s.groupNameKey(displayName))
	if err != nil || owner == "" || s.sameName(owner, name) {
		return err
	}
	if _, err := s.helix.Group(ctx, owner); errors.Is(err, p4.ErrNotFound) {
		return nil // stale index entry
	} else if err != nil {
		return helixError(err, "group "+owner)
	}
	rec, err := s.readGroupRecord(ctx, owner)
	if err != nil {
		return err
	}
	if rec != nil && strings.EqualFold(str(rec.Doc, "displayName"), displayName) {
		return existsError("Group", displayName)
	}
	return nil
}

// resolveMembers turns SCIM member values into Helix Core user and group
// names. Values already in the group (cur) need no lookup; new ones are
// checked in one `users` command, and those that are not users must be
// groups. A value that is neither is refused: it is not an id.
func (s *Service) resolveMembers(ctx context.Context, members any, cur *p4.Group, self string) (users, subgroups []string, err error) {
	var list []any
	switch v := members.(type) {
	case nil:
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	default:
		return nil, nil, errorf(EInvalid, "members must be a list of objects with a value.")
	}
	type want struct{ value, typ string }
	var wants []want
	seen := map[string]bool{}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, nil, errorf(EInvalid, "Each member must be an object with a value.")
		}
		v, _ := m["value"].(string)
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, nil, errorf(EInvalid, "A member has no value.")
		}
		t := memberType(m)
		key := strings.ToLower(t) + "\x00" + v
		if seen[key] {
			continue
		}
		seen[key] = true
		wants = append(wants, want{v, t})
	}
	var unknown []string
	curUsers, curGroups := map[string]bool{}, map[string]bool{}
	if cur != nil {
		curUsers, curGroups = s.nameSet(cur.Users), s.nameSet(cur.Subgroups)
	}
	for _, w := range wants {
		k := s.nameKey(w.value)
		if !curUsers[k] && !curGroups[k] {
			// A value that is not a member yet reaches p4: it must be a
			// valid name. Members the group has are names already.
			if err := ValidateName(w.value); err != nil {
				return nil, nil, errorf(EInvalid, "Member %q is not a user or group id: %v.", w.value, err)
			}
		}
		switch {
		case strings.EqualFold(w.typ, MemberGroup):
			if curGroups[k] {
				subgroups = append(subgroups, w.value)
			} else {
				unknown = append(unknown, "\x00g"+w.value)
			}
		case curUsers[k]:
			users = append(users, w.value)
		case w.typ == "" && curGroups[k]:
			subgroups = append(subgroups, w.value)
		default:
			unknown = append(unknown, w.value)
		}
	}
	if len(unknown) == 0 {
		return users, subgroups, nil
	}
	var asUsers []string
	for _, u := range unknown {
		if !strings.HasPrefix(u, "\x00g") {
			asUsers = append(asUsers, u)
		}
	}
	found := map[string]string{}
	if len(asUsers) > 0 {
		specs, err := s.helix.Users(ctx, asUsers...)
		if err != nil {
			return nil, nil, helixError(err, "members")
		}
		for _, u := range specs {
			found[strings.ToLower(u.Name)] = u.Name
		}
	}
	for _, u := range unknown {
		g, isGroup := strings.CutPrefix(u, "\x00g")
		if !isGroup {
			if name, ok := found[strings.ToLower(u)]; ok && (s.sameName(name, u)) {
				users = append(users, name)
				continue
			}
			// The id of a renamed user names it through its alias.
			name, err := s.renamedUser(ctx, u)
			if err != nil {
				return nil, nil, err
			}
			if name != "" {
				users = append(users, name)
				continue
			}
			g = u
		}
		if s.sameName(g, self) {
			return nil, nil, errorf(EInvalid, "A group cannot be a member of itself.")
		}
		ok, err := s.helix.GroupExists(ctx, g)
		if err != nil {
			return nil, nil, helixError(err, "member "+g)
		}
		if !ok && isGroup {
			// The type is a hint, not the member's identity: a "Group"
			// whose id is a user's is that user (RFC 7643 §4.2: value is
			// the member's id).
			if name, found, err := s.userNamed(ctx, g); err != nil {
				return nil, nil, err
			} else if found {
				users = append(users, name)
				continue
			}
		}
		if !ok {
			return nil, nil, errorf(EInvalid, "Member %q is not the id of a user or group.", g)
		}
		subgroups = append(subgroups, g)
	}
	return users, subgroups, nil
}

// GetGroup returns the group with this id. p4 commands: group -o, key: 2.
func (s *Service) GetGroup(ctx context.Context, id string) (Group, error) {
	st, err := s.readGroup(ctx, id)
	if err != nil {
		return Group{}, err
	}
	if st.ids, err = s.renamedIDs(ctx); err != nil {
		return Group{}, err
	}
	return s.toGroup(st), nil
}

func (s *Service) readGroup(ctx context.Context, id string) (*groupState, error) {
	if ValidateName(id) != nil || s.isReservedGroup(id) {
		return nil, groupNotFound(id)
	}
	spec, err := s.helix.Group(ctx, id)
	if errors.Is(err, p4.ErrNotFound) {
		return nil, groupNotFound(id)
	} else if err != nil {
		return nil, helixError(err, "group "+id)
	}
	rec, err := s.readGroupRecord(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	return &groupState{spec: spec, rec: rec}, nil
}

func groupNotFound(id string) error {
	return &Error{Code: ENotFound, Message: "Group " + id + " not found."}
}

// ReplaceGroup applies a PUT: displayName, externalId, other attributes and
// the full member list. Owners, limits and other spec fields are kept.
func (s *Service) ReplaceGroup(ctx context.Context, id string, doc map[string]any, opts ...WriteOption) (Group, error) {
	return s.updateGroup(ctx, id, writeOpts(opts).guard("Group", id, func(map[string]any) (map[string]any, error) {
		next := cloneDoc(doc)
		if _, ok := next["members"]; !ok {
			next["members"] = []any{}
		}
		return next, nil
	}))
}

// PatchGroup applies a PATCH: mutate edits a copy of the current document,
// members included. Concurrent PATCHes to one group are serialised across
// processes (lock.go), so none loses another's members.
//
// p4 commands: lock (2), group -o, key, then protects (the privilege
// check) and group -i if members changed, key if attributes changed, users
// if members were added: 4 to 8.
func (s *Service) PatchGroup(ctx context.Context, id string, mutate func(doc map[string]any) error, opts ...WriteOption) (Group, error) {
	return s.updateGroup(ctx, id, writeOpts(opts).guard("Group", id, mutating(mutate)))
}

// groupChange is one queued PATCH or PUT of a group. next returns the new
// document without modifying cur, which later changes of the batch see.
type groupChange struct {
	next func(cur map[string]any) (map[string]any, error)
	done chan groupResult
}

type groupResult struct {
	group Group
	err   error
}

// updateGroup queues a change and waits for it. The first caller drains
// the queue: all changes queued meanwhile are applied together (batch.go).
func (s *Service) updateGroup(ctx context.Context, id string, next func(cur map[string]any) (map[string]any, error)) (Group, error) {
	if ValidateName(id) != nil || s.isReservedGroup(id) {
		return Group{}, groupNotFound(id)
	}
	change := &groupChange{next: next, done: make(chan groupResult, 1)}
	if s.groupBatches.enqueue(id, change) {
		// The batch outlives this request's context: other requests wait
		// on it. It is bounded by the lock wait and the p4 deadlines.
		work := context.WithoutCancel(ctx)
		for batch := s.groupBatches.take(id); batch != nil; batch = s.groupBatches.take(id) {
			s.applyGroupBatch(work, id, batch)
		}
	}
	select {
	case r := <-change.done:
		return r.group, r.err
	case <-ctx.Done():
		return Group{}, busyError(id, ctx.Err())
	}
}

// applyGroupBatch applies queued changes in order to one read of the group
// and writes the result once. A change that is invalid on its own (an
// unknown member, no displayName) fails alone; the others still apply.
func (s *Service) applyGroupBatch(ctx context.Context, id string, batch []*groupChange) {
	results := make([]error, len(batch))
	var final Group
	err := s.withLock(ctx, id, func(ctx context.Context) error {
		st, err := s.readGroup(ctx, id)
		if err != nil {
			return err
		}
		if st.ids, err = s.renamedIDs(ctx); err != nil {
			return err
		}
		name := st.spec.Name
		current := s.toGroup(st).Doc
		doc := cloneWithout(current, "members")
		users, subgroups := st.spec.Users, st.spec.Subgroups
		for i, change := range batch {
			next, err := change.next(current) // next never modifies its argument
			if err == nil {
				stripComputed(next)
				err = validateDoc(next)
			}
			if err == nil {
				if strings.TrimSpace(str(next, "displayName")) == "" {
					err = errorf(EInvalid, "displayName is required.")
				}
			}
			var u, g []string
			if err == nil {
				u, g, err = s.resolveMembers(ctx, s.membersByName(next["members"], st.ids), &p4.Group{Users: users, Subgroups: subgroups}, name)
			}
			if err != nil {
				results[i] = err
				continue
			}
			users, subgroups = u, g
			current = next
			doc = cloneWithout(next, "members")
		}
		users = s.keepBridgeUser(st.spec.Users, users)
		if !sameSet(users, st.spec.Users) || !sameSet(subgroups, st.spec.Subgroups) {
			if err := s.checkGroupWritable(ctx, name); err != nil {
				return err
			}
		}
		displayName := strings.TrimSpace(str(doc, "displayName"))
		oldDisplayName := ""
		rec := st.rec
		if rec != nil {
			oldDisplayName = str(rec.Doc, "displayName")
		} else {
			rec = &groupRecord{Created: s.cfg.Now().UTC()}
		}
		if !strings.EqualFold(oldDisplayName, displayName) {
			if err := s.checkDisplayNameFree(ctx, displayName, name); err != nil {
				return err
			}
		}
		// changed: something was written, so the update counts. IdPs send
		// no-op writes (Okta renames a group to its own name before each
		// membership change); those change nothing and count nothing.
		changed := false
		// Helix Core first, the record last (lifecycle.go): a retry after
		// a failure at any step sees the record as it was and writes every
		// step again. The spec is written when Helix Core's differs.
		if !sameSet(users, st.spec.Users) || !sameSet(subgroups, st.spec.Subgroups) {
			spec := st.spec
			spec.Users, spec.Subgroups = users, subgroups
			// Helix Core deletes a group with no users, subgroups or
			// owners; SCIM groups may be empty.
			s.keepGroup(&spec)
			if _, err := s.helix.SaveGroup(ctx, spec); err != nil {
				return helixError(err, "group "+name)
			}
			added := len(diff(users, st.spec.Users)) + len(diff(subgroups, st.spec.Subgroups))
			removed := len(diff(st.spec.Users, users)) + len(diff(st.spec.Subgroups, subgroups))
			s.cfg.OnChange("member", "added", added)
			s.cfg.OnChange("member", "removed", removed)
			st.spec = spec
			changed = true
		}
		renamed := !strings.EqualFold(oldDisplayName, displayName)
		if st.rec == nil || renamed || !reflect.DeepEqual(normalise(rec.Doc), normalise(doc)) {
			var index []string
			if renamed {
				// The old displayName's entry goes before the record (which
				// still names it, so a look-up by it finds the group by its
				// record meanwhile); the new one in the record's own
				// command, so neither exists without the other.
				if oldDisplayName != "" {
					if err := s.helix.DeleteKey(ctx, s.groupNameKey(oldDisplayName)); err != nil && !errors.Is(err, p4.ErrNotFound) {
						return helixError(err, "group "+name)
					}
				}
				index = []string{s.groupNameKey(displayName)}
			}
			rec = &groupRecord{Doc: doc, Created: rec.Created, Modified: s.cfg.Now().UTC()}
			if err := s.commit(ctx, func() error { return s.writeGroupRecord(ctx, name, rec, index...) }); err != nil {
				return err
			}
			st.rec = rec
			changed = true
		}
		if changed {
			s.cfg.OnChange("group", "updated", 1)
		}
		final = s.toGroup(st)
		return nil
	})
	for i, change := range batch {
		switch {
		case results[i] != nil:
			change.done <- groupResult{err: results[i]}
		case err != nil:
			change.done <- groupResult{err: err}
		default:
			change.done <- groupResult{group: final}
		}
	}
}

// diff returns the names in a that are not in b.
func diff(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]int, len(a))
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x] == 0 {
			return false
		}
		m[x]--
	}
	return true
}

// DeleteGroup deletes the Helix Core group, then its name index, then its
// record, which is the marker that clean-up is pending: a retry whose group
// is gone but whose record remains finishes the clean-up (204); once
// nothing is left it answers 404.
// p4 commands: lock (2), group -o, key, protects (the privilege check),
// group -d, 2 × key -d: 8.
func (s *Service) DeleteGroup(ctx context.Context, id string, opts ...WriteOption) error {
	if ValidateName(id) != nil || s.isReservedGroup(id) {
		return groupNotFound(id)
	}
	return s.withLock(ctx, id, func(ctx context.Context) error {
		st, err := s.readGroup(ctx, id)
		name := id
		switch {
		case ErrorCode(err) == ENotFound:
			rec, rerr := s.readGroupRecord(ctx, id)
			if rerr != nil {
				return rerr
			}
			if rec == nil {
				return err
			}
			st = &groupState{spec: p4.Group{Name: id}, rec: rec}
		case err != nil:
			return err
		default:
			name = st.spec.Name
			if err := writeOpts(opts).check("Group", id, s.toGroup(st).Doc); err != nil {
				return err
			}
			if err := s.checkGroupWritable(ctx, name); err != nil {
				return err
			}
			if err := s.helix.DeleteGroup(ctx, name); err != nil && !errors.Is(err, p4.ErrNotFound) {
				return helixError(err, "group "+id)
			}
			s.cfg.OnChange("group", "deleted", 1)
		}
		if st.rec == nil {
			return nil
		}
		if dn := str(st.rec.Doc, "displayName"); dn != "" {
			if err := s.deleteKey(ctx, s.groupNameKey(dn), "group "+name); err != nil {
				return err
			}
		}
		return s.deleteKey(ctx, s.groupKey(name), "group "+name)
	})
}

// toGroup builds the SCIM view. Members come from the spec (Helix Core
// wins); the bridge's own ownership is not membership.
func (s *Service) toGroup(st *groupState) Group {
	g := Group{ID: st.spec.Name}
	if st.rec != nil {
		g.Linked = true
		g.Doc = cloneDoc(st.rec.Doc)
		g.Created, g.Modified = st.rec.Created, st.rec.Modified
	} else {
		g.Doc = map[string]any{"displayName": st.spec.Name}
	}
	members := make([]any, 0, len(st.spec.Users)+len(st.spec.Subgroups))
	for _, u := range s.memberIDs(st.spec.Users, st.ids) {
		members = append(members, map[string]any{"value": u, "type": MemberUser})
	}
	for _, sg := range st.spec.Subgroups {
		members = append(members, map[string]any{"value": sg, "type": MemberGroup})
	}
	g.Doc["members"] = members
	return g
}

// FindGroupByDisplayName returns the group with this displayName
// (case-insensitively), or nil. p4 commands: index, group -o, key: 3.
func (s *Service) FindGroupByDisplayName(ctx context.Context, displayName string) (*Group, error) {
	owner, err := s.lookupIndex(ctx, s.groupNameKey(displayName))
	if err != nil {
		return nil, err
	}
	candidate := owner
	if candidate == "" {
		name, err := MapName(s.cfg.GroupNameRule, "displayName", displayName)
		if err != nil {
			return nil, nil
		}
		candidate = name
	}
	st, err := s.readGroup(ctx, candidate)
	if ErrorCode(err) == ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if st.ids, err = s.renamedIDs(ctx); err != nil {
		return nil, err
	}
	g := s.toGroup(st)
	if !strings.EqualFold(str(g.Doc, "displayName"), displayName) {
		return nil, nil
	}
	return &g, nil
}

// ListGroups returns every group, sorted by id, each built only when the
// listing is asked for it. p4 commands: groups, keys: 2.
func (s *Service) ListGroups(ctx context.Context) (Listing[Group], error) {
	specs, err := s.helix.Groups(ctx)
	if err != nil {
		return Listing[Group]{}, helixError(err, "groups")
	}
	recs, err := s.helix.Keys(ctx, s.cfg.KeyPrefix+"group.*", nil)
	if err != nil {
		return Listing[Group]{}, helixError(err, "group records")
	}
	ids, err := s.renamedIDs(ctx)
	if err != nil {
		return Listing[Group]{}, err
	}
	visible := specs[:0]
	for _, spec := range specs {
		if !s.isReservedGroup(spec.Name) {
			visible = append(visible, spec)
		}
	}
	sort.Slice(visible, func(i, j int) bool { return visible[i].Name < visible[j].Name })
	at := func(i int) Group {
		st := &groupState{spec: visible[i], ids: ids}
		if raw, ok := recs[s.groupKey(visible[i].Name)]; ok {
			st.rec, _ = decodeGroupRecord(raw)
		}
		return s.toGroup(st)
	}
	// Groups are few next to users, and `groups` lists their members
	// anyway: their records are read with the listing.
	return Listing[Group]{n: len(visible), load: func(context.Context, int, int) (func(int) Group, error) { return at, nil }}, nil
}
