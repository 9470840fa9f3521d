package p4

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/p4scim/p4scim/p4/marshal"
)

// specDate is how tagged spec output (user -o) prints dates.
const specDate = "2006/01/02 15:04:05"

// Users lists users by name or pattern (all users when none is given),
// service and operator users included: `p4 -x - users -a` with the names
// on stdin, so that any number of them fits (argv has a limit: a
// 3,000-member PATCH once failed with "argument list too long", §5.7).
// p4 runs users once per argBatch names, within one process. Names that
// match nothing are simply absent: p4 reports them as warnings.
func (c *Client) Users(ctx context.Context, names ...string) ([]User, error) {
	var users []User
	sink := &statSink{reset: func() { users = users[:0] }, add: func(d marshal.Dict) {
		users = append(users, User{
			Name: d.String("User"), Email: d.String("Email"), FullName: d.String("FullName"),
			Type: d.String("Type"), AuthMethod: d.String("AuthMethod"),
			Update: epoch(d.String("Update")), Access: epoch(d.String("Access")),
		})
	}}
	if _, err := c.commandLines(ctx, sink, names, "users", "-a"); err != nil {
		return nil, err
	}
	if users == nil {
		users = []User{}
	}
	return users, nil
}

// User returns one user, or ErrNotFound.
func (c *Client) User(ctx context.Context, name string) (User, error) {
	users, err := c.Users(ctx, name)
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if u.Name == name || strings.EqualFold(u.Name, name) {
			return u, nil
		}
	}
	return User{}, &Error{Kind: KindNotFound, Command: "users", Messages: []Message{{Severity: SeverityWarning, Text: name + " - no such user(s)."}}}
}

// UserSpec reads the whole spec with `user -o`. p4 answers a template for
// an unknown user; a template has no Update date, so exists is false.
func (c *Client) UserSpec(ctx context.Context, name string) (User, bool, error) {
	res, err := c.command(ctx, nil, "user", "-o", name)
	if err != nil {
		return User{}, false, err
	}
	if len(res.stats) == 0 {
		return User{}, false, &Error{Kind: KindOther, Command: "user", Err: fmt.Errorf("user -o %s returned no spec", name)}
	}
	d := res.stats[0]
	u := User{
		Name: d.String("User"), Type: d.String("Type"), Email: d.String("Email"), FullName: d.String("FullName"),
		AuthMethod: d.String("AuthMethod"), JobView: d.String("JobView"), Reviews: listField(d, "Reviews"),
		Update: specTime(d.String("Update")), Access: specTime(d.String("Access")),
	}
	_, exists := d.Get("Update")
	return u, exists, nil
}

// SaveUser creates or updates a user with `user -i -f`. The spec replaces
// the stored one, so callers updating a user pass what UserSpec read
// (AuthMethod, JobView, Reviews) back in. Update and Access are read-only
// and never sent.
func (c *Client) SaveUser(ctx context.Context, u User) error {
	fields := map[string]string{"User": u.Name, "Email": u.Email, "FullName": u.FullName}
	if u.Type != "" {
		fields["Type"] = u.Type
	}
	if u.AuthMethod != "" {
		fields["AuthMethod"] = u.AuthMethod
	}
	if u.JobView != "" {
		fields["JobView"] = u.JobView
	}
	for i, r := range u.Reviews {
		fields["Reviews"+strconv.Itoa(i)] = r
	}
	in, err := encodeSpec(fields)
	if err != nil {
		return err
	}
	res, err := c.command(ctx, in, "user", "-i", "-f")
	if err != nil {
		return err
	}
	if res.hasInfo(" saved.") || res.hasInfo(" not changed.") {
		return nil
	}
	return unexpected("user", res)
}

// DeleteUser deletes a user with `user -d -f`. A user with opened files
// is refused with an info message and exit status 0: that is ErrInUse.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	res, err := c.command(ctx, nil, "user", "-d", "-f", name)
	if err != nil {
		return err
	}
	if res.hasInfo("can't be deleted") {
		return &Error{Kind: KindInUse, Command: "user", Messages: infoMessages(res)}
	}
	if res.hasInfo(" deleted.") {
		return nil
	}
	return unexpected("user", res)
}

// RenameUser renames a user with `renameuser --from --to`.
func (c *Client) RenameUser(ctx context.Context, from, to string) error {
	res, err := c.command(ctx, nil, "renameuser", "--from="+from, "--to="+to)
	if err != nil {
		return err
	}
	if res.hasInfo(" renamed to ") {
		return nil
	}
	return unexpected("renameuser", res)
}

// SetPassword sets another user's password with `passwd NAME`; the new
// password goes on stdin, twice, never on argv.
func (c *Client) SetPassword(ctx context.Context, name, password string) error {
	if strings.ContainsAny(password, "\r\n") {
		return &Error{Kind: KindPasswordPolicy, Command: "passwd", Messages: []Message{{Severity: SeverityFailed, Text: "Password must not contain line breaks."}}}
	}
	res, err := c.command(ctx, []byte(password+"\n"+password+"\n"), "passwd", name)
	if err != nil {
		return err
	}
	// "Password not changed." answers a password equal to the current one:
	// the IdP's wish is already true (Okta repeats the password on PUT).
	if res.hasInfo("Password updated.") || res.hasInfo("Password deleted.") || res.hasInfo("Password not changed.") {
		return nil
	}
	return unexpected("passwd", res)
}

// Logout ends every session of a user with `logout -a NAME`.
func (c *Client) Logout(ctx context.Context, name string) error {
	res, err := c.command(ctx, nil, "logout", "-a", name)
	if err != nil {
		return err
	}
	if res.hasInfo("logged out") {
		return nil
	}
	return unexpected("logout", res)
}

// listField collects Name0, Name1, ... in order.
func listField(d marshal.Dict, name string) []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := d.Get(name + strconv.Itoa(i))
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func epoch(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func specTime(s string) time.Time {
	t, err := time.Parse(specDate, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// encodeSpec marshals a spec dict with sorted keys.
func encodeSpec(fields map[string]string) ([]byte, error) {
	var b strings.Builder
	if err := marshal.Encode(&b, marshal.FromMap(fields)); err != nil {
		return nil, &Error{Kind: KindInvalidSpec, Err: err}
	}
	return []byte(b.String()), nil
}

func infoMessages(res *result) []Message {
	out := make([]Message, 0, len(res.infos))
	for _, s := range res.infos {
		out = append(out, Message{Severity: SeverityInfo, Text: s})
	}
	return out
}

// unexpected reports a command that neither failed nor said what success
// looks like: better an error than a silent wrong assumption.
func unexpected(command string, res *result) error {
	msgs := append(infoMessages(res), res.messages...)
	return &Error{Kind: KindOther, Command: command, Messages: msgs, Err: fmt.Errorf("unexpected answer from p4 %s", command)}
}
