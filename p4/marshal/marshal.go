// Package marshal reads and writes the Python marshal (version 0) dictionaries
// that `p4 -G` prints and that `p4 -G <cmd> -i` reads from stdin.
//
// It owns nothing but the byte format (reference/p4-cli.md §1.3): a dict is
// '{', then key/value pairs, then '0'. Keys are always strings; values are
// strings ('s', or 'u' on input) or 32-bit little-endian integers ('i').
// p4 writes only those three codes, so anything else is a decoding error
// rather than something to guess at.
package marshal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Type codes of the marshal format that p4 uses.
const (
	codeDictStart = '{'
	codeDictEnd   = '0' // TYPE_NULL closes a dict
	codeString    = 's'
	codeUnicode   = 'u'
	codeInt       = 'i'
)

// MaxString bounds one string so a corrupt length cannot make the decoder
// allocate gigabytes. Helix Core identifiers are at most 1024 bytes; spec text
// fields are larger but nowhere near this.
const MaxString = 16 << 20

// ErrInvalid reports bytes that are not a p4 marshal stream.
var ErrInvalid = errors.New("marshal: invalid data")

// Field is one key/value pair of a dict. Value is a string or an int32
// (p4 only writes ints for level, severity and generic).
type Field struct {
	Key   string
	Value any
}

// Dict is one decoded dictionary with its keys in the order they were read.
// p4 is order-sensitive on output (stat records follow the server's field
// order), so the order is kept for byte-exact round trips.
type Dict struct {
	Fields []Field
}

// Get returns the value of key as a string: ints are formatted in decimal.
func (d Dict) Get(key string) (string, bool) {
	for _, f := range d.Fields {
		if f.Key == key {
			switch v := f.Value.(type) {
			case string:
				return v, true
			case int32:
				return strconv.FormatInt(int64(v), 10), true
			}
		}
	}
	return "", false
}

// String returns Get(key) or "".
func (d Dict) String(key string) string {
	v, _ := d.Get(key)
	return v
}

