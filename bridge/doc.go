// Package bridge is the domain of p4scim: the rules that turn SCIM users and
// groups into Helix Core users and groups and back. It knows neither HTTP nor
// exec; it reads and writes Helix Core through the Helix interface, which the
// p4 package implements.
//
// Decisions recorded here because every layer depends on them:
//
// Ids. A user's SCIM id is the Helix Core user name it was created with and
// a group's is its Helix Core group name. Both are chosen once, at creation,
// by the mapping rules of names.go, and never change for the life of the
// resource: a userName or displayName change from the IdP is stored and
// returned, but the Helix Core name stays, because workspaces, changelists
// and protections refer to it. So the id never encodes anything the IdP can
// rename, and a GET by id costs no index lookup.
//
// The exception is AllowUserRename (rename.go): a userName change then
// renames the Helix Core user, and the id still stays. The renamed user's
// record holds its id, and the alias key renamed.<id> its current name, so
// a GET by the old id follows the alias (4 commands instead of 2, for
// renamed users only: the alias is read only when no user has the id as its
// name), and every view that starts from a name (listings, filters, groups'
// members) shows the record's id. The old name stays reserved for the id:
// creates and renames onto it are refused (409) until the user is deleted.
// Groups have no such exception: Helix Core has no command to rename a
// group, and the protections lines that name it are not the bridge's.
//
// Keys. What Helix Core has no field for lives in Helix Core keys under a
// configurable prefix (default "p4scim."):
//
//	<prefix>user.<name>        JSON userRecord: the SCIM attributes the IdP wrote
//	<prefix>username.<hex>     Helix user name, hex = lower-case userName, hex-encoded
//	<prefix>extid.<hex>        Helix user name for an externalId (case kept), hex-encoded
//	<prefix>email.<hex>        Helix user name for the lower-case address written to Email
//	<prefix>group.<name>       JSON groupRecord
//	<prefix>groupname.<hex>    Helix group name for a lower-case displayName
//	<prefix>lock.<name>        cross-replica lock of a group: "1" free, else the holder (lock.go)
//	<prefix>hidden.<name>      Helix user name of a user a deactivating DELETE hid (its
//	                           record says so too; listings read these, not every record)
//	<prefix>released.<name>    Helix user name of a user a deactivation deleted, under
//	                           DEACTIVATE_POLICY=delete (release.go): listed from its record
//	<prefix>lease.reclaim      the scheduled reclaim's lease: "<replica>/<expiry unix ms>"
//	<prefix>renamed.<name>     Helix user name of the renamed user whose SCIM id is <name>
//	                           (rename.go; written only with AllowUserRename)
//
// <name> is the Helix Core name when it holds only letters, digits, '.', '_'
// and '-', else '=' followed by the hex-encoded name (keyPart in records.go).
// TestKeyLayoutDocumented checks this table against the keys the bridge
// writes.
//
// Helix Core wins where it has a field: a user's Email and FullName, a
// group's Users and Subgroups. The record remembers the values the bridge
// last wrote, so a GET shows the IdP's own text until an admin changes the
// spec in Helix Core, and then shows the admin's value.
//
// Privilege. No SCIM write changes a user or group that controls Helix
// Core: P4USER, service and operator users, PROTECTED_USERS and users the
// protections give admin or super; groups that give admin or super (their
// subgroups included) and PROTECTED_GROUPS. privilege.go decides, with one
// `protects -m` per write and none per read.
//
// Released users. Under DeactivateDelete a deactivated user's Helix Core
// user is deleted once its grace period has passed, freeing its licence;
// its record stays, and holds what a reactivation re-creates (release.go).
// Reads fall back to the record when Helix Core has no such user, so the
// IdP keeps seeing the user, inactive.
//
// Ordering. Creates write the record and index keys before the spec, so a
// retry after any failure finds its own claim and finishes the job instead
// of answering a different error (DESIGN §10).
package bridge
