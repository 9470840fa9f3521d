package p4emu_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/marshal"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestInfoWithoutLogin(t *testing.T) {
	env := p4emutest.Start(t, p4emu.Options{Now: clock})
	r := env.Run(t, nil, nil, "-G", "info")
	if r.Exit != 0 || len(r.Stderr) != 0 {
		t.Fatalf("exit %d stderr %q", r.Exit, r.Stderr)
	}
	ds := decode(t, r.Stdout)
	if len(ds) != 1 {
		t.Fatalf("want one dict, got %v", ds)
	}
	var keys []string
	for _, f := range ds[0].Fields {
		keys = append(keys, f.Key)
	}
	want := "code userName clientName clientHost peerAddress clientAddress serverName serverAddress serverRoot serverDate tzoffset serverUptime serverVersion ServerID serverServices serverLicense caseHandling"
	if strings.Join(keys, " ") != want {
		t.Errorf("keys %v", keys)
	}
	m := ds[0].Map()
	if m["userName"] != env.User || m["serverVersion"] != p4emu.ServerVersion || m["caseHandling"] != "sensitive" ||
		m["serverAddress"] != env.Port || m["clientName"] != "*unknown*" || m["serverDate"] != "2024/05/17 10:21:33 +0000 UTC" {
		t.Errorf("info %v", m)
	}
}

func TestUsersByteExact(t *testing.T) {
	env := start(t, p4emu.Options{})
	bob := p4emu.User{Name: "bob", Email: "bob@example.com", FullName: "Bob Smith",
		Update: time.Unix(1715941293, 0), Access: time.Unix(1715941321, 0)}
	if err := env.Server.CreateUser(bob, ""); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.CreateUser(p4emu.User{Name: "svc", Type: "service"}, ""); err != nil {
		t.Fatal(err)
	}
	bobDict := d("code", "stat", "User", "bob", "Email", "bob@example.com", "Update", "1715941293",
		"Access", "1715941321", "FullName", "Bob Smith", "Type", "standard", "AuthMethod", "perforce")
	tests := []struct {
		name string
		args []string
		want []marshal.Dict
	}{
		{"one", []string{"users", "bob"}, []marshal.Dict{bobDict}},
		{"missing is a warning", []string{"users", "nobody"}, []marshal.Dict{errDict("nobody - no such user(s).", 2, 17)}},
		{"pattern", []string{"users", "b*"}, []marshal.Dict{bobDict}},
		{"service hidden without -a", []string{"users", "svc"}, []marshal.Dict{errDict("svc - no such user(s).", 2, 17)}},
		{"-m", []string{"users", "-m", "1"}, []marshal.Dict{bobDict}},
		{"named twice, once in the answer", []string{"users", "bob", "bob"}, []marshal.Dict{bobDict}},
		{"named and missing", []string{"users", "nobody", "bob"}, []marshal.Dict{bobDict, errDict("nobody - no such user(s).", 2, 17)}},
		{"-a names a service user", []string{"users", "-a", "svc", "bob"}, []marshal.Dict{bobDict,
			d("code", "stat", "User", "svc", "Email", "svc@svc", "Update", "1715941293", "Access", "1715941293", "FullName", "svc", "Type", "service", "AuthMethod", "perforce")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, nil, nil, append([]string{"-G", "-p", env.Port, "-u", env.User}, tc.args...)...)
			if r.Exit != 0 {
				t.Errorf("exit %d", r.Exit)
			}
			wantBytes(t, r.Stdout, tc.want...)
		})
	}
	r := env.Run(t, nil, nil, "-G", "users", "-a", "svc")
	if ds := decode(t, r.Stdout); len(ds) != 1 || ds[0].String("Type") != "service" {
		t.Errorf("users -a svc: %v", ds)
	}
}

