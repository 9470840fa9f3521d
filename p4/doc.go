// Package p4 is p4scim's Helix Core client. It runs the real `p4` binary,
// one process per command, with -G (Python marshal) output, and gives the
// bridge typed operations and typed errors. It owns everything about how
// p4 is invoked: argv, environment, credentials, deadlines, concurrency and
// how an outcome is read from p4's messages.
//
// Decisions:
//
//   - Outcome comes from the messages, not the exit status (p4-cli.md §1.4):
//     warnings exit 0, and some refusals are info messages ("can't be
//     deleted"). Errors carry an ErrorKind; the p4 text stays in *Error for
//     logs.
//   - Credentials never touch argv. A configured password is sent to
//     `p4 login` on stdin and the ticket lands in the tickets file
//     (P4TICKETS), which later commands read; at security level 3 a plain
//     password in P4PASSWD is refused anyway. A configured value that looks
//     like a ticket (32 hex digits) is passed as P4PASSWD in the child's
//     environment. An expired or revoked ticket is renewed once by logging
//     in again, and the command retried once.
//   - The child environment is built, not inherited wholesale: every P4*
//     variable of this process is dropped so a stray P4CONFIG or P4PASSWD
//     cannot change which server or user is used.
//   - Every command runs under a deadline; on expiry the child's whole
//     process group is killed and reaped. A semaphore bounds concurrent
//     p4 processes.
//
// Argv forms and cost, one p4 process each: info; login; login -s;
// users -a [names]; user -o NAME; user -i -f; user -d -f NAME;
// renameuser --from --to; passwd NAME; logout -a NAME; groups -v NAME;
// group -o NAME; groups; group -i; group -d NAME; key NAME [VALUE];
// key -d NAME; key -i NAME; key --from --to NAME; keys -e PATTERN;
// protects -m; protects -u USER -m; protects -g GROUP -m;
// configure show NAME; trust -i FP / trust -f -y.
package p4
