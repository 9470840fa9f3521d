package p4emu

import (
	"strconv"
	"strings"

	"github.com/p4scim/p4scim/p4/marshal"
)

// Field kinds of a specdef (support/spec.cc).
type fieldKind int

const (
	fWord fieldKind = iota
	fLine
	fText
	fList // wlist
	fDate
)

type specField struct {
	tag        string
	kind       fieldKind
	required   bool
	optDefault bool     // printed even when empty (opt:default)
	vals       []string // select values (val:)
}

type specDef struct {
	name    string // "user" in "Error in user specification."
	comment string
	fields  []specField
}

// form is a parsed or to-be-formatted spec: scalar values and lists.
type form struct {
	vals  map[string]string
	lists map[string][]string
}

func newForm() form { return form{vals: map[string]string{}, lists: map[string][]string{}} }

var userSpec = specDef{name: "user", comment: userComment, fields: []specField{
	{tag: "User", required: true},
	{tag: "Type"},
	{tag: "Email", required: true},
	{tag: "Update", kind: fDate},
	{tag: "Access", kind: fDate},
	{tag: "FullName", kind: fLine, required: true},
	{tag: "JobView", kind: fLine},
	{tag: "Password"},
	{tag: "AuthMethod", vals: []string{"perforce", "perforce+2fa", "ldap", "ldap+2fa"}},
	{tag: "Reviews", kind: fList},
}}

var groupSpec = specDef{name: "group", comment: groupComment, fields: []specField{
	{tag: "Group", required: true},
	{tag: "Description", kind: fText},
	{tag: "MaxResults"},
	{tag: "MaxScanRows"},
	{tag: "MaxLockTime"},
	{tag: "MaxOpenFiles"},
	{tag: "MaxMemory"},
	{tag: "Timeout"},
	{tag: "PasswordTimeout"},
	{tag: "LdapConfig", kind: fLine},
	{tag: "LdapSearchQuery", kind: fLine},
	{tag: "LdapUserAttribute", kind: fLine},
	{tag: "LdapUserDNAttribute", kind: fLine},
	{tag: "Subgroups", kind: fList, optDefault: true},
	{tag: "Owners", kind: fList, optDefault: true},
	{tag: "Users", kind: fList, optDefault: true},
}}

// formatText renders the text form: the comment, then per present field
// "\n" + "Tag:\tvalue\n" (lists and text as indented lines), §2.1/§3.1.
func (d specDef) formatText(f form) string {
	var b strings.Builder
	b.WriteString(d.comment)
	for _, sf := range d.fields {
		switch sf.kind {
		case fList:
			l := f.lists[sf.tag]
			if len(l) == 0 && !sf.optDefault {
				continue
			}
			b.WriteString("\n" + sf.tag + ":\n")
			for _, v := range l {
				b.WriteString("\t" + v + "\n")
			}
		case fText:
			v := f.vals[sf.tag]
			if v == "" {
				continue
			}
			b.WriteString("\n" + sf.tag + ":\n")
			for _, line := range strings.Split(strings.TrimSuffix(v, "\n"), "\n") {
				b.WriteString("\t" + line + "\n")
			}
		default:
			v := f.vals[sf.tag]
			if v == "" {
				continue
			}
			b.WriteString("\n" + sf.tag + ":\t" + v + "\n")
		}
	}
	return b.String()
}

// tagged renders the stat fields in spec order, lists as Tag0, Tag1, ...
func (d specDef) tagged(f form) []marshal.Field {
	var out []marshal.Field
	for _, sf := range d.fields {
		if sf.kind == fList {
			for i, v := range f.lists[sf.tag] {
				out = append(out, field(sf.tag+strconv.Itoa(i), v))
			}
			continue
		}
		if v := f.vals[sf.tag]; v != "" {
			out = append(out, field(sf.tag, v))
		}
	}
	return out
}

// dictToText is what the client does with a -G input dict: format it with
// the server's specdef (Spec::Format), dropping keys the specdef lacks.
func (d specDef) dictToText(m map[string]string) string {
	f := newForm()
	for _, sf := range d.fields {
		if sf.kind == fList {
			for i := 0; ; i++ {
				v, ok := m[sf.tag+strconv.Itoa(i)]
				if !ok {
					break
				}
				f.lists[sf.tag] = append(f.lists[sf.tag], v)
			}
			continue
		}
		f.vals[sf.tag] = m[sf.tag]
	}
	return d.formatText(f)
}

