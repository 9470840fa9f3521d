package scimhandlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Middleware for what strict SCIM clients check and the pinned library does
// not do (elimity-scim.md): tolerant routing, clean discovery documents,
// conditional GETs, POST .search, path-less PATCH of extension objects,
// and attribute lists with value filters.

// canonicalSegments are the endpoint names, keyed by their lower case.
var canonicalSegments = map[string]string{
	"users": "Users", "groups": "Groups", "schemas": "Schemas", "resourcetypes": "ResourceTypes",
	"serviceproviderconfig": "ServiceProviderConfig", "bulk": "Bulk", "me": "Me", ".search": ".search",
}

// withCanonicalPath routes /scim/v2/users/ as /scim/v2/Users: a trailing
// slash is dropped and the endpoint segment takes its canonical case (RFC
// 7644 §3.2 names them, and clients differ in both). Ids keep their case.
func withCanonicalPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		escaped := r.URL.EscapedPath()
		rest, ok := strings.CutPrefix(escaped, BasePath+"/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		segs := strings.Split(strings.TrimRight(rest, "/"), "/")
		if c, ok := canonicalSegments[strings.ToLower(segs[0])]; ok {
			segs[0] = c
		}
		if len(segs) == 2 && strings.EqualFold(segs[1], ".search") {
			segs[1] = ".search"
		}
		fixed := BasePath + "/" + strings.Join(segs, "/")
		if rest == "" {
			fixed = BasePath
		}
		if fixed == escaped {
			next.ServeHTTP(w, r)
			return
		}
		path, err := url.PathUnescape(fixed)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = path, fixed
		next.ServeHTTP(w, r2)
	})
}

// endpointOf is the first segment after BasePath, and the rest.
func endpointOf(path string) (endpoint, rest string) {
	p := strings.TrimPrefix(strings.TrimPrefix(path, BasePath), "/")
	endpoint, rest, _ = strings.Cut(p, "/")
	return endpoint, rest
}

// withDiscovery makes the discovery documents valid against RFC 7643
// §5-§7: the library writes optional values it has none of as "" (a
// documentationUri of "" is not a URI) and schemaExtensions as [], and
// says etag is unsupported. Unassigned values are omitted (§2.5), and
// etag is supported (ETags below).
func withDiscovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		endpoint, _ := endpointOf(r.URL.Path)
		if r.Method != http.MethodGet || (endpoint != "ServiceProviderConfig" && endpoint != "ResourceTypes" && endpoint != "Schemas") {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		body := buf.body.Bytes()
		if buf.status() == http.StatusOK {
			var doc map[string]any
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if dec.Decode(&doc) == nil {
				pruneUnassigned(doc)
				if endpoint == "ServiceProviderConfig" {
					doc["etag"] = map[string]any{"supported": true}
				}
				if b, err := json.Marshal(doc); err == nil {
					body = b
				}
			}
		}
		copyHeader(w.Header(), buf.header)
		w.Header().Del("Content-Length")
		w.WriteHeader(buf.status())
		_, _ = w.Write(body)
	})
}

// pruneUnassigned removes empty strings and empty lists from a discovery
// document, at every depth. A list response's Resources stays, even empty.
func pruneUnassigned(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case string:
			if t == "" {
				delete(m, k)
			}
		case []any:
			if len(t) == 0 && k != "Resources" {
				delete(m, k)
			}
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneUnassigned(em)
				}
			}
		case map[string]any:
			pruneUnassigned(t)
		}
	}
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// withConditionalGet answers a GET whose If-None-Match names the
// resource's current ETag with 304 Not Modified (RFC 7644 §3.14). The
// resource is read as for any GET, so it costs the same p4 commands; what
// is saved is the body.
func withConditionalGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inm := strings.TrimSpace(r.Header.Get("If-None-Match"))
		if r.Method != http.MethodGet || inm == "" {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		copyHeader(w.Header(), buf.header)
		if etag := buf.header.Get("Etag"); buf.status() == http.StatusOK && etag != "" && etagListed(inm, etag) {
			w.Header().Del("Content-Length")
			w.Header().Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(buf.status())
		_, _ = w.Write(buf.body.Bytes())
	})
}

