package doctor

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
)

// checkFindings fails t unless findings, as "level: message", match want
// one by one.
func checkFindings(t *testing.T, findings []Finding, want []string) {
	t.Helper()
	var got []string
	for _, f := range findings {
		got = append(got, f.Level+": "+f.Message)
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = regexp.MustCompile(want[i]).MatchString(got[i])
	}
	if !ok {
		t.Errorf("got\n  %s\nwant matches for\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestCheckInterfaces(t *testing.T) {
	p := func(s string) []iface.Addr {
		pr := netip.MustParsePrefix(s)
		return []iface.Addr{{Prefix: pr, Broadcast: iface.BroadcastOf(pr)}}
	}
	up := iface.FlagUp | iface.FlagRunning
	bm := iface.FlagBroadcast | iface.FlagMulticast
	all := []iface.Interface{
		{Index: 1, Name: "lo", Flags: up | iface.FlagLoopback, Addrs: p("127.0.0.1/8")},
		{Index: 2, Name: "eth0", Flags: up | bm, Addrs: p("192.168.1.5/24")},
		{Index: 3, Name: "eth1", Flags: bm, Addrs: p("192.168.2.5/24")},
		{Index: 4, Name: "wg0", Flags: up | iface.FlagPointToPoint, Addrs: p("10.9.0.2/32")},
		{Index: 5, Name: "docker0", Flags: up | bm, Addrs: p("172.17.0.1/16")},
		{Index: 6, Name: "tun0", Flags: up | iface.FlagPointToPoint | iface.FlagMulticast, Addrs: p("10.8.0.6/24")},
		{Index: 7, Name: "eth2", Flags: iface.FlagUp | bm, Addrs: p("192.168.3.5/24")},
		{Index: 8, Name: "veth12ab", Flags: up | bm, Addrs: p("169.254.3.3/16")},
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
		sel  []string
	}{
		{"default", Config{}, []string{
			`^note: lo is not used: loopback`,
			`^ok: eth0 \(up, broadcast, multicast; 192\.168\.1\.5/24\) is used$`,
			`^note: eth1 is not used: down$`,
			`^note: wg0 is not used: a point-to-point link \(a VPN tunnel\?\) without broadcast or multicast`,
			`^note: docker0 \(.*\) is used, but it looks like a Docker bridge`,
			`^note: tun0 \(up, multicast; 10\.8\.0\.6/24\) is used, but it looks like a VPN tunnel`,
			`^note: eth2 \(.*\) is used but has no carrier`,
			`^note: veth12ab \(.*\) is used, but it looks like the host end of a container's veth pair`,
		}, []string{"eth0", "docker0", "tun0", "eth2", "veth12ab"}},
		{"excluded", Config{Interfaces: []string{"eth*"}, ExcludeInterfaces: []string{"eth2", "docker*"}}, []string{
			`^note: lo is not used: loopback`,
			`^ok: eth0 .* is used$`,
			`^note: eth1 is not used: down$`,
			`^note: wg0 is not used: a point-to-point`,
			`^note: docker0 is not used: excluded by --exclude-iface$`,
			`^note: tun0 is not used: not named by --iface$`,
			`^note: eth2 is not used: excluded by --exclude-iface$`,
			`^note: veth12ab is not used: not named by --iface$`,
		}, []string{"eth0"}},
		{"no carrier anywhere", Config{Interfaces: []string{"eth2"}}, []string{
			`lo is not used`, `eth0 is not used: not named`, `eth1 is not used`, `wg0 is not used`, `docker0 is not used`, `tun0 is not used`,
			`^problem: eth2 \(.*\) is used but has no carrier: nothing it sends leaves this host$`,
			`veth12ab is not used`,
		}, []string{"eth2"}},
		{"nothing selected", Config{Interfaces: []string{"nosuch0"}}, []string{
			`lo is not used`, `eth0 is not used`, `eth1 is not used`, `wg0 is not used`, `docker0 is not used`, `tun0 is not used`, `eth2 is not used`, `veth12ab is not used`,
			`^problem: iface: no interface named "nosuch0"$`,
			`^note: skipped the port, firewall, multicast and self checks`,
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r report
			sel := checkInterfaces(&r, all, tc.cfg)
			checkFindings(t, r.findings, tc.want)
			var names []string
			for _, i := range sel {
				names = append(names, i.Name)
			}
			if !reflect.DeepEqual(names, tc.sel) {
				t.Errorf("selected %v, want %v", names, tc.sel)
			}
		})
	}
}

func TestReportPeer(t *testing.T) {
	eth0 := iface.Interface{Index: 2, Name: "eth0"}
	docker0 := iface.Interface{Index: 5, Name: "docker0"}
	now := time.Now()
	src := netip.MustParseAddr("10.0.0.7")
	svc := func(typ string, ttl time.Duration) beacon.Service {
		return beacon.Service{Instance: 7, Name: "db", Type: typ, Port: 5432, Host: "nas", TTL: ttl}
	}
	seen := func(at time.Duration, kind beacon.Kind, ifIndex int, s beacon.Service) sighting {
		// A reply here answers the probe's query.
		return sighting{at: now.Add(at), kind: kind, src: src, ifIndex: ifIndex, svc: s, answer: kind == beacon.KindReply}
	}
	for _, tc := range []struct {
		name  string
		typ   string
		peer  []sighting
		names []string
		want  []string
	}{
		{"heard", "", []sighting{seen(0, beacon.KindReply, 2, svc("postgres", 15*time.Second))},
			[]string{"db"}, []string{`^ok: "db" is heard from 10\.0\.0\.7 on eth0: port 5432, host "nas", TTL 15s$`}},
		{"used and other interface", "", []sighting{seen(0, beacon.KindReply, 2, svc("", 15*time.Second)), seen(time.Millisecond, beacon.KindAnnounce, 5, svc("", 15*time.Second))},
			[]string{"db"}, []string{`^ok: "db" is heard from 10\.0\.0\.7 on eth0: `}},
		{"queries not answered", "", []sighting{seen(0, beacon.KindAnnounce, 2, svc("", 15*time.Second)), seen(time.Second, beacon.KindAnnounce, 2, svc("", 15*time.Second))},
			[]string{"db"}, []string{`^problem: "db": beacons heard from 10\.0\.0\.7 on eth0, queries not answered: check the firewall on 10\.0\.0\.7$`}},
		{"reply to another query", "", []sighting{{at: now, kind: beacon.KindReply, src: src, ifIndex: 2, svc: svc("", 15*time.Second)}},
			[]string{"db"}, []string{`queries not answered: check the firewall on 10\.0\.0\.7$`}},
		{"one of two instances fine", "postgres", []sighting{
			seen(0, beacon.KindReply, 2, beacon.Service{Instance: 8, Name: "db", Type: "mysql", TTL: time.Minute}),
			seen(0, beacon.KindReply, 2, svc("postgres", 15*time.Second))},
			[]string{"db"}, []string{`^note: a service named "db" is heard from .* but its type is "mysql"$`, `^ok: "db" of type "postgres" is heard from 10\.0\.0\.7 on eth0: `}},
		{"other interface", "", []sighting{seen(0, beacon.KindAnnounce, 5, svc("", 15*time.Second))},
			[]string{"db"}, []string{`^problem: "db" is heard from 10\.0\.0\.7 on docker0, which lanfind does not use \(excluded by --exclude-iface\)$`}},
		{"type", "mysql", []sighting{seen(0, beacon.KindReply, 2, svc("postgres", 15*time.Second))},
			[]string{"db"}, []string{`^problem: a service named "db" is heard from 10\.0\.0\.7 on eth0, but its type is "postgres"$`}},
		{"goodbye", "", []sighting{seen(0, beacon.KindAnnounce, 2, svc("", 15*time.Second)), seen(time.Second, beacon.KindGoodbye, 2, svc("", 0))},
			[]string{"db"}, []string{`^problem: "db" said goodbye from 10\.0\.0\.7 on eth0 .* ago: its announcer stopped$`}},
		{"expires", "", []sighting{seen(0, beacon.KindAnnounce, 2, svc("", time.Second)), seen(3*time.Second, beacon.KindAnnounce, 2, svc("", time.Second))},
			[]string{"db"}, []string{`^problem: "db" is heard from 10\.0\.0\.7 on eth0, but its beacons came 3s apart while its TTL is 1s: listeners forget it between beacons \(expired\)$`}},
		{"silent LAN", "", nil, nil, []string{`^problem: no beacon from "db" was heard on any interface within 6s$`}},
		{"others heard", "", nil, []string{"web", "nas"}, []string{`^problem: no beacon from "db" was heard on any interface within 6s; 2 other services heard, so this host does hear the LAN$`}},
		{"case", "", nil, []string{"DB", "web"}, []string{`; names differ in case only: "DB"$`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{ExcludeInterfaces: []string{"docker*"}, Port: 28471, Group: beacon.DefaultGroup, Peer: "db", Type: tc.typ, Listen: 6 * time.Second}
			p := newProbe(&endpoint.Plan{
				All:      []iface.Interface{eth0, docker0},
				Selected: []iface.Interface{eth0},
			}, cfg)
			p.peer = tc.peer
			for _, n := range tc.names {
				p.names[n] = true
			}
			var r report
			p.reportPeer(&r)
			checkFindings(t, r.findings, tc.want)
		})
	}
}

// TestProbeFlood feeds doctor's probe what an attacker on the LAN can send
// while it listens: announcements from ever new forged source addresses,
// with ever new service names, and records of the --peer service under
// ever new instance IDs. Memory, time and the report stay bounded.
func TestProbeFlood(t *testing.T) {
	eth0 := iface.Interface{Index: 2, Name: "eth0"}
	cfg := Config{Port: 28471, Group: beacon.DefaultGroup, Peer: "db", Listen: 6 * time.Second}
	p := newProbe(&endpoint.Plan{
		All:      []iface.Interface{eth0},
		Selected: []iface.Interface{eth0},
	}, cfg)
	now := time.Now()
	const n = 20000
	for i := range n {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: uint64(i + 1), Seq: 1, Services: []beacon.Service{
			{Instance: uint64(i), Name: fmt.Sprintf("svc%d", i), TTL: time.Minute},
			{Instance: uint64(i), Name: "db", TTL: time.Minute},
		}}
		d := endpoint.Datagram{
			Beacon: b,
			Src:    netip.AddrPortFrom(src, 28471),
			Meta:   udp.Meta{IfIndex: 2},
		}
		p.receive(packet{d: d, at: now.Add(time.Duration(i) * time.Microsecond)})
	}
	if got := len(p.others[2]); got > maxOthers {
		t.Errorf("%d source addresses kept, want at most %d", got, maxOthers)
	}
	if got := len(p.names); got > maxNames {
		t.Errorf("%d names kept, want at most %d", got, maxNames)
	}
	if got := len(p.peer); got > maxSightings {
		t.Errorf("%d sightings of the peer kept, want at most %d", got, maxSightings)
	}
	var r report
	p.report(&r)
	if len(r.findings) > maxPeerInstances+10 {
		t.Errorf("%d findings, want at most %d instances of the peer and a few more", len(r.findings), maxPeerInstances+10)
	}
	for _, f := range r.findings {
		if strings.Contains(f.Message, "other hosts") && !strings.Contains(f.Message, "and at least") {
			t.Errorf("finding %q does not say the list of hosts was cut", f.Message)
		}
	}
}

// TestCheckBridges reads a stand-in for /sys/class/net: a bridge that
// snoops without a querier (a note, or a problem without broadcast), one
// that is its own querier, one that does not snoop, and an interface that
// is no bridge.
func TestCheckBridges(t *testing.T) {
	dir := t.TempDir()
	for name, flags := range map[string][2]string{
		"vmbr0": {"1", "0"}, "br-q": {"1", "1"}, "br-off": {"0", "0"},
	} {
		b := filepath.Join(dir, name, "bridge")
		if err := os.MkdirAll(b, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(b, "multicast_snooping"), []byte(flags[0]+"\n"), 0o644)
		os.WriteFile(filepath.Join(b, "multicast_querier"), []byte(flags[1]+"\n"), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "eth0"), 0o755)
	defer func(old string) { sysClassNet = old }(sysClassNet)
	sysClassNet = dir
	sel := []iface.Interface{{Name: "eth0"}, {Name: "vmbr0"}, {Name: "br-q"}, {Name: "br-off"}}
	var r report
	checkBridges(&r, sel, false)
	checkFindings(t, r.findings, []string{
		`^note: bridge vmbr0 snoops multicast without a querier: multicast to the group stops reaching ` +
			`the hosts behind it a few minutes after their last join; broadcast is not snooped, so ` +
			`lanfind still works by broadcast$`,
		`^ok: bridge br-q: multicast snooping on, querier on$`,
		`^ok: bridge br-off: multicast snooping off, querier off$`,
	})
	r = report{}
	checkBridges(&r, sel[:2], true)
	checkFindings(t, r.findings, []string{`^problem: bridge vmbr0 snoops multicast without a querier: .*; ` +
		`--no-broadcast leaves lanfind nothing that still works$`})
}
