package iface

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func addr(s string) Addr {
	p := netip.MustParsePrefix(s)
	return Addr{Prefix: p, Broadcast: BroadcastOf(p)}
}

var (
	lo = Interface{Index: 1, Name: "lo", Flags: FlagUp | FlagRunning | FlagLoopback, MTU: 65536,
		Addrs: []Addr{addr("127.0.0.1/8")}}
	eth0 = Interface{Index: 2, Name: "eth0", Flags: FlagUp | FlagRunning | FlagBroadcast | FlagMulticast, MTU: 1500,
		HardwareAddr: net.HardwareAddr{2, 0, 10, 77, 0, 10}, Addrs: []Addr{addr("10.77.0.10/24")}}
	eth1Down = Interface{Index: 3, Name: "eth1", Flags: FlagBroadcast | FlagMulticast, MTU: 1500,
		Addrs: []Addr{addr("10.77.1.10/24")}}
	wg0 = Interface{Index: 4, Name: "wg0", Flags: FlagUp | FlagRunning | FlagPointToPoint, MTU: 1420,
		Addrs: []Addr{addr("10.99.0.1/32")}}
	eth2NoV4 = Interface{Index: 5, Name: "eth2", Flags: FlagUp | FlagBroadcast | FlagMulticast, MTU: 1500}
	eth3V6   = Interface{Index: 7, Name: "eth3", Flags: FlagUp | FlagRunning | FlagBroadcast | FlagMulticast,
		MTU: 1500, Addrs: []Addr{addr("fd00:77::10/64"), addr("fe80::10/64")}}
	eth4Tentative = Interface{Index: 8, Name: "eth4", Flags: FlagUp | FlagBroadcast | FlagMulticast, MTU: 1500,
		Addrs: []Addr{{Prefix: netip.MustParsePrefix("fe80::11/64"), Flags: AddrTentative}}}
	mcOnly = Interface{Index: 6, Name: "mc0", Flags: FlagUp | FlagMulticast, MTU: 1500,
		Addrs: []Addr{addr("192.168.5.2/24"), addr("192.168.6.2/23")}}
)

func TestFlagsString(t *testing.T) {
	for _, tc := range []struct {
		f    Flags
		want string
	}{
		{0, "0"},
		{FlagUp, "up"},
		{FlagUp | FlagBroadcast | FlagMulticast, "up|broadcast|multicast"},
		{FlagUp | FlagRunning | FlagBroadcast | FlagMulticast | FlagLoopback | FlagPointToPoint,
			"up|running|broadcast|multicast|loopback|pointtopoint"},
		{FlagLoopback | 1<<10, "loopback|0x400"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint32(tc.f), got, tc.want)
		}
	}
}

func TestBroadcastOf(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   string // "" for invalid
	}{
		{"10.77.0.10/24", "10.77.0.255"},
		{"10.77.0.0/24", "10.77.0.255"},
		{"192.168.1.130/25", "192.168.1.255"},
		{"192.168.1.100/25", "192.168.1.127"},
		{"172.16.5.4/12", "172.31.255.255"},
		{"10.1.2.3/8", "10.255.255.255"},
		{"10.1.2.3/30", "10.1.2.3"},
		{"10.1.2.0/30", "10.1.2.3"},
		{"127.0.0.1/8", "127.255.255.255"},
		{"1.2.3.4/0", "255.255.255.255"},
		{"10.1.2.3/31", ""},
		{"10.1.2.3/32", ""},
		{"fe80::1/64", ""},
		{"::ffff:10.0.0.1/120", ""},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			got := BroadcastOf(netip.MustParsePrefix(tc.prefix))
			if tc.want == "" {
				if got.IsValid() {
					t.Errorf("got %v, want invalid", got)
				}
				return
			}
			if want := netip.MustParseAddr(tc.want); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	if got := BroadcastOf(netip.Prefix{}); got.IsValid() {
		t.Errorf("zero prefix: got %v, want invalid", got)
	}
}

