package iface

import (
	"net/netip"
	"testing"
)

func TestArrivals(t *testing.T) {
	lo := Interface{Index: 1, Name: "lo", Flags: FlagUp | FlagLoopback, Addrs: []Addr{{Prefix: netip.MustParsePrefix("127.0.0.1/8")}}}
	eth0 := Interface{Index: 2, Name: "eth0", Flags: FlagUp | FlagBroadcast, Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}}
	eth1 := Interface{Index: 3, Name: "eth1", Flags: FlagUp | FlagBroadcast, Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.1.0.1/24")}}}
	a := NewArrivals([]Interface{lo, eth0, eth1}, []Interface{eth1})
	tests := []struct {
		name    string
		ifIndex int
		src     string
		want    int
		wantOK  bool
	}{
		{"selected interface", 3, "10.1.0.7", 3, true},
		{"unselected interface", 2, "10.0.0.7", 0, false},
		{"looped back from a selected address", 1, "10.1.0.1", 3, true},
		{"looped back from an unselected address", 1, "10.0.0.1", 0, false},
		{"looped back from 127.0.0.1", 1, "127.0.0.1", 0, false},
		{"unknown interface", 9, "10.1.0.7", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := a.Accept(tc.ifIndex, netip.MustParseAddr(tc.src))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("got (%d, %v), want (%d, %v)", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if _, ok := (Arrivals{}).Accept(3, netip.MustParseAddr("10.1.0.7")); ok {
		t.Error("zero Arrivals accepted a datagram, want none")
	}
}

func TestArrivalsOnLink(t *testing.T) {
	lo := Interface{Index: 1, Name: "lo", Flags: FlagUp | FlagLoopback, Addrs: []Addr{{Prefix: netip.MustParsePrefix("127.0.0.1/8")}}}
	eth0 := Interface{Index: 2, Name: "eth0", Flags: FlagUp | FlagBroadcast, Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}}
	eth1 := Interface{Index: 3, Name: "eth1", Flags: FlagUp | FlagBroadcast, Addrs: []Addr{
		{Prefix: netip.MustParsePrefix("10.1.0.1/24")}, {Prefix: netip.MustParsePrefix("192.168.7.9/30")}}}
	a := NewArrivals([]Interface{lo, eth0, eth1}, []Interface{eth0, eth1})
	tests := []struct {
		name    string
		ifIndex int // as Accept returned it
		src     string
		want    bool
	}{
		{"neighbour", 2, "10.0.0.7", true},
		{"own address (looped back)", 3, "10.1.0.1", true},
		{"second subnet", 3, "192.168.7.10", true},
		{"outside the second subnet", 3, "192.168.7.13", false},
		{"neighbour of another interface", 2, "10.1.0.7", false},
		{"routed", 2, "10.9.0.7", false},
		{"unspecified", 2, "0.0.0.0", false},
		{"broadcast address", 2, "10.0.0.255", false},
		{"network address", 2, "10.0.0.0", false},
		{"broadcast of the /30", 3, "192.168.7.11", false},
		{"network address of the /30", 3, "192.168.7.8", false},
		{"mapped", 2, "::ffff:10.0.0.7", true},
		{"unselected interface", 1, "127.0.0.1", false},
		{"unknown interface", 9, "10.0.0.7", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.OnLink(tc.ifIndex, netip.MustParseAddr(tc.src)); got != tc.want {
				t.Errorf("OnLink(%d, %s) = %v, want %v", tc.ifIndex, tc.src, got, tc.want)
			}
		})
	}
	if (Arrivals{}).OnLink(2, netip.MustParseAddr("10.0.0.7")) {
		t.Error("zero Arrivals reported a source on-link, want none")
	}
}
