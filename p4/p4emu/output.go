package p4emu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/p4scim/p4scim/p4/marshal"
)

// Message severities and generic codes (support/errornum.h, §1.2).
const (
	sevInfo   = 1
	sevWarn   = 2
	sevFailed = 3
	sevFatal  = 4

	genUsage   = 1
	genUnknown = 2
	genIllegal = 4
	genProtect = 6
	genEmpty   = 17
	genFault   = 33
	genClient  = 34
	genAdmin   = 35
	genConfig  = 36
	genComm    = 38
)

type itemKind int

const (
	kindInfo   itemKind = iota // server info message
	kindStat                   // tagged record
	kindError                  // warning or error message
	kindPrompt                 // a no-echo prompt printed by the client
	kindText                   // OutputText (trust)
)

// item is one unit of output, encoded later per mode. Keeping the model
// separate from the encoding is what lets one command implementation serve
// plain, -s, -ztag, -G and -Mj.
type item struct {
	kind   itemKind
	level  int // info level (tagged "... " prefixes)
	text   string
	sev    int
	gen    int
	fields []marshal.Field // stat fields in server order
}

// Mode is the output mode selected by the global options.
type Mode struct {
	Marshal bool // -G
	JSON    bool // -Mj
	Tag     bool // -ztag (implied by -G)
	Script  bool // -s (and -e)
	Quiet   bool // -q
}

// tagged reports whether the server answers with tagged records.
func (m Mode) tagged() bool { return m.Marshal || m.Tag }

// output accumulates items and knows whether any failed.
type output struct {
	items []item
}

func (o *output) info(format string, a ...any) {
	o.items = append(o.items, item{kind: kindInfo, text: sprintf(format, a...)})
}

func (o *output) infoLevel(level int, text string) {
	o.items = append(o.items, item{kind: kindInfo, level: level, text: text})
}

func (o *output) stat(fields ...marshal.Field) {
	o.items = append(o.items, item{kind: kindStat, fields: fields})
}

func (o *output) text(t string) {
	o.items = append(o.items, item{kind: kindText, text: t})
}

func (o *output) prompt(p string) {
	o.items = append(o.items, item{kind: kindPrompt, text: p})
}

// fail appends a severity-3 error.
func (o *output) fail(gen int, format string, a ...any) {
	o.items = append(o.items, item{kind: kindError, sev: sevFailed, gen: gen, text: sprintf(format, a...)})
}

// warn appends a severity-2 warning (exit code unaffected, §1.4).
func (o *output) warn(gen int, format string, a ...any) {
	o.items = append(o.items, item{kind: kindError, sev: sevWarn, gen: gen, text: sprintf(format, a...)})
}

func (o *output) failed() bool {
	for _, it := range o.items {
		if it.kind == kindError && it.sev >= sevFailed {
			return true
		}
	}
	return false
}

func sprintf(format string, a ...any) string {
	if len(a) == 0 {
		return format
	}
	return fmt.Sprintf(format, a...)
}

// mfield is a stat field.
type mfield = marshal.Field

func field(k, v string) marshal.Field { return marshal.Field{Key: k, Value: v} }

// exitCode is §1.4: 1 when any message has severity >= 3.
func (o *output) exitCode() int {
	if o.failed() {
		return 1
	}
	return 0
}

// encode renders the items as the real client would print them (§1.2).
func (o *output) encode(m Mode) (stdout, stderr []byte) {
	var out, errb bytes.Buffer
	for _, it := range o.items {
		switch {
		case m.Marshal:
			encodeMarshal(&out, it)
		case m.JSON:
			encodeJSON(&out, it)
		case m.Script:
			encodeScript(&out, it, m)
		default:
			encodePlain(&out, &errb, it, m)
		}
	}
	return out.Bytes(), errb.Bytes()
}

func encodeMarshal(w *bytes.Buffer, it item) {
	var d marshal.Dict
	switch it.kind {
	case kindPrompt:
		// Prompts are printed raw, not marshalled; the no-echo prompt
		// ends with the newline NoEcho's destructor prints.
		w.WriteString(it.text + "\n")
		return
	case kindInfo:
		d.Fields = []marshal.Field{{Key: "code", Value: "info"}, {Key: "level", Value: int32(it.level)}, {Key: "data", Value: it.text}}
	case kindText:
		d.Fields = []marshal.Field{{Key: "code", Value: "text"}, {Key: "data", Value: it.text}}
	case kindStat:
		d.Fields = append([]marshal.Field{{Key: "code", Value: "stat"}}, it.fields...)
	case kindError:
		d.Fields = []marshal.Field{{Key: "code", Value: "error"}, {Key: "data", Value: it.text + "\n"},
			{Key: "severity", Value: int32(it.sev)}, {Key: "generic", Value: int32(it.gen)}}
	}
	_ = marshal.Encode(w, d) // a bytes.Buffer cannot fail
}

func encodeJSON(w *bytes.Buffer, it item) {
	m := map[string]any{}
	switch it.kind {
	case kindPrompt:
		// ClientUserJSON::Prompt prints nothing, but NoEcho still
		// emits its newline (§1.2).
		w.WriteString("\n")
		return
	case kindInfo:
		m["data"], m["level"] = it.text, it.level
	case kindText:
		m["data"] = it.text
	case kindStat:
		for _, f := range it.fields {
			m[f.Key] = f.Value
		}
	case kindError:
		m["data"], m["generic"], m["severity"] = it.text+"\n", it.gen, it.sev
	}
	// encoding/json sorts map keys, like nlohmann::json; no HTML escaping
	// because p4 prints '<' and '&' literally.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m)
}

func levelPrefix(level int) string { return strings.Repeat("... ", level) }

func encodePlain(out, errb *bytes.Buffer, it item, m Mode) {
	switch it.kind {
	case kindPrompt:
		out.WriteString(it.text + "\n")
	case kindInfo:
		if !m.Quiet {
			out.WriteString(levelPrefix(it.level) + it.text + "\n")
		}
	case kindText:
		out.WriteString(it.text)
	case kindStat:
		if m.Quiet {
			return // OutputStat prints through OutputInfo, which -q silences
		}
		for _, f := range it.fields {
			fmt.Fprintf(out, "... %s %v\n", f.Key, f.Value)
		}
		out.WriteString("\n")
	case kindError:
		errb.WriteString(it.text + "\n")
	}
}

func encodeScript(out *bytes.Buffer, it item, m Mode) {
	switch it.kind {
	case kindPrompt:
		out.WriteString(it.text + "\n")
	case kindInfo:
		if m.Quiet {
			return
		}
		tag := "info"
		if it.level > 0 {
			tag = fmt.Sprintf("info%d", it.level)
		}
		out.WriteString(tag + ": " + it.text + "\n")
	case kindText:
		out.WriteString("text: " + it.text)
	case kindStat:
		if m.Quiet {
			return
		}
		for _, f := range it.fields {
			fmt.Fprintf(out, "info1: %s %v\n", f.Key, f.Value)
		}
	case kindError:
		tag := "error"
		if it.sev == sevWarn {
			tag = "warning"
		}
		out.WriteString(tag + ": " + it.text + "\n")
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
