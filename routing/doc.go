// Package routing sends each SCIM operation to the Helix Core servers of the
// caller's domain: HAS's provisioning model, where the IdP's token decides
// the domain and the domain decides the servers.
//
// A Router picks the domain of a request; a Domain holds its servers,
// leader first. Reads are answered by the leader. A write goes to the
// leader first, and only when the leader has it to the other servers, each
// with the same request: a PATCH is replayed, not copied from the leader's
// result, so that two replicas patching one group at once converge on every
// server as they do on one (each server's bridge takes its own lock).
//
// Partial failure converges rather than rolls back. A write the leader
// refused touched nothing. A write the leader took and another server did
// not is answered with that server's error (503 with Retry-After when it
// was unavailable), naming where it is done and where it is not; the IdP's
// retry repeats it everywhere, and each server's bridge finishes what is
// missing and does nothing where it is done: a create that a server
// already has counts as done there (bridge.ErrExists), a PUT or PATCH of a
// resource a server lacks creates it there from the leader's, and a
// DELETE of a resource a server lacks is done there.
//
// A domain with one server is that server's bridge itself: no routing, no
// extra p4 command.
package routing
