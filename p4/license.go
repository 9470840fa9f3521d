package p4

import (
	"context"
	"strconv"
	"time"
)

// License is what `p4 license -u` reports of the licence's user limits
// (reference/p4-cli.md §5.4). Each standard user takes a licence; operator
// and service users take none.
type License struct {
	Licensed  bool
	Users     int64 // standard users counted against the licence
	UserLimit int64 // -1: no limit ("unlimited", "-" or absent)
	// TimeRemaining is how long the licence stays valid; -1 when the
	// server reports no end.
	TimeRemaining time.Duration
}

// License reads the licence headroom: `license -u` (admin; the bridge's
// super user has it). Fields are read by key; "-" and "unlimited" mean no
// limit, and the order of fields is never relied on (§5.4).
func (c *Client) License(ctx context.Context) (License, error) {
	res, err := c.command(ctx, nil, "license", "-u")
	if err != nil {
		return License{}, err
	}
	if len(res.stats) == 0 {
		return License{}, unexpected("license", res)
	}
	d := res.stats[0]
	l := License{Licensed: d.String("isLicensed") == "yes", UserLimit: -1, TimeRemaining: -1}
	if _, ok := d.Get("userCount"); !ok {
		return License{}, unexpected("license", res)
	}
	l.Users = licenseNumber(d.String("userCount"))
	l.UserLimit = licenseNumber(d.String("userLimit"))
	if n := licenseNumber(d.String("licenseTimeRemaining")); n >= 0 {
		l.TimeRemaining = time.Duration(n) * time.Second
	}
	return l, nil
}

// licenseNumber parses a licence figure; "-", "unlimited", "unset" and
// anything else that is not a count read as -1 (no limit / unknown).
func licenseNumber(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
