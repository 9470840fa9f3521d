package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// scenario is the IdP's traffic and what it should leave in Helix Core.
type scenario struct {
	cfg config
	l   *loader

	mu          sync.Mutex
	userIDs     []string          // sync user i's id
	entraIDs    []string          // Entra cycle j's user id
	emails      map[string]string // id -> the e-mail it was given
	groupIDs    []string
	members     map[string]map[string]bool // group id -> user ids it must hold
	deactivated map[string]bool
	unsure      []string // requests whose effect is unknown (failed)
}

func newScenario(cfg config, l *loader) *scenario {
	return &scenario{cfg: cfg, l: l, userIDs: make([]string, cfg.users), entraIDs: make([]string, cfg.entraCycles),
		emails: map[string]string{}, members: map[string]map[string]bool{}, deactivated: map[string]bool{}}
}

func userName(i int) string  { return fmt.Sprintf("load.user%06d@example.com", i) }
func entraName(j int) string { return fmt.Sprintf("entra.user%06d@example.com", j) }
func burstName(i int) string { return fmt.Sprintf("burst.user%06d@example.com", i) }

func patchOp(ops ...any) map[string]any {
	return map[string]any{"schemas": []string{patchSchema}, "Operations": ops}
}

func memberRef(id string) map[string]any { return map[string]any{"value": id} }

