package scimhandlers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// withListCount makes itemsPerPage the number of resources on the page
// (RFC 7644 §3.4.2), where the library echoes the requested count.
func withListCount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !isCollection(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		body := buf.body.Bytes()
		if buf.status() == http.StatusOK {
			var list map[string]json.RawMessage
			if json.Unmarshal(body, &list) == nil && list["Resources"] != nil {
				var resources []json.RawMessage
				_ = json.Unmarshal(list["Resources"], &resources)
				list["itemsPerPage"] = json.RawMessage(strconv.Itoa(len(resources)))
				if list["Resources"] == nil || string(list["Resources"]) == "null" {
					list["Resources"] = json.RawMessage("[]")
				}
				if b, err := json.Marshal(list); err == nil {
					body = b
				}
			}
		}
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(buf.status())
		_, _ = w.Write(body)
	})
}

func isCollection(path string) bool {
	rest := strings.TrimPrefix(path, BasePath)
	return rest == "/Users" || rest == "/Groups"
}

type bufferedWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}

// withManagerObject accepts Entra's enterprise manager as a plain string
// (apache/directory-scimple#1242: "MS simply sends a manager field with
// the userName as a string value"). The pinned library refuses anything but
// {"value": ...}, so the string is wrapped before it sees the body.
func withManagerObject(next http.Handler) http.Handler {
	return rewritingBody(next, func(r *http.Request) bool {
		return strings.HasPrefix(strings.TrimPrefix(r.URL.Path, BasePath), "/Users") &&
			(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch)
	}, func(r *http.Request, raw []byte) ([]byte, bool) {
		if !bytes.Contains(raw, []byte("manager")) {
			return nil, false
		}
		return wrapManager(raw, r.Method == http.MethodPatch)
	})
}

// rewritingBody runs rewrite on the body of the requests applies selects,
// and passes the rewritten body on when rewrite says it changed it (else
// the body as read: the library reports what is malformed).
func rewritingBody(next http.Handler, applies func(*http.Request) bool, rewrite func(*http.Request, []byte) ([]byte, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || !applies(r) {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "invalidSyntax", "The request body could not be read.")
			return
		}
		if fixed, ok := rewrite(r, raw); ok {
			raw = fixed
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
		next.ServeHTTP(w, r)
	})
}

// wrapManager rewrites string manager values; ok is false when nothing
// needed rewriting or the body is not JSON (the library reports that).
func wrapManager(raw []byte, patch bool) ([]byte, bool) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	changed := false
	wrap := func(v any) any {
		if s, ok := v.(string); ok {
			changed = true
			return map[string]any{"value": s}
		}
		return v
	}
	fixExtension := func(m map[string]any) {
		for k, ext := range m {
			if !strings.EqualFold(k, enterpriseURN) {
				continue
			}
			if e, ok := ext.(map[string]any); ok {
				for ek, ev := range e {
					if strings.EqualFold(ek, "manager") {
						e[ek] = wrap(ev)
					}
				}
			}
		}
	}
	if !patch {
		fixExtension(doc)
	} else {
		for k, ops := range doc {
			if !strings.EqualFold(k, "Operations") {
				continue
			}
			list, _ := ops.([]any)
			for _, o := range list {
				op, _ := o.(map[string]any)
				path, _ := op["path"].(string)
				lower := strings.ToLower(path)
				if lower == "manager" || lower == strings.ToLower(enterpriseURN)+":manager" {
					op["value"] = wrap(op["value"])
					if lower == "manager" {
						// The library only resolves manager under its URN.
						op["path"] = enterpriseURN + ":manager"
						changed = true
					}
				}
				if v, ok := op["value"].(map[string]any); ok && path == "" {
					for vk, vv := range v {
						if strings.EqualFold(vk, enterpriseURN+":manager") {
							v[vk] = wrap(vv)
						}
					}
					fixExtension(v)
				}
			}
		}
	}
	if !changed {
		return nil, false
	}
	b, err := json.Marshal(doc)
	return b, err == nil
}

// maxJSONDepth bounds nesting in request bodies. SCIM documents nest three
// levels deep at most (extension → manager → value); a deeper body is junk
// the library would silently drop, or an attempt to exhaust the parser.
const maxJSONDepth = 32

// withBodyChecks refuses request bodies nested deeper than maxJSONDepth,
// bodies that name one attribute twice (the library would keep one of them
// silently), and resource bodies whose schemas lack the resource's own.
func withBodyChecks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "invalidSyntax", "The request body could not be read.")
			return
		}
		if jsonDepth(raw) > maxJSONDepth {
			WriteError(w, http.StatusBadRequest, "invalidSyntax",
				"The request body is nested more than "+strconv.Itoa(maxJSONDepth)+" levels deep.")
			return
		}
		if key := duplicateKey(raw); key != "" {
			WriteError(w, http.StatusBadRequest, "invalidSyntax",
				"The request body names the attribute "+strconv.Quote(key)+" twice (attribute names are case-insensitive).")
			return
		}
		if r.Method != http.MethodPatch {
			if want, ok := coreSchemaMissing(r.URL.Path, raw); ok {
				WriteError(w, http.StatusBadRequest, "invalidValue", "The request's schemas must include "+want+".")
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		next.ServeHTTP(w, r)
	})
}

