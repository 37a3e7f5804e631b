package discover

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/iface"
)

func target(ifIndex int, dst string) iface.Target {
	return iface.Target{IfIndex: ifIndex, Dst: netip.AddrPortFrom(netip.MustParseAddr(dst), 28471)}
}

// TestRepeatTargets: repeats alternate between the group and the subnet
// broadcasts on each interface, and an interface or address family with
// only one kind gets every repeat.
func TestRepeatTargets(t *testing.T) {
	both := []iface.Target{
		target(2, "10.1.0.255"), target(2, "10.9.0.255"), target(2, "239.255.70.70"), // two subnets and the group
		target(3, "10.2.0.255"),      // broadcast only
		target(4, "239.255.70.70"),   // multicast only
		target(2, "ff02::efff:4646"), // IPv6: its group only
	}
	cases := []struct {
		attempt uint8
		want    []iface.Target
	}{
		{1, []iface.Target{both[2], both[3], both[4], both[5]}},
		{2, []iface.Target{both[0], both[1], both[3], both[4], both[5]}},
		{3, []iface.Target{both[2], both[3], both[4], both[5]}},
		{255, []iface.Target{both[2], both[3], both[4], both[5]}},
	}
	for _, c := range cases {
		if got := repeatTargets(both, c.attempt); !slices.Equal(got, c.want) {
			t.Errorf("attempt %d: got %v, want %v", c.attempt, got, c.want)
		}
	}
	if got := repeatTargets(nil, 1); len(got) != 0 {
		t.Errorf("no targets: got %v", got)
	}
}

// BenchmarkRepeatTargets: the choice made for every repeat, for a host
// with four interfaces that each have both kinds.
func BenchmarkRepeatTargets(b *testing.B) {
	var all []iface.Target
	for i := range 4 {
		all = append(all, target(i+2, "10.1.0.255"), target(i+2, "239.255.70.70"))
	}
	for b.Loop() {
		repeatTargets(all, 1)
	}
}
