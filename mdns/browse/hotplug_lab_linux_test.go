package browse_test

import (
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/browse"
)

// TestNSBrowseHotplug starts a watching Browser (Run) on h0 while its only
// link is on a segment of its own; avahi-daemon publishes a printer on
// h1, on another segment. When h0 gains a link to h1's segment, the
// Browser queries there and reports the printer within 2 s; when that
// link is unplugged, the printer goes Down with reason "iface-down".
func TestNSBrowseHotplug(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {1}}})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon", "avahi-browse")
	av := mdnslab.StartAvahi(t, h1, "hotav",
		mdnslab.Service{Name: "Hot Printer", Type: "_ipp._tcp", Port: 631})
	waitAvahiSees(t, av, "_ipp._tcp", "Hot Printer")

	b := newBrowser(t, h0, browse.Config{Types: []mdns.ServiceType{{Name: "ipp", Proto: "tcp"}}})
	events := make(chan browse.Event, 16)
	done := make(chan error, 1)
	go func() { done <- b.Run(t.Context(), func(ev browse.Event) { events <- ev }) }()
	t.Cleanup(func() {
		b.Close()
		<-done
	})
	// Run's first queries go out on eth0 alone, and it waits a second
	// before the next: nothing is there to be seen.
	select {
	case ev := <-events:
		t.Fatalf("event before the link exists: %+v", ev)
	case <-time.After(1500 * time.Millisecond):
	}

	ifname := lan.AddLink(t, h0, 1)
	start := time.Now()
	ev := nextEvent(t, events, 5*time.Second)
	if ev.Kind != browse.Up || ev.Entry.Name != "Hot Printer" || ev.Entry.Port != 631 || ev.Entry.Iface != ifname {
		t.Fatalf("got %v %+v, want up Hot Printer on port 631 through %s", ev.Kind, ev.Entry, ifname)
	}
	// Run's own schedule would ask again only 2 s after the previous
	// query (0, 1, 3 s ...); the new link is queried at once.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("printer seen %v after the link came up, want within 2s", d)
	}
	t.Logf("printer up %v after the link came up", time.Since(start))

	h0.DelLink(t, ifname)
	start = time.Now()
	ev = nextEvent(t, events, 5*time.Second)
	if ev.Kind != browse.Down || ev.Entry.Name != "Hot Printer" || ev.Reason != browse.ReasonIfaceDown {
		t.Fatalf("got %v (%s) %+v, want down Hot Printer with reason %s", ev.Kind, ev.Reason, ev.Entry, browse.ReasonIfaceDown)
	}
	t.Logf("printer down (%s) %v after the link went", ev.Reason, time.Since(start))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("down %v after the link went, want within 2s", d)
	}
}

func nextEvent(t *testing.T, events <-chan browse.Event, d time.Duration) browse.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
		return browse.Event{}
	}
}
