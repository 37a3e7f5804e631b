// Package iface lists the network interfaces lanfind may announce on and
// listen on: their link state, their IPv4 and IPv6 prefixes, each IPv4
// prefix's directed (subnet) broadcast address and each IPv6 address's state.
//
// It owns the [Interface] value, the [Lister] interface every other package
// takes instead of asking the operating system itself, the default selection
// rule ([Interface.Usable], [Select]) and the [Static] lister for tests. It
// opens no sockets and sends nothing.
//
// # Listers
//
// On Linux the system lister is [Netlink], which wraps an explicit
// *netlink.Handle. A netlink handle (like the standard library's interface
// list) acts on the network namespace of the thread that created it, so a
// lister built inside a namespace keeps describing that namespace whichever
// goroutine or thread later calls it. On other systems [System] falls back to
// the standard library's interface list and derives each broadcast address
// from the netmask.
//
// # Changes
//
// A lister that implements [Subscriber] also reports when interfaces or
// their addresses change, so long-running users (an announcer, a
// watching listener) can follow hot-plugged adapters, new DHCP leases and
// links going down and up. [Netlink] subscribes to the kernel's link and
// address notifications in its own namespace (no polling); the fallback on
// other systems lists again every five seconds. [Static] never changes.
//
// # Selection
//
// [Select] applies the default rule ([Interface.Usable]) or the names the
// user gave; a name may be a glob in the syntax of [path.Match] ("eth*",
// "enp?s0"), which picks every usable interface it matches. Exclusions
// (names or globs, e.g. "docker*" and "veth*" for container bridges) are
// applied last. [MatchName] and [IsGlob] expose the same matching to callers
// that explain a selection.
//
// # Broadcast
//
// The directed broadcast address of an IPv4 subnet is the subnet's address
// with every host bit set (RFC 919 section 7, RFC 922 section 7), e.g.
// 10.77.0.255 for 10.77.0.10/24. Point-to-point /31 prefixes (RFC 3021) and
// host /32 prefixes have no broadcast address; [BroadcastOf] returns the zero
// [netip.Addr] for them. A broadcast address configured on the interface takes
// precedence over the computed one.
//
// # IPv6
//
// IPv6 addresses are listed too, global, unique local (fc00::/7, RFC 4193)
// and link-local (fe80::/10) alike, without a zone: the interface is the
// zone. Their [AddrFlags] follow duplicate address detection (RFC 4862): a
// tentative address is listed but not [Addr.Usable] until DAD ends (the
// kernel reports that as a change), a DAD-failed one never is, and a
// deprecated one stays usable but is offered last. IPv6 has no broadcast;
// [Targets] gives the IPv6 group on multicast interfaces with a usable IPv6
// address. [Families] drops a family's addresses for a user who switched it
// off. On-link means inside one of the interface's prefixes, or, for IPv6,
// link-local on that interface ([OnLink], [Arrivals.OnLink]).
package iface
