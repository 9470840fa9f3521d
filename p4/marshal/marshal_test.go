package marshal

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// jobSaved is the recorded stream of `p4 -G job -i` answering
// "Job DEV-123 saved." (reference/p4-cli.md §1.3, go-libp4 job_save.bin).
var jobSaved = []byte("{s\x04\x00\x00\x00codes\x04\x00\x00\x00infos\x05\x00\x00\x00leveli\x00\x00\x00\x00" +
	"s\x04\x00\x00\x00datas\x12\x00\x00\x00Job DEV-123 saved.0")

// jobFailed is the recorded pair of error dicts of job_failed.bin.
var jobFailed = func() []byte {
	var b bytes.Buffer
	for _, d := range []Dict{
		{Fields: []Field{{"code", "error"}, {"data", "Invalid marshalled data supplied as input.\n"}, {"severity", int32(3)}, {"generic", int32(34)}}},
		{Fields: []Field{{"code", "error"}, {"data", "Error in job specification.\nMissing required field 'Job'.\n"}, {"severity", int32(3)}, {"generic", int32(4)}}},
	} {
		if err := Encode(&b, d); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}()

func TestDecodeRecorded(t *testing.T) {
	dicts, err := DecodeAll(bytes.NewReader(jobSaved))
	if err != nil {
		t.Fatal(err)
	}
	if len(dicts) != 1 {
		t.Fatalf("got %d dicts", len(dicts))
	}
	d := dicts[0]
	if d.String("code") != "info" || d.String("data") != "Job DEV-123 saved." {
		t.Fatalf("unexpected dict %+v", d)
	}
	if lvl, ok := d.Int("level"); !ok || lvl != 0 {
		t.Fatalf("level = %d, %v", lvl, ok)
	}
	if _, isInt := d.Fields[1].Value.(int32); !isInt {
		t.Fatalf("level decoded as %T, want int32", d.Fields[1].Value)
	}
}

func TestEncodeMatchesRecordedBytes(t *testing.T) {
	var b bytes.Buffer
	d := Dict{Fields: []Field{{"code", "info"}, {"level", int32(0)}, {"data", "Job DEV-123 saved."}}}
	if err := Encode(&b, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), jobSaved) {
		t.Fatalf("encoded\n%q\nwant\n%q", b.Bytes(), jobSaved)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		dicts []Dict
	}{
		{"empty dict", []Dict{{}}},
		{"errors", nil},
		{"unicode and binary", []Dict{{Fields: []Field{{"FullName", "Zoë \x00 Ünïcode"}, {"Users0", "a"}, {"Users1", ""}}}}},
		{"negative int", []Dict{{Fields: []Field{{"severity", int32(-1)}}}}},
	}
	tests[1].dicts, _ = DecodeAll(bytes.NewReader(jobFailed))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, d := range tt.dicts {
				if err := Encode(&b, d); err != nil {
					t.Fatal(err)
				}
			}
			got, err := DecodeAll(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.dicts) {
				t.Fatalf("got %d dicts, want %d", len(got), len(tt.dicts))
			}
			for i := range got {
				if len(got[i].Fields) != len(tt.dicts[i].Fields) {
					t.Fatalf("dict %d: %+v want %+v", i, got[i], tt.dicts[i])
				}
				for j := range got[i].Fields {
					if got[i].Fields[j] != tt.dicts[i].Fields[j] {
						t.Fatalf("dict %d field %d: %+v want %+v", i, j, got[i].Fields[j], tt.dicts[i].Fields[j])
					}
				}
			}
		})
	}
	if len(tests[1].dicts) != 2 || tests[1].dicts[1].String("data") != "Error in job specification.\nMissing required field 'Job'.\n" {
		t.Fatalf("job_failed stream decoded wrongly: %+v", tests[1].dicts)
	}
}

func TestDecodeAcceptsUnicodeCode(t *testing.T) {
	in := []byte("{u\x04\x00\x00\x00Useru\x03\x00\x00\x00bob0")
	d, err := NewDecoder(bytes.NewReader(in)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d.String("User") != "bob" {
		t.Fatalf("got %+v", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not a dict", "hello", ErrInvalid},
		{"truncated key", "{s\x05\x00\x00\x00ab", io.ErrUnexpectedEOF},
		{"missing end", "{s\x01\x00\x00\x00as\x01\x00\x00\x00b", io.ErrUnexpectedEOF},
		{"python3 short string", "{z\x01a0", ErrInvalid},
		{"int key", "{i\x01\x00\x00\x00s\x01\x00\x00\x00a0", ErrInvalid},
		{"float value", "{s\x01\x00\x00\x00ag\x00\x00\x00\x00\x00\x00\x00\x000", ErrInvalid},
		{"huge length", "{s\xff\xff\xff\x7f", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeAll(bytes.NewReader([]byte(tt.in)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncodeRejectsUnsupported(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, Dict{Fields: []Field{{"x", 1.5}}}); err == nil {
		t.Fatal("float accepted")
	}
	if err := Encode(&b, Dict{Fields: []Field{{"x", 1 << 40}}}); err == nil {
		t.Fatal("int overflow accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(jobSaved)
	f.Add(jobFailed)
	f.Add([]byte("{0"))
	f.Add([]byte("{u\x04\x00\x00\x00Useru\x03\x00\x00\x00bob0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dicts, err := DecodeAll(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same dicts.
		var b bytes.Buffer
		for _, d := range dicts {
			if err := Encode(&b, d); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		}
		again, err := DecodeAll(bytes.NewReader(b.Bytes()))
		if err != nil || len(again) != len(dicts) {
			t.Fatalf("round trip: %v (%d vs %d)", err, len(again), len(dicts))
		}
		for i := range again {
			for j := range again[i].Fields {
				if again[i].Fields[j] != dicts[i].Fields[j] {
					t.Fatalf("field mismatch %+v vs %+v", again[i].Fields[j], dicts[i].Fields[j])
				}
			}
		}
	})
}

// TestDecodeStringsAroundBufferSize round-trips values shorter than, equal
// to and longer than the decoder's read buffer, and repeated keys (interned).
func TestDecodeStringsAroundBufferSize(t *testing.T) {
	var buf bytes.Buffer
	var want []string
	for _, n := range []int{0, 1, 4095, 4096, 4097, 100_000} {
		v := strings.Repeat("x", n)
		want = append(want, v)
		if err := Encode(&buf, FromMap(map[string]string{"key": v})); err != nil {
			t.Fatal(err)
		}
	}
	dicts, err := DecodeAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(dicts) != len(want) {
		t.Fatalf("%d dicts, want %d", len(dicts), len(want))
	}
	for i, d := range dicts {
		if got := d.String("key"); got != want[i] {
			t.Errorf("dict %d: value of length %d, want %d", i, len(got), len(want[i]))
		}
	}
}