func TestUserSpecForms(t *testing.T) {
	env := start(t, p4emu.Options{})
	bob := p4emu.User{Name: "bob", Email: "bob@example.com", FullName: "Bob Smith",
		Update: time.Date(2024, 5, 17, 10, 21, 33, 0, time.UTC), Access: time.Date(2024, 5, 17, 10, 22, 1, 0, time.UTC),
		Reviews: []string{"//depot/proj/..."}}
	if err := env.Server.CreateUser(bob, "Secret123!"); err != nil {
		t.Fatal(err)
	}
	// §2.1 text form, byte for byte (plus the newline OutputInfo adds).
	want := `# A Perforce User Specification.
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

User:	bob

Type:	standard

Email:	bob@example.com

Update:	2024/05/17 10:21:33

Access:	2024/05/17 10:22:01

FullName:	Bob Smith

Password:	******

AuthMethod:	perforce

Reviews:
	//depot/proj/...

`
	r := env.Run(t, nil, nil, "user", "-o", "bob")
	if string(r.Stdout) != want || r.Exit != 0 {
		t.Errorf("user -o text:\n%s\nexit %d stderr %s", r.Stdout, r.Exit, r.Stderr)
	}
	r = env.Run(t, nil, nil, "-G", "user", "-o", "bob")
	wantBytes(t, r.Stdout, d("code", "stat", "User", "bob", "Type", "standard", "Email", "bob@example.com",
		"Update", "2024/05/17 10:21:33", "Access", "2024/05/17 10:22:01", "FullName", "Bob Smith",
		"Password", "******", "AuthMethod", "perforce", "Reviews0", "//depot/proj/..."))
	// Unknown user: template, no error.
	r = env.Run(t, nil, []string{"P4CLIENT=ws1"}, "-G", "user", "-o", "newbie")
	wantBytes(t, r.Stdout, d("code", "stat", "User", "newbie", "Type", "standard", "Email", "newbie@ws1",
		"FullName", "newbie", "AuthMethod", "perforce"))
}

func TestGroupSpecForms(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.SaveGroup(p4emu.Group{Name: "devs", Owners: []string{"scimadmin"}, Users: []string{"bob", "alice"}}); err != nil {
		t.Fatal(err)
	}
	r := env.Run(t, nil, nil, "group", "-o", "devs")
	body := "\nGroup:\tdevs\n\nMaxResults:\tunset\n\nMaxScanRows:\tunset\n\nMaxLockTime:\tunset\n\nMaxOpenFiles:\tunset\n\n" +
		"MaxMemory:\tunset\n\nTimeout:\t43200\n\nPasswordTimeout:\tunset\n\nSubgroups:\n\nOwners:\n\tscimadmin\n\nUsers:\n\talice\n\tbob\n\n"
	if !strings.HasPrefix(string(r.Stdout), "# A Perforce Group Specification.\n#\n#  Group:       The name of the group.\n") ||
		!strings.HasSuffix(string(r.Stdout), "#  Users:       The users in the group.  One per line.\n"+body) {
		t.Errorf("group -o text:\n%s", r.Stdout)
	}
	r = env.Run(t, nil, nil, "-G", "group", "-o", "devs")
	wantBytes(t, r.Stdout, d("code", "stat", "Group", "devs", "MaxResults", "unset", "MaxScanRows", "unset",
		"MaxLockTime", "unset", "MaxOpenFiles", "unset", "MaxMemory", "unset", "Timeout", "43200",
		"PasswordTimeout", "unset", "Owners0", "scimadmin", "Users0", "alice", "Users1", "bob"))
	r = env.Run(t, nil, nil, "-ztag", "-Mj", "group", "-o", "devs")
	wantJSON := `{"Group":"devs","MaxLockTime":"unset","MaxMemory":"unset","MaxOpenFiles":"unset","MaxResults":"unset","MaxScanRows":"unset","Owners0":"scimadmin","PasswordTimeout":"unset","Timeout":"43200","Users0":"alice","Users1":"bob"}` + "\n"
	if string(r.Stdout) != wantJSON {
		t.Errorf("-Mj: %s", r.Stdout)
	}
	r = env.Run(t, nil, nil, "-G", "group", "-o", "nope")
	wantBytes(t, r.Stdout, d("code", "stat", "Group", "nope", "MaxResults", "unset", "MaxScanRows", "unset",
		"MaxLockTime", "unset", "MaxOpenFiles", "unset", "MaxMemory", "unset", "Timeout", "43200",
		"PasswordTimeout", "unset"))
}

// step is one command of a scenario: its -G output must equal want.
type step struct {
	name  string
	stdin []byte
	env   []string
	args  []string
	want  []marshal.Dict
	exit  int
}

