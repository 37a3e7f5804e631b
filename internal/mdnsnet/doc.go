// Package mdnsnet is the mDNS endpoint the querier (mdns/browse) and the
// responder (mdns/publish) share: one socket per address family through
// internal/udp, an IPv4 one bound to 0.0.0.0:5353 and joined to
// 224.0.0.251 on each chosen interface with an IPv4 address, and an IPv6
// one (IPV6_V6ONLY) bound to [::]:5353 and joined to ff02::fb on each
// chosen interface with a usable IPv6 address; a read loop per socket that
// parses mDNS messages; and writes that split a message which would not fit
// the interface's MTU. A family that cannot be opened or joined anywhere is
// logged and left out; New fails only if no interface joined either group.
// Multicasts go out on both families where the interface has joined both.
// The interfaces are chosen, and followed as they change, as lanfind's own
// endpoint chooses and follows them (see "Interface changes").
//
// It owns the socket, the group memberships, the on-link check of sources
// and the filter that drops this endpoint's own datagrams when the kernel
// loops them back. It knows nothing of caches, probing or scheduling and
// must not import browse, publish, announce, discover or the CLI; the
// interface plan and its watcher are internal/endpoint's.
//
// # Sharing port 5353
//
// internal/udp opens the socket with SO_REUSEADDR and SO_REUSEPORT, as
// avahi-daemon, mDNSResponder and python-zeroconf open theirs, so lanfind
// binds 5353 beside the host's own stack and every one of them receives
// each multicast datagram. A unicast datagram to port 5353 reaches only one
// of the sockets sharing it (see "Sharing a port" in internal/udp): on
// Linux the newest socket outside any SO_REUSEPORT group, or one member,
// picked by a hash of the sender's address and port, of the group of the
// sockets of one user. So lanfind asks for multicast answers (QM
// questions) where it can, and answers unicast-response questions only
// when they came from another port (legacy unicast) or carry the QU bit,
// whose sender wants that. A one-shot querier that asks with the QU bit
// opens its sockets with [Config].NoReusePort: SO_REUSEADDR only, outside
// the group of its user's other lanfind sockets (a watch, a resident
// serve, an announcer), so that the unicast answers reach it and not
// them; beside a socket with SO_REUSEPORT but not SO_REUSEADDR, which
// only its group may bind beside, it opens them with both, as before.
// Multicast loopback stays on, so the host's own stack sees
// lanfind's announcements and lanfind sees the host stack's answers; this
// endpoint's own looped-back datagrams are recognised by their bytes and
// dropped.
//
// # Interface changes
//
// The interfaces are selected by internal/endpoint's plan, with the rules
// and flags lanfind's own endpoint uses (Config.Interfaces, Exclude,
// NoIPv4, NoIPv6: --iface, --exclude-iface, --no-ipv4, --no-ipv6), and
// with a lister that reports changes (the system's lister does, see
// iface.Subscriber) they are followed by the same watcher (endpoint.Watch:
// a burst of changes is settled 150 ms after its last event, at most 1 s
// after its first, then the interfaces are selected again). There is no
// second netlink watcher. The owner starts following with
// [Endpoint.Follow]: the responder's and the querier's Run at once, a
// one-shot Collect once it has lasted a second, as lanfind's own one-shot
// searches do. On each new selection the memberships follow
// (endpoint.Rejoin): 224.0.0.251 is joined on an interface that has gained
// an IPv4 address or has just appeared or come back, ff02::fb on one with
// a usable IPv6 address, each left where the interface has gone or lost
// the family. From then on sends go only to the interfaces in use, and the
// on-link check of sources, the own-datagram filter and the MTU of each
// send use their current addresses. Both sockets are opened at start, so
// a family that no interface has yet works once one gains it.
//
// [Endpoint.Loop] passes each change on to its owner as a [Change]: the
// interfaces that appeared or changed (an address gained or lost, carrier
// back) and those that went. On the first, the responder (mdns/publish)
// probes and announces its names again (RFC 6762 §8), with the address
// records of the interface's current addresses (cache-flush), and says
// goodbye for an address the interface lost; the querier (mdns/browse)
// sends its queries there at once and a second later. What either held
// for an interface that went is dropped: the querier's entries heard only
// there go down with reason "iface-down", as lanfind's own discover
// reports them. A flapping interface gets such bursts at most as often as
// endpoint.Damper allows (1 s apart at first, up to 16 s), as announce's
// beacon bursts do. New still fails when no interface is usable at start,
// as lanfind's own endpoint does; a selection that later shrinks to
// nothing idles until an interface comes back.
//
// # Limits
//
// The read buffer is mdns.MaxMessage+1 bytes; a longer datagram is
// dropped and counted, as are datagrams that do not parse and datagrams
// whose source is not on the link they arrived on (RFC 6762 §11).
package mdnsnet
