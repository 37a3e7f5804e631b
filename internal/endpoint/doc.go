// Package endpoint is the part of a lanfind endpoint that announce's
// Sender, discover's Listener and the doctor's probe share, each
// holding one [Endpoint]: the interface plan ([NewPlan]) and the watcher
// that keeps it current ([Watch]), the sockets it opens through
// internal/udp and the multicast memberships they hold ([JoinAll],
// [Rejoin]), the codec that seals and opens datagrams ([Codec]), and the
// read path that sorts received datagrams into lanfind messages and
// counted drops ([Endpoint.Read], [Drop], [Drops]). The mDNS endpoint
// (internal/mdnsnet) uses the plan, the watcher, the memberships'
// following and the [Damper] of bursts on new interfaces too, so mDNS
// follows interfaces exactly as lanfind's own protocol does.
//
// It owns no schedule and no table: when to send, what to answer and
// what to remember stay with its owners. It imports beacon, iface,
// internal/udp and seal, and never announce, discover or anything of
// cmd/lanfind.
//
// # Use
//
// An owner holds an *Endpoint in a field (not embedded: its methods are
// not the owner's API) and drives it like this:
//
//	ep, err := endpoint.New(cfg) // keys, lister, plan; no socket yet
//	c, err := ep.Listen(endpoint.Socket{Port: ep.Plan().Port, Join: true}) // a socket per family
//	ep.Watch(onPlan)             // follow interface changes
//	p, err := ep.Codec.Encode(&b)
//	for _, t := range ep.Plan().Targets {
//		c.WriteTo(p, t.Dst, t.IfIndex)
//	}
//	d, err := ep.Read(c.Sockets()[0], buf) // one loop per socket; drops are in ep.Drops
//	ep.Close()
//
// # Address families
//
// An endpoint has one socket per address family per [Endpoint.Listen]: an
// IPv4 socket bound to 0.0.0.0:PORT and an IPv6 socket bound to [::]:PORT
// with IPV6_V6ONLY, never one dual-stack socket. Listen returns them as a
// [Conn]: writes go to the socket of the destination's family, and the
// owner reads each of [Conn.Sockets] with its own loop through the same
// [Endpoint.Read], so it keeps one handler. IPv4 joins [Plan].Group on
// interfaces with an IPv4 address, IPv6 joins [Plan].Group6 (link-local
// scope) on interfaces with a usable IPv6 address ([Members]), and the
// memberships of both follow the plan. A family switched off
// (Config.NoIPv4, Config.NoIPv6) has its addresses dropped from the plan
// and no socket. A family whose socket cannot be opened is reported once
// as a warning ([Endpoint.FailedFamilies]) and the endpoint keeps working
// on the other; Listen fails only when no family the plan uses works.
// Read names the zone of an IPv6 link-local source after the arrival
// interface ("fe80::1%eth0").
package endpoint
