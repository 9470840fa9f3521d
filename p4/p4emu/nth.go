package p4emu

import "maps"

// FaultKind says how an armed fault (FaultNth) breaks its command. The three
// kinds are the three ways one step of a bridge operation can fail.
type FaultKind int

const (
	// FaultNotRun: the command never runs; the client sees the connection
	// drop ("Partner exited unexpectedly"), as when Helix Core is
	// unreachable.
	FaultNotRun FaultKind = iota + 1
	// FaultReplyLost: the command runs and every change it makes stays, but
	// its answer is lost: Helix Core changed, the client sees a connection
	// error.
	FaultReplyLost
	// FaultCrash: NthFault.Crash runs first (it kills the process that
	// sent the command), then the command is dropped without running.
	FaultCrash
)

func (k FaultKind) String() string {
	switch k {
	case FaultNotRun:
		return "not-run"
	case FaultReplyLost:
		return "reply-lost"
	case FaultCrash:
		return "crash"
	}
	return "none"
}

// NthFault faults one command: the N-th (1-based) the server receives
// after FaultNth arms it. Commands are counted in the order the server
// receives them, so with one request at a time it is the N-th p4 command
// of that request.
type NthFault struct {
	N     int
	Kind  FaultKind
	Crash func() // FaultCrash only; called before the command is dropped
}

// FaultNth arms f, replacing an armed fault that has not fired.
func (s *Server) FaultNth(f NthFault) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.nth, s.nthSeen, s.nthFired = f, 0, false
}

// NthFired reports whether the fault armed by FaultNth has fired, i.e. the
// operation ran at least N commands.
func (s *Server) NthFired() bool {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.nthFired
}

// nthLocked counts a received command against the armed fault and returns
// the fault to apply, if this is the N-th one (netMu held).
func (s *Server) nthLocked() (Fault, func(), bool) {
	if s.nth.Kind == 0 || s.nthFired {
		return Fault{}, nil, false
	}
	s.nthSeen++
	if s.nthSeen != s.nth.N {
		return Fault{}, nil, false
	}
	s.nthFired = true
	switch s.nth.Kind {
	case FaultReplyLost:
		return Fault{Drop: true, AfterCommit: true}, nil, true
	case FaultCrash:
		return Fault{Drop: true}, s.nth.Crash, true
	}
	return Fault{Drop: true}, nil, true
}

// State is a copy of a server's Helix Core state (users, passwords, groups,
// keys, tickets, super users), for Restore.
type State struct {
	users   map[string]userRec
	groups  map[string]Group
	keys    map[string]string
	tickets map[string]ticket
	supers  map[string]bool
}

// Snapshot copies the server's state. A test that runs many cases from
// one starting point restores it instead of rebuilding it command by
// command.
func (s *Server) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &State{users: map[string]userRec{}, groups: map[string]Group{}, keys: maps.Clone(s.keys),
		tickets: map[string]ticket{}, supers: maps.Clone(s.supers)}
	for k, u := range s.users {
		c := *u
		c.User = u.public()
		st.users[k] = c
	}
	for k, g := range s.groups {
		st.groups[k] = g.clone()
	}
	for k, t := range s.tickets {
		st.tickets[k] = *t
	}
	return st
}

// Restore replaces the server's state with a snapshot's (which stays
// usable for further restores). The sessions of keepSessions survive it: a
// client logged in since the snapshot (a bridge process) stays logged in.
func (s *Server) Restore(st *State, keepSessions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := map[string]*ticket{}
	for k, t := range s.tickets {
		for _, u := range keepSessions {
			if t.user == s.norm(u) {
				kept[k] = t
			}
		}
	}
	s.users, s.groups, s.tickets = map[string]*userRec{}, map[string]*Group{}, kept
	for k, u := range st.users {
		c := u
		c.User.Reviews = append([]string(nil), u.Reviews...)
		s.users[k] = &c
	}
	for k, g := range st.groups {
		c := g.clone()
		s.groups[k] = &c
	}
	for k, t := range st.tickets {
		c := t
		s.tickets[k] = &c
	}
	s.keys, s.supers = maps.Clone(st.keys), maps.Clone(st.supers)
}
