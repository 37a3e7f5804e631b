// Package iface lists the network interfaces lanfind may announce on and
// listen on: their link state, their IPv4 prefixes and each prefix's directed
// (subnet) broadcast address.
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
// their IPv4 addresses change, so long-running users (an announcer, a
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
// Only IPv4 is covered: lanfind's beacons are IPv4 broadcast and multicast
// (RFC 1112) datagrams.
package iface