func TestUsable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		i      Interface
		ok     bool
		reason string
	}{
		{"eth0", eth0, true, ""},
		{"multicast only", mcOnly, true, ""},
		{"lo", lo, false, "loopback"},
		{"down", eth1Down, false, "down"},
		{"down loopback", Interface{Name: "lo", Flags: FlagLoopback}, false, "down"},
		{"point-to-point", wg0, false, "no broadcast or multicast"},
		{"no address", eth2NoV4, false, "no address"},
		{"IPv6 only", eth3V6, true, ""},
		{"IPv6 tentative", eth4Tentative, false, "no address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := tc.i.Usable()
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("got (%v, %q), want (%v, %q)", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		name string
		i    Interface
		a    string
		want bool
	}{
		{"same subnet", eth0, "10.77.0.99", true},
		{"own address", eth0, "10.77.0.10", true},
		{"broadcast", eth0, "10.77.0.255", true},
		{"other subnet", eth0, "10.77.1.10", false},
		{"mapped", eth0, "::ffff:10.77.0.99", true},
		{"IPv6", eth0, "fe80::1", false},
		{"IPv6 link-local", eth3V6, "fe80::99", true},
		{"IPv6 link-local zoned", eth3V6, "fe80::99%eth3", true},
		{"IPv6 link-local index zone", eth3V6, "fe80::99%7", true},
		{"IPv6 link-local other zone", eth3V6, "fe80::99%eth0", false},
		{"IPv6 ULA on-link", eth3V6, "fd00:77::99", true},
		{"IPv6 ULA off-link", eth3V6, "fd00:78::99", false},
		{"second prefix", mcOnly, "192.168.7.200", true},
		{"outside both", mcOnly, "192.168.8.1", false},
		{"no addresses", eth2NoV4, "10.0.0.1", false},
		{"host route", wg0, "10.99.0.1", true},
		{"host route other", wg0, "10.99.0.2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.i.Contains(netip.MustParseAddr(tc.a)); got != tc.want {
				t.Errorf("%s.Contains(%s) = %v, want %v", tc.i.Name, tc.a, got, tc.want)
			}
		})
	}
	if eth0.Contains(netip.Addr{}) {
		t.Errorf("eth0.Contains(zero Addr) = true, want false")
	}
}