// etagListed compares weakly, as If-None-Match does (RFC 9110 §13.1.2).
func etagListed(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range splitETags(list) {
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// withAttributeParams refuses an attributes or excludedAttributes list
// that cannot be read (an unbalanced value filter) with 400 invalidValue,
// rather than returning resources without the attribute asked for.
func withAttributeParams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, p := range []string{"attributes", "excludedAttributes"} {
			if msg := attrListError(q.Get(p)); msg != "" {
				WriteError(w, http.StatusBadRequest, "invalidValue", msg+" ("+p+")")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SearchRequestSchema is the URN of a POST .search body (RFC 7644 §3.4.3).
const SearchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// searchRequest is a POST .search body. attributes may come as a list or
// as one comma-separated string.
type searchRequest struct {
	Schemas            []string        `json:"schemas"`
	Attributes         json.RawMessage `json:"attributes"`
	ExcludedAttributes json.RawMessage `json:"excludedAttributes"`
	Filter             string          `json:"filter"`
	SortBy             string          `json:"sortBy"`
	SortOrder          string          `json:"sortOrder"`
	StartIndex         *int            `json:"startIndex"`
	Count              *int            `json:"count"`
}

// withSearch serves POST /.search, /Users/.search and /Groups/.search (RFC
// 7644 §3.4.3) as the equal GET queries, at the same p4 cost: one GET per
// resource type searched. sortBy and sortOrder are accepted and ignored,
// as on GET: /ServiceProviderConfig says sort is not supported.
//
// At the root the results are Users, then Groups, paged across both. A
// filter that names an attribute one of the types lacks matches none of
// that type; it is refused only if both types refuse it.
func withSearch(next http.Handler, maxResults int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		var endpoints []string
		switch strings.TrimPrefix(r.URL.Path, BasePath) {
		case "/.search":
			endpoints = []string{"Users", "Groups"}
		case "/Users/.search":
			endpoints = []string{"Users"}
		case "/Groups/.search":
			endpoints = []string{"Groups"}
		default:
			next.ServeHTTP(w, r)
			return
		}
		var req searchRequest
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&req); err != nil {
			WriteError(w, http.StatusBadRequest, "invalidSyntax", "The search request is not a JSON object of a SearchRequest.")
			return
		}
		if req.Schemas != nil && !containsFold(req.Schemas, SearchRequestSchema) {
			WriteError(w, http.StatusBadRequest, "invalidValue", "The search request's schemas must include "+SearchRequestSchema+".")
			return
		}
		q := url.Values{}
		if req.Filter != "" {
			q.Set("filter", req.Filter)
		}
		for name, raw := range map[string]json.RawMessage{"attributes": req.Attributes, "excludedAttributes": req.ExcludedAttributes} {
			list, ok := attrList(raw)
			if !ok {
				WriteError(w, http.StatusBadRequest, "invalidValue", "The search request's "+name+" must be a list of attribute names.")
				return
			}
			if list != "" {
				q.Set(name, list)
			}
		}
		start := 1
		if req.StartIndex != nil && *req.StartIndex > 1 {
			start = *req.StartIndex
		}
		count := maxResults
		if req.Count != nil {
			count = min(max(*req.Count, 0), maxResults)
		}
		get := func(endpoint string, start, count int) *bufferedWriter {
			sq := url.Values{}
			for k, v := range q {
				sq[k] = v
			}
			sq.Set("startIndex", strconv.Itoa(start))
			sq.Set("count", strconv.Itoa(count))
			sub := r.Clone(r.Context())
			sub.Method = http.MethodGet
			sub.URL.Path, sub.URL.RawPath = BasePath+"/"+endpoint, ""
			sub.URL.RawQuery = sq.Encode()
			sub.Body, sub.ContentLength = http.NoBody, 0
			sub.Header.Del("Content-Type")
			buf := &bufferedWriter{header: http.Header{}}
			next.ServeHTTP(buf, sub)
			return buf
		}
		if len(endpoints) == 1 {
			forward(w, get(endpoints[0], start, count))
			return
		}
		users := get("Users", start, count)
		ul, uerr := listOf(users)
		if uerr != "" && uerr != "invalidFilter" {
			forward(w, users)
			return
		}
		// Overall index start falls at group index start-|users| once the
		// users are used up; the groups' page is what the users' left.
		groupStart := max(start-ul.TotalResults, 1)
		groups := get("Groups", groupStart, max(count-len(ul.Resources), 0))
		gl, gerr := listOf(groups)
		switch {
		case gerr != "" && gerr != "invalidFilter":
			forward(w, groups)
			return
		case uerr != "" && gerr != "":
			forward(w, users)
			return
		}
		resources := append(append([]json.RawMessage{}, ul.Resources...), gl.Resources...)
		body, _ := json.Marshal(map[string]any{
			"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"totalResults": ul.TotalResults + gl.TotalResults,
			"itemsPerPage": len(resources),
			"startIndex":   start,
			"Resources":    resources,
		})
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// attrList turns a SearchRequest attributes value into the query form.
func attrList(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ","), true
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, true
	}
	return "", false
}

type listResponse struct {
	TotalResults int               `json:"totalResults"`
	Resources    []json.RawMessage `json:"Resources"`
}

// listOf decodes a sub-search's answer; failure is its scimType, or
// "error" for any other failure.
func listOf(b *bufferedWriter) (listResponse, string) {
	var l listResponse
	if b.status() == http.StatusOK && json.Unmarshal(b.body.Bytes(), &l) == nil {
		return l, ""
	}
	var e struct {
		ScimType string `json:"scimType"`
	}
	if b.status() == http.StatusBadRequest && json.Unmarshal(b.body.Bytes(), &e) == nil && e.ScimType == "invalidFilter" {
		return l, "invalidFilter"
	}
	return l, "error"
}

func forward(w http.ResponseWriter, b *bufferedWriter) {
	copyHeader(w.Header(), b.header)
	w.Header().Del("Content-Length")
	w.WriteHeader(b.status())
	_, _ = w.Write(b.body.Bytes())
}
