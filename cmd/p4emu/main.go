// Command p4emu is the Helix Core emulator as a standalone binary.
//
//	p4emu p4d -p 127.0.0.1:1666 [-super NAME] [-password PW] [-security N] ...
//
// runs an in-memory server until SIGINT/SIGTERM. Any other invocation acts
// as the `p4` client, so a copy or symlink named p4 is a working p4.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "p4d" {
		os.Exit(serve(os.Args[2:]))
	}
	os.Exit(p4emu.RunClient(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

func serve(args []string) int {
	fs := flag.NewFlagSet("p4emu p4d", flag.ContinueOnError)
	addr := fs.String("p", "127.0.0.1:1666", "listen address (host:port)")
	super := fs.String("super", p4emu.DefaultSuperUser, "bootstrap super user")
	password := fs.String("password", p4emu.DefaultSuperPassword, "bootstrap super user's password")
	security := fs.Int("security", p4emu.DefaultSecurityLevel, "security level (0-4)")
	minLen := fs.Int("minlength", 8, "dm.password.minlength")
	license := fs.Int("license-users", 0, "licensed standard users (0 = unlimited)")
	insensitive := fs.Bool("case-insensitive", false, "case-insensitive server")
	ticketLife := fs.Duration("ticket-lifetime", 12*time.Hour, "default ticket lifetime")
	fingerprint := fs.String("fingerprint", "", "fingerprint for ssl: ports (default random)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := *security
	if level == 0 {
		level = -1 // Options uses a negative value for level 0
	}
	ml := *minLen
	if ml == 0 {
		ml = -1
	}
	srv := p4emu.New(p4emu.Options{SuperUser: *super, SuperPassword: *password, SecurityLevel: level,
		MinPasswordLength: ml, LicenseUsers: *license, CaseInsensitive: *insensitive,
		TicketLifetime: *ticketLife, Fingerprint: *fingerprint})
	if err := srv.Listen(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "p4emu: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "p4emu: serving on %s (super user %q, fingerprint %s)\n", srv.Addr(), *super, srv.Fingerprint())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = srv.Close()
	return 0
}
