package p4emu_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/marshal"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

// fixedNow is the clock of every test server, so dates are predictable.
var fixedNow = time.Date(2024, 5, 17, 10, 21, 33, 0, time.UTC)

func clock() time.Time { return fixedNow }

// start runs a server with the fixed clock and logs the super user in.
func start(t *testing.T, opts p4emu.Options) *p4emutest.Env {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock
	}
	env := p4emutest.Start(t, opts)
	env.Login(t)
	return env
}

// d builds a dict from alternating keys and values (string or int32).
func d(kv ...any) marshal.Dict {
	var out marshal.Dict
	for i := 0; i < len(kv); i += 2 {
		out.Fields = append(out.Fields, marshal.Field{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

func info(text string) marshal.Dict { return d("code", "info", "level", int32(0), "data", text) }

func errDict(text string, sev, gen int32) marshal.Dict {
	return d("code", "error", "data", text+"\n", "severity", sev, "generic", gen)
}

func encode(t *testing.T, ds ...marshal.Dict) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, x := range ds {
		if err := marshal.Encode(&b, x); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func input(t *testing.T, kv ...string) []byte {
	t.Helper()
	var dd marshal.Dict
	for i := 0; i < len(kv); i += 2 {
		dd.Fields = append(dd.Fields, marshal.Field{Key: kv[i], Value: kv[i+1]})
	}
	return encode(t, dd)
}

// decode decodes -G output into dicts, failing on trailing garbage.
func decode(t *testing.T, b []byte) []marshal.Dict {
	t.Helper()
	ds, err := marshal.DecodeAll(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return ds
}

// wantBytes compares -G output with the encoding of want, showing both
// decoded on mismatch.
func wantBytes(t *testing.T, got []byte, want ...marshal.Dict) {
	t.Helper()
	exp := encode(t, want...)
	if !bytes.Equal(got, exp) {
		g, _ := marshal.DecodeAll(bytes.NewReader(got))
		t.Fatalf("output mismatch\n got: %v\nwant: %v\n got bytes %q", g, want, got)
	}
}
