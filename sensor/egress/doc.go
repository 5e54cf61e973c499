// Package egress decides where traffic goes: whether an address or a host
// name is local to the deployment or external, what the registrable domain
// of a host name is (with the public suffix list), and which name a client
// used for a server address (a bounded, TTL-aware cache of DNS answers).
//
// Inputs are addresses and names taken from packets; time always comes from
// packet timestamps, so offline captures replay the same way they ran. The
// package never resolves names itself and never reads the wall clock.
package egress
