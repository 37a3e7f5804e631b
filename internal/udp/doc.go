// Package udp is the only place lanfind opens and configures sockets.
//
// [Listen] opens a UDP socket of one address family through [ListenConfig]
// (or an injected [ListenFunc]), wraps it with golang.org/x/net/ipv4 or
// golang.org/x/net/ipv6 and returns it as a [Conn]: a small interface that
// reads a datagram together with its arrival interface and destination
// address ([Meta]), writes a datagram out of a chosen interface, joins and
// leaves multicast groups by interface index, and supports read deadlines
// and Close. Package udptest implements the same
// interface in memory for tests that must not touch a network.
//
// The package knows nothing about beacons, interface lists or loops; callers
// choose the addresses. It does not send anything by itself.
//
// # Broadcast and multicast
//
// Sockets are opened with SO_REUSEADDR and SO_REUSEPORT, so several lanfind
// processes on one host can bind the discovery port, and every one of them
// receives each broadcast and multicast datagram (a unicast datagram
// reaches only one of them: see "Sharing a port"). SO_BROADCAST is set so
// a sender may write to a subnet's directed broadcast address (RFC 919,
// RFC 922). Multicast (RFC 1112) uses TTL 1 by default, so beacons never
// leave the link, and loopback on, so listeners on the sending host see
// them too; lanfind uses an administratively scoped group (RFC 2365).
//
// # Sharing a port
//
// On Linux the sockets bound to one address and port all receive each
// broadcast and multicast datagram, but a unicast datagram goes to one of
// them. The kernel takes the best match in its list of the port's sockets,
// the first of equals, and a socket goes first in that list when it binds
// (an IPv6 socket with SO_REUSEPORT last). The sockets of one user that
// set SO_REUSEPORT form a group, which takes each unicast datagram for the
// group and hands it to one member picked by a hash of the source and
// destination addresses and ports: the same sender always reaches the
// same member, whatever it repeats. Sockets of other users (avahi-daemon's
// own user) are outside the group; a socket binds beside them because all
// set SO_REUSEADDR.
//
// A socket that must hear the unicast datagrams sent to a port it shares,
// as an mDNS querier that asks for unicast answers (RFC 6762 §5.4) must,
// is opened with [Options].NoReusePort: SO_REUSEADDR without SO_REUSEPORT.
// It stays outside every group, still receives each broadcast and
// multicast datagram, and gets every unicast datagram to the port until
// another socket binds the port after it (a newer socket without
// SO_REUSEPORT, or an IPv4 one with it, which goes first then).
// SO_REUSEPORT is never set on it after bind either: a later socket of
// the same user would then draw it into its group.
//
// On macOS and FreeBSD a socket binds a port another socket holds only if
// both set SO_REUSEPORT, which makes no such group there: NoReusePort is
// ignored.
//
// Interfaces are named only by index, never looked up by name or through the
// stdlib interface list: both act on the calling thread's network namespace,
// and a Conn may be used from goroutines running in another one.
//
// # IPv6
//
// An IPv6 address given to [Listen] ([::]:PORT) opens an IPv6 socket with
// IPV6_V6ONLY: one socket per family, never a dual-stack socket whose
// v4-mapped addresses would confuse control messages and on-link checks.
// The port and the groups are the caller's, so lanfind's own protocol and
// mDNS (port 5353, ff02::fb, hop limit 255) use the same opener. Control
// messages come from IPV6_RECVPKTINFO (arrival interface and destination);
// a link-local source address is returned with the arrival interface's
// index as its zone ("fe80::1%2"), never a name, since names belong to a
// namespace. The hop limit ([Options].MulticastTTL, 1 unless set) applies
// to multicast and to unicast alike (IPV6_MULTICAST_HOPS and
// IPV6_UNICAST_HOPS): at 1, no lanfind datagram can cross a router, which
// keeps replies on the link where MSG_DONTROUTE is not honoured for IPv6.
// A link-local destination needs an interface (an index, or a numeric
// zone). IPv6 has no broadcast.
//
// # Replies
//
// [Conn.WriteToNeighbor] sends a unicast datagram with MSG_DONTROUTE, so the
// kernel delivers it only to a directly connected host and fails with
// ENETUNREACH instead of handing it to a router; it refuses multicast and
// the limited broadcast address outright. Replies use it, so a query from a
// forged or routed source address cannot aim a reply off the link even if
// a caller's own checks missed it. The flag is per write: broadcast and
// multicast writes on the same socket are not affected.
//
// # Reading
//
// [Conn.ReadFrom] reads one datagram. A datagram longer than the buffer is
// truncated: ReadFrom fills the buffer, returns n == len(b) and no error,
// and the rest of the datagram is lost. Callers that must detect oversize
// datagrams read into a buffer one byte longer than the largest they accept
// and drop any read with n == len(b).
//
// Read errors are returned as the net package reports them (a *net.OpError),
// so os.IsTimeout and errors.Is(err, os.ErrDeadlineExceeded) detect an
// expired deadline, and errors.Is(err, net.ErrClosed) detects a read that
// [Conn.Close] ended: that is normal shutdown, not a failure.
//
// # Platforms
//
// On Linux the outgoing interface of every write (unicast, broadcast or
// multicast) is chosen with IP_PKTINFO, and groups are joined with
// ip_mreqn, both by interface index. Other systems use what
// golang.org/x/net/ipv4 offers: IP_PKTINFO where it exists (macOS),
// IP_MULTICAST_IF for multicast writes, and MCAST_JOIN_GROUP; on systems
// without IP_PKTINFO (FreeBSD) a broadcast leaves by the route to its
// directed broadcast address. The don't-fragment bit is set on Linux, macOS
// and FreeBSD.
package udp
