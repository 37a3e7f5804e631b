package discover

import (
	"net/netip"
	"slices"

	"github.com/lanfind/lanfind/iface"
)

// Address ranks, best first. See [rankAddrs].
const (
	rankSource    = iota // the source address the instance was heard from
	rankOnLink           // in a subnet of the arrival interface
	rankGlobal           // any other unicast address
	rankContainer        // a container or VM bridge default subnet
	rankLinkLocal        // 169.254.0.0/16
	rankUnusable         // loopback, multicast, unspecified, invalid
)

// containerNets are the default subnets of common container and VM bridges
// (Docker's docker0, Podman's podman0, libvirt's virbr0). The announcer's
// interface names are not on the wire, so its bridge addresses are known
// only by these defaults. An address in one of them that is also in the
// arrival interface's subnet ranks as on-link: the LAN itself may use it.
var containerNets = []netip.Prefix{
	netip.MustParsePrefix("172.17.0.0/16"),    // Docker docker0
	netip.MustParsePrefix("10.88.0.0/16"),     // Podman
	netip.MustParsePrefix("192.168.122.0/24"), // libvirt virbr0
}

// rankAddrs returns addrs ordered best first for a host that heard the
// instance from src on an interface with the prefixes local: src itself,
// then addresses in a subnet of local, then other unicast addresses, then
// container-bridge defaults, then link-local, then the rest. The order
// within a rank is the announcer's. addrs is not modified.
func rankAddrs(addrs []netip.Addr, src netip.Addr, local []netip.Prefix) []netip.Addr {
	out := slices.Clone(addrs)
	slices.SortStableFunc(out, func(a, b netip.Addr) int {
		return addrRank(a, src, local) - addrRank(b, src, local)
	})
	return out
}

func addrRank(a, src netip.Addr, local []netip.Prefix) int {
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast():
		return rankUnusable
	case a == src:
		return rankSource
	}
	for _, p := range local {
		if p.Contains(a) {
			return rankOnLink
		}
	}
	switch {
	case a.IsLinkLocalUnicast(): // 169.254.0.0/16, RFC 3927
		return rankLinkLocal
	case slices.ContainsFunc(containerNets, func(p netip.Prefix) bool { return p.Contains(a) }):
		return rankContainer
	}
	return rankGlobal
}

// prefixesOf returns the IPv4 prefixes of the interface of ifs with the
// given index, masked to their subnet; nil if ifs has none such.
func prefixesOf(ifs []iface.Interface, ifIndex int) []netip.Prefix {
	for _, i := range ifs {
		if i.Index != ifIndex {
			continue
		}
		out := []netip.Prefix{}
		for _, a := range i.Addrs {
			out = append(out, a.Prefix.Masked())
		}
		return out
	}
	return nil
}
