// Package p4emu is an in-memory emulator of a Helix Core server (p4d) and of
// the `p4` command-line client, faithful to reference/p4-cli.md.
//
// It owns two halves that talk over loopback TCP like the real pair:
//
//   - Server holds the Helix Core state (users, groups, keys, tickets,
//     protections) and the command semantics, and encodes every answer in
//     the output mode the client asked for (plain, -s, -ztag, -G, -Mj), so
//     the bytes a caller reads are the bytes a real p4 would print.
//   - RunClient is the `p4` command line: global options, P4* environment,
//     P4TICKETS / P4TRUST files, one request per command, connection errors
//     printed the way the real client prints them.
//
// Tests exec the emulator as a real `p4` binary (see package p4emutest), so
// the production path (exec, environment, stdin, marshal decoding) is the one
// under test. Nothing here is package-level mutable state: every Server is
// independent.
//
// Decisions where the reference is unverified (§8) are documented next to
// the code that makes them; the main ones:
//
//   - `users` tagged records carry User, Email, Update, Access, FullName,
//     Type, AuthMethod (no Password field).
//   - `groups` tagged limits are numeric strings (unset "0", unlimited "-1");
//     `groups -v` text prints them as words.
//   - `user -o` of an unknown user shows Type "standard" and AuthMethod
//     "perforce".
//   - `user -i` of an identical spec answers "User X not changed.".
//   - Identifier errors inside `user -i`/`group -i` are wrapped as
//     "Error in user specification.\n<message>".
//   - At security >= 3 a correct plain password in P4PASSWD answers
//     "Password not allowed at this server security level, use 'p4 login'."
//     (3/1); any other bad credential "Perforce password (P4PASSWD) invalid or
//     unset." (3/36).
//   - Under -G, `login` answers the info "User X logged in." followed by the
//     stat {User, TicketExpiration}; `login -p` first prints the ticket as an
//     info. A failed login (wrong password or unknown user) is "Password
//     invalid." (3/4), which does not reveal whether the user exists.
//   - A valid ticket (from P4PASSWD or the tickets file) is always accepted;
//     a plain password in P4PASSWD only below security 3.
//   - Tickets file lines are keyed by P4PORT without its protocol prefix
//     ("127.0.0.1:1666=user:TICKET"); trust lines by the server's ip:port.
//   - `group -i` is a full replace: an omitted limit is stored as "unset"
//     (Timeout included: only the `group -o` template shows 43200). Member
//     lists are stored sorted and deduplicated; users and subgroups need not
//     exist.
//   - `users NAME...` warns once per argument that matched nothing.
//   - `users` runs without a login (run.users.authorize=0); every other
//     command except info, login, help and trust needs one.
//   - Protections are a table of lines (ProtectLine: level, user or group,
//     host, path, exclusion), initially `write user *` and `super user
//     <SuperUser>`. A group line applies to the group's Users and, through
//     Subgroups, to the members of every group nested in it. `protects -m`
//     is the highest level of the lines that apply, exclusions ignored (as
//     the manual says); a name no line covers gets "none". `protects -g G`
//     counts the lines of the groups G is a subgroup of. Hosts and paths
//     are listed, never matched. `key`/`keys` (review access) stay
//     super-only.
//   - `configure show NAME` reports security, dm.password.minlength (from
//     Options) and the §5.6 configurables (SetConfigurable, else their
//     documented default, Type "default").
//   - Plain-mode `-o` forms end with the extra newline OutputInfo adds.
//   - The untrusted-ssl error is a normal error message (3/38), so under -G
//     it is an error dict on stdout, not client text on stderr.
package p4emu
