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
// # Replies: on-link only, bounded
//
// A query is answered only when its source is a unicast address inside a
// subnet of the interface it arrived on, not that subnet's broadcast or
// own address, with a non-zero port; the reply is written with
// MSG_DONTROUTE, so the kernel itself refuses to send it through a router.
// One query gets at most [MaxReplyDatagrams] datagrams, and the reply
// bytes sent to each source address pass a token bucket
// ([ReplyBurstBytes] at once, [ReplyBytesPerSecond] after that), so a
// flood of queries, forged or not, cannot make a Sender send anyone more
// than that. Refused queries are counted in [Stats] (BadSource, Limited).
//
// # What it does not do
//
// It does not resolve names, keep state about listeners, or check that the
// announced port is open.
//
// [discover]: https://pkg.go.dev/github.com/lanfind/lanfind/discover
package announce