func names(is []Interface) []string {
	var out []string
	for _, i := range is {
		out = append(out, i.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	eth9 := eth0
	eth9.Index, eth9.Name = 9, "eth9"
	eth9.Addrs = []Addr{addr("10.78.0.10/24")}
	docker0 := eth0
	docker0.Index, docker0.Name = 10, "docker0"
	docker0.Addrs = []Addr{addr("172.17.0.1/16")}
	veth := eth0
	veth.Index, veth.Name, veth.Addrs = 11, "veth1a2b", []Addr{addr("169.254.7.1/16")}
	for _, tc := range []struct {
		name     string
		all      []Interface
		names    []string
		excludes []string
		want     []string
		err      string // substring; "" for success
	}{
		{"default", []Interface{lo, eth0, eth1Down, wg0, eth2NoV4}, nil, nil, []string{"eth0"}, ""},
		{"default sorted by index", []Interface{mcOnly, eth9, lo, eth0}, nil, nil, []string{"eth0", "mc0", "eth9"}, ""},
		{"default none", []Interface{lo, eth1Down, wg0, eth2NoV4}, nil, nil, nil,
			"iface: no usable interface (lo: loopback; eth1: down; wg0: no broadcast or multicast; eth2: no address)"},
		{"default empty", nil, nil, nil, nil, "iface: no usable interface (no interfaces)"},
		{"named", []Interface{lo, eth0, mcOnly, eth9}, []string{"eth9", "eth0"}, nil, []string{"eth0", "eth9"}, ""},
		{"named duplicates", []Interface{lo, eth0}, []string{"eth0", "eth0"}, nil, []string{"eth0"}, ""},
		{"named loopback", []Interface{lo, eth0}, []string{"lo"}, nil, []string{"lo"}, ""},
		{"named point-to-point", []Interface{wg0, eth0}, []string{"wg0"}, nil, []string{"wg0"}, ""},
		{"named missing", []Interface{lo, eth0}, []string{"eth0", "eth9"}, nil, nil, `iface: no interface named "eth9"`},
		{"named down", []Interface{lo, eth0, eth1Down}, []string{"eth1"}, nil, nil, "iface: eth1 is down"},
		{"named no address", []Interface{eth2NoV4}, []string{"eth2"}, nil, nil, "iface: eth2 has no address"},

		{"glob", []Interface{lo, eth0, eth9, docker0}, []string{"eth*"}, nil, []string{"eth0", "eth9"}, ""},
		{"glob skips unusable matches", []Interface{eth0, eth1Down, eth2NoV4}, []string{"eth?"}, nil, []string{"eth0"}, ""},
		{"glob and name overlap", []Interface{eth0, eth9}, []string{"eth*", "eth0"}, nil, []string{"eth0", "eth9"}, ""},
		{"glob class", []Interface{eth0, eth9, mcOnly}, []string{"eth[0-5]"}, nil, []string{"eth0"}, ""},
		{"glob matches nothing", []Interface{lo, eth0}, []string{"wlan*"}, nil, nil, `iface: no interface matches "wlan*"`},
		{"glob matches only unusable", []Interface{eth0, eth1Down, eth2NoV4}, []string{"eth[12]"}, nil, nil,
			`iface: no usable interface matches "eth[12]" (eth1: down; eth2: no address)`},
		{"glob star skips loopback", []Interface{lo, eth0}, []string{"*"}, nil, []string{"eth0"}, ""},
		{"bad glob", []Interface{eth0}, []string{"eth["}, nil, nil, `iface: bad interface pattern "eth["`},

		{"exclude globs", []Interface{lo, eth0, docker0, veth}, nil, []string{"docker*", "veth*"}, []string{"eth0"}, ""},
		{"exclude plain name", []Interface{eth0, eth9}, nil, []string{"eth9"}, []string{"eth0"}, ""},
		{"exclude matching nothing", []Interface{eth0}, nil, []string{"wlan*"}, []string{"eth0"}, ""},
		{"exclude after glob", []Interface{eth0, eth9}, []string{"eth*"}, []string{"eth9"}, []string{"eth0"}, ""},
		{"exclude everything by default", []Interface{lo, eth0, docker0}, nil, []string{"*"}, nil,
			"iface: no usable interface (lo: loopback; eth0: excluded; docker0: excluded)"},
		{"exclude everything named", []Interface{eth0, eth9}, []string{"eth0"}, []string{"eth*"}, nil,
			"iface: every interface selected is excluded (eth0)"},
		{"bad exclude", []Interface{eth0}, nil, []string{"[x"}, nil, `iface: bad interface pattern "[x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.all, tc.names, tc.excludes)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want %q", err, tc.err)
				}
				var se *SelectError
				if !errors.As(err, &se) {
					t.Errorf("got error type %T, want *SelectError", err)
				}
				if got != nil {
					t.Errorf("got %v with error, want nil", names(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("got %v, want %v", names(got), tc.want)
			}
		})
	}
}

// TestSelectTemporary checks which selection errors may go away when an
// interface comes up or gets an address (exit status 1 in the CLI, so that
// systemd restarts an announcer started before the network), and which
// only a change of configuration fixes.
func TestSelectTemporary(t *testing.T) {
	for _, tc := range []struct {
		name      string
		all       []Interface
		names     []string
		excludes  []string
		temporary bool
	}{
		{"default, all down or without IPv4", []Interface{lo, eth1Down, eth2NoV4}, nil, nil, true},
		{"default, only loopback and point-to-point", []Interface{lo, wg0}, nil, nil, false},
		{"default, no interfaces", nil, nil, nil, false},
		{"default, the usable one excluded, another down", []Interface{eth0, eth1Down}, nil, []string{"eth0"}, true},
		{"default, everything excluded", []Interface{lo, eth0}, nil, []string{"*"}, false},
		{"default, everything excluded, one down", []Interface{lo, eth0, eth1Down}, nil, []string{"*"}, false},
		{"default, all down, the down ones excluded", []Interface{lo, eth1Down}, nil, []string{"eth1"}, false},
		{"glob matching only down ones, excluded", []Interface{eth0, eth1Down}, []string{"eth1*"}, []string{"eth1"}, false},
		{"named down", []Interface{eth0, eth1Down}, []string{"eth1"}, nil, true},
		{"named without IPv4", []Interface{eth2NoV4}, []string{"eth2"}, nil, true},
		{"named missing", []Interface{eth0}, []string{"eth9"}, nil, false},
		{"glob matching only down ones", []Interface{eth0, eth1Down}, []string{"eth1*"}, nil, true},
		{"glob matching nothing", []Interface{eth0}, []string{"wlan*"}, nil, false},
		{"bad pattern", []Interface{eth0}, []string{"eth["}, nil, false},
		{"named, then excluded", []Interface{eth0}, []string{"eth0"}, []string{"eth*"}, false},
	} {
		_, err := Select(tc.all, tc.names, tc.excludes)
		var se *SelectError
		if !errors.As(err, &se) {
			t.Errorf("%s: got error %v, want a *SelectError", tc.name, err)
			continue
		}
		if se.Temporary() != tc.temporary {
			t.Errorf("%s: %v: got Temporary() %t, want %t", tc.name, err, se.Temporary(), tc.temporary)
		}
	}
}

func TestMatchName(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		name     string
		want     bool
	}{
		{nil, "eth0", false},
		{[]string{"eth0"}, "eth0", true},
		{[]string{"eth0"}, "eth01", false},
		{[]string{"docker*", "veth*"}, "veth9f3", true},
		{[]string{"br-*"}, "br-1234", true},
		{[]string{"[bad"}, "[bad", false},
	} {
		if got := MatchName(tc.patterns, tc.name); got != tc.want {
			t.Errorf("MatchName(%q, %q) = %v, want %v", tc.patterns, tc.name, got, tc.want)
		}
	}
	for p, want := range map[string]bool{"eth0": false, "eth*": true, "eth?": true, "eth[01]": true, `eth\0`: true, "br-lan": false} {
		if got := IsGlob(p); got != want {
			t.Errorf("IsGlob(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestSelectCopies(t *testing.T) {
	all := []Interface{eth0.clone()}
	got, err := Select(all, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got[0].Addrs[0] = addr("1.2.3.4/8")
	got[0].HardwareAddr[0] = 0xff
	if all[0].Addrs[0] != eth0.Addrs[0] || all[0].HardwareAddr[0] != eth0.HardwareAddr[0] {
		t.Errorf("modifying Select's result changed its input: %v", all[0])
	}
}

func TestStatic(t *testing.T) {
	s := Static{lo.clone(), eth0.clone()}
	got, err := s.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Name != "eth0" || got[1].Addrs[0] != eth0.Addrs[0] {
		t.Fatalf("got %v, want %v", got, s)
	}
	got[1].Addrs[0] = addr("1.2.3.4/8")
	got[1].HardwareAddr[5] = 0xff
	got[0].Name = "x"
	if s[1].Addrs[0] != eth0.Addrs[0] || s[1].HardwareAddr[5] != eth0.HardwareAddr[5] || s[0].Name != "lo" {
		t.Errorf("modifying Interfaces' result changed the Static: %v", s)
	}
	if got, err := Static(nil).Interfaces(); got != nil || err != nil {
		t.Errorf("Static(nil).Interfaces() = %v, %v; want nil, nil", got, err)
	}
}

func TestAddrString(t *testing.T) {
	for _, tc := range []struct {
		a    Addr
		want string
	}{
		{addr("10.77.0.10/24"), "10.77.0.10/24 brd 10.77.0.255"},
		{addr("10.77.0.10/32"), "10.77.0.10/32"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	want := "eth0 (2) up|running|broadcast|multicast 10.77.0.10/24 brd 10.77.0.255"
	if got := eth0.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFromNet covers the conversion the non-Linux fallback lister uses.
func TestFromNet(t *testing.T) {
	ni := net.Interface{
		Index:        3,
		Name:         "en0",
		MTU:          1500,
		HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		Flags:        net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast,
	}
	addrs := []net.Addr{
		&net.IPNet{IP: net.IPv4(192, 168, 1, 20), Mask: net.CIDRMask(24, 32)},   // 16-byte IP, 4-byte mask
		&net.IPNet{IP: net.IP{10, 0, 0, 1}.To4(), Mask: net.CIDRMask(31, 32)},   // no broadcast
		&net.IPNet{IP: net.IPv4(172, 16, 0, 9), Mask: net.CIDRMask(96+20, 128)}, // 16-byte mask
		&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},     // IPv6 link-local
		&net.IPNet{IP: net.ParseIP("fd00:77::9"), Mask: net.CIDRMask(64, 32)},   // bad mask: dropped
		&net.IPNet{IP: net.IPv4(10, 1, 1, 1), Mask: net.IPMask{255, 0, 255, 0}}, // non-canonical: dropped
		&net.IPAddr{IP: net.IPv4(10, 2, 2, 2)},                                  // not an IPNet: dropped
	}
	got := fromNet(ni, addrs)
	want := Interface{
		Index:        3,
		Name:         "en0",
		Flags:        FlagUp | FlagRunning | FlagBroadcast | FlagMulticast,
		MTU:          1500,
		HardwareAddr: ni.HardwareAddr,
		Addrs: []Addr{
			addr("192.168.1.20/24"),
			addr("10.0.0.1/31"),
			addr("172.16.0.9/20"),
			addr("fe80::1/64"),
		},
	}
	if got.String() != want.String() || !slices.Equal(got.Addrs, want.Addrs) ||
		got.MTU != want.MTU || got.HardwareAddr.String() != want.HardwareAddr.String() {
		t.Errorf("got %v, want %v", got, want)
	}
	ni.HardwareAddr[0] = 0xff
	if got.HardwareAddr[0] == 0xff {
		t.Errorf("fromNet shares the hardware address with its input")
	}
}

func TestNewAddrBroadcastAttribute(t *testing.T) {
	ipnet := &net.IPNet{IP: net.IPv4(10, 77, 0, 10), Mask: net.CIDRMask(24, 32)}
	for _, tc := range []struct {
		name string
		brd  net.IP
		want string
	}{
		{"absent", nil, "10.77.0.255"},
		{"unspecified", net.IPv4zero, "10.77.0.255"},
		{"set", net.IPv4(10, 77, 0, 127), "10.77.0.127"},
		{"set 4-byte", net.IP{10, 77, 0, 63}, "10.77.0.63"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := newAddr(ipnet, tc.brd)
			if !ok {
				t.Fatal("newAddr failed")
			}
			if want := netip.MustParseAddr(tc.want); a.Broadcast != want {
				t.Errorf("got %v, want %v", a.Broadcast, want)
			}
		})
	}
}
