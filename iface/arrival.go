package iface

import "net/netip"

// Arrivals decides which received datagrams belong to the selected
// interfaces. A socket bound to the empty address receives from every
// interface, so receivers check each datagram's arrival interface (from
// IP_PKTINFO) against the selection. The zero value accepts nothing.
type Arrivals struct {
	selected map[int]bool
	loopback map[int]bool
	local    map[netip.Addr]int     // selected interfaces' addresses
	prefixes map[int][]netip.Prefix // selected interfaces' subnets, by index
}

// NewArrivals returns the filter for selected, a subset of all.
func NewArrivals(all, selected []Interface) Arrivals {
	a := Arrivals{selected: map[int]bool{}, loopback: map[int]bool{}, local: map[netip.Addr]int{}, prefixes: map[int][]netip.Prefix{}}
	for _, i := range all {
		if i.Flags&FlagLoopback != 0 {
			a.loopback[i.Index] = true
		}
	}
	for _, i := range selected {
		a.selected[i.Index] = true
		for _, ad := range i.Addrs {
			a.local[ad.Prefix.Addr()] = i.Index
			a.prefixes[i.Index] = append(a.prefixes[i.Index], ad.Prefix.Masked())
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
		if i, ok := a.local[src.Unmap()]; ok {
			return i, true
		}
	}
	return 0, false
}

// OnLink reports whether src lies inside one of the subnets of the selected
// interface ifIndex (an index [Arrivals.Accept] returned): whether the
// sender is a direct neighbour on that link rather than a host behind a
// router, or a source address forged from afar. A datagram this host sent
// to itself is on-link: its source is an address of the interface Accept
// mapped it to. The zero value reports false.
func (a Arrivals) OnLink(ifIndex int, src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range a.prefixes[ifIndex] {
		if p.Contains(src) {
			return true
		}
	}
	return false
}
