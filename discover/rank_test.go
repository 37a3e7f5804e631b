package discover

import (
	"net/netip"
	"slices"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestRankAddrs(t *testing.T) {
	lan := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	ula, linkLocal := netip.MustParsePrefix("fd00:77::/64"), netip.MustParsePrefix("fe80::/64")
	tests := []struct {
		name    string
		addrs   []netip.Addr
		src     string
		local   []netip.Prefix
		prefer6 bool
		want    []netip.Addr
	}{
		{
			name:  "empty",
			src:   "192.168.1.5",
			local: lan,
		},
		{
			name:  "arrival subnet before other LANs",
			addrs: addrs("10.0.0.5", "192.168.1.5"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("192.168.1.5", "10.0.0.5"),
		},
		{
			name:  "source first within the arrival subnet",
			addrs: addrs("192.168.1.6", "192.168.1.5"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("192.168.1.5", "192.168.1.6"),
		},
		{
			name:  "docker, podman, libvirt and link-local last",
			addrs: addrs("169.254.3.4", "172.17.0.1", "10.88.0.1", "192.168.122.1", "10.1.2.3", "192.168.1.5"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("192.168.1.5", "10.1.2.3", "172.17.0.1", "10.88.0.1", "192.168.122.1", "169.254.3.4"),
		},
		{
			name:  "a bridge default that is the LAN itself is on-link",
			addrs: addrs("10.0.0.9", "192.168.122.20"),
			src:   "192.168.122.10",
			local: []netip.Prefix{netip.MustParsePrefix("192.168.122.0/24")},
			want:  addrs("192.168.122.20", "10.0.0.9"),
		},
		{
			name:  "other 172.16/12 subnets are ordinary private addresses",
			addrs: addrs("172.17.0.1", "172.20.0.4"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("172.20.0.4", "172.17.0.1"),
		},
		{
			name:  "loopback, multicast and unspecified after link-local",
			addrs: addrs("127.0.0.1", "0.0.0.0", "239.1.1.1", "169.254.1.1", "192.168.1.5"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("192.168.1.5", "169.254.1.1", "127.0.0.1", "0.0.0.0", "239.1.1.1"),
		},
		{
			name:  "announcer order kept within a rank",
			addrs: addrs("10.9.0.1", "10.8.0.1", "10.7.0.1"),
			src:   "192.168.1.5",
			local: lan,
			want:  addrs("10.9.0.1", "10.8.0.1", "10.7.0.1"),
		},
		{
			name:  "no arrival prefixes known",
			addrs: addrs("169.254.1.1", "10.0.0.2", "10.0.0.1"),
			src:   "10.0.0.1",
			want:  addrs("10.0.0.1", "10.0.0.2", "169.254.1.1"),
		},
		{
			name:  "a link-local source is still the best",
			addrs: addrs("10.0.0.2", "169.254.7.7"),
			src:   "169.254.7.7",
			local: []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16")},
			want:  addrs("169.254.7.7", "10.0.0.2"),
		},
		{
			name:  "dual stack: same subnet first, IPv4 first, link-local last with zone",
			addrs: addrs("fe80::a", "2001:db8::a", "10.1.0.1", "fd00:77::a", "192.168.1.5"),
			src:   "fe80::a%eth0",
			local: []netip.Prefix{lan[0], ula, linkLocal},
			want:  addrs("192.168.1.5", "fd00:77::a", "10.1.0.1", "2001:db8::a", "fe80::a%eth0"),
		},
		{
			name:    "dual stack, IPv6 preferred",
			addrs:   addrs("fe80::a", "2001:db8::a", "10.1.0.1", "fd00:77::a", "192.168.1.5"),
			src:     "192.168.1.5",
			local:   []netip.Prefix{lan[0], ula},
			prefer6: true,
			want:    addrs("fd00:77::a", "192.168.1.5", "2001:db8::a", "10.1.0.1", "fe80::a%eth0"),
		},
		{
			name:  "IPv6 only: unique local before link-local",
			addrs: addrs("fe80::b", "fd00:77::b"),
			src:   "fe80::b%eth0",
			local: []netip.Prefix{ula, linkLocal},
			want:  addrs("fd00:77::b", "fe80::b%eth0"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.addrs)
			got := rankAddrs(tc.addrs, netip.MustParseAddr(tc.src), tc.local, tc.prefer6, "eth0")
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if !slices.Equal(tc.addrs, in) {
				t.Errorf("input modified: got %v, want %v", tc.addrs, in)
			}
		})
	}
}
