package p4emu

import (
	"fmt"
	"io"
	"strings"
)

// Trust file entries use the ticket-file format with pseudo-users (§1.5):
// "**++**" for the trusted key, "++++++" for a replacement key.
const (
	trustUser       = "**++**"
	replacementUser = "++++++"
)

func trustedKey(path, peer string) string { return lookupTicket(path, peer, trustUser) }

// trustProblem returns the HostKeyUnknown/HostKeyMismatch text, or "".
func trustProblem(path, peer, fp string) string {
	switch known := trustedKey(path, peer); {
	case known == fp:
		return ""
	case known == "":
		if lookupTicket(path, peer, replacementUser) == fp {
			return ""
		}
		return hostKeyUnknown(peer, fp)
	default:
		return hostKeyMismatch(peer, fp)
	}
}

func hostKeyUnknown(peer, fp string) string {
	return "The authenticity of '" + peer + "' can't be established,\n" +
		"this may be your first attempt to connect to this P4PORT.\n" +
		"The fingerprint for the key sent to your client is\n" + fp
}

func hostKeyMismatch(peer, fp string) string {
	return "******* WARNING P4PORT IDENTIFICATION HAS CHANGED! *******\n" +
		"It is possible that someone is intercepting your connection\n" +
		"to the Perforce P4PORT '" + peer + "'\n" +
		"If this is not a scheduled key change, then you should contact\n" +
		"your Perforce administrator.\n" +
		"The fingerprint for the mismatched key sent to your client is\n" + fp
}

// runTrust implements `p4 trust [-y -n -d -l -f -r -i fingerprint]`
// client-side (§1.6). Its output is OutputText: code 'text' under -G.
func runTrust(o clientOpts, addr string, ssl bool, args []string, stdout, stderr io.Writer) int {
	var out output
	emit := func() int {
		so, se := out.encode(o.mode)
		stdout.Write(so)
		stderr.Write(se)
		return out.exitCode()
	}
	var yes, no, del, list, force, repl bool
	install := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			out.fail(genUsage, "Usage: trust [ -l -y -n -d -f -r -i <fingerprint> ]\nMissing/wrong number of arguments.")
			return emit()
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'y':
				yes = true
			case 'n':
				no = true
			case 'd':
				del = true
			case 'l':
				list = true
			case 'f':
				force = true
			case 'r':
				repl = true
			case 'i':
				if j+1 < len(a) {
					install = a[j+1:]
				} else if i+1 < len(args) {
					i++
					install = args[i]
				}
				j = len(a)
			default:
				out.fail(genUsage, "Usage: trust [ -l -y -n -d -f -r -i <fingerprint> ]\nMissing/wrong number of arguments.")
				return emit()
			}
		}
	}
	n := 0
	for _, b := range []bool{yes, no, del, list, install != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		out.fail(genUsage, "Only one of -y -n -d -l -i is allowed.")
		return emit()
	}
	if list {
		for _, l := range readLinesFile(o.trust) {
			k, rest, _ := strings.Cut(l, "=")
			u, fp, ok := strings.Cut(rest, ":")
			if !ok {
				continue
			}
			suffix := ""
			if u == replacementUser {
				suffix = " (replacement)"
			}
			out.text(k + " " + fp + suffix + "\n")
		}
		return emit()
	}
	if !ssl {
		out.text("Only SSL connections require trust\n")
		return emit()
	}
	c, rpcErr := dial(addr)
	if rpcErr != "" {
		fmt.Fprint(stderr, rpcErr)
		return 1
	}
	defer c.c.Close()
	var hello response
	if c.send(request{Hello: true}) != nil || c.recv(&hello) != nil {
		fmt.Fprint(stderr, partnerExited)
		return 1
	}
	peer := c.c.RemoteAddr().String()
	fp := hello.Fingerprint
	user := trustUser
	if repl {
		user = replacementUser
	}
	if del {
		_ = rewriteEntry(o.trust, peer, user, "")
		out.text("Removed trust for P4PORT '" + o.port + "' (" + peer + ")\n")
		return emit()
	}
	if install != "" {
		if install != fp && !repl {
			out.fail(genComm, "Fingerprint mismatch: '%s' is not the key the server sent.", install)
			return emit()
		}
		_ = rewriteEntry(o.trust, peer, user, peer+"="+user+":"+install)
		out.text("Added trust for P4PORT '" + o.port + "' (" + peer + ")\n")
		return emit()
	}
	known := trustedKey(o.trust, peer)
	switch {
	case known == fp:
		out.text("Trust already established.\n")
		return emit()
	case known != "" && !force:
		out.text(hostKeyMismatch(peer, fp) + "\n")
		out.fail(genComm, "Can't trust mismatched P4PORT key without the '-f' force option.")
		return emit()
	case known == "":
		out.text(hostKeyUnknown(peer, fp) + "\n")
	default:
		out.text(hostKeyMismatch(peer, fp) + "\n")
	}
	if !yes {
		// Without -y the real client asks "(yes/no)"; the emulator never
		// prompts, so it answers no (like -n).
		out.text("Are you sure you want to establish trust (yes/no)? \n")
		return emit()
	}
	_ = rewriteEntry(o.trust, peer, user, peer+"="+user+":"+fp)
	out.text("Added trust for P4PORT '" + o.port + "' (" + peer + ")\n")
	return emit()
}
