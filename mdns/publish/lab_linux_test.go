package publish_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/publish"
)

var pgType = mdns.ServiceType{Name: "postgresql", Proto: "tcp"}

// TestNSPublishSeenByRealPeers publishes a service with a Publisher on h0,
// where avahi-daemon also runs, and checks that avahi-browse on h1 and
// python-zeroconf on h2 see it, with port and TXT, within a second of
// start and see it leave within about a second of stop; that a name Avahi
// already holds is renamed "db (2)"; and that h0's Avahi keeps publishing
// its own service without a conflict.
func TestNSPublishSeenByRealPeers(t *testing.T) {
	lan := netnstest.New(t, 3)
	h0, h1, h2 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2]
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "/usr/bin/python3")
	av0 := mdnslab.StartAvahi(t, h0, "h0",
		mdnslab.Service{Name: "h0 web", Type: "_http._tcp", Port: 80})
	av1 := mdnslab.StartAvahi(t, h1, "h1",
		mdnslab.Service{Name: "taken", Type: "_postgresql._tcp", Port: 1111})

	ab := av1.StartBrowse(t, "-rpk", "_postgresql._tcp")
	if _, err := ab.Wait(10*time.Second, ";taken;"); err != nil {
		t.Fatalf("avahi-browse on h1: %v\n%s", err, ab.All())
	}
	zb := mdnslab.Python(t, h2, mdnslab.ZeroconfBrowse, h2.Addr("eth0").String(), "_postgresql._tcp.local.")
	if _, err := zb.Wait(10*time.Second, "add taken."); err != nil {
		t.Fatalf("zeroconf browser on h2: %v\n%s", err, zb.All())
	}

	pub, err := publish.New(t.Context(), publish.Config{
		Lister:       h0.Lister(t),
		ListenPacket: h0.ListenPacket,
		Host:         "h0",
		Logger:       testLogger(t),
		Services: []publish.Service{
			{Name: "db", Type: pgType, Port: 5432, Meta: map[string]string{"version": "16", "role": "primary"}},
			{Name: "taken", Type: pgType, Port: 5433},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- pub.Run(ctx) }()
	runErr := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		cancel()
		runErr()
	})

	abFrom, zbFrom := ab.Len(), zb.Len()
	at, err := ab.WaitFrom(0, 5*time.Second, "=;eth0;IPv4;db;_postgresql._tcp;local;h0.local;10.77.0.10;5432;")
	if err != nil {
		t.Fatalf("avahi-browse: %v\n%s", err, ab.All())
	}
	t.Logf("avahi-browse resolved db after %v", at.Sub(start))
	if line := find(ab.All(), ";db;"); !strings.Contains(line, `"role=primary"`) || !strings.Contains(line, `"version=16"`) {
		t.Errorf("avahi-browse TXT: %q, want role=primary and version=16", line)
	}
	if d := at.Sub(start); d > time.Second {
		t.Errorf("avahi-browse saw the service after %v, want within 1s", d)
	}
	zt, err := zb.WaitFrom(zbFrom, 5*time.Second, "add db._postgresql._tcp.local. 5432 role=primary,version=16 10.77.0.10")
	if err != nil {
		t.Fatalf("zeroconf: %v\n%s", err, zb.All())
	}
	t.Logf("zeroconf resolved db after %v", zt.Sub(start))
	if d := zt.Sub(start); d > time.Second {
		t.Errorf("zeroconf saw the service after %v, want within 1s", d)
	}

	// The name Avahi on h1 holds is renamed.
	if _, err := ab.WaitFrom(abFrom, 5*time.Second, `=;eth0;IPv4;taken\032\0402\041;_postgresql._tcp;local;h0.local;10.77.0.10;5433;`); err != nil {
		t.Errorf("renamed service: %v\n%s", err, ab.All())
	}
	if got := pub.Published(); !slices.ContainsFunc(got, func(s publish.Service) bool { return s.Name == "taken (2)" }) {
		t.Errorf("Published() = %+v, want taken (2)", got)
	}

	// Avahi on the publishing host is unharmed: its service is still seen
	// from h1, and it reports no conflict.
	out, err := av1.Browse(t, "-rptk", "_http._tcp")
	if err != nil || !strings.Contains(out, ";h0\\032web;") {
		t.Errorf("h0's Avahi service not seen from h1: %v\n%s", err, out)
	}
	if log := av0.Log(); strings.Contains(strings.ToLower(log), "conflict") {
		t.Errorf("avahi-daemon on h0 reports a conflict:\n%s", log)
	}

	// Stop: goodbyes.
	stop := time.Now()
	cancel()
	if err := runErr(); err != nil {
		t.Fatal(err)
	}
	zt, err = zb.WaitFrom(zbFrom, 5*time.Second, "remove db._postgresql._tcp.local.")
	if err != nil {
		t.Fatalf("zeroconf removal: %v\n%s", err, zb.All())
	}
	t.Logf("zeroconf removed db after %v", zt.Sub(stop))
	at, err = ab.WaitFrom(abFrom, 5*time.Second, "-;eth0;IPv4;db;_postgresql._tcp;local")
	if err != nil {
		t.Fatalf("avahi-browse removal: %v\n%s", err, ab.All())
	}
	t.Logf("avahi-browse removed db after %v", at.Sub(stop))
	// Avahi and zeroconf keep a goodbye's record for one more second (RFC
	// 6762 §10.1); anything beyond that would be lanfind's delay.
	if d := at.Sub(stop); d > 1500*time.Millisecond {
		t.Errorf("avahi-browse saw the removal after %v, want about 1s", d)
	}
	if d := zt.Sub(stop); d > 1500*time.Millisecond {
		t.Errorf("zeroconf saw the removal after %v, want about 1s", d)
	}
}

func find(all, substr string) string {
	for _, l := range strings.Split(all, "\n") {
		if strings.Contains(l, substr) && strings.HasPrefix(l, "=") {
			return l
		}
	}
	return ""
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TestNSPublishIPv6 publishes on a LAN without IPv4: avahi-browse, with
// Avahi on IPv6 only, resolves the service to the publisher's IPv6 address
// (AAAA) and sees its goodbye.
func TestNSPublishIPv6(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{
		Segments: 1,
		Hosts:    [][]int{{0}, {0}},
		Stacks:   [][]netnstest.Stack{{netnstest.StackIPv6}, {netnstest.StackIPv6}},
	})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	requiretest.Need(t, "avahi-daemon", "avahi-browse")
	av := mdnslab.StartAvahi6(t, h1, "h1")
	ab := av.StartBrowse(t, "-rpk", "_postgresql._tcp")
	_, stop := startPublisher(t, h0, publish.Config{
		Host:     "six",
		Services: []publish.Service{{Name: "db6", Type: pgType, Port: 5432}},
	})
	want := "=;eth0;IPv6;db6;_postgresql._tcp;local;six.local;" + h0.Addr6("eth0").String() + ";5432;"
	if _, err := ab.Wait(5*time.Second, want); err != nil {
		t.Fatalf("avahi-browse: %v\n%s", err, ab.All())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.Wait(5*time.Second, "-;eth0;IPv6;db6;_postgresql._tcp;local"); err != nil {
		t.Fatalf("avahi-browse removal: %v\n%s", err, ab.All())
	}
}
