package browse_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/browse"
)

// TestNSBrowseRealPeers publishes services with avahi-daemon (h0) and
// python-zeroconf (h1) and lists them with a Browser on h2 (all types)
// and on h0 beside Avahi (one type).
func TestNSBrowseRealPeers(t *testing.T) {
	lan := netnstest.New(t, 3)
	h0, h1, h2 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2]
	requiretest.Need(t, "avahi-daemon", "/usr/bin/python3")
	av := mdnslab.StartAvahi(t, h0, "avahost",
		mdnslab.Service{Name: "Office Printer", Type: "_ipp._tcp", Port: 631, TXT: []string{"rp=printers/office", "color"}},
		mdnslab.Service{Name: "Web.Site", Type: "_http._tcp", Port: 80, TXT: []string{"path=/"}},
	)
	zc := mdnslab.Python(t, h1, mdnslab.ZeroconfPublish, h1.Addr("eth0").String(),
		"Py Web", "_http._tcp.local.", "8080", "pyhost.local.", "path=/py")
	if _, err := zc.Wait(10*time.Second, "registered"); err != nil {
		t.Fatalf("zeroconf: %v\n%s", err, zc.All())
	}
	// Avahi announces its static services after probing them; wait until
	// it lists them itself.
	waitAvahiSees(t, av, "_ipp._tcp", "Office Printer")
	waitAvahiSees(t, av, "_http._tcp", "Web.Site")

	want := map[string]browse.Entry{
		"Office Printer": {Name: "Office Printer", Type: mdns.ServiceType{Name: "ipp", Proto: "tcp"}, Port: 631,
			Host: "avahost.local", Meta: map[string]string{"rp": "printers/office", "color": ""}},
		"Web.Site": {Name: "Web.Site", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}, Port: 80,
			Host: "avahost.local", Meta: map[string]string{"path": "/"}},
		"Py Web": {Name: "Py Web", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}, Port: 8080,
			Host: "pyhost.local", Meta: map[string]string{"path": "/py"}},
	}
	addrs := map[string]string{"Office Printer": h0.Addr("eth0").String(), "Web.Site": h0.Addr("eth0").String(),
		"Py Web": h1.Addr("eth0").String()}

	check := func(t *testing.T, got []browse.Entry, names ...string) {
		t.Helper()
		byName := map[string]browse.Entry{}
		for _, e := range got {
			byName[e.Name] = e
		}
		for _, n := range names {
			e, ok := byName[n]
			if !ok {
				t.Errorf("%q not found; got %+v", n, got)
				continue
			}
			w := want[n]
			if e.Type != w.Type || e.Port != w.Port || !strings.EqualFold(e.Host, w.Host) || !reflect.DeepEqual(e.Meta, w.Meta) {
				t.Errorf("%q: got %v %d %q %v, want %v %d %q %v", n, e.Type, e.Port, e.Host, e.Meta, w.Type, w.Port, w.Host, w.Meta)
			}
			if len(e.Addrs) == 0 || e.Addrs[0].String() != addrs[n] {
				t.Errorf("%q: addrs %v, want [%s]", n, e.Addrs, addrs[n])
			}
			if e.ID != mdns.InstanceID(e.Instance) || e.TTL <= 0 {
				t.Errorf("%q: id %x ttl %v", n, e.ID, e.TTL)
			}
		}
	}

	t.Run("all types from another host", func(t *testing.T) {
		b := newBrowser(t, h2, browse.Config{})
		start := time.Now()
		got, err := b.Collect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("collect took %v, %+v", time.Since(start), b.Stats())
		check(t, got, "Office Printer", "Web.Site", "Py Web")
	})
	t.Run("one type beside avahi", func(t *testing.T) {
		// The subtest before had every record multicast less than a
		// second ago: responders answer this querier's QU questions by
		// unicast, which reaches lanfind's socket, not Avahi's, on this
		// host (Avahi runs as its own user, outside lanfind's
		// SO_REUSEPORT group, and the newest socket gets unicast).
		b := newBrowser(t, h0, browse.Config{Types: []mdns.ServiceType{{Name: "http", Proto: "tcp"}}})
		got, err := b.Collect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, "Web.Site", "Py Web")
		if slices.ContainsFunc(got, func(e browse.Entry) bool { return e.Type.Name != "http" }) {
			t.Errorf("got other types: %+v", got)
		}
		// Avahi on the same host still works: it sees zeroconf's service.
		waitAvahiSees(t, av, "_http._tcp", "Py Web")
	})
	t.Run("watch follows goodbye", func(t *testing.T) {
		b := newBrowser(t, h2, browse.Config{Types: []mdns.ServiceType{{Name: "http", Proto: "tcp"}}})
		events := make(chan browse.Event, 16)
		done := make(chan error, 1)
		go func() {
			done <- b.Run(t.Context(), func(ev browse.Event) { events <- ev })
		}()
		waitEvent(t, events, browse.Up, "Py Web", "")
		zc.CloseStdin()
		start := time.Now()
		waitEvent(t, events, browse.Down, "Py Web", "goodbye")
		t.Logf("goodbye seen after %v", time.Since(start))
		b.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func newBrowser(t *testing.T, h *netnstest.Host, cfg browse.Config) *browse.Browser {
	t.Helper()
	cfg.Lister = h.Lister(t)
	cfg.ListenPacket = h.ListenPacket
	cfg.Logger = testLogger(t)
	b, err := browse.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func waitEvent(t *testing.T, events <-chan browse.Event, k browse.Kind, name, reason string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == k && ev.Entry.Name == name && ev.Reason == reason {
				return
			}
		case <-timeout:
			t.Fatalf("no %v %q (%s) event within 5s", k, name, reason)
		}
	}
}

func waitAvahiSees(t *testing.T, av *mdnslab.Avahi, typ, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := av.Browse(t, "-rptk", typ)
		if err == nil && slices.ContainsFunc(mdnslab.ParseBrowse(out), func(r mdnslab.Resolved) bool { return r.Name == name }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-browse does not list %q: %v\n%s\navahi log:\n%s", name, err, out, av.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNSBrowseIPv6 lists a service that avahi-daemon publishes over IPv6
// (ff02::fb) on a LAN without IPv4: the Browser hears it on its IPv6
// socket and reports the host's IPv6 address from the AAAA record.
func TestNSBrowseIPv6(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{
		Segments: 1,
		Hosts:    [][]int{{0}, {0}},
		Stacks:   [][]netnstest.Stack{{netnstest.StackIPv6}, {netnstest.StackIPv6}},
	})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon")
	av := mdnslab.StartAvahi6(t, h0, "v6host",
		mdnslab.Service{Name: "Six", Type: "_http._tcp", Port: 8080, TXT: []string{"v=6"}})
	waitAvahiSees(t, av, "_http._tcp", "Six")
	b := newBrowser(t, h1, browse.Config{Types: []mdns.ServiceType{{Name: "http", Proto: "tcp"}}})
	got, err := b.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "Six" || got[0].Port != 8080 || got[0].Meta["v"] != "6" {
		t.Fatalf("got %+v, want Six on port 8080 with v=6", got)
	}
	if !slices.Contains(got[0].Addrs, h0.Addr6("eth0")) && !slices.Contains(got[0].Addrs, h0.LinkLocal("eth0")) {
		t.Errorf("addrs %v, want %v or %v", got[0].Addrs, h0.Addr6("eth0"), h0.LinkLocal("eth0"))
	}
	if !got[0].Addr.Is6() {
		t.Errorf("heard from %v, want an IPv6 source", got[0].Addr)
	}
}
