package discover_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSLibrary runs the announce and discover packages over real sockets
// and real broadcast and multicast between hosts of a namespace lab, using
// the injectable socket opener and interface lister.
func TestNSLibrary(t *testing.T) {
	t.Parallel()
	// h0 has eth0 on segment 0 and eth1 on segment 1; h1 is on segment 0,
	// h2 on segment 1.
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {0}, {1}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	for _, a := range []struct {
		h    *netnstest.Host
		name string
	}{{h1, "a"}, {h2, "b"}} {
		s, err := announce.New(announce.Config{
			Services:     []announce.Service{{Name: a.name, Type: "test", Port: 7000, Meta: map[string]string{"k": "v"}}},
			Interval:     200 * time.Millisecond,
			ListenPacket: a.h.ListenPacket,
			Lister:       a.h.Lister(t),
			Logger:       testLogger(t),
		})
		if err != nil {
			t.Fatalf("announce.New on %s: %v", a.h.Name, err)
		}
		t.Cleanup(func() { s.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run on %s: %v", a.h.Name, err)
			}
		})
	}

	l, err := discover.New(discover.Config{ListenPacket: h0.ListenPacket, Lister: h0.Lister(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d results %v, want 2", len(rs), names(rs))
	}
	want := []struct {
		name, iface string
		addr        string
	}{{"a", "eth0", h1.Addr("eth0").String()}, {"b", "eth1", h2.Addr("eth0").String()}}
	for i, w := range want {
		r := rs[i]
		if r.Name != w.name || r.Iface != w.iface || r.Addr.String() != w.addr || r.Port != 7000 || r.Meta["k"] != "v" {
			t.Errorf("result %d: got %s on %s from %s port %d meta %v, want %s on %s from %s port 7000 meta k=v",
				i, r.Name, r.Iface, r.Addr, r.Port, r.Meta, w.name, w.iface, w.addr)
		}
		if !slices.Contains(r.Addrs, r.Addr) {
			t.Errorf("%s: announced addrs %v do not include the source %v", r.Name, r.Addrs, r.Addr)
		}
	}

	// Streaming: both are reported up, and the beacons that arrive by
	// broadcast and by multicast are recognised as copies. Run stops as
	// soon as both have been seen (the test waits, with a deadline, in its
	// own goroutine).
	var mu sync.Mutex
	ups := map[string]bool{}
	wctx, wcancel := context.WithCancel(t.Context())
	defer wcancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- l.Run(wctx, func(ev discover.Event) {
			if ev.Kind == discover.EventUp {
				mu.Lock()
				ups[ev.Service.Name] = true
				mu.Unlock()
			}
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(ups)
		mu.Unlock()
		if n == 2 && l.Stats().Duplicates > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: ups %v, duplicates %d; want a and b up and duplicates > 0",
				ups, l.Stats().Duplicates)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, not waiting for an event
	}
	wcancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !ups["a"] || !ups["b"] {
		t.Fatalf("Run reported up for %v, want a and b", ups)
	}
	if st := l.Stats(); st.Duplicates == 0 || st.Malformed != 0 || st.SendErrors != 0 {
		t.Fatalf("got stats %+v, want duplicates > 0, no malformed datagrams and no send errors",
			st)
	}
}
