// Package scimhandlers is p4scim's SCIM 2.0 HTTP face: the
// github.com/elimity-com/scim resource handlers for /Users and /Groups and
// the middleware that closes the gaps the pinned library leaves
// (reference/elimity-scim.md §4): errors the library cannot express (503
// with Retry-After), a Location header on 201, filters the library would
// reject (id, externalId, emails[type eq "work"].value), attribute
// projection, and media types. It speaks HTTP and SCIM and nothing else:
// every rule about Helix Core lives in package bridge.
package scimhandlers