// oktaUser is what Okta sends on create (idp-behaviour.md).
func oktaUser(i int, family string) map[string]any {
	return map[string]any{
		"schemas":     []string{userSchema},
		"userName":    userName(i),
		"name":        map[string]any{"givenName": "Load", "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName(i), "type": "work"}},
		"displayName": "Load " + family,
		"locale":      "en-US",
		"externalId":  fmt.Sprintf("00uload%08d", i),
		"groups":      []any{},
		"password":    password,
		"active":      true,
	}
}

// entraUser is what Entra sends on create (idp-behaviour.md §2).
func entraUser(j int) map[string]any {
	return map[string]any{
		"schemas":     []string{userSchema, entSchema},
		"externalId":  fmt.Sprintf("entra-%08d", j),
		"userName":    entraName(j),
		"active":      true,
		"displayName": fmt.Sprintf("Entra User %d", j),
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": entraName(j)}},
		"name":        map[string]any{"formatted": fmt.Sprintf("Entra User %d", j), "familyName": "User", "givenName": "Entra"},
		entSchema:     map[string]any{"department": "Load", "employeeNumber": fmt.Sprint(j)},
	}
}

func decodeID(status int, body []byte) string {
	if !is2xx(status) {
		return ""
	}
	var v struct{ ID string }
	_ = json.Unmarshal(body, &v)
	return v.ID
}

func (s *scenario) created(id, email string) {
	s.mu.Lock()
	s.emails[id] = email
	s.mu.Unlock()
}

func (s *scenario) memberChange(gid, uid string, add bool, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !is2xx(status) {
		s.unsure = append(s.unsure, fmt.Sprintf("group %s member %s (status %d)", gid, uid, status))
		return
	}
	if s.members[gid] == nil {
		s.members[gid] = map[string]bool{}
	}
	if add {
		s.members[gid][uid] = true
	} else {
		delete(s.members[gid], uid)
	}
}

// member is the k-th member of group g in the initial sync: distinct users
// per group, overlapping between groups.
func (s *scenario) member(g, k int) int {
	stride := 0
	if s.cfg.groups > 0 {
		stride = s.cfg.users / s.cfg.groups
	}
	return (k + g*stride) % s.cfg.users
}

func (s *scenario) run(ctx context.Context, report func(*result)) []*result {
	cfg, l := s.cfg, s.l
	var results []*result
	add := func(r *result) { report(r); results = append(results, r) }

	add(l.phase(ctx, "sync: POST /Users", cfg.users, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		status, body := l.do(ctx, "POST", "/Users", oktaUser(i, fmt.Sprintf("User%d", i)))
		if id := decodeID(status, body); id != "" {
			s.userIDs[i] = id
			s.created(id, userName(i))
		}
	}))
	if cfg.burst > 0 {
		// One client's burst, as fast as it can at this concurrency: it must
		// wait for capacity, not be refused.
		add(l.phase(ctx, fmt.Sprintf("burst: %d POST /Users @%d", cfg.burst, cfg.burstConcurrency), cfg.burst, cfg.burstConcurrency, is2xx,
			func(ctx context.Context, i int) {
				body := oktaUser(i, fmt.Sprintf("Burst%d", i))
				body["userName"], body["externalId"] = burstName(i), fmt.Sprintf("00uburst%08d", i)
				body["emails"] = []any{map[string]any{"primary": true, "value": burstName(i), "type": "work"}}
				status, resp := l.do(ctx, "POST", "/Users", body)
				if id := decodeID(status, resp); id != "" {
					s.created(id, burstName(i))
				}
			}))
	}
	s.groupIDs = make([]string, cfg.groups)
	add(l.phase(ctx, "sync: POST /Groups", cfg.groups, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		status, body := l.do(ctx, "POST", "/Groups", map[string]any{
			"schemas": []string{groupSchema}, "displayName": fmt.Sprintf("Load Group %04d", i), "members": []any{}})
		if id := decodeID(status, body); id != "" {
			s.groupIDs[i] = id
			s.mu.Lock()
			s.members[id] = map[string]bool{}
			s.mu.Unlock()
		}
	}))

	// Memberships, several per PATCH as Entra batches them, interleaved
	// across groups.
	count := make([]int, cfg.groups)
	type batch struct{ g, from, to int }
	var batches []batch
	for g := range count {
		count[g] = cfg.members / cfg.groups
		if g < cfg.members%cfg.groups {
			count[g]++
		}
		count[g] = min(count[g], cfg.users)
	}
	for round := 0; ; round++ {
		more := false
		for g := range count {
			if from := round * cfg.batch; from < count[g] {
				more = true
				batches = append(batches, batch{g, from, min(from+cfg.batch, count[g])})
			}
		}
		if !more {
			break
		}
	}
	add(l.phase(ctx, "sync: PATCH members", len(batches), cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		b := batches[i]
		var vals []any
		var uids []string
		for k := b.from; k < b.to; k++ {
			uid := s.userIDs[s.member(b.g, k)]
			vals = append(vals, memberRef(uid))
			uids = append(uids, uid)
		}
		gid := s.groupIDs[b.g]
		status, _ := l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": vals}))
		for _, uid := range uids {
			s.memberChange(gid, uid, true, status)
		}
	}))

	k := min(cfg.updates, cfg.users)
	add(l.phase(ctx, "lookup: filter userName", k, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		q := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, userName((i*7919)%cfg.users)))
		l.do(ctx, "GET", "/Users?filter="+q+"&startIndex=1&count=100", nil)
	}))
	add(l.phase(ctx, "lookup: filter externalId", k, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		q := url.QueryEscape(fmt.Sprintf(`externalId eq "00uload%08d"`, (i*7919)%cfg.users))
		l.do(ctx, "GET", "/Users?filter="+q, nil)
	}))

	if n := cfg.floodLookups; n > 0 {
		s.floods(ctx, n, add)
	}

	add(l.phase(ctx, "incr: PUT /Users", k, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		body := oktaUser(i, fmt.Sprintf("Renamed%d", i)) // password sync on: Okta sends it again
		body["id"] = s.userIDs[i]
		l.do(ctx, "PUT", "/Users/"+s.userIDs[i], body)
	}))
	add(l.phase(ctx, "incr: PATCH active=false", k, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
		id := s.userIDs[cfg.users-1-i]
		status, _ := l.do(ctx, "PATCH", "/Users/"+id, patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
		s.mu.Lock()
		if is2xx(status) {
			s.deactivated[id] = true
		} else {
			s.unsure = append(s.unsure, "deactivation of "+id)
		}
		s.mu.Unlock()
	}))
	if cfg.groups > 0 {
		add(l.phase(ctx, "incr: PATCH membership", k, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
			g, r := i%cfg.groups, i/cfg.groups
			gid := s.groupIDs[g]
			if i%2 == 0 || r >= count[g] { // a user the group does not have yet
				uid := s.userIDs[s.member(g, count[g]+r)]
				status, _ := l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": []any{memberRef(uid)}}))
				s.memberChange(gid, uid, true, status)
				return
			}
			uid := s.userIDs[s.member(g, r)]
			status, _ := l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Remove", "path": fmt.Sprintf(`members[value eq "%s"]`, uid)}))
			s.memberChange(gid, uid, false, status)
		}))
	}

	if c := cfg.contention; c > 0 {
		// One group holding users 0..c/2-1; then c PATCHes at once, spread
		// over every daemon: adds of c/2..c-1, removes of 0..c/2-1.
		half := c / 2
		var gid string
		status, body := l.do(ctx, "POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Load Contention"})
		if gid = decodeID(status, body); gid != "" {
			var vals []any
			for u := 0; u < half; u++ {
				vals = append(vals, memberRef(s.userIDs[u]))
			}
			s.members[gid] = map[string]bool{}
			status, _ = l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": vals}))
			for u := 0; u < half; u++ {
				s.memberChange(gid, s.userIDs[u], true, status)
			}
		}
		r := l.phase(ctx, fmt.Sprintf("contention: %d PATCH 1 group", c), c, c, is2xx, func(ctx context.Context, i int) {
			if gid == "" {
				return
			}
			if i < half {
				uid := s.userIDs[half+i]
				status, _ := l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": []any{memberRef(uid)}}))
				s.memberChange(gid, uid, true, status)
				return
			}
			uid := s.userIDs[i-half]
			status, _ := l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Remove", "path": fmt.Sprintf(`members[value eq "%s"]`, uid)}))
			s.memberChange(gid, uid, false, status)
		})
		if gid == "" {
			r.errs++
			r.notes = append(r.notes, "the contention group could not be created")
		}
		add(r)
	}

	if cfg.entraCycles > 0 {
		saved := l.rate
		l.rate = cfg.entraRate
		add(l.phase(ctx, fmt.Sprintf("entra: mix @%g req/s", cfg.entraRate), cfg.entraCycles, cfg.concurrency, is2xx, func(ctx context.Context, j int) {
			q := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, entraName(j)))
			l.do(ctx, "GET", "/Users?filter="+q, nil)
			status, body := l.do(ctx, "POST", "/Users", entraUser(j))
			id := decodeID(status, body)
			if id == "" {
				return
			}
			s.entraIDs[j] = id
			s.created(id, entraName(j))
			l.do(ctx, "PATCH", "/Users/"+id, patchOp(
				map[string]any{"op": "Replace", "path": "displayName", "value": fmt.Sprintf("Entra User %d (updated)", j)},
				map[string]any{"op": "Add", "path": "title", "value": "Engineer"}))
			g := j % cfg.groups
			gid := s.groupIDs[g]
			status, _ = l.do(ctx, "PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": []any{memberRef(id)}}))
			s.memberChange(gid, id, true, status)
			q = url.QueryEscape(fmt.Sprintf(`displayName eq "Load Group %04d"`, g))
			l.do(ctx, "GET", "/Groups?excludedAttributes=members&filter="+q, nil)
		}))
		l.rate = saved
	}

	// Import: every user, one page after another, as an IdP imports.
	expected := len(s.emails)
	pages := (expected + pageSize - 1) / pageSize
	var seen, totalResults atomic.Int64
	r := l.phase(ctx, "import: GET /Users page", pages, 1, func(st int) bool { return st == http.StatusOK }, func(ctx context.Context, i int) {
		status, body := l.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", 1+i*pageSize, pageSize), nil)
		var v struct {
			TotalResults int
			Resources    []json.RawMessage
		}
		if status == http.StatusOK && json.Unmarshal(body, &v) == nil {
			seen.Add(int64(len(v.Resources)))
			totalResults.Store(int64(v.TotalResults))
		}
	})
	r.notes = append(r.notes, fmt.Sprintf("totalResults=%d resources returned=%d (users the traffic created: %d)", totalResults.Load(), seen.Load(), expected))
	if seen.Load() != int64(expected) || totalResults.Load() != int64(expected) {
		r.errs++
	}
	add(r)
	return results
}

