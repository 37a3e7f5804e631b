package iface

import "net/netip"

// Target is one destination lanfind sends to: a subnet broadcast address or
// a multicast group (IPv4 or IPv6), out of one interface.
type Target struct {
	IfIndex int
	IfName  string
	Dst     netip.AddrPort
}

// TargetOptions chooses which kinds of destination [Targets] returns.
type TargetOptions struct {
	Group       netip.Addr // IPv4 multicast group; invalid means none
	Group6      netip.Addr // IPv6 link-scope multicast group; invalid means none
	Port        uint16
	NoBroadcast bool
	NoMulticast bool
}

// Targets returns the destinations for a message sent to every interface in
// ifs: each IPv4 subnet's directed broadcast address on interfaces with the
// broadcast flag, the IPv4 group on multicast interfaces with an IPv4
// address, and the IPv6 group on multicast interfaces with a usable IPv6
// address (IPv6 has no broadcast), each once per interface, in interface
// order.
func Targets(ifs []Interface, o TargetOptions) []Target {
	var out []Target
	for _, ifc := range ifs {
		if !o.NoBroadcast && ifc.Flags&FlagBroadcast != 0 {
			seen := map[netip.Addr]bool{}
			for _, a := range ifc.Addrs {
				if !a.Broadcast.IsValid() || seen[a.Broadcast] {
					continue
				}
				seen[a.Broadcast] = true
				out = append(out, Target{IfIndex: ifc.Index, IfName: ifc.Name, Dst: netip.AddrPortFrom(a.Broadcast, o.Port)})
			}
		}
		if o.NoMulticast || ifc.Flags&FlagMulticast == 0 {
			continue
		}
		if o.Group.IsValid() && ifc.Has4() {
			out = append(out, Target{IfIndex: ifc.Index, IfName: ifc.Name, Dst: netip.AddrPortFrom(o.Group, o.Port)})
		}
		if o.Group6.IsValid() && ifc.Has6() {
			dst := netip.AddrPortFrom(o.Group6, o.Port)
			out = append(out, Target{IfIndex: ifc.Index, IfName: ifc.Name, Dst: dst})
		}
	}
	return out
}