// parseText parses a text form (support/specparse.cc, simplified): '#'
// starts a comment outside text fields, a tag starts in column 0, values
// follow on the tag line or on indented lines. The error is the detail
// line that follows "Error in X specification.".
func (d specDef) parseText(text string) (form, string) {
	f := newForm()
	words := map[string][]string{}
	var cur *specField
	var textLines []string
	flushText := func() {
		if cur != nil && cur.kind == fText {
			for len(textLines) > 0 && strings.TrimSpace(textLines[len(textLines)-1]) == "" {
				textLines = textLines[:len(textLines)-1]
			}
			if len(textLines) > 0 {
				f.vals[cur.tag] = strings.Join(textLines, "\n") + "\n"
			}
		}
		textLines = nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		if !indented && strings.TrimSpace(line) != "" {
			flushText()
			tag, rest, ok := strings.Cut(line, ":")
			if !ok {
				return f, "Syntax error in '" + strings.TrimSpace(line) + "'."
			}
			cur = nil
			for i := range d.fields {
				if d.fields[i].tag == tag {
					cur = &d.fields[i]
				}
			}
			if cur == nil {
				return f, "Unknown field name '" + tag + "'."
			}
			line = rest
		}
		if cur == nil {
			continue
		}
		if cur.kind == fText {
			if strings.TrimSpace(line) == "" && len(textLines) == 0 {
				continue
			}
			textLines = append(textLines, strings.TrimPrefix(strings.TrimPrefix(line, "\t"), " "))
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i] // "#ending comment is stripped"
		}
		v := strings.TrimSpace(line)
		if v == "" {
			continue
		}
		switch cur.kind {
		case fList:
			f.lists[cur.tag] = append(f.lists[cur.tag], strings.Join(strings.Fields(v), " "))
		case fLine, fDate:
			if _, seen := f.vals[cur.tag]; !seen {
				f.vals[cur.tag] = v
			}
		default:
			words[cur.tag] = append(words[cur.tag], strings.Fields(v)...)
		}
	}
	flushText()
	for _, sf := range d.fields {
		w, ok := words[sf.tag]
		if !ok {
			continue
		}
		if len(w) != 1 {
			return f, "Wrong number of words for field '" + sf.tag + "'."
		}
		f.vals[sf.tag] = w[0]
	}
	for _, sf := range d.fields {
		if sf.required && f.vals[sf.tag] == "" {
			return f, "Missing required field '" + sf.tag + "'."
		}
		if v := f.vals[sf.tag]; v != "" && len(sf.vals) > 0 && !contains(sf.vals, v) {
			return f, "Value for field '" + sf.tag + "' must be one of " + strings.Join(sf.vals, "/") + "."
		}
	}
	return f, ""
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// readSpecInput turns the command's stdin into form text: under -G one
// marshal dict (only 's'/'u' codes, §1.3), else the text itself. A bad
// dict reports the client's error and continues with an empty form, as the
// real client does (recorded job_failed.bin).
func (c *cmdCtx) readSpecInput(d specDef) string {
	switch {
	case c.req.Mode.Marshal:
		m, ok := decodeInputDict(c.req.Stdin)
		if !ok {
			c.out.fail(genClient, "Invalid marshalled data supplied as input.")
			m = map[string]string{}
		}
		return d.dictToText(m)
	case c.req.Mode.JSON:
		// The 2023.2 client's JSONDict read methods are stubs (§8): the
		// server receives an empty form.
		return d.dictToText(map[string]string{})
	default:
		return string(c.req.Stdin)
	}
}

func decodeInputDict(b []byte) (map[string]string, bool) {
	dec := marshal.NewDecoder(strings.NewReader(string(b)))
	dict, err := dec.Decode()
	if err != nil {
		return nil, false
	}
	m := map[string]string{}
	for _, f := range dict.Fields {
		v, ok := f.Value.(string)
		if !ok {
			return nil, false // an 'i' value is not accepted on input
		}
		m[f.Key] = v
	}
	return m, true
}

const userComment = `# A Perforce User Specification.
#
#  User:        The user's user name.
#  Type:        Either 'service', 'operator', or 'standard'.
#               Default: 'standard'. Read only.
#  Email:       The user's email address; for email review.
#  Update:      The date this specification was last modified.
#  Access:      The date this user was last active.  Read only.
#  FullName:    The user's real name.
#  JobView:     Selects jobs for inclusion during changelist creation.
#  Password:    If set, user must have matching $P4PASSWD on client.
#  AuthMethod:  'perforce' if using standard authentication or 'ldap' if
#               this user should use native LDAP authentication.  The '+2fa'
#               modifier can be added to the AuthMethod, requiring the user to
#               perform multi factor authentication in addition to password
#               authentication. For example: 'perforce+2fa'.
#  Reviews:     Listing of depot files to be reviewed by user.
`

const groupComment = `# A Perforce Group Specification.
#
#  Group:       The name of the group.
#  Description: A description for the group (optional).
#  MaxResults:  Limits the rows (unless 'unlimited' or 'unset') any one
#               operation can return to the client.
#               See 'p4 help maxresults'.
#  MaxScanRows: Limits the rows (unless 'unlimited' or 'unset') any one
#               operation can scan from any one database table.
#               See 'p4 help maxresults'.
#  MaxLockTime: Limits the time (in milliseconds, unless 'unlimited' or
#               'unset') any one operation can lock any database table when
#               scanning data. See 'p4 help maxresults'.
#  MaxOpenFiles:
#               Limits files (unless 'unlimited' or 'unset') any one
#               operation can open. See 'p4 help maxresults'.
#  MaxMemory:
#               Limits the amount of memory a command may consume.
#               Unit is megabytes.  See 'p4 help maxresults'.
#  Timeout:     A time (in seconds, unless 'unlimited' or 'unset')
#               which determines how long a 'p4 login'
#               session ticket remains valid (default is 12 hours).
#  PasswordTimeout:
#               A time (in seconds, unless 'unlimited' or 'unset')
#               which determines how long a 'p4 password'
#               password remains valid (default is unset).
#  LdapConfig:  The LDAP configuration to use when populating the group's
#               user list from an LDAP query. See 'p4 help ldap'.
#  LdapSearchQuery:
#               The LDAP query used to identify the members of the group.
#  LdapUserAttribute:
#               The LDAP attribute that represents the user's username.
#  LdapUserDNAttribute:
#               The LDAP attribute in the group object that contains the
#               DN of the user object.
#  Subgroups:   Other groups automatically included in this group.
#  Owners:      Users allowed to change this group without requiring super
#               access permission.
#  Users:       The users in the group.  One per line.
`
