package p4

import (
	"context"
	"sort"
	"strconv"

	"github.com/p4scim/p4scim/p4/marshal"
)

// Key reads a key with `p4 -x - key` and NAME on stdin: index keys are
// named after the IdP's userName, externalId and e-mail address (hex
// encoded, which hides nothing), so key names stay off argv as values do
// (§5.7). p4 shows an unset key as "0", so ok is false for "0".
func (c *Client) Key(ctx context.Context, name string) (string, bool, error) {
	res, err := c.commandLines(ctx, nil, []string{name}, "key")
	if err != nil {
		return "", false, err
	}
	if len(res.stats) == 0 {
		return "", false, unexpected("key", res)
	}
	v := res.stats[0].String("value")
	return v, v != "0", nil
}

// SetKey sets a key with `p4 -x - key` and the lines NAME, VALUE on
// stdin: a value (a user's record holds the profile the IdP sent) is
// never on argv, where every local user can read it (§5.7). A value with
// a line break is refused.
func (c *Client) SetKey(ctx context.Context, name, value string) error {
	res, err := c.commandLines(ctx, nil, []string{name, value}, "key")
	if err != nil {
		return err
	}
	if res.hasInfo(" set") || len(res.stats) > 0 {
		return nil
	}
	return unexpected("key", res)
}

// SetKeys sets several keys in one command: `p4 -x - key -m` with the
// lines NAME, VALUE, ... on stdin, so that no value is on argv (§5.7).
// Each is confirmed by its own "Key NAME set." message. p4 runs key -m
// once per argBatch lines: up to argBatch/2 keys are set atomically, more
// in several runs of the one process (the bridge sets a record and a few
// markers).
func (c *Client) SetKeys(ctx context.Context, kv map[string]string) error {
	if len(kv) == 0 {
		return nil
	}
	names := make([]string, 0, len(kv))
	for k := range kv {
		names = append(names, k)
	}
	sort.Strings(names)
	lines := make([]string, 0, 2*len(names))
	for _, k := range names {
		lines = append(lines, k, kv[k])
	}
	res, err := c.commandLines(ctx, nil, lines, "key", "-m")
	if err != nil {
		return err
	}
	for _, k := range names {
		if !res.hasInfo("Key " + k + " set") {
			return unexpected("key", res)
		}
	}
	return nil
}

// DeleteKey deletes a key with `p4 -x - key -d` and NAME on stdin (see Key).
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	_, err := c.commandLines(ctx, nil, []string{name}, "key", "-d")
	return err
}

// IncrementKey adds one to a numeric key with `key -i NAME` (an unset key
// counts as 0) and returns the new value. Atomic on the server.
func (c *Client) IncrementKey(ctx context.Context, name string) (int64, error) {
	res, err := c.command(ctx, nil, "key", "-i", name)
	if err != nil {
		return 0, err
	}
	if len(res.stats) == 0 {
		return 0, unexpected("key", res)
	}
	n, perr := strconv.ParseInt(res.stats[0].String("value"), 10, 64)
	if perr != nil {
		return 0, &Error{Kind: KindOther, Command: "key", Err: perr}
	}
	return n, nil
}

// CompareAndSetKey sets a key to `to` only if it holds `from`:
// `key --from=FROM --to=TO NAME`. A lost race is an *Error of KindConflict
// whose Current holds the value found.
func (c *Client) CompareAndSetKey(ctx context.Context, name, from, to string) error {
	_, err := c.command(ctx, nil, "key", "--from="+from, "--to="+to, name)
	return err
}

// Keys lists keys matching a pattern with `keys -e PATTERN`. keep, if not
// nil, chooses the names to return; the others are dropped as they arrive.
func (c *Client) Keys(ctx context.Context, pattern string, keep func(name string) bool) (map[string]string, error) {
	out := map[string]string{}
	sink := &statSink{reset: func() { clear(out) }, add: func(d marshal.Dict) {
		if name := d.String("key"); keep == nil || keep(name) {
			out[name] = d.String("value")
		}
	}}
	if _, err := c.commandEach(ctx, nil, sink, "keys", "-e", pattern); err != nil {
		return nil, err
	}
	return out, nil
}