func runSteps(t *testing.T, env *p4emutest.Env, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := env.Run(t, s.stdin, s.env, append([]string{"-G"}, s.args...)...)
		if r.Exit != s.exit {
			t.Errorf("%s: exit %d, want %d (stderr %q)", s.name, r.Exit, s.exit, r.Stderr)
		}
		if len(r.Stderr) != 0 {
			t.Errorf("%s: stderr %q", s.name, r.Stderr)
		}
		got := decode(t, r.Stdout)
		if len(got) != len(s.want) || string(r.Stdout) != string(encode(t, s.want...)) {
			t.Errorf("%s:\n got %v\nwant %v", s.name, got, s.want)
		}
	}
}

func TestUserLifecycleMessages(t *testing.T) {
	env := start(t, p4emu.Options{LicenseUsers: 3})
	in := func(kv ...string) []byte { return input(t, kv...) }
	specErr := func(detail string) marshal.Dict { return errDict("Error in user specification.\n"+detail, 3, 4) }
	runSteps(t, env, []step{
		{name: "create", stdin: in("User", "bob", "Email", "bob@x.com", "FullName", "Bob Smith"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{info("User bob saved.")}},
		{name: "identical", stdin: in("User", "bob", "Email", "bob@x.com", "FullName", "Bob Smith"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{info("User bob not changed.")}},
		{name: "change", stdin: in("User", "bob", "Email", "bob@y.com", "FullName", "Bob Smith"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{info("User bob saved.")}},
		{name: "missing email", stdin: in("User", "carol", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{specErr("Missing required field 'Email'.")}, exit: 1},
		{name: "space in name", stdin: in("User", "carol x", "Email", "c@x", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{specErr("Wrong number of words for field 'User'.")}, exit: 1},
		{name: "at in name", stdin: in("User", "carol@x.com", "Email", "c@x", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Error in user specification.\nRevision chars (@, #) not allowed in 'carol@x.com'.", 3, 1)}, exit: 1},
		{name: "numeric", stdin: in("User", "123", "Email", "c@x", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Error in user specification.\nPurely numeric name not allowed - '123'.", 3, 1)}, exit: 1},
		{name: "dash", stdin: in("User", "-x", "Email", "c@x", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Error in user specification.\nInitial dash character not allowed in '-x'.", 3, 1)}, exit: 1},
		{name: "bad authmethod", stdin: in("User", "carol", "Email", "c@x", "FullName", "C", "AuthMethod", "oauth"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{specErr("Value for field 'AuthMethod' must be one of perforce/perforce+2fa/ldap/ldap+2fa.")}, exit: 1},
		{name: "int value", stdin: encode(t, d("User", "carol", "Email", int32(3))), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Invalid marshalled data supplied as input.", 3, 34), specErr("Missing required field 'User'.")}, exit: 1},
		{name: "password field", stdin: in("User", "bob", "Email", "bob@y.com", "FullName", "Bob Smith", "Password", "Xyzzy123!"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Passwords can only be set by 'p4 passwd' at this security level.", 3, 1)}, exit: 1},
		{name: "type change", stdin: in("User", "bob", "Type", "service", "Email", "bob@y.com", "FullName", "Bob Smith"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("User type can't be changed.", 3, 1)}, exit: 1},
		{name: "create carol", stdin: in("User", "carol", "Email", "c@x", "FullName", "C"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{info("User carol saved.")}},
		{name: "over licence", stdin: in("User", "dave", "Email", "d@x", "FullName", "D"), args: []string{"user", "-i", "-f"}, want: []marshal.Dict{errDict("Can't create a new user - over license quota.", 3, 35)}, exit: 1},
		{name: "rename", args: []string{"renameuser", "--from=carol", "--to=caroline"}, want: []marshal.Dict{info("User carol renamed to caroline.")}},
		{name: "delete", args: []string{"user", "-d", "-f", "caroline"}, want: []marshal.Dict{info("User caroline deleted.")}},
		{name: "delete missing", args: []string{"user", "-d", "-f", "caroline"}, want: []marshal.Dict{errDict("User caroline doesn't exist.", 3, 2)}, exit: 1},
		{name: "unknown command", args: []string{"frobnicate"}, want: []marshal.Dict{errDict("Unknown command.  Try 'p4 help' for info.", 3, 1)}, exit: 1},
	})
	u, ok := env.Server.User("bob")
	if !ok || u.Email != "bob@y.com" || u.Update != fixedNow {
		t.Errorf("bob = %+v", u)
	}
}

func TestGroupMessages(t *testing.T) {
	env := start(t, p4emu.Options{})
	in := func(kv ...string) []byte { return input(t, kv...) }
	row := func(user, group, sub, owner, isUser string) marshal.Dict {
		return d("code", "stat", "user", user, "group", group, "isSubGroup", sub, "isOwner", owner, "isUser", isUser,
			"maxResults", "0", "maxScanRows", "0", "maxLockTime", "0", "maxOpenFiles", "0", "maxMemory", "0",
			"timeout", "43200", "passTimeout", "0")
	}
	runSteps(t, env, []step{
		{name: "not created", stdin: in("Group", "empty"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group empty not created.")}},
		{name: "created", stdin: in("Group", "devs", "Timeout", "43200", "Users0", "bob", "Users1", "alice", "Owners0", "bob"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group devs created.")}},
		{name: "not updated", stdin: in("Group", "devs", "Timeout", "43200", "Users0", "alice", "Users1", "bob", "Owners0", "bob"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group devs not updated.")}},
		{name: "owners only", stdin: in("Group", "owned", "Timeout", "43200", "Owners0", "super"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group owned created.")}},
		{name: "space", stdin: in("Group", "my devs", "Users0", "bob"), args: []string{"group", "-i"}, want: []marshal.Dict{errDict("Error in group specification.\nWrong number of words for field 'Group'.", 3, 4)}, exit: 1},
		{name: "groups", args: []string{"groups"}, want: []marshal.Dict{row("alice", "devs", "0", "0", "1"), row("bob", "devs", "0", "1", "1"), row("super", "owned", "0", "1", "0")}},
		{name: "groups -v", args: []string{"groups", "-v", "owned"}, want: []marshal.Dict{row("super", "owned", "0", "1", "0")}},
		{name: "groups -v missing", args: []string{"groups", "-v", "nope"}},
		{name: "groups user", args: []string{"groups", "alice"}, want: []marshal.Dict{row("alice", "devs", "0", "0", "1")}},
		{name: "groups -o", args: []string{"groups", "-o", "bob"}, want: []marshal.Dict{row("bob", "devs", "0", "1", "1")}},
		{name: "updated", stdin: in("Group", "devs", "Timeout", "43200", "Users0", "bob", "Owners0", "bob"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group devs updated.")}},
		{name: "emptied", stdin: in("Group", "devs"), args: []string{"group", "-i"}, want: []marshal.Dict{info("Group devs deleted.")}},
		{name: "delete", args: []string{"group", "-d", "owned"}, want: []marshal.Dict{info("Group owned deleted.")}},
		{name: "delete missing", args: []string{"group", "-d", "owned"}, want: []marshal.Dict{errDict("Group 'owned' doesn't exist.", 3, 2)}, exit: 1},
	})
}

func TestKeys(t *testing.T) {
	env := start(t, p4emu.Options{})
	kv := func(k, v string) marshal.Dict { return d("code", "stat", "key", k, "value", v) }
	runSteps(t, env, []step{
		{name: "unset", args: []string{"key", "lock"}, want: []marshal.Dict{kv("lock", "0")}},
		{name: "cas on never set", args: []string{"key", "--from=0", "--to=me", "lock"}, want: []marshal.Dict{errDict("New value for lock not set. Current value is 0.", 3, 1)}, exit: 1},
		{name: "set", args: []string{"key", "lock", "free"}, want: []marshal.Dict{info("Key lock set.")}},
		{name: "cas", args: []string{"key", "--from=free", "--to=me", "lock"}, want: []marshal.Dict{info("Key lock set.")}},
		{name: "cas held", args: []string{"key", "--from=free", "--to=you", "lock"}, want: []marshal.Dict{errDict("New value for lock not set. Current value is me.", 3, 1)}, exit: 1},
		{name: "incr", args: []string{"key", "-i", "n"}, want: []marshal.Dict{kv("n", "1")}},
		{name: "incr non numeric", args: []string{"key", "-i", "lock"}, want: []marshal.Dict{errDict("Can't increment key 'lock' - value is not numeric.", 3, 1)}, exit: 1},
		{name: "keys -e", args: []string{"keys", "-e", "l*"}, want: []marshal.Dict{kv("lock", "me")}},
		{name: "delete", args: []string{"key", "-d", "lock"}, want: []marshal.Dict{info("Key lock deleted.")}},
		{name: "protects -m", args: []string{"protects", "-m"}, want: []marshal.Dict{d("code", "stat", "permMax", "super")}},
	})
}

func TestLoginTicketsAndExpiry(t *testing.T) {
	env := p4emutest.Start(t, p4emu.Options{Now: clock})
	// Not logged in.
	r := env.Run(t, nil, nil, "-G", "user", "-o", "super")
	wantBytes(t, r.Stdout, errDict("Perforce password (P4PASSWD) invalid or unset.", 3, 36))
	if r.Exit != 1 {
		t.Errorf("exit %d", r.Exit)
	}
	// Password in P4PASSWD at security 3.
	r = env.Run(t, nil, []string{"P4PASSWD=" + env.Password}, "-G", "user", "-o", "super")
	wantBytes(t, r.Stdout, errDict("Password not allowed at this server security level, use 'p4 login'.", 3, 1))
	// Wrong password.
	r = env.Run(t, []byte("nope\n"), nil, "-G", "login")
	if string(r.Stdout) != "Enter password: \n"+string(encode(t, errDict("Password invalid.", 3, 4))) || r.Exit != 1 {
		t.Errorf("bad login: %q exit %d", r.Stdout, r.Exit)
	}
	r = env.Run(t, []byte(env.Password+"\n"), nil, "-G", "login")
	if !strings.HasPrefix(string(r.Stdout), "Enter password: \n{") || r.Exit != 0 {
		t.Fatalf("login: %q", r.Stdout)
	}
	ds := decode(t, r.Stdout[len("Enter password: \n"):])
	if len(ds) != 2 || ds[0].String("data") != "User super logged in." || ds[1].String("TicketExpiration") != "43200" || ds[1].String("User") != "super" {
		t.Errorf("login dicts %v", ds)
	}
	b, err := os.ReadFile(env.Tickets)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(b))
	prefix := env.Port + "=super:"
	if !strings.HasPrefix(line, prefix) || len(line) != len(prefix)+32 {
		t.Fatalf("tickets file %q", b)
	}
	ticket := line[len(prefix):]
	r = env.Run(t, nil, nil, "-G", "login", "-s")
	wantBytes(t, r.Stdout, d("code", "stat", "TicketExpiration", "43200", "user", "super"))
	// The ticket value works in P4PASSWD from any tickets file.
	r = env.Run(t, nil, []string{"P4PASSWD=" + ticket, "P4TICKETS=" + env.Dir + "/none"}, "-G", "protects", "-m")
	wantBytes(t, r.Stdout, d("code", "stat", "permMax", "super"))
	if env.Server.Tickets("super") != 1 {
		t.Errorf("tickets %d", env.Server.Tickets("super"))
	}
	env.Server.ExpireTickets()
	r = env.Run(t, nil, nil, "-G", "login", "-s")
	wantBytes(t, r.Stdout, errDict("Your session has expired, please login again.", 3, 4))
	env.Login(t)
	r = env.Run(t, nil, nil, "-G", "logout", "-a", "super")
	wantBytes(t, r.Stdout, info("User super logged out."))
	if b, _ := os.ReadFile(env.Tickets); len(b) != 0 {
		t.Errorf("tickets file after logout %q", b)
	}
	if env.Server.Tickets("super") != 0 {
		t.Errorf("tickets after logout -a: %d", env.Server.Tickets("super"))
	}
	r = env.Run(t, nil, []string{"P4PASSWD=" + ticket}, "-G", "info")
	if r.Exit != 0 {
		t.Errorf("info needs no login")
	}
	// login -p prints the ticket and does not store it.
	r = env.Run(t, []byte(env.Password+"\n"), nil, "-G", "login", "-p")
	ds = decode(t, r.Stdout[len("Enter password: \n"):])
	if len(ds) < 1 || len(ds[0].String("data")) != 32 {
		t.Errorf("login -p %v", ds)
	}
	if b, _ := os.ReadFile(env.Tickets); len(b) != 0 {
		t.Errorf("login -p stored a ticket: %q", b)
	}
}

func TestPasswd(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.CreateUser(p4emu.User{Name: "bob"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.CreateUser(p4emu.User{Name: "lara", AuthMethod: "ldap"}, ""); err != nil {
		t.Fatal(err)
	}
	prompts := "Enter new password: \nRe-enter new password: \n"
	tests := []struct {
		name, stdin, user, prompt string
		want                      marshal.Dict
		exit                      int
	}{
		{"ok", "Abcdefg1\nAbcdefg1\n", "bob", prompts, info("Password updated."), 0},
		{"mismatch", "Abcdefg1\nAbcdefg2\n", "bob", prompts, errDict("Passwords don't match.", 3, 4), 1},
		{"short", "Ab1\nAb1\n", "bob", prompts, errDict("Password should be at least 8 characters in length.", 3, 4), 1},
		{"simple", "abcdefgh\nabcdefgh\n", "bob", prompts, errDict("Password should be mixed case or contain non alphabetic characters.", 3, 4), 1},
		{"eof", "Abcdefg1\n", "bob", prompts, errDict("EOF reading terminal.", 3, 34), 1},
		{"ldap", "Abcdefg1\nAbcdefg1\n", "lara", "", errDict("Cannot change password for LDAP user.", 3, 1), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, []byte(tc.stdin), nil, "-G", "passwd", tc.user)
			if want := tc.prompt + string(encode(t, tc.want)); string(r.Stdout) != want || r.Exit != tc.exit {
				t.Errorf("got %q exit %d, want %q", r.Stdout, r.Exit, want)
			}
		})
	}
	if !env.Server.CheckPassword("bob", "Abcdefg1") {
		t.Error("password not set")
	}
	// Changing a password logs the user out everywhere.
	r := env.Run(t, []byte("Abcdefg1\n"), []string{"P4USER=bob"}, "login")
	if r.Exit != 0 || env.Server.Tickets("bob") != 1 {
		t.Fatalf("bob login: %s %s", r.Stdout, r.Stderr)
	}
	r = env.Run(t, []byte("Zyxwvut9\nZyxwvut9\n"), nil, "-G", "passwd", "bob")
	if env.Server.Tickets("bob") != 0 {
		t.Error("tickets survived a password change")
	}
	r = env.Run(t, nil, []string{"P4USER=bob"}, "-G", "user", "-o")
	wantBytes(t, r.Stdout, errDict("Your session was logged out, please login again.", 3, 4))
}

func TestPermissions(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.CreateUser(p4emu.User{Name: "bob"}, "Abcdefg1"); err != nil {
		t.Fatal(err)
	}
	bob := []string{"P4USER=bob"}
	if r := env.Run(t, []byte("Abcdefg1\n"), bob, "login"); r.Exit != 0 {
		t.Fatal(string(r.Stderr))
	}
	denied := errDict("You don't have permission for this operation.", 3, 6)
	runSteps(t, env, []step{
		{name: "delete other", env: bob, args: []string{"user", "-d", "-f", "super"}, want: []marshal.Dict{denied}, exit: 1},
		{name: "group", env: bob, stdin: input(t, "Group", "g", "Users0", "bob"), args: []string{"group", "-i"}, want: []marshal.Dict{denied}, exit: 1},
		{name: "key", env: bob, args: []string{"key", "x"}, want: []marshal.Dict{denied}, exit: 1},
		{name: "self edit", env: bob, stdin: input(t, "User", "bob", "Email", "b@b", "FullName", "Bob B"), args: []string{"user", "-i"}, want: []marshal.Dict{info("User bob saved.")}},
		{name: "protects -m", env: bob, args: []string{"protects", "-m"}, want: []marshal.Dict{d("code", "stat", "permMax", "write")}},
	})
}

func TestOutputModes(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.CreateUser(p4emu.User{Name: "bob", Email: "b@x", FullName: "Bob"}, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args           []string
		stdout, stderr string
		exit           int
	}{
		{[]string{"users", "bob"}, "bob <b@x> (Bob) accessed 2024/05/17\n", "", 0},
		{[]string{"users", "nobody"}, "", "nobody - no such user(s).\n", 0},
		{[]string{"-s", "users", "bob", "nobody"}, "info: bob <b@x> (Bob) accessed 2024/05/17\nwarning: nobody - no such user(s).\nexit: 0\n", "", 0},
		{[]string{"-ztag", "key", "k"}, "... key k\n... value 0\n\n", "", 0},
		{[]string{"-q", "-ztag", "key", "k"}, "", "", 0},
		{[]string{"-ztag", "-Mj", "users", "nobody"}, `{"data":"nobody - no such user(s).\n","generic":17,"severity":2}` + "\n", "", 0},
		{[]string{"-ztag", "-Mj", "key", "k"}, `{"key":"k","value":"0"}` + "\n", "", 0},
		{[]string{"user", "-d", "-f", "nobody"}, "", "User nobody doesn't exist.\n", 1},
		{[]string{"-s", "user", "-d", "-f", "nobody"}, "error: User nobody doesn't exist.\nexit: 1\n", "", 1},
		{[]string{"key", "k", "v"}, "Key k set.\n", "", 0},
		{[]string{"key", "k"}, "v\n", "", 0},
		{[]string{"groups"}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := env.Run(t, nil, nil, tc.args...)
			if string(r.Stdout) != tc.stdout || string(r.Stderr) != tc.stderr || r.Exit != tc.exit {
				t.Errorf("got stdout %q stderr %q exit %d", r.Stdout, r.Stderr, r.Exit)
			}
		})
	}
}

func TestTextFormInput(t *testing.T) {
	env := start(t, p4emu.Options{})
	form := "User:\tcarol\n\nEmail:\tcarol@x.com\n\nFullName:\tCarol #2 Jones\n"
	r := env.Run(t, []byte(form), nil, "user", "-i", "-f")
	if string(r.Stdout) != "User carol saved.\n" {
		t.Fatalf("%q %q", r.Stdout, r.Stderr)
	}
	u, _ := env.Server.User("carol")
	if u.FullName != "Carol" { // '#' starts a comment in forms (§2.2)
		t.Errorf("FullName %q", u.FullName)
	}
	r = env.Run(t, []byte("Group:\tg1\nDescription:\n\tline one # kept\n\tline two\nUsers:\n\tcarol\n"), nil, "group", "-i")
	if string(r.Stdout) != "Group g1 created.\n" {
		t.Fatalf("%q %q", r.Stdout, r.Stderr)
	}
	g, _ := env.Server.Group("g1")
	if g.Description != "line one # kept\nline two\n" || g.Timeout != "unset" {
		t.Errorf("group %+v", g)
	}
}

// TestUserDeleteWithOpenedFiles: a user with opened files is refused by
// `user -d -f` with an info message and exit 0 (§2.3), and deleted once
// its files are no longer open.
func TestUserDeleteWithOpenedFiles(t *testing.T) {
	env := start(t, p4emu.Options{})
	runSteps(t, env, []step{{name: "create", stdin: input(t, "User", "bob", "Email", "bob@x.com", "FullName", "Bob"),
		args: []string{"user", "-i", "-f"}, want: []marshal.Dict{info("User bob saved.")}}})
	if err := env.Server.SetOpenedFiles("bob", 2); err != nil {
		t.Fatal(err)
	}
	runSteps(t, env, []step{{name: "refused", args: []string{"user", "-d", "-f", "bob"},
		want: []marshal.Dict{info("User bob has file(s) open on 2 client(s) and can't be deleted.")}}})
	if _, ok := env.Server.User("bob"); !ok {
		t.Fatal("bob deleted despite opened files")
	}
	if err := env.Server.SetOpenedFiles("bob", 0); err != nil {
		t.Fatal(err)
	}
	runSteps(t, env, []step{{name: "deleted", args: []string{"user", "-d", "-f", "bob"}, want: []marshal.Dict{info("User bob deleted.")}}})
}
