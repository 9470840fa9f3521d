package scimhandlers

import (
	"net/http"

	"github.com/elimity-com/scim/schema"
	"github.com/p4scim/p4scim/scimhandlers/scimfilter"
	"github.com/scim2/filter-parser/v2"
)

// parseFilter parses the request's raw filter; nil when there is none. A
// malformed filter is a value ScimError (400 invalidFilter).
func parseFilter(r *http.Request, s schema.Schema, exts ...schema.Schema) (filter.Expression, error) {
	raw := rawFilter(r.Context())
	if raw == "" {
		return nil, nil
	}
	return scimfilter.Parse(raw, s, exts...)
}
