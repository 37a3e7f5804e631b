package discover

import (
	"net/netip"
	"slices"

	"github.com/lanfind/lanfind/beacon"
)

// fitQuery drops known answers from b, a query, until it fits the
// Listener's budget (smaller when sealing): the instances left out may
// answer again, which costs a little traffic, not correctness.
func (l *Listener) fitQuery(b *beacon.Beacon) {
	if over := b.Size() - l.ep.Codec.Budget(); over > 0 {
		n := max(len(b.Query.Known)-(over+7)/8, 0)
		b.Query.Known = b.Query.Known[:n]
	}
}

// sourceClaimed reports whether a sealed datagram's source address is one
// its announcer claims for itself in the (authenticated) address list of
// its records. The IP header is not sealed: without this check, anyone on
// the LAN could replay a captured sealed beacon, inside the window, from
// its own address to a listener that has not heard it yet, and become the
// address that listener reports. A list cut at beacon.MaxAddrs may be
// incomplete and is not checked; nor is anything in unkeyed mode.
func (l *Listener) sourceClaimed(b *beacon.Beacon, src netip.AddrPort) bool {
	if !l.ep.Codec.Keyed() {
		return true
	}
	a := src.Addr().Unmap().WithZone("") // records list link-local addresses bare
	for i := range b.Services {
		addrs := b.Services[i].Addrs
		claimed := slices.ContainsFunc(addrs, func(x netip.Addr) bool { return x.Unmap() == a })
		if len(addrs) < beacon.MaxAddrs && !claimed {
			l.stats.relayed.Add(1)
			l.log.Debug("dropped sealed datagram from an address its announcer does not claim",
				"src", src.String(), "name", b.Services[i].Name, "addrs", addrs)
			return false
		}
	}
	return true
}
