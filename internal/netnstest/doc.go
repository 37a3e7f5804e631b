//go:build linux

// Package netnstest builds a fake LAN out of throwaway network namespaces,
// so that tests can send real broadcast and multicast datagrams without any
// of them reaching a real network. It is Linux-only and needs root
// (CAP_SYS_ADMIN and CAP_NET_ADMIN); [New] skips the test otherwise, unless
// the environment variable LANFIND_LAB is "require", in which case it fails
// it (CI sets that so the namespace tier cannot silently skip).
//
// # The lab
//
// A [Lab] has one or more segments and some hosts. Each segment is a bridge
// (br0, br1, ...; multicast snooping off, so multicast floods like broadcast)
// in a private switch namespace. Each host is a namespace of its own with lo
// and one veth interface per segment it is on (eth0, eth1, ...), whose other
// end is a port of that segment's bridge. Host i's interface on segment s has
// the address 10.77.s.(10+i)/24 with broadcast 10.77.s.255 and the MAC
// address 02:00:0a:4d:s:(10+i); its first interface also carries the route
// for 224.0.0.0/4. Before [New] returns, every host sees exactly lo and its
// eth interfaces, all up with carrier, and every bridge port forwards.
//
// Nothing is created in the caller's namespace. The namespaces are unnamed
// (nothing under /run/netns): they live as long as the harness's file
// descriptors, netlink handles and the sockets and processes made inside
// them, which t.Cleanup closes (sockets and processes first, then handles,
// then namespace descriptors). A test that crashes leaves nothing behind.
//
// # Running code in a host
//
// A network namespace belongs to an OS thread, not to a goroutine. The
// harness therefore creates everything it can through per-namespace netlink
// handles, and offers [Host.ListenPacket] (sockets) and [Host.Lister]
// (interface lists) that are bound to the host once created, from any
// goroutine. [Host.Do] runs a function on the calling goroutine, locked to
// its thread, inside the host; goroutines that function starts do not
// inherit the namespace. [Host.Start] and [Host.Run] start processes in the
// host.
//
// Typical use:
//
//	lan := netnstest.New(t, 3) // skips unless Linux and root
//	a, b := lan.Hosts[0], lan.Hosts[1]
//	c, err := b.ListenPacket(t.Context(), "udp4", ":7777")
//	// ... send from a to b.Addr("eth0") or to a.Broadcast("eth0")
package netnstest
