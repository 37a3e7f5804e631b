package publish_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/publish"
)

// TestNSPublishHotplug starts a Publisher on h0 while its only link is on
// a segment of its own; avahi-daemon on h1 browses another segment. When
// h0 gains a link to h1's segment, the Publisher probes and announces
// there: avahi-browse on h1 resolves the service, with its port and the
// new link's address, within 2 s.
func TestNSPublishHotplug(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {1}}})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "avahi-resolve")
	av := mdnslab.StartAvahi(t, h1, "hotpeer")
	ab := av.StartBrowse(t, "-rpk", "_postgresql._tcp")

	stop := startHot(t, h0)
	// Probing and announcing on eth0 alone are over after about 2 s.
	time.Sleep(2500 * time.Millisecond)
	if strings.Contains(ab.All(), ";hotdb;") {
		t.Fatalf("avahi-browse saw the service before the link exists:\n%s", ab.All())
	}

	ifname := lan.AddLink(t, h0, 1)
	addr := h0.Addr(ifname)
	start := time.Now()
	want := "=;eth0;IPv4;hotdb;_postgresql._tcp;local;hot0.local;" + addr.String() + ";5432;"
	at, err := ab.Wait(5*time.Second, want)
	if err != nil {
		t.Fatalf("avahi-browse: %v\n%s", err, ab.All())
	}
	t.Logf("avahi-browse resolved the service %v after the link came up", at.Sub(start))
	if d := at.Sub(start); d > 2*time.Second {
		t.Errorf("avahi-browse saw the service %v after the link came up, want within 2s", d)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// startHot runs a Publisher of "hotdb" (host "hot0") on h.
func startHot(t *testing.T, h *netnstest.Host) (stop func() error) {
	t.Helper()
	_, stop = startPublisher(t, h, publish.Config{
		Host:     "hot0",
		Services: []publish.Service{{Name: "hotdb", Type: pgType, Port: 5432}},
	})
	return stop
}

// startPublisher runs a Publisher of cfg on h (its lister, sockets and
// the test's log); stop stops it and returns Run's error.
func startPublisher(t *testing.T, h *netnstest.Host, cfg publish.Config) (pub *publish.Publisher, stop func() error) {
	t.Helper()
	cfg.Lister, cfg.ListenPacket, cfg.Logger = h.Lister(t), h.ListenPacket, testLogger(t)
	pub, err := publish.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	runErr := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		cancel()
		runErr()
	})
	return pub, func() error {
		cancel()
		return runErr()
	}
}

// TestNSPublishAddrChange changes the address of the Publisher's link
// (a new one added, the old one removed, as a new DHCP lease does):
// Avahi on h1 resolves the host name to the new address within 2 s,
// through the goodbye for the old address and the announcement of the
// new one; its cache would keep the old one for the 120 s TTL otherwise.
func TestNSPublishAddrChange(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon", "avahi-resolve")
	av := mdnslab.StartAvahi(t, h1, "hotpeer")
	stop := startHot(t, h0)
	ifname := "eth0"
	addr := h0.Addr(ifname)
	deadline := time.Now().Add(5 * time.Second)
	for resolve(t, av, "hot0.local") != addr.String() {
		if time.Now().After(deadline) {
			t.Fatalf("avahi-resolve hot0.local: no %s within 5 s of start", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // past the announcements
	moved := netip.MustParsePrefix("10.77.0.50/24")
	// Linux deletes the secondary addresses of a subnet with its primary
	// one unless told to promote them, as a DHCP client's host would be.
	if out, err := h0.Run(t, "sysctl", "-w", "net.ipv4.conf."+ifname+".promote_secondaries=1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	h0.AddAddr(t, ifname, moved)
	h0.DelAddr(t, ifname, netip.PrefixFrom(addr, 24))
	start := time.Now()
	deadline = start.Add(5 * time.Second)
	for {
		got := resolve(t, av, "hot0.local")
		if got == moved.Addr().String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-resolve hot0.local = %q 5 s after the address changed, want %s", got, moved.Addr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("avahi-resolve gives the new address %v after the change", time.Since(start))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("new address resolved %v after the change, want within 2s", d)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// resolve asks Avahi on its host for the IPv4 address of name
// (avahi-resolve, answered from its cache when it can) and returns it (""
// when it has none).
func resolve(t *testing.T, av *mdnslab.Avahi, name string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "avahi-resolve", "-4", "-n", name)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+av.Bus)
	var out strings.Builder
	cmd.Stdout = &out
	if err := av.Host.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		return ""
	}
	f := strings.Fields(out.String())
	if len(f) != 2 || f[0] != name {
		return ""
	}
	return f[1]
}

// TestNSPublishFlap changes the address of the Publisher's link every
// 200 ms for 5 s (a flapping link, or a DHCP client gone mad) and counts,
// from h1, the probes and announcements h0 sends meanwhile: each change
// asks for probing and announcing again, but the bursts are held apart
// (endpoint.Damper: 1 s, then 2 s, 4 s ...), so there are at most three
// bursts of three probes and two announcements, not one probe per change;
// once the flapping stops, the burst held back goes.
func TestNSPublishFlap(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	ep, err := mdnsnet.New(t.Context(), mdnsnet.Config{Lister: h1.Lister(t), ListenPacket: h1.ListenPacket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	var mu sync.Mutex
	var counting bool
	var probes, announcements, goodbyes int
	go ep.Run(t.Context(), func(p mdnsnet.Packet) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !counting || p.Src.Addr() != h0.Addr("eth0"):
		case !p.Msg.Response && len(p.Msg.Authorities) > 0:
			probes++
		case p.Msg.Response && slices.ContainsFunc(p.Msg.Answers, func(r mdns.Record) bool { return r.TTL > 0 }):
			announcements++
		case p.Msg.Response:
			goodbyes++
		}
	})
	stop := startHot(t, h0)
	time.Sleep(2500 * time.Millisecond) // past the first probes and announcements

	mu.Lock()
	counting = true
	mu.Unlock()
	extra := netip.MustParsePrefix("10.77.0.60/24")
	for i := range 25 {
		if i%2 == 0 {
			h0.AddAddr(t, "eth0", extra)
		} else {
			h0.DelAddr(t, "eth0", extra)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	gotProbes, gotAnnouncements, gotGoodbyes := probes, announcements, goodbyes
	mu.Unlock()
	t.Logf("25 changes in 5 s: %d probes, %d announcements, %d goodbyes", gotProbes, gotAnnouncements, gotGoodbyes)
	if gotProbes == 0 || gotGoodbyes == 0 {
		t.Errorf("no probe or no goodbye after the address changes")
	}
	if gotProbes > 3*3 || gotAnnouncements > 3*2 {
		t.Errorf("%d probes and %d announcements, want at most 9 and 6 (three bursts)", gotProbes, gotAnnouncements)
	}
	if gotGoodbyes > 6 {
		t.Errorf("%d goodbyes, want at most 6 (one a second)", gotGoodbyes)
	}
	// The burst held back goes once the hold is over: the link's last
	// state is announced.
	start := time.Now()
	for {
		mu.Lock()
		n := announcements
		mu.Unlock()
		if n > gotAnnouncements {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no announcement within 20 s after the flapping stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("announced %v after the flapping stopped", time.Since(start))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
