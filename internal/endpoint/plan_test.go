package endpoint

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
)

var eth0 = iface.Interface{Index: 2, Name: "eth0", Flags: iface.FlagUp | iface.FlagBroadcast | iface.FlagMulticast,
	Addrs: []iface.Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255")}}}

func TestNewPlan(t *testing.T) {
	ptp := iface.Interface{Index: 3, Name: "tun0", Flags: iface.FlagUp | iface.FlagPointToPoint,
		Addrs: []iface.Addr{{Prefix: netip.MustParsePrefix("10.9.0.1/32")}}}
	tests := []struct {
		name        string
		cfg         Config
		wantErr     string
		wantTargets int
	}{
		{"defaults", Config{Lister: iface.Static{eth0}}, "", 2},
		{"broadcast only", Config{Lister: iface.Static{eth0}, NoMulticast: true}, "", 1},
		{"bad group", Config{Lister: iface.Static{eth0}, Group: netip.MustParseAddr("10.0.0.1")}, "group 10.0.0.1 is not an IPv4 multicast address", 0},
		{"nothing to send with", Config{Lister: iface.Static{eth0}, NoBroadcast: true, NoMulticast: true}, "both broadcast and multicast are disabled", 0},
		{"unknown interface", Config{Lister: iface.Static{eth0}, Interfaces: []string{"eth9"}}, `no interface named "eth9"`, 0},
		{"no destination", Config{Lister: iface.Static{ptp}, Interfaces: []string{"tun0"}}, "no broadcast or multicast destination on tun0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			if p.Port != beacon.DefaultPort || p.Group != beacon.DefaultGroup || len(p.Targets) != tc.wantTargets {
				t.Fatalf("got port %d group %v %d targets, want %d %v %d", p.Port, p.Group, len(p.Targets),
					beacon.DefaultPort, beacon.DefaultGroup, tc.wantTargets)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	good := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 1, Seq: 1,
		Services: []beacon.Service{{Instance: 1, Name: "db", TTL: time.Second}}}
	p, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	newer := append([]byte(nil), p...)
	newer[4] = 2 // version
	tests := []struct {
		name string
		p    []byte
		want Drop
	}{
		{"beacon", p, Keep},
		{"foreign", []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"), Foreign},
		{"short", p[:3], Foreign},
		{"truncated", p[:beacon.HeaderSize+2], Malformed},
		{"newer version", newer, Unsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := Decode(tc.p)
			if got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
			if (got == Malformed || got == Unsupported) && err == nil {
				t.Fatal("got no error for a drop, want the parse error")
			}
		})
	}
}

func TestRandomIDDiffers(t *testing.T) {
	if a, b := RandomID(), RandomID(); a == b {
		t.Fatalf("got %x twice, want two different IDs", a)
	}
}
