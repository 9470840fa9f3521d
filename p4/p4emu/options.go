package p4emu

import "time"

// Options configure a Server. The zero value is a usable secure server.
type Options struct {
	// SuperUser and SuperPassword bootstrap one super user at New.
	// Defaults: DefaultSuperUser / DefaultSuperPassword.
	SuperUser, SuperPassword string
	// SecurityLevel is the p4d `security` configurable. 0 means the default
	// (3: strong passwords and tickets only, what the bridge must survive);
	// a negative value means level 0, since the zero value is taken.
	SecurityLevel int
	// MinPasswordLength is dm.password.minlength, enforced at security >= 2.
	// 0 means 8; negative means no minimum.
	MinPasswordLength int
	// LicenseUsers caps the number of standard users; 0 = unlimited.
	LicenseUsers int
	// LicenseExpires is when the licence ends (`license -u` reports the
	// seconds left as licenseTimeRemaining); zero = never.
	LicenseExpires time.Time
	// CaseInsensitive makes names compare case-insensitively (caseHandling).
	CaseInsensitive bool
	// TicketLifetime is the default ticket lifetime (a group's Timeout
	// overrides it for its members). 0 means 12 hours.
	TicketLifetime time.Duration
	// Fingerprint is what the server presents on ssl: ports. Default: a
	// random SHA-1 style fingerprint chosen at New.
	Fingerprint string
	// Now is the clock; default time.Now. Dates are rendered in the
	// location of the returned time.
	Now func() time.Time
}

// Defaults for Options.
const (
	DefaultSuperUser     = "super"
	DefaultSuperPassword = "Sup3rSecret!"
	DefaultSecurityLevel = 3
	DefaultTicketLife    = 12 * time.Hour
	defaultMinPwLen      = 8

	// ServerVersion is reported by `p4 info` (serverVersion).
	ServerVersion = "P4D/LINUX26X86_64/2025.2/2840537 (2025/10/28)"
	// ClientVersion is reported by `p4 -V`.
	ClientVersion = "P4/LINUX26X86_64/2025.2/2840537 (2025/10/28)"
)

func (o Options) withDefaults() Options {
	if o.SuperUser == "" {
		o.SuperUser = DefaultSuperUser
	}
	if o.SuperPassword == "" {
		o.SuperPassword = DefaultSuperPassword
	}
	switch {
	case o.SecurityLevel == 0:
		o.SecurityLevel = DefaultSecurityLevel
	case o.SecurityLevel < 0:
		o.SecurityLevel = 0
	}
	switch {
	case o.MinPasswordLength == 0:
		o.MinPasswordLength = defaultMinPwLen
	case o.MinPasswordLength < 0:
		o.MinPasswordLength = 0
	}
	if o.TicketLifetime == 0 {
		o.TicketLifetime = DefaultTicketLife
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
