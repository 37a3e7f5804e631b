package discover

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/lanfind/lanfind/iface"
)

// Address ranks, best first. See [rankAddrs].
const (
	rankOnLink    = iota // in a subnet of the arrival interface
	rankGlobal           // any other unicast address: IPv4, global or unique local IPv6
	rankContainer        // a container or VM bridge default subnet
	rankLinkLocal        // 169.254.0.0/16, fe80::/10
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
// instance from src on the interface zone with the prefixes local: first
// addresses in a subnet of local, then other unicast addresses (IPv4,
// global and unique local IPv6), then container-bridge defaults, then
// link-local ones (169.254.0.0/16 and fe80::/10), then the rest. Within
// the first two ranks the preferred family comes first (IPv6 when prefer6,
// else IPv4), then src itself, then the announcer's order; within the
// others, the announcer's order. IPv6 link-local addresses get zone as
// their zone, so they can be connected to. addrs is not modified.
func rankAddrs(addrs []netip.Addr, src netip.Addr, local []netip.Prefix,
	prefer6 bool, zone string) []netip.Addr {
	type ranked struct {
		a          netip.Addr
		rank, fam  int
		notSource  bool
		announcers int
	}
	rs := make([]ranked, len(addrs))
	for k, a := range addrs {
		r := ranked{
			a:          a,
			rank:       addrRank(a, local),
			notSource:  a.Unmap() != src.WithZone(""),
			announcers: k,
		}
		if r.rank <= rankGlobal && a.Unmap().Is6() != prefer6 {
			r.fam = 1
		}
		if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
			r.a = a.WithZone(zone)
		}
		rs[k] = r
	}
	slices.SortStableFunc(rs, func(x, y ranked) int {
		return cmp.Or(cmp.Compare(x.rank, y.rank), cmp.Compare(x.fam, y.fam),
			compareBool(x.notSource, y.notSource), cmp.Compare(x.announcers, y.announcers))
	})
	var out []netip.Addr
	for _, r := range rs {
		out = append(out, r.a)
	}
	return out
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func addrRank(a netip.Addr, local []netip.Prefix) int {
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast():
		return rankUnusable
	case a.Is6() && a.IsLinkLocalUnicast():
		// fe80::/64 is a prefix of every IPv6 interface: never on-link
		// in the sense of sharing a subnet that means something.
		return rankLinkLocal
	}
	for _, p := range local {
		if p.Contains(a) {
			// An IPv4 link-local subnet (169.254.0.0/16, RFC 3927) the
			// arrival interface uses is the LAN itself (no DHCP).
			return rankOnLink
		}
	}
	switch {
	case a.IsLinkLocalUnicast():
		return rankLinkLocal
	case slices.ContainsFunc(containerNets, func(p netip.Prefix) bool { return p.Contains(a) }):
		return rankContainer
	}
	return rankGlobal
}

// prefixesOf returns the prefixes of the interface of ifs with the given
// index, masked to their subnet; nil if ifs has none such.
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
