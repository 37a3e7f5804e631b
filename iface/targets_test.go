package iface

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestTargets(t *testing.T) {
	group := netip.MustParseAddr("239.255.70.70")
	eth0 := Interface{Index: 2, Name: "eth0", Flags: FlagUp | FlagBroadcast | FlagMulticast, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("10.77.0.10/24"), Broadcast: netip.MustParseAddr("10.77.0.255")},
		{Prefix: netip.MustParsePrefix("10.77.0.11/24"), Broadcast: netip.MustParseAddr("10.77.0.255")},
		{Prefix: netip.MustParsePrefix("10.78.0.1/16"), Broadcast: netip.MustParseAddr("10.78.255.255")},
	}}
	ptp := Interface{Index: 3, Name: "tun0", Flags: FlagUp | FlagPointToPoint | FlagMulticast, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("10.9.0.1/32")},
	}}
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	tests := []struct {
		name string
		ifs  []Interface
		o    TargetOptions
		want []Target
	}{
		{"both", []Interface{eth0}, TargetOptions{Group: group, Port: 28471}, []Target{
			{2, "eth0", ap("10.77.0.255:28471")},
			{2, "eth0", ap("10.78.255.255:28471")},
			{2, "eth0", ap("239.255.70.70:28471")},
		}},
		{"broadcast only", []Interface{eth0}, TargetOptions{Group: group, Port: 1, NoMulticast: true}, []Target{
			{2, "eth0", ap("10.77.0.255:1")},
			{2, "eth0", ap("10.78.255.255:1")},
		}},
		{"multicast only", []Interface{eth0, ptp}, TargetOptions{Group: group, Port: 1, NoBroadcast: true}, []Target{
			{2, "eth0", ap("239.255.70.70:1")},
			{3, "tun0", ap("239.255.70.70:1")},
		}},
		{"point-to-point has no broadcast", []Interface{ptp}, TargetOptions{Group: group, Port: 1}, []Target{
			{3, "tun0", ap("239.255.70.70:1")},
		}},
		{"nothing", []Interface{ptp}, TargetOptions{Group: group, Port: 1, NoMulticast: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Targets(tc.ifs, tc.o)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
