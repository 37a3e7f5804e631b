package announce

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/iface"
)

func TestAdvertised(t *testing.T) {
	a := func(s string, f iface.AddrFlags) iface.Addr {
		return iface.Addr{Prefix: netip.MustParsePrefix(s), Flags: f}
	}
	v4 := a("10.77.0.10/24", 0)
	ll := a("fe80::10/64", 0)
	ula := a("fd00:77::10/64", 0)
	tentative, dadFailed := a("fd00:77::11/64", iface.AddrTentative), a("fd00:77::12/64", iface.AddrDADFailed)
	deprecated := a("fd00:77::13/64", iface.AddrDeprecated)
	for _, tc := range []struct {
		name string
		in   []iface.Addr
		want []string
	}{
		{"IPv4 only", []iface.Addr{v4}, []string{"10.77.0.10"}},
		{"link-local only where nothing wider", []iface.Addr{v4, ll},
			[]string{"10.77.0.10", "fe80::10"}},
		{"wider hides link-local", []iface.Addr{v4, ll, ula},
			[]string{"10.77.0.10", "fd00:77::10"}},
		{"tentative and DAD-failed left out", []iface.Addr{ll, tentative, dadFailed},
			[]string{"fe80::10"}},
		{"deprecated only without a preferred one", []iface.Addr{ll, deprecated, ula},
			[]string{"fd00:77::10"}},
		{"deprecated wide beats link-local", []iface.Addr{ll, deprecated},
			[]string{"fd00:77::13"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range advertised(tc.in) {
				got = append(got, x.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
