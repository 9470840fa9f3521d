package scimhandlers

import (
	"cmp"
	"log/slog"
	"net/http"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/scimhandlers/scimfilter"
	"github.com/p4scim/p4scim/scimhandlers/scimpatch"
	"github.com/scim2/filter-parser/v2"
)

// usersHandler serves /Users.
type usersHandler struct {
	svc        bridge.Provisioner
	log        *slog.Logger
	schema     schema.Schema
	extensions []schema.Schema
}

func (h *usersHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u, err := h.svc.CreateUser(r.Context(), attrs)
	userName, _ := attrs["userName"].(string)
	audit(r, h.log, "create", "User", cmp.Or(u.ID, userName), err)
	if err != nil {
		return scim.Resource{}, scimError(r.Context(), h.log, err)
	}
	setLocation(r, "Users", u.ID)
	return userResource(u, r), nil
}

func (h *usersHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	u, err := h.svc.GetUser(r.Context(), id)
	if err != nil {
		return scim.Resource{}, scimError(r.Context(), h.log, err)
	}
	res := []scim.Resource{userResource(u, r)}
	if err := h.addGroups(r, res); err != nil {
		return scim.Resource{}, err
	}
	return res[0], nil
}

func (h *usersHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	ctx := r.Context()
	expr, err := parseFilter(r, h.schema, h.extensions...)
	if err != nil {
		return scim.Page{}, err
	}
	var candidates bridge.Listing[bridge.User]
	if id, ok := scimfilter.Equality(expr, "id"); ok {
		u, err := h.svc.GetUser(ctx, id)
		switch {
		case err == nil:
			candidates = bridge.ListOf(u)
		case bridge.ErrorCode(err) != bridge.ENotFound:
			return scim.Page{}, scimError(ctx, h.log, err)
		}
	} else if userName, ok := scimfilter.Equality(expr, "userName"); ok {
		u, err := h.svc.FindUserByUserName(ctx, userName)
		if err != nil {
			return scim.Page{}, scimError(ctx, h.log, err)
		}
		if u != nil {
			candidates = bridge.ListOf(*u)
		}
	} else if ext, ok := scimfilter.Equality(expr, "externalId"); ok {
		u, err := h.svc.FindUserByExternalID(ctx, ext)
		if err != nil {
			return scim.Page{}, scimError(ctx, h.log, err)
		}
		if u != nil {
			candidates = bridge.ListOf(*u)
		}
	} else if email, ok := scimfilter.Equality(expr, "emails.value"); ok {
		found, err := h.svc.FindUsersByEmail(ctx, email)
		if err != nil {
			return scim.Page{}, scimError(ctx, h.log, err)
		}
		candidates = bridge.ListOf(found...)
	} else {
		candidates, err = h.svc.ListUsers(ctx)
		if err != nil {
			return scim.Page{}, scimError(ctx, h.log, err)
		}
	}
	p, err := page(r, params, candidates, matching(expr, func(u bridge.User) bool {
		return scimfilter.Match(expr, filterView(u.ID, u.Doc, u.Created, u.Modified), h.schema, h.extensions...)
	}), userResource)
	if err != nil {
		return scim.Page{}, scimError(ctx, h.log, err)
	}
	if err := h.addGroups(r, p.Resources); err != nil {
		return scim.Page{}, err
	}
	return p, nil
}

func (h *usersHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u, err := h.svc.ReplaceUser(r.Context(), id, attrs, ifMatch(r)...)
	audit(r, h.log, "replace", "User", id, err)
	if err != nil {
		return scim.Resource{}, scimError(r.Context(), h.log, err)
	}
	return userResource(u, r), nil
}

func (h *usersHandler) Delete(r *http.Request, id string) error {
	err := h.svc.DeleteUser(r.Context(), id, ifMatch(r)...)
	audit(r, h.log, "delete", "User", id, err)
	if err != nil {
		return scimError(r.Context(), h.log, err)
	}
	return nil
}

func (h *usersHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	u, err := h.svc.PatchUser(r.Context(), id, func(doc map[string]any) error {
		doc["id"] = id // lets the engine recognise (and ignore) Okta's id in a value
		_, err := scimpatch.Apply(doc, ops, h.schema, h.extensions...)
		delete(doc, "id")
		return err
	}, ifMatch(r)...)
	audit(r, h.log, "patch", "User", id, err)
	if err != nil {
		return scim.Resource{}, scimError(r.Context(), h.log, err)
	}
	return userResource(u, r), nil
}

func userResource(u bridge.User, r *http.Request) scim.Resource {
	return toResource(u.ID, u.Doc, u.Created, u.Modified, u.Version(), r)
}

// matching is page's filter test: nil when the request has no filter, so
// that page builds only the resources it returns.
func matching[T any](expr filter.Expression, test func(T) bool) func(T) bool {
	if expr == nil {
		return nil
	}
	return test
}

// page keeps the candidates that match and returns the requested page of
// them; totalResults counts every match. Without a filter every candidate
// matches, so only the page's resources are fetched and built.
func page[T any](r *http.Request, params scim.ListRequestParams, candidates bridge.Listing[T], match func(T) bool,
	resource func(T, *http.Request) scim.Resource) (scim.Page, error) {
	start := max(params.StartIndex-1, 0)
	end := start + max(params.Count, 0)
	resources := []scim.Resource{}
	if match == nil {
		items, err := candidates.Range(r.Context(), start, end)
		for _, c := range items {
			resources = append(resources, resource(c, r))
		}
		return scim.Page{TotalResults: candidates.Len(), Resources: resources}, err
	}
	matched := 0
	err := candidates.Each(r.Context(), func(c T) {
		if !match(c) {
			return
		}
		if matched >= start && matched < end {
			resources = append(resources, resource(c, r))
		}
		matched++
	})
	return scim.Page{TotalResults: matched, Resources: resources}, err
}
