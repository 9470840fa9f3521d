package p4

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Info reads `p4 info`, which needs no login.
func (c *Client) Info(ctx context.Context) (Info, error) {
	res, err := c.command(ctx, nil, "info")
	if err != nil {
		return Info{}, err
	}
	if len(res.stats) == 0 {
		return Info{}, unexpected("info", res)
	}
	d := res.stats[0]
	return Info{
		UserName: d.String("userName"), ServerAddress: d.String("serverAddress"),
		ServerVersion: d.String("serverVersion"), CaseHandling: d.String("caseHandling"),
		ServerLicense: d.String("serverLicense"), ServerServices: d.String("serverServices"),
	}, nil
}

// Login logs in with the configured password, sent on stdin; p4 stores the
// ticket in the tickets file. With a ticket configured instead, there is
// nothing to do. Concurrent callers share one login.
func (c *Client) Login(ctx context.Context) error {
	if c.ticket {
		return nil
	}
	if c.cfg.Password == "" {
		return &Error{Kind: KindAuthFailed, Command: "login", Err: fmt.Errorf("no password configured (P4PASSWD) and no valid ticket in %s", c.cfg.Tickets)}
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	res, err := c.runOnce(ctx, call{args: []string{"login"}, stdin: []byte(c.cfg.Password + "\n")})
	if err != nil {
		return err
	}
	if res.hasInfo("logged in") || len(res.stats) > 0 {
		return nil
	}
	return unexpected("login", res)
}

// TicketStatus returns how long the current ticket stays valid: `login -s`.
func (c *Client) TicketStatus(ctx context.Context) (time.Duration, error) {
	res, err := c.runOnce(ctx, call{args: []string{"login", "-s"}})
	if err != nil {
		return 0, err
	}
	for _, d := range res.stats {
		if s, ok := d.Get("TicketExpiration"); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			if err == nil {
				return time.Duration(n) * time.Second, nil
			}
		}
	}
	return 0, unexpected("login", res)
}

// IsSuper says whether P4USER has super access: `protects -m`.
func (c *Client) IsSuper(ctx context.Context) (bool, error) {
	res, err := c.command(ctx, nil, "protects", "-m")
	if err != nil {
		return false, err
	}
	for _, d := range res.stats {
		if d.String("permMax") == "super" {
			return true, nil
		}
	}
	return false, nil
}

// Trust establishes trust for an ssl: port. With a configured fingerprint
// it installs exactly that one (`trust -i FP`), so a changed server key is
// refused; a blind `trust -f -y` only when TrustAny is set. Without either,
// an operator-provided trust file (Config.Trust, P4TRUST) is used as is and
// Trust runs nothing: if the server is not in it, the next command fails
// with p4's own trust message, as an error of KindUntrusted. Other ports
// need nothing.
func (c *Client) Trust(ctx context.Context) error {
	if !strings.HasPrefix(c.cfg.Port, "ssl") {
		return nil
	}
	var args []string
	switch {
	case c.cfg.TrustFingerprint != "":
		args = []string{"trust", "-i", c.cfg.TrustFingerprint}
	case c.cfg.TrustAny:
		args = []string{"trust", "-f", "-y"}
	case c.ownTrust:
		return nil
	default:
		return &Error{Kind: KindUntrusted, Command: "trust", Err: fmt.Errorf(
			"P4PORT %s uses SSL: set P4_TRUST_FINGERPRINT to the server's fingerprint (p4d -Gf on the server), "+
				"point P4TRUST at a trust file that holds it (p4 trust), or set P4_TRUST_ANY=true to trust blindly", c.cfg.Port)}
	}
	res, err := c.runOnce(ctx, call{args: args})
	if err != nil {
		return err
	}
	if res.hasInfo("Added trust") || res.hasInfo("Trust already established") || res.hasInfo("Installed trust") {
		return nil
	}
	return unexpected("trust", res)
}
