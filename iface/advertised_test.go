package iface

import (
	"net/netip"
	"slices"
	"testing"
)

func TestAdvertised(t *testing.T) {
	a := func(s string, f AddrFlags) Addr {
		return Addr{Prefix: netip.MustParsePrefix(s), Flags: f}
	}
	v4 := a("10.77.0.10/24", 0)
	ll := a("fe80::10/64", 0)
	ula := a("fd00:77::10/64", 0)
	tentative, dadFailed := a("fd00:77::11/64", AddrTentative), a("fd00:77::12/64", AddrDADFailed)
	deprecated := a("fd00:77::13/64", AddrDeprecated)
	for _, tc := range []struct {
		name string
		in   []Addr
		want []string
	}{
		{"IPv4 only", []Addr{v4}, []string{"10.77.0.10"}},
		{"link-local only where nothing wider", []Addr{v4, ll},
			[]string{"10.77.0.10", "fe80::10"}},
		{"wider hides link-local", []Addr{v4, ll, ula},
			[]string{"10.77.0.10", "fd00:77::10"}},
		{"tentative and DAD-failed left out", []Addr{ll, tentative, dadFailed},
			[]string{"fe80::10"}},
		{"deprecated only without a preferred one", []Addr{ll, deprecated, ula},
			[]string{"fd00:77::10"}},
		{"deprecated wide beats link-local", []Addr{ll, deprecated},
			[]string{"fd00:77::13"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range (Interface{Addrs: tc.in}).Advertised() {
				got = append(got, x.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSource6(t *testing.T) {
	a := func(s string, f AddrFlags) Addr { return Addr{Prefix: netip.MustParsePrefix(s), Flags: f} }
	for _, tc := range []struct {
		name string
		in   []Addr
		want string // "" for the kernel's choice
	}{
		{"IPv4 only", []Addr{a("10.77.0.10/24", 0)}, ""},
		{"link-local only", []Addr{a("fe80::10/64", 0)}, ""},
		{"unique local", []Addr{a("fe80::10/64", 0), a("fd00:77::10/64", 0)}, "fd00:77::10"},
		{"preferred before deprecated", []Addr{a("fd00:77::13/64", AddrDeprecated), a("2001:db8::1/64", 0)},
			"2001:db8::1"},
		{"tentative is no source", []Addr{a("fe80::10/64", 0), a("fd00:77::11/64", AddrTentative)}, ""},
	} {
		got := (Interface{Addrs: tc.in}).Source6()
		if tc.want == "" && got.IsValid() || tc.want != "" && got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, got, tc.want)
		}
	}
}
