package p4emu

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// User is a Helix Core user as the server stores it (§2.1).
type User struct {
	Name       string
	Type       string // standard (default), service, operator
	Email      string
	FullName   string
	JobView    string
	AuthMethod string // perforce (default), perforce+2fa, ldap, ldap+2fa
	Reviews    []string
	Update     time.Time
	Access     time.Time
	// HasPassword reports whether a password is set (read-only view; set
	// passwords with CreateUser or SetPassword).
	HasPassword bool
}

// Group is a Helix Core group spec (§3.1). Limit fields hold the form
// values: a number, "unset" or "unlimited".
type Group struct {
	Name                string
	Description         string
	MaxResults          string
	MaxScanRows         string
	MaxLockTime         string
	MaxOpenFiles        string
	MaxMemory           string
	Timeout             string
	PasswordTimeout     string
	LdapConfig          string
	LdapSearchQuery     string
	LdapUserAttribute   string
	LdapUserDNAttribute string
	Subgroups           []string
	Owners              []string
	Users               []string
}

// NewGroup returns the template `group -o` shows for a new group.
func NewGroup(name string) Group {
	return Group{Name: name, MaxResults: "unset", MaxScanRows: "unset", MaxLockTime: "unset",
		MaxOpenFiles: "unset", MaxMemory: "unset", Timeout: "43200", PasswordTimeout: "unset"}
}

func (g Group) empty() bool { return len(g.Users) == 0 && len(g.Subgroups) == 0 && len(g.Owners) == 0 }

func (g Group) clone() Group {
	g.Users = slices.Clone(g.Users)
	g.Owners = slices.Clone(g.Owners)
	g.Subgroups = slices.Clone(g.Subgroups)
	return g
}

func (g Group) equal(h Group) bool {
	return g.Name == h.Name && g.Description == h.Description && g.MaxResults == h.MaxResults &&
		g.MaxScanRows == h.MaxScanRows && g.MaxLockTime == h.MaxLockTime && g.MaxOpenFiles == h.MaxOpenFiles &&
		g.MaxMemory == h.MaxMemory && g.Timeout == h.Timeout && g.PasswordTimeout == h.PasswordTimeout &&
		g.LdapConfig == h.LdapConfig && g.LdapSearchQuery == h.LdapSearchQuery &&
		g.LdapUserAttribute == h.LdapUserAttribute && g.LdapUserDNAttribute == h.LdapUserDNAttribute &&
		slices.Equal(g.Users, h.Users) && slices.Equal(g.Owners, h.Owners) && slices.Equal(g.Subgroups, h.Subgroups)
}

type userRec struct {
	User
	password  string
	pwChanged time.Time
	// openedOn is how many workspaces hold files the user has opened: a
	// `user -d` without -D is then refused (§2.3). The emulator has no
	// depot; tests set it with SetOpenedFiles.
	openedOn int
}

func (u userRec) public() User {
	p := u.User
	p.Reviews = slices.Clone(u.Reviews)
	p.HasPassword = u.password != ""
	return p
}

type ticket struct {
	value   string
	user    string // key form (folded when case-insensitive)
	expires time.Time
	never   bool // group Timeout "unlimited"
	revoked bool // logged out or password changed: "Your session was logged out"
}

// norm maps a name to its map key: names compare case-insensitively on an
// insensitive server (caseHandling), but keep their spelling in specs.
func (s *Server) norm(name string) string {
	if s.opts.CaseInsensitive {
		return strings.ToLower(name)
	}
	return name
}

func (s *Server) sameName(a, b string) bool { return s.norm(a) == s.norm(b) }

func (s *Server) now() time.Time { return s.opts.Now().Truncate(time.Second) }

func newTicket() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func randomFingerprint() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// ErrExists and ErrNotFound are returned by the direct state accessors.
var (
	ErrExists   = errors.New("p4emu: already exists")
	ErrNotFound = errors.New("p4emu: not found")
)

// CreateUser creates a user directly (test seeding, dev mode), bypassing
// permissions and the licence quota. Empty Type/AuthMethod/Email/FullName
// get the defaults p4d would fill in.
func (s *Server) CreateUser(u User, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Name == "" {
		return errors.New("p4emu: empty user name")
	}
	if _, ok := s.users[s.norm(u.Name)]; ok {
		return fmt.Errorf("%w: user %s", ErrExists, u.Name)
	}
	s.createUserLocked(u, password)
	return nil
}

func (s *Server) createUserLocked(u User, password string) {
	now := s.now()
	if u.Type == "" {
		u.Type = "standard"
	}
	if u.AuthMethod == "" {
		u.AuthMethod = "perforce"
	}
	if u.Email == "" {
		u.Email = u.Name + "@" + u.Name
	}
	if u.FullName == "" {
		u.FullName = u.Name
	}
	if u.Update.IsZero() {
		u.Update = now
	}
	if u.Access.IsZero() {
		u.Access = now
	}
	u.HasPassword = false
	u.Reviews = slices.Clone(u.Reviews)
	rec := &userRec{User: u, password: password}
	if password != "" {
		rec.pwChanged = now
	}
	s.users[s.norm(u.Name)] = rec
}

// User returns one user.
func (s *Server) User(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.norm(name)]
	if !ok {
		return User{}, false
	}
	return u.public(), true
}