// verify compares Helix Core's state with what the traffic should have
// made, and lists every difference.
func (s *scenario) verify(ctx context.Context, emu *p4emu.Server) []string {
	var problems []string
	for _, u := range s.unsure {
		problems = append(problems, "failed request, effect unknown: "+u)
	}
	for id, email := range s.emails {
		u, ok := emu.User(id)
		switch {
		case !ok:
			problems = append(problems, "user "+id+" missing")
		case u.Email != email:
			problems = append(problems, fmt.Sprintf("user %s: Email %q, want %q", id, u.Email, email))
		}
	}
	if n := len(emu.Users()) - 1; n != len(s.emails) { // the super user
		problems = append(problems, fmt.Sprintf("%d users in Helix Core, the traffic created %d", n, len(s.emails)))
	}
	for gid, want := range s.members {
		g, ok := emu.Group(gid)
		if !ok {
			if len(want) > 0 {
				problems = append(problems, "group "+gid+" missing")
			}
			continue
		}
		have := map[string]bool{}
		for _, u := range g.Users {
			have[u] = true
		}
		var extra, lost []string
		for u := range have {
			if !want[u] {
				extra = append(extra, u)
			}
		}
		for u := range want {
			if !have[u] {
				lost = append(lost, u)
			}
		}
		if len(extra)+len(lost) > 0 {
			sort.Strings(extra)
			sort.Strings(lost)
			problems = append(problems, fmt.Sprintf("group %s: %d members, want %d; extra %s; missing %s",
				gid, len(have), len(want), strings.Join(first(extra, 5), ","), strings.Join(first(lost, 5), ",")))
		}
	}
	// Deactivations, as the IdP sees them.
	q := url.QueryEscape(`active eq false`)
	status, body := s.l.do(ctx, "GET", "/Users?count=1&filter="+q, nil)
	var v struct{ TotalResults int }
	if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
		problems = append(problems, fmt.Sprintf("filter active eq false: status %d", status))
	} else if v.TotalResults != len(s.deactivated) {
		problems = append(problems, fmt.Sprintf("%d users inactive, the traffic deactivated %d", v.TotalResults, len(s.deactivated)))
	}
	return problems
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// floods measures an IdP's look-ups (paced at -entra-rate) alone, under a
// flood of wrong-token requests and under a flood of /readyz probes, both
// from the -flood-addresses, and notes each flood's p50 against the
// look-ups' p50 alone. The three conditions alternate in -flood-rounds
// short rounds, so that a change in the machine's other load during the
// run weighs on all three alike. The p4 invocations per request show
// whether a flood cost any p4 command.
func (s *scenario) floods(ctx context.Context, n int, add func(*result)) {
	cfg, l := s.cfg, s.l
	saved := l.rate
	l.rate = cfg.entraRate
	defer func() { l.rate = saved }()
	kinds := []string{"", "wrong-token", "readyz"}
	rounds := make([][]*result, len(kinds))
	floods := make([]*flood, len(kinds))
	walls := make([]time.Duration, len(kinds))
	per := max(1, n/cfg.floodRounds)
	for round := 0; round < cfg.floodRounds; round++ {
		for k, kind := range kinds {
			var stop context.CancelFunc = func() {}
			done := make(chan struct{})
			start := time.Now()
			if kind == "" {
				close(done)
			} else {
				if floods[k] == nil {
					floods[k] = newFlood(kind, cfg.floodAddrs, cfg.floodWorkers, cfg.floodRate)
				}
				var fctx context.Context
				fctx, stop = context.WithCancel(ctx)
				go func() { floods[k].run(fctx, l.daemons); close(done) }()
			}
			rounds[k] = append(rounds[k], l.phase(ctx, "flood", per, cfg.concurrency, is2xx, func(ctx context.Context, i int) {
				u := (round*per + i) * 7919 % cfg.users
				q := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, userName(u)))
				l.do(ctx, "GET", "/Users?filter="+q, nil)
			}))
			stop()
			<-done
			walls[k] += time.Since(start)
		}
	}
	var baseP50 time.Duration
	for k, kind := range kinds {
		r := total(rounds[k])
		r.name = "flood: IdP look-ups, no flood"
		if kind != "" {
			r.name = "flood: IdP look-ups, " + kind + " flood"
		}
		r.notes = append(r.notes, fmt.Sprintf("%d rounds of %d, alternating with the other conditions", cfg.floodRounds, per))
		p50 := median(r.lat)
		if kind == "" {
			baseP50 = p50
		} else {
			r.notes = append(r.notes, floods[k].summary(walls[k]))
			if baseP50 > 0 {
				r.notes = append(r.notes, fmt.Sprintf("IdP look-up p50 %s = %.2f× its p50 without a flood (%s)",
					ms(p50), float64(p50)/float64(baseP50), ms(baseP50)))
			}
		}
		add(r)
	}
}

func median(lat []time.Duration) time.Duration {
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	return pct(sorted, 0.5)
}
