package p4

import (
	"regexp"
	"strings"
)

// classify turns what p4 said into an error, or nil. Client-side failures
// (no connection) arrive on stderr in every mode; server refusals arrive
// as error dicts with severity >= 3.
func classify(command string, res *result) error {
	if msg := strings.TrimSpace(res.stderr); msg != "" && res.firstError() == nil {
		kind := KindOther
		switch {
		case trustMessage(msg):
			kind = KindUntrusted
		case strings.Contains(msg, "Connect to server failed") || strings.Contains(msg, "Partner exited unexpectedly") ||
			strings.Contains(msg, "TCP receive failed") || strings.Contains(msg, "TCP send failed"):
			kind = KindUnavailable
		}
		return &Error{Kind: kind, Command: command, Messages: []Message{{Severity: SeverityFailed, Text: msg}}}
	}
	first := res.firstError()
	if first == nil {
		if res.exit != 0 {
			return &Error{Kind: KindOther, Command: command, Messages: res.messages}
		}
		return nil
	}
	e := &Error{Kind: kindOf(*first), Command: command, Messages: res.messages}
	if e.Kind == KindConflict {
		if m := casCurrent.FindStringSubmatch(first.Text); m != nil {
			e.Current = m[1]
		}
	}
	return e
}

var casCurrent = regexp.MustCompile(`not set\. Current value is (.*)\.$`)

// identifierMessages are the server's name-rule messages (p4-cli.md §2.5).
var identifierMessages = []string{
	"Initial dash character not allowed", "Empty identifier not allowed", "Non-printable characters not allowed",
	"Revision chars (@, #) not allowed", "Slashes (/) not allowed", "Commas (,) not allowed",
	"Percent character not allowed", "Null directory (//) not allowed", "Relative paths (., ..) not allowed",
	"Wildcards (*, %%x, ...) not allowed", "Purely numeric name not allowed", "Embedded null bytes not allowed",
	"Identifiers too long",
}

// sessionMessage says whether a message means our ticket is missing,
// expired or revoked: a new login can fix it.
func sessionMessage(text string) bool {
	return strings.Contains(text, "Perforce password (P4PASSWD) invalid or unset") ||
		strings.Contains(text, "Your session has expired") ||
		strings.Contains(text, "Your session was logged out") ||
		strings.Contains(text, "Password not allowed at this server security level")
}

// trustMessage says whether p4 refused an ssl: server because the trust
// file does not hold its key, or holds another one (p4-cli.md §1.6):
// HostKeyUnknown, HostKeyMismatch and the refusals of `p4 trust`. They are
// EV_COMM errors, and must not read as "unavailable": the fix is the
// operator's trust setting, not the network.
func trustMessage(text string) bool {
	return strings.Contains(text, "The authenticity of '") && strings.Contains(text, "can't be established") ||
		strings.Contains(text, "P4PORT IDENTIFICATION HAS CHANGED") ||
		strings.Contains(text, "To allow connection use the 'p4 trust' command") ||
		strings.Contains(text, "Can't trust mismatched P4PORT key") ||
		strings.Contains(text, "Fingerprint mismatch")
}

// kindOf classifies one error message by its text, then its generic code.
func kindOf(m Message) ErrorKind {
	t := m.Text
	for _, id := range identifierMessages {
		if strings.Contains(t, id) {
			return KindInvalidName
		}
	}
	switch {
	case trustMessage(t):
		return KindUntrusted
	case sessionMessage(t), strings.HasPrefix(t, "Password invalid"):
		return KindAuthFailed
	case strings.Contains(t, "over license quota"):
		return KindLicenseQuota
	case strings.HasPrefix(t, "Password should be"), strings.HasPrefix(t, "Passwords don't match"),
		strings.HasPrefix(t, "Password must"), strings.Contains(t, "EOF reading terminal"):
		return KindPasswordPolicy
	case strings.HasPrefix(t, "Cannot change password for"):
		return KindUnsupported
	case strings.Contains(t, "You don't have permission"), strings.Contains(t, "is not an owner of group"),
		strings.Contains(t, "No permission to modify existing group"):
		return KindPermission
	case strings.Contains(t, "New value for") && strings.Contains(t, "not set. Current value is"):
		return KindConflict
	case strings.Contains(t, "doesn't exist"), strings.Contains(t, "no such user"), strings.Contains(t, "No such user"):
		return KindNotFound
	case strings.Contains(t, "already exists"):
		return KindAlreadyExists
	case strings.Contains(t, "Error in ") && strings.Contains(t, "specification"),
		strings.HasPrefix(t, "Value for field"), strings.Contains(t, "Missing required field"),
		strings.Contains(t, "Wrong number of words"), strings.Contains(t, "can't be changed"),
		strings.Contains(t, "Invalid marshalled data"):
		return KindInvalidSpec
	case strings.Contains(t, "Connect to server failed"), m.Generic == GenericComm:
		return KindUnavailable
	case m.Generic == GenericProtect:
		return KindPermission
	case m.Generic == GenericFault, m.Generic == GenericAdmin, m.Severity >= SeverityFatal:
		// The server itself is failing (a database error, a full disk):
		// nothing the request did, and likely to pass.
		return KindServerFault
	}
	return KindOther
}
