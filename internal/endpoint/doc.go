// Package endpoint is the part of a lanfind endpoint that announce's
// Sender, discover's Listener and the doctor's probe share, each
// holding one [Endpoint]: the interface plan ([NewPlan]) and the watcher
// that keeps it current ([Watch]), the sockets it opens through
// internal/udp and the multicast memberships they hold ([JoinAll],
// [Rejoin]), the codec that seals and opens datagrams ([Codec]), and the
// read path that sorts received datagrams into lanfind messages and
// counted drops ([Endpoint.Read], [Drop], [Drops]).
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
//	c, err := ep.Listen(endpoint.Socket{Port: ep.Plan().Port, Join: true})
//	ep.Watch(onPlan)             // follow interface changes
//	p, err := ep.Codec.Encode(&b)
//	for _, t := range ep.Plan().Targets {
//		c.WriteTo(p, t.Dst, t.IfIndex)
//	}
//	d, err := ep.Read(c, buf) // the next kept message; drops are in ep.Drops
//	ep.Close()
//
// # Address families
//
// Today an endpoint has IPv4 sockets only. A second family (an IPv6
// socket bound to [::]:PORT with IPV6_V6ONLY, never one dual-stack
// socket) is meant to be added here: one socket per family per port,
// each read by its own loop through the same [Endpoint.Read], so owners
// keep one handler. A family whose socket cannot be opened is to be
// reported once and the endpoint kept working on the others.
package endpoint
