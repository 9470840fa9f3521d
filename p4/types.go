package p4

import "time"

// User is a Helix Core user spec (reference/p4-cli.md §2.1). Fields the
// bridge does not manage (JobView, Reviews) are carried so that a
// read-modify-write never clears what an admin set.
type User struct {
	Name       string
	Type       string // standard, service or operator; read-only after creation
	Email      string
	FullName   string
	AuthMethod string // perforce, perforce+2fa, ldap, ldap+2fa; "" = server default
	JobView    string
	Reviews    []string
	Update     time.Time // zero when unknown (e.g. a template)
	Access     time.Time
}

// Group is a Helix Core group spec (§3.1). The three member lists are
// modelled; every other field (Description, limits, LDAP settings, and
// fields newer servers add) is kept verbatim in Fields so saving a group
// never disturbs what an admin configured.
type Group struct {
	Name      string
	Users     []string
	Subgroups []string
	Owners    []string
	// Fields holds every other spec field by its tag, e.g. "Timeout": "43200".
	Fields map[string]string
}

// GroupSaveResult is what `p4 group -i` reported (§3.2).
type GroupSaveResult int

const (
	GroupCreated GroupSaveResult = iota + 1
	GroupUpdated
	GroupNotChanged // "Group X not updated."
	GroupNotCreated // a new group with no users, subgroups or owners
	GroupDeleted    // an update removed every member and owner
)

// Info is the subset of `p4 info` the bridge uses (§5.1).
type Info struct {
	UserName       string
	ServerAddress  string
	ServerVersion  string
	CaseHandling   string // "sensitive" or "insensitive"
	ServerLicense  string
	ServerServices string
}

// Message is one message from p4: an info line or an error/warning dict.
type Message struct {
	Severity Severity
	Generic  int
	Text     string
}

// Severity of a p4 message (§1.2).
type Severity int

const (
	SeverityEmpty Severity = iota
	SeverityInfo
	SeverityWarning
	SeverityFailed
	SeverityFatal
)

// Generic error codes that decide outcomes (support/errornum.h, §1.2).
const (
	GenericUsage   = 1
	GenericUnknown = 2
	GenericIllegal = 4
	GenericProtect = 6
	GenericEmpty   = 17
	GenericFault   = 33
	GenericClient  = 34
	GenericAdmin   = 35
	GenericConfig  = 36
	GenericComm    = 38
)

// CommandEvent describes one finished p4 invocation, for metrics and logs.
// It never carries arguments that could hold secrets or stdin.
type CommandEvent struct {
	Command  string // the p4 command word, e.g. "user", "group", "key"
	Duration time.Duration
	Outcome  string // "ok", or an ErrorKind name: "not_found", "timeout", ...
}
