package iface

import (
	"net/netip"
	"slices"
	"strconv"
)

// Arrivals decides which received datagrams belong to the selected
// interfaces. A socket bound to the empty address receives from every
// interface, so receivers check each datagram's arrival interface (from
// IP_PKTINFO or IPV6_PKTINFO) against the selection. The zero value
// accepts nothing.
type Arrivals struct {
	selected map[int]bool
	loopback map[int]bool
	local    map[netip.Addr]int     // selected interfaces' addresses, without zone
	prefixes map[int][]netip.Prefix // selected interfaces' subnets, by index
	subnet   map[netip.Addr]bool    // their broadcast and network addresses
}

// NewArrivals returns the filter for selected, a subset of all.
func NewArrivals(all, selected []Interface) Arrivals {
	a := Arrivals{selected: map[int]bool{}, loopback: map[int]bool{}, local: map[netip.Addr]int{}, prefixes: map[int][]netip.Prefix{}, subnet: map[netip.Addr]bool{}}
	for _, i := range all {
		if i.Flags&FlagLoopback != 0 {
			a.loopback[i.Index] = true
		}
	}
	for _, i := range selected {
		a.selected[i.Index] = true
		for _, ad := range i.Addrs {
			if ad.Flags&AddrDADFailed != 0 {
				continue // another host owns it
			}
			a.local[ad.Prefix.Addr()] = i.Index
			a.prefixes[i.Index] = append(a.prefixes[i.Index], ad.Prefix.Masked())
			for _, x := range []netip.Addr{ad.Broadcast, BroadcastOf(ad.Prefix), ad.Prefix.Masked().Addr()} {
				if ad.IsSubnetAddr(x) {
					a.subnet[x] = true
				}
			}
		}
	}
	return a
}

// Accept maps a datagram's arrival interface to a selected interface. A
// datagram that arrived on a selected interface keeps its index. One that
// this host sent to itself arrives on a loopback interface; when its source
// is an address of a selected interface, Accept returns that interface. It
// reports false for everything else: datagrams from interfaces lanfind does
// not use.
func (a Arrivals) Accept(ifIndex int, src netip.Addr) (int, bool) {
	if a.selected[ifIndex] {
		return ifIndex, true
	}
	if a.loopback[ifIndex] {
		if i, ok := a.local[src.Unmap().WithZone("")]; ok {
			return i, true
		}
	}
	return 0, false
}

// OnLink reports whether src lies inside one of the subnets of the selected
// interface ifIndex (an index [Arrivals.Accept] returned): whether the
// sender is a direct neighbour on that link rather than a host behind a
// router, or a source address forged from afar. An IPv6 link-local source
// (fe80::/10) is on-link by definition: routers never forward it, and its
// zone is the arrival interface. A datagram this host sent to itself is
// on-link: its source is an address of the interface Accept mapped it to.
// The broadcast and network addresses of the selected subnets are no
// neighbour's ([Addr.IsSubnetAddr]): OnLink reports false for them. The
// zero value reports false.
func (a Arrivals) OnLink(ifIndex int, src netip.Addr) bool {
	if !a.selected[ifIndex] {
		return false
	}
	src = src.Unmap()
	if a.subnet[src.WithZone("")] {
		return false
	}
	if isLinkLocal6(src) {
		return true
	}
	src = src.WithZone("")
	for _, p := range a.prefixes[ifIndex] {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// OnLink reports whether a is on-link for i: inside one of i's prefixes
// (IPv4-mapped addresses unmapped, zones ignored), or, when i has IPv6,
// an IPv6 link-local address whose zone is empty, i's name or i's index.
func OnLink(i Interface, a netip.Addr) bool {
	a = a.Unmap()
	if isLinkLocal6(a) {
		z := a.Zone()
		return (z == "" || z == i.Name || z == strconv.Itoa(i.Index)) &&
			slices.ContainsFunc(i.Addrs, Addr.Is6)
	}
	a = a.WithZone("")
	for _, ad := range i.Addrs {
		if ad.Prefix.Contains(a) {
			return true
		}
	}
	return false
}

// isLinkLocal6 reports whether a is an IPv6 link-local unicast address
// (fe80::/10, RFC 4291 section 2.5.6).
func isLinkLocal6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() }
