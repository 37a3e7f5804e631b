package iface

import "net/netip"

// Target is one destination lanfind sends to: a subnet broadcast address or
// the multicast group, out of one interface.
type Target struct {
	IfIndex int
	IfName  string
	Dst     netip.AddrPort
}

// TargetOptions chooses which kinds of destination [Targets] returns.
type TargetOptions struct {
	Group       netip.Addr // multicast group; invalid means none
	Port        uint16
	NoBroadcast bool
	NoMulticast bool
}

// Targets returns the destinations for a message sent to every interface in
// ifs: each IPv4 subnet's directed broadcast address on interfaces with the
// broadcast flag, and the group on interfaces with the multicast flag, each
// once per interface, in interface order.
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
		if !o.NoMulticast && o.Group.IsValid() && ifc.Flags&FlagMulticast != 0 {
			out = append(out, Target{IfIndex: ifc.Index, IfName: ifc.Name, Dst: netip.AddrPortFrom(o.Group, o.Port)})
		}
	}
	return out
}
