// Package converge holds the proof that every lifecycle write converges
// (DESIGN §13, bridge's package comment): its tests fault each p4 command
// of each operation in turn, in each of the three ways the emulator offers
// (p4emu.FaultKind), retry as an IdP would, and compare Helix Core's final
// state with the fault-free run's. The crash case runs real `p4scim serve`
// processes. The package has no code of its own.
package converge