// Users returns every user sorted by name.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, k := range sortedKeys(s.users) {
		out = append(out, s.users[k].public())
	}
	return out
}

// SetPassword sets (or with "" clears) a password directly and, like
// `p4 passwd`, invalidates the user's tickets.
func (s *Server) SetPassword(user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.norm(user)]
	if !ok {
		return fmt.Errorf("%w: user %s", ErrNotFound, user)
	}
	u.password = password
	u.pwChanged = s.now()
	s.revokeTicketsLocked(u.Name)
	return nil
}

// DeleteUser removes a user directly.
func (s *Server) DeleteUser(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[s.norm(name)]; !ok {
		return fmt.Errorf("%w: user %s", ErrNotFound, name)
	}
	delete(s.users, s.norm(name))
	s.revokeTicketsLocked(name)
	return nil
}

// SetOpenedFiles says that user has files opened on clients workspaces
// (0: none), so that `p4 user -d -f` refuses to delete it (§2.3).
func (s *Server) SetOpenedFiles(user string, clients int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.norm(user)]
	if !ok {
		return fmt.Errorf("%w: user %s", ErrNotFound, user)
	}
	u.openedOn = clients
	return nil
}

// CheckPassword reports whether password is user's current password.
func (s *Server) CheckPassword(user, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.norm(user)]
	return ok && u.password == password
}

// Group returns one group.
func (s *Server) Group(name string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[s.norm(name)]
	if !ok {
		return Group{}, false
	}
	return g.clone(), true
}

// Groups returns every group sorted by name.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, k := range sortedKeys(s.groups) {
		out = append(out, s.groups[k].clone())
	}
	return out
}

// SaveGroup stores a group directly (full replace). Empty limit fields get
// the template defaults; a group with no users, subgroups or owners is
// deleted, as p4d does.
func (s *Server) SaveGroup(g Group) error {
	if g.Name == "" {
		return errors.New("p4emu: empty group name")
	}
	def := NewGroup(g.Name)
	for _, p := range []struct{ v, d *string }{{&g.MaxResults, &def.MaxResults}, {&g.MaxScanRows, &def.MaxScanRows},
		{&g.MaxLockTime, &def.MaxLockTime}, {&g.MaxOpenFiles, &def.MaxOpenFiles}, {&g.MaxMemory, &def.MaxMemory},
		{&g.Timeout, &def.Timeout}, {&g.PasswordTimeout, &def.PasswordTimeout}} {
		if *p.v == "" {
			*p.v = *p.d
		}
	}
	g = normalizeGroup(g)
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.empty() {
		delete(s.groups, s.norm(g.Name))
		return nil
	}
	s.groups[s.norm(g.Name)] = &g
	return nil
}

// normalizeGroup sorts and dedupes the member lists: p4d keeps them in its
// db.group table keyed by name, so `group -o` lists them sorted.
func normalizeGroup(g Group) Group {
	g = g.clone()
	for _, l := range []*[]string{&g.Users, &g.Owners, &g.Subgroups} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
		if len(*l) == 0 {
			*l = nil
		}
	}
	return g
}

// Key returns a key's value; unset keys report false.
func (s *Server) Key(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.keys[name]
	return v, ok
}

// Keys returns a copy of every key.
func (s *Server) Keys() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}

// SetKey sets a key directly ("" deletes it).
func (s *Server) SetKey(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.keys, name)
		return
	}
	s.keys[name] = value
}

// Tickets returns the number of valid (unexpired, not logged out) tickets
// of user.
func (s *Server) Tickets(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	now := s.now()
	for _, t := range s.tickets {
		if t.user == s.norm(user) && !t.revoked && (t.never || now.Before(t.expires)) {
			n++
		}
	}
	return n
}

// ExpireTickets makes every ticket expired: the next command presenting one
// gets "Your session has expired, please login again.".
func (s *Server) ExpireTickets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.tickets {
		t.expires, t.never = past, false
	}
}

func (s *Server) revokeTicketsLocked(user string) {
	for _, t := range s.tickets {
		if t.user == s.norm(user) {
			t.revoked = true
		}
	}
}

// ticketLifetimeLocked is the user's session length: the largest Timeout
// of the groups naming the user, else the server default (§3.1).
func (s *Server) ticketLifetimeLocked(user string) (time.Duration, bool) {
	best, found := time.Duration(0), false
	for _, g := range s.groups {
		if !s.containsName(g.Users, user) && !s.containsName(g.Owners, user) {
			continue
		}
		switch g.Timeout {
		case "unlimited":
			return 0, true
		case "unset", "":
			continue
		}
		var secs int64
		if _, err := fmt.Sscan(g.Timeout, &secs); err == nil && secs > 0 {
			if d := time.Duration(secs) * time.Second; !found || d > best {
				best, found = d, true
			}
		}
	}
	if !found {
		return s.opts.TicketLifetime, false
	}
	return best, false
}

func (s *Server) containsName(list []string, name string) bool {
	for _, n := range list {
		if s.sameName(n, name) {
			return true
		}
	}
	return false
}

func (s *Server) issueTicketLocked(user string) *ticket {
	life, never := s.ticketLifetimeLocked(user)
	t := &ticket{value: newTicket(), user: s.norm(user), expires: s.now().Add(life), never: never}
	s.tickets[t.value] = t
	return t
}