// Int returns the value of key as an int, accepting an 'i' or a numeric string.
func (d Dict) Int(key string) (int, bool) {
	for _, f := range d.Fields {
		if f.Key != key {
			continue
		}
		switch v := f.Value.(type) {
		case int32:
			return int(v), true
		case string:
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// Set replaces the value of key, or appends it.
func (d *Dict) Set(key string, value any) {
	for i := range d.Fields {
		if d.Fields[i].Key == key {
			d.Fields[i].Value = value
			return
		}
	}
	d.Fields = append(d.Fields, Field{Key: key, Value: value})
}

// Map returns the dict as a map of strings.
func (d Dict) Map() map[string]string {
	m := make(map[string]string, len(d.Fields))
	for _, f := range d.Fields {
		v, _ := d.Get(f.Key)
		m[f.Key] = v
	}
	return m
}

// FromMap builds a dict with string values in sorted key order, which keeps
// generated input deterministic.
func FromMap(m map[string]string) Dict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := Dict{Fields: make([]Field, 0, len(keys))}
	for _, k := range keys {
		d.Fields = append(d.Fields, Field{Key: k, Value: m[k]})
	}
	return d
}

// Encode writes d in marshal version 0. Values must be string or int32
// (an int is accepted and written as int32 when it fits).
func Encode(w io.Writer, d Dict) error {
	buf := make([]byte, 0, 64)
	buf = append(buf, codeDictStart)
	for _, f := range d.Fields {
		buf = appendString(buf, f.Key)
		switch v := f.Value.(type) {
		case string:
			buf = appendString(buf, v)
		case int32:
			buf = appendInt(buf, v)
		case int:
			if int(int32(v)) != v {
				return fmt.Errorf("marshal: integer %d for key %q overflows int32", v, f.Key)
			}
			buf = appendInt(buf, int32(v))
		default:
			return fmt.Errorf("marshal: unsupported value type %T for key %q", f.Value, f.Key)
		}
	}
	buf = append(buf, codeDictEnd)
	_, err := w.Write(buf)
	return err
}

func appendString(buf []byte, s string) []byte {
	buf = append(buf, codeString)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func appendInt(buf []byte, v int32) []byte {
	buf = append(buf, codeInt)
	return binary.LittleEndian.AppendUint32(buf, uint32(v))
}

// Decoder reads consecutive dicts from a stream.
type Decoder struct {
	r *bufio.Reader
	// keys interns dict keys: a listing of 50,000 records repeats the same
	// few keys 50,000 times.
	keys map[string]string
}

// maxInternedKeys bounds keys, so a stream of distinct keys cannot grow it.
const maxInternedKeys = 512

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Decoder{r: br, keys: map[string]string{}}
}

// Decode reads the next dict. It returns io.EOF at a clean end of stream and
// an error wrapping ErrInvalid (or io.ErrUnexpectedEOF) for anything else.
func (dec *Decoder) Decode() (Dict, error) {
	c, err := dec.r.ReadByte()
	if err != nil {
		return Dict{}, err // io.EOF between dicts is the normal end
	}
	if c != codeDictStart {
		return Dict{}, fmt.Errorf("%w: expected '{' at dict start, got 0x%02x", ErrInvalid, c)
	}
	var d Dict
	for {
		c, err := dec.r.ReadByte()
		if err != nil {
			return Dict{}, unexpected(err)
		}
		if c == codeDictEnd {
			return d, nil
		}
		if c != codeString && c != codeUnicode {
			return Dict{}, fmt.Errorf("%w: dict key has type code 0x%02x", ErrInvalid, c)
		}
		key, err := dec.readKey()
		if err != nil {
			return Dict{}, err
		}
		c, err = dec.r.ReadByte()
		if err != nil {
			return Dict{}, unexpected(err)
		}
		var val any
		switch c {
		case codeString, codeUnicode:
			val, err = dec.readString()
		case codeInt:
			val, err = dec.readInt()
		default:
			err = fmt.Errorf("%w: value of %q has type code 0x%02x", ErrInvalid, key, c)
		}
		if err != nil {
			return Dict{}, err
		}
		d.Fields = append(d.Fields, Field{Key: key, Value: val})
	}
}

func (dec *Decoder) readLength() (int, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(dec.r, lenBuf[:]); err != nil {
		return 0, unexpected(err)
	}
	n := binary.LittleEndian.Uint32(lenBuf[:])
	if n > MaxString {
		return 0, fmt.Errorf("%w: string length %d exceeds %d", ErrInvalid, n, MaxString)
	}
	return int(n), nil
}

func (dec *Decoder) readString() (string, error) {
	n, err := dec.readLength()
	if err != nil {
		return "", err
	}
	return dec.readStringOfLength(n)
}

func (dec *Decoder) readStringOfLength(n int) (string, error) {
	if n <= dec.r.Size() {
		// Copy once, from the reader's buffer into the string.
		p, err := dec.r.Peek(n)
		if err != nil {
			return "", unexpected(err)
		}
		str := string(p)
		_, _ = dec.r.Discard(n)
		return str, nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(dec.r, b); err != nil {
		return "", unexpected(err)
	}
	return string(b), nil
}

// readKey reads a dict key, interned.
func (dec *Decoder) readKey() (string, error) {
	n, err := dec.readLength()
	if err != nil {
		return "", err
	}
	if n > 64 {
		return dec.readStringOfLength(n)
	}
	p, err := dec.r.Peek(n)
	if err != nil {
		return "", unexpected(err)
	}
	k, ok := dec.keys[string(p)]
	if !ok {
		k = string(p)
		if len(dec.keys) < maxInternedKeys {
			dec.keys[k] = k
		}
	}
	_, _ = dec.r.Discard(n)
	return k, nil
}

func (dec *Decoder) readInt() (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(dec.r, b[:]); err != nil {
		return 0, unexpected(err)
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodeAll reads every dict in data.
func DecodeAll(r io.Reader) ([]Dict, error) {
	dec := NewDecoder(r)
	var out []Dict
	for {
		d, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
}
