// Package announce makes services on this host findable on the local network.
//
// A [Sender] sends each service's beacon out of every selected interface,
// both to the subnet's directed broadcast address (RFC 919, RFC 922) and to
// the lanfind multicast group (RFC 1112; an administratively scoped group,
// RFC 2365), first right away, again a second later, and then every
// Config.Interval. It answers queries from [discover] listeners by unicast
// to the querier, echoing the query's request ID, and says goodbye (a beacon
// with TTL 0, sent twice 75 ms apart in case one copy is lost) when its
// context ends.
//
// # Interface changes
//
// With a lister that reports changes (the default system lister does, see
// [iface.Subscriber]) a Sender follows interfaces and addresses as they
// come and go, without a restart. Changes are settled first (150 ms after
// the last of a burst, at most 1 s after the first), then the interfaces
// are selected again with the same rule as at start. On an interface that
// appeared, gained an address or got its carrier back, the beacon goes out
// at once (as soon as the link has carrier) and again a second later, then
// on the usual schedule; the group is joined there. Beacons then carry the
// new address list; instance IDs do not change. An interface that goes
// away is simply no longer used: sends that fail in the moment before the
// change is seen are counted (Stats.SendErrors) and logged once.
// With no usable interface left the Sender idles and resumes when one comes
// back. A flapping link does not cause a beacon storm: the bursts on one
// interface are held at least 1 s apart, the hold doubling (up to 16 s)
// while they keep coming within twice the hold.
//
// [New] still fails when no interface is usable at start: that is a
// configuration problem to report, not a state to wait out.
//
// # Instance IDs
//
// Each service has a 64-bit instance ID derived from the machine ID, the
// host name, the hardware address of the lowest-numbered non-loopback
// interface that has one (of all interfaces, not only the selected ones,
// so that choosing interfaces does not change it), the service name and
// type. It stays the same across restarts, so a restarted
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
// # Replies: on-link only, bounded
//
// A query is answered only when its source is a unicast address inside a
// subnet of the interface it arrived on, not that subnet's broadcast or
// own address, with a non-zero port; the reply is written with
// MSG_DONTROUTE, so the kernel itself refuses to send it through a router.
// One query gets at most [MaxReplyDatagrams] datagrams, and the reply
// bytes sent to each source address pass a token bucket
// ([ReplyBurstBytes] at once, [ReplyBytesPerSecond] after that, and
// [SlipsPerSecond] single datagrams to repeats of refused requests), so a
// flood of queries, forged or not, cannot make a Sender send anyone more
// than that. Refused queries are counted in [Stats] (BadSource, Limited,
// Unresolved).
//
// # What it does not do
//
// It does not resolve names, keep state about listeners, or check that the
// announced port is open.
//
// [discover]: https://pkg.go.dev/github.com/lanfind/lanfind/discover
// [seal]: https://pkg.go.dev/github.com/lanfind/lanfind/seal
// [iface.Subscriber]: https://pkg.go.dev/github.com/lanfind/lanfind/iface#Subscriber
package announce
