package discover_test

import (
	"net/netip"
	"testing"

	"github.com/lanfind/lanfind/discover"
)

func TestAddrOf(t *testing.T) {
	a := netip.MustParseAddr
	dual := discover.Result{
		Addrs: []netip.Addr{a("10.0.0.5"), a("fd00:77::5"), a("fe80::5%eth0")},
		Paths: []discover.Path{{Addr: a("10.0.0.5")}, {Addr: a("fe80::5%eth0")}},
	}
	unlisted := discover.Result{Paths: []discover.Path{{Addr: a("fe80::6%eth1")}}}
	for _, tc := range []struct {
		name   string
		r      discover.Result
		family int
		want   string // "" for none
	}{
		{"either: the best", dual, 0, "10.0.0.5"},
		{"IPv4", dual, 4, "10.0.0.5"},
		{"IPv6: the best IPv6", dual, 6, "fd00:77::5"},
		{"no addresses listed: a path's source", unlisted, 6, "fe80::6%eth1"},
		{"none of the family", unlisted, 4, ""},
	} {
		got, ok := tc.r.AddrOf(tc.family)
		if tc.want == "" && ok || tc.want != "" && (!ok || got != a(tc.want)) {
			t.Errorf("%s: got %v, %t; want %q", tc.name, got, ok, tc.want)
		}
	}
}