// jsonDepth is the deepest nesting of objects and arrays in b, ignoring
// brackets inside strings. It does not validate: the library does.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// duplicateKey returns an object key that occurs twice in one object of b,
// compared case-insensitively as SCIM compares attribute names, or "".
// Bodies that are not JSON return "": the library reports those.
func duplicateKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		seen   map[string]bool
		key    bool // the next token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if k, ok := tok.(string); ok {
				lk := strings.ToLower(k)
				if top.seen[lk] {
					return k
				}
				top.seen[lk] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, seen: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return ""
			}
		}
		// A value ended: the enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// coreSchemaMissing reports whether a POST or PUT body to /Users or
// /Groups carries a schemas list without the resource's core schema, and
// which schema that is. Extra URNs are fine (Entra adds its own group
// schema and may misspell the enterprise one, idp-behaviour.md §2.4,
// §2.10); a body without schemas is left to the library, which fills them.
func coreSchemaMissing(path string, b []byte) (string, bool) {
	rest := strings.TrimPrefix(path, BasePath)
	var want string
	switch {
	case strings.HasSuffix(rest, "/.search"):
		return "", false // a SearchRequest, not a resource
	case rest == "/Users" || strings.HasPrefix(rest, "/Users/"):
		want = "urn:ietf:params:scim:schemas:core:2.0:User"
	case rest == "/Groups" || strings.HasPrefix(rest, "/Groups/"):
		want = "urn:ietf:params:scim:schemas:core:2.0:Group"
	default:
		return "", false
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(b, &doc) != nil {
		return "", false
	}
	for k, v := range doc {
		if !strings.EqualFold(k, "schemas") {
			continue
		}
		var list []string
		if json.Unmarshal(v, &list) != nil {
			return want, true
		}
		for _, s := range list {
			if strings.EqualFold(s, want) {
				return "", false
			}
		}
		return want, true
	}
	return "", false
}

// Core schema URNs: a path-less PATCH value keyed by one of them holds
// core attributes.
var coreURNs = []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group"}

// withExtensionObjects accepts path-less PATCH values that hold a schema's
// attributes under its URN, {"op":"add","value":{"urn:…:enterprise:2.0:User":
// {"employeeNumber":"42"}}} (RFC 7644 §3.5.2.1, §3.5.2.3), which the pinned
// library refuses (elimity-scim.md #204). The object is spread into
// URN-qualified keys ("urn:…:User:employeeNumber", "urn:…:User:manager.value"),
// or plain ones for a core URN, which the library and the PATCH engine resolve: each
// sub-attribute is added or replaced, and the extension's other attributes
// are kept, as the RFC describes for a complex attribute.
func withExtensionObjects(next http.Handler) http.Handler {
	return rewritingBody(next, func(r *http.Request) bool { return r.Method == http.MethodPatch },
		func(_ *http.Request, raw []byte) ([]byte, bool) {
			if !bytes.Contains(raw, []byte("urn:")) {
				return nil, false
			}
			return spreadURNObjects(raw)
		})
}

// spreadURNObjects rewrites the path-less operations of a PatchOp body;
// ok is false when nothing needed rewriting or the body is not JSON.
func spreadURNObjects(raw []byte) ([]byte, bool) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	changed := false
	for k, ops := range doc {
		if !strings.EqualFold(k, "Operations") {
			continue
		}
		list, _ := ops.([]any)
		for _, o := range list {
			op, _ := o.(map[string]any)
			if path, _ := op["path"].(string); path != "" {
				continue
			}
			value, _ := op["value"].(map[string]any)
			for vk, vv := range value {
				inner, isObject := vv.(map[string]any)
				if !isObject || !strings.HasPrefix(strings.ToLower(vk), "urn:") {
					continue
				}
				prefix := vk + ":"
				if containsFold(coreURNs, vk) {
					prefix = ""
				}
				delete(value, vk)
				for ik, iv := range inner {
					sub, isComplex := iv.(map[string]any)
					if prefix == "" || !isComplex {
						value[prefix+ik] = iv
						continue
					}
					// The library takes an extension's complex attribute
					// path-less only by its sub-attributes (manager.value).
					for sk, sv := range sub {
						value[prefix+ik+"."+sk] = sv
					}
				}
				changed = true
			}
		}
	}
	if !changed {
		return nil, false
	}
	b, err := json.Marshal(doc)
	return b, err == nil
}
