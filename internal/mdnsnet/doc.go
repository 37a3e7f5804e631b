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
//
// It owns the socket, the group memberships, the on-link check of sources
// and the filter that drops this endpoint's own datagrams when the kernel
// loops them back. It knows nothing of caches, probing or scheduling and
// must not import browse, publish, announce, discover or the CLI.
//
// # Sharing port 5353
//
// internal/udp opens the socket with SO_REUSEADDR and SO_REUSEPORT, as
// avahi-daemon, mDNSResponder and python-zeroconf open theirs, so lanfind
// binds 5353 beside the host's own stack and every one of them receives
// each multicast datagram. A unicast datagram to port 5353 reaches only one
// of the sockets sharing it, so lanfind asks for multicast answers (QM
// questions) and answers unicast-response questions only when they came
// from another port (legacy unicast) or carry the QU bit, whose sender
// wants that. Multicast loopback stays on, so the host's own stack sees
// lanfind's announcements and lanfind sees the host stack's answers; this
// endpoint's own looped-back datagrams are recognised by their bytes and
// dropped.
//
// # Limits
//
// The read buffer is mdns.MaxMessage+1 bytes; a longer datagram is
// dropped and counted, as are datagrams that do not parse and datagrams
// whose source is not on the link they arrived on (RFC 6762 §11).
package mdnsnet
