// Package announce makes services on this host findable on the local network.
//
// A [Sender] sends each service's beacon out of every selected interface,
// both to the subnet's directed broadcast address (RFC 919, RFC 922) and to
// the lanfind multicast group (RFC 1112; an administratively scoped group,
// RFC 2365), first right away, again a second later, and then every
// Config.Interval. It answers queries from [discover] listeners by unicast
// to the querier, echoing the query's request ID, and says goodbye (a beacon
// with TTL 0) when its context ends.
//
// # Instance IDs
//
// Each service has a 64-bit instance ID derived from the machine ID, the
// host name, the hardware address of the first selected interface, the
// service name and type. It stays the same across restarts, so a restarted
// announcer replaces its earlier entry in every listener at once; the
// hardware address keeps cloned machines, which often share a machine ID
// and host name, apart.
//
// # Keyed mode
//
// With Config.Keys (see package [seal]), every beacon, reply and goodbye is
// sealed: encrypted and authenticated with the shared key, and timestamped.
// The Sender then answers only queries that open with one of its keys, were
// sent within Config.ReplayWindow of its clock, and are not copies of a
// query it already answered; it drops and counts everything else (Stats
// fields Sealed, Unsealed, Rejected, Stale). Records are packed into
// datagrams that stay within beacon.MaxSize once sealed.
//
// # What it does not do
//
// It does not resolve names, keep state about listeners, or check that the
// announced port is open.
//
// [discover]: https://pkg.go.dev/github.com/lanfind/lanfind/discover
// [seal]: https://pkg.go.dev/github.com/lanfind/lanfind/seal
package announce
