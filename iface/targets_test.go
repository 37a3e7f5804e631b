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
	up := FlagUp | FlagBroadcast | FlagMulticast
	dual := Interface{Index: 4, Name: "eth1", Flags: up, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("10.77.1.10/24"), Broadcast: netip.MustParseAddr("10.77.1.255")},
		{Prefix: netip.MustParsePrefix("fe80::1/64")},
	}}
	only6 := Interface{Index: 5, Name: "eth2", Flags: up, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("fd00:77::1/64")},
		{Prefix: netip.MustParsePrefix("fe80::2/64"), Flags: AddrTentative},
	}}
	tentative := Interface{Index: 6, Name: "eth3", Flags: FlagUp | FlagMulticast, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("fe80::3/64"), Flags: AddrTentative},
	}}
	group6 := netip.MustParseAddr("ff02::efff:4646")
	both := TargetOptions{Group: group, Group6: group6, Port: 1}
	noMulticast := both
	noMulticast.NoMulticast = true
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
		{"both families", []Interface{dual, only6, tentative}, both, []Target{
			{4, "eth1", ap("10.77.1.255:1")},
			{4, "eth1", ap("239.255.70.70:1")},
			{4, "eth1", ap("[ff02::efff:4646]:1")},
			{5, "eth2", ap("[ff02::efff:4646]:1")},
		}},
		{"IPv6 has no broadcast", []Interface{only6}, noMulticast, nil},
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
