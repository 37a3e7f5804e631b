package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestNSMDNSHotplug starts "announce --mdns" and "watch --mdns" on h0
// while its only link is on a segment of its own, and avahi-daemon on
// h1, on another segment, with a printer. When h0 gains a link to h1's
// segment, Avahi resolves the announced service within 2 s and watch
// reports the printer through the new link; when the link goes, watch
// reports the printer down with reason iface-down.
func TestNSMDNSHotplug(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {1}}})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	av := mdnslab.StartAvahi(t, h1, "hotprint",
		mdnslab.Service{Name: "Hot Printer", Type: "_ipp._tcp", Port: 631})
	ab := av.StartBrowse(t, "-rpk", "_postgresql._tcp")
	ann := startAnnouncer(t, h0, "--mdns", "--name", "hotdb", "--type", "postgresql", "--port", "5432",
		"--hostname", "hot0")
	w := startWatch(t, h0, "--mdns", "--json", "--type", "ipp")
	time.Sleep(2500 * time.Millisecond) // past probing and the first queries on eth0

	ifname := lan.AddLink(t, h0, 1)
	start := time.Now()
	want := "=;eth0;IPv4;hotdb;_postgresql._tcp;local;hot0.local;" + h0.Addr(ifname).String() + ";5432;"
	at, err := ab.Wait(5*time.Second, want)
	if err != nil {
		t.Fatalf("avahi-browse: %v\n%s", err, ab.All())
	}
	t.Logf("avahi-browse resolved hotdb %v after the link came up", at.Sub(start))
	if d := at.Sub(start); d > 2*time.Second {
		t.Errorf("avahi-browse saw hotdb %v after the link came up, want within 2s", d)
	}
	ev := w.expectEvent(t, "up", "", "Hot Printer")
	t.Logf("watch: %s, %v after the link came up", ev, time.Since(start))
	if ev.Service.Source != "mdns" || ev.Service.Iface != ifname || ev.Service.Port != 631 {
		t.Errorf("watch: %+v, want the mDNS printer on port 631 through %s", ev.Service, ifname)
	}

	h0.DelLink(t, ifname)
	w.expectEvent(t, "down", "iface-down", "Hot Printer")
	ann.signal(t, syscall.SIGTERM)
	if code := ann.wait(t); code != 0 {
		t.Errorf("announce exited %d", code)
	}
}
