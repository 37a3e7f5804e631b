package discover_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// Hot-plug lab tests: interfaces and addresses change under a running
// announcer or watcher, which follow through netlink subscriptions.

// warnCounter is a slog handler that passes records to t.Log and counts
// those at warning level and above.
type warnCounter struct {
	slog.Handler
	warns *atomic.Int64
}

func (w warnCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.warns.Add(1)
	}
	return w.Handler.Handle(ctx, r)
}

func (w warnCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return warnCounter{w.Handler.WithAttrs(as), w.warns}
}

func (w warnCounter) WithGroup(name string) slog.Handler {
	return warnCounter{w.Handler.WithGroup(name), w.warns}
}

// announcer runs an announce.Sender for service name on h until the test
// ends; warns counts its warnings.
type announcer struct {
	*announce.Sender
	warns atomic.Int64
	done  chan error // Run's result
}

func startAnnouncer(t *testing.T, h *netnstest.Host, name string, interval time.Duration) *announcer {
	t.Helper()
	a := &announcer{done: make(chan error, 1)}
	s, err := announce.New(announce.Config{
		Services:     []announce.Service{{Name: name, Port: 7000}},
		Interval:     interval,
		ListenPacket: h.ListenPacket,
		Lister:       h.Lister(t),
		Logger:       slog.New(warnCounter{testLogger(t).Handler(), &a.warns}),
	})
	if err != nil {
		t.Fatalf("announce.New on %s: %v", h.Name, err)
	}
	a.Sender = s
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { a.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-a.done; err != nil {
			t.Errorf("Run on %s: %v", h.Name, err)
		}
	})
	return a
}

// running fails t if the announcer's Run has returned.
func (a *announcer) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-a.done:
		a.done <- err
		t.Fatalf("announcer's Run returned early: %v", err)
	default:
	}
}

// events collects what a Listener's Run reports.
type events struct {
	mu     sync.Mutex // guards all
	all    []discover.Event
	notify chan struct{} // 1-buffered: something was added
}

func (e *events) add(ev discover.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default: // already pending; wait re-reads the whole list
	}
}

// wait waits up to d for an event, from index from on, that ok accepts,
// and returns its index.
func (e *events) wait(t *testing.T, from int, d time.Duration, what string, ok func(discover.Event) bool) int {
	t.Helper()
	deadline := time.After(d)
	for {
		e.mu.Lock()
		for i := from; i < len(e.all); i++ {
			if ok(e.all[i]) {
				e.mu.Unlock()
				return i
			}
		}
		seen := len(e.all)
		e.mu.Unlock()
		select {
		case <-e.notify:
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			var got []string
			for _, ev := range e.all[from:] {
				got = append(got, fmt.Sprintf("%v %s %s paths %v", ev.Kind, ev.Reason, ev.Service.Name, ev.Service.Paths))
			}
			t.Fatalf("no %s within %v (after %d events); events since: %v", what, d, seen, got)
		}
	}
}

// startHostWatch runs a Listener's Run on h until the test ends.
func startHostWatch(t *testing.T, h *netnstest.Host) (*discover.Listener, *events) {
	t.Helper()
	l, err := discover.New(discover.Config{ListenPacket: h.ListenPacket, Lister: h.Lister(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("discover.New on %s: %v", h.Name, err)
	}
	t.Cleanup(func() { l.Close() })
	ev := &events{notify: make(chan struct{}, 1)}
	runListener(t, l, ev.add) // stopped at the end of the test
	return l, ev
}

// pair builds a lab of two hosts, announces "a" on h0 (interval a
// minute, so regular beacons do not blur the test) and watches on h1 until
// a is up, reported as event n.
func pair(t *testing.T) (h0 *netnstest.Host, a *announcer, l *discover.Listener, ev *events, n int) {
	t.Helper()
	lab := netnstest.New(t, 2)
	h0 = lab.Hosts[0]
	a = startAnnouncer(t, h0, "a", time.Minute)
	l, ev = startHostWatch(t, lab.Hosts[1])
	n = ev.wait(t, 0, 5*time.Second, "up of a", isUp("a"))
	return h0, a, l, ev, n
}

func isUp(name string) func(discover.Event) bool {
	return func(ev discover.Event) bool { return ev.Kind == discover.EventUp && ev.Service.Name == name }
}

// TestNSHotplugAddr adds an address to a running announcer's interface:
// the next beacon, sent at once, carries it.
func TestNSHotplugAddr(t *testing.T) {
	t.Parallel()
	h0, _, _, ev, n := pair(t)

	extra := netip.MustParsePrefix("10.77.0.100/24")
	start := time.Now()
	h0.AddAddr(t, "eth0", extra)
	ev.wait(t, n+1, 2*time.Second, "update of a with the new address", func(e discover.Event) bool {
		return e.Kind == discover.EventUpdate && slices.Contains(e.Service.Addrs, extra.Addr())
	})
	t.Logf("new address announced after %v", time.Since(start))
}

// TestNSHotplugNewIface gives a running announcer a second interface (on
// a segment where only the watcher was) and takes it away again: beacons
// go out on it at once, and its removal stops them without an error loop.
func TestNSHotplugNewIface(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {0, 1}}})
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	a := startAnnouncer(t, h0, "a", 500*time.Millisecond)
	_, ev := startHostWatch(t, h1)
	n := ev.wait(t, 0, 5*time.Second, "up of a", isUp("a"))

	start := time.Now()
	name := lab.AddLink(t, h0, 1)
	added := time.Now()
	viaNew := func(ps []discover.Path) bool {
		return slices.ContainsFunc(ps, func(p discover.Path) bool { return p.Iface == "eth1" && p.Addr == h0.Addr(name) })
	}
	ev.wait(t, n+1, 2*time.Second, "a heard on h1's eth1 from h0's new interface", func(e discover.Event) bool {
		return e.Service.Name == "a" && viaNew(e.Service.Paths)
	})
	t.Logf("new interface: link ready after %v, beacon heard through it %v later",
		added.Sub(start), time.Since(added))

	// Removal: the interface's targets go, Run goes on, and at most a
	// few sends fail (those in the settle window), logged once each.
	h0.DelLink(t, name)
	waitTargets(t, a.Sender, func(ts []iface.Target) bool {
		return !slices.ContainsFunc(ts, func(t iface.Target) bool { return t.IfName == name })
	})
	errs := a.Stats().SendErrors
	beacons := a.Stats().Beacons
	// Two more intervals of beacons on eth0 (2 targets each).
	for deadline := time.Now().Add(5 * time.Second); a.Stats().Beacons < beacons+4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("announcer stopped sending after the removal: %+v", a.Stats())
		}
	}
	a.running(t)
	if st := a.Stats(); st.SendErrors != errs || st.SendErrors > 4 || a.warns.Load() > 4 {
		t.Fatalf("after removal: %d send errors (%d once the interface was gone), %d warnings; want at most 4, none later",
			st.SendErrors, st.SendErrors-errs, a.warns.Load())
	}
}

// waitTargets waits until the sender's targets satisfy ok.
func waitTargets(t *testing.T, s *announce.Sender, ok func([]iface.Target) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(s.Targets()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("targets %v not as wanted after 5s", s.Targets())
		}
	}
}

// TestNSHotplugDownUp takes the announcer's only interface down and up:
// it idles meanwhile and announces again at once when the link is back.
func TestNSHotplugDownUp(t *testing.T) {
	t.Parallel()
	h0, a, l, _, _ := pair(t)

	h0.SetLink(t, "eth0", false)
	waitTargets(t, a.Sender, func(ts []iface.Target) bool { return len(ts) == 0 })
	a.running(t)
	accepted := l.Stats().Accepted
	start := time.Now()
	h0.SetLink(t, "eth0", true)
	for deadline := time.Now().Add(3 * time.Second); l.Stats().Accepted == accepted; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no beacon from a within 3s of its link coming back (interval 1m): announcer %+v",
				a.Stats())
		}
	}
	t.Logf("beacon heard %v after the link came back", time.Since(start))
	a.running(t)
}

// TestNSHotplugFlap flaps the announcer's interface down and up every
// 200 ms for 4 s and checks the damping bounds the beacons sent.
func TestNSHotplugFlap(t *testing.T) {
	t.Parallel()
	h0, a, _, _, _ := pair(t)
	targets := len(a.Targets())
	runStart := time.Now() // a little after Run started: the bound below is generous by that much

	before := a.Stats()
	for range 10 { // 10 × (down 200 ms, up 200 ms)
		h0.SetLink(t, "eth0", false)
		time.Sleep(200 * time.Millisecond) // the flap's pace, not synchronization
		h0.SetLink(t, "eth0", true)
		time.Sleep(200 * time.Millisecond)
	}
	window := time.Since(runStart)
	after := a.Stats()
	sent := (after.Beacons + after.SendErrors) - (before.Beacons + before.SendErrors)

	// The damper lets the first burst go at once and the k-th after it no
	// earlier than 2^k - 1 seconds later (hold 1 s, doubling: see
	// announce's damper), so within the window there are at most
	// 1 + floor(log2(window/1s + 1)) bursts of 2 beacons per target, plus
	// the regular repeat one second after Run's first beacon (the interval
	// is a minute). Without damping it would be 2 per target per flap: 40
	// (about 21 in practice, as the settle delay merges some flaps).
	bursts := 1
	for (time.Duration(1)<<bursts-1)*time.Second <= window {
		bursts++
	}
	limit := uint64(targets * (1 + 2*bursts))
	t.Logf("flap: %d datagrams sent in %v (%d targets), limit %d",
		sent, window.Round(time.Millisecond), targets, limit)
	if sent > limit {
		t.Fatalf("flapping link: %d datagrams sent in %v, want at most %d", sent, window, limit)
	}
	a.running(t)
	waitTargets(t, a.Sender, func(ts []iface.Target) bool { return len(ts) == targets })
}

// TestNSHotplugWatch adds an interface to a running watcher: it joins the
// group there and queries, so an announcer on the new segment is found at
// once; removing the interface reports that announcer down with reason
// iface-down, and not the one still reachable.
func TestNSHotplugWatch(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {1}, {0}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h0, "a", time.Minute)
	startAnnouncer(t, h1, "b", time.Minute)
	_, ev := startHostWatch(t, h2)
	n := ev.wait(t, 0, 5*time.Second, "up of a", isUp("a"))

	name := lab.AddLink(t, h2, 1)
	added := time.Now()
	n = ev.wait(t, n+1, 2*time.Second, "up of b through the new interface", isUp("b"))
	t.Logf("new interface: b found %v after the link was ready", time.Since(added))
	out, err := h2.Run(t, "ip", "maddr", "show", "dev", name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, beacon.DefaultGroup.String()) {
		t.Fatalf("h2 %s is not a member of %s:\n%s", name, beacon.DefaultGroup, out)
	}

	h2.DelLink(t, name)
	removed := time.Now()
	i := ev.wait(t, n+1, 2*time.Second, "down of b", func(e discover.Event) bool {
		return e.Kind == discover.EventDown && e.Service.Name == "b"
	})
	t.Logf("b reported down %v after its interface was deleted", time.Since(removed))
	ev.mu.Lock()
	got := ev.all[i]
	var others []discover.Event
	for _, e := range ev.all[n+1:] {
		if e.Service.Name == "a" && e.Kind == discover.EventDown {
			others = append(others, e)
		}
	}
	ev.mu.Unlock()
	if got.Reason != discover.ReasonIfaceDown {
		t.Fatalf("b down with reason %q, want %q", got.Reason, discover.ReasonIfaceDown)
	}
	if len(others) > 0 {
		t.Fatalf("a reported down (%v) although its interface stayed", others)
	}
}

// TestNSHotplugPaths removes one of two interfaces through which a watcher
// hears a service: the path through it goes, the service stays up.
func TestNSHotplugPaths(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {0, 1}}})
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h0, "a", time.Minute)
	_, ev := startHostWatch(t, h1)
	ifaces := func(e discover.Event) []string {
		var out []string
		for _, p := range e.Service.Paths {
			if !slices.Contains(out, p.Iface) {
				out = append(out, p.Iface)
			}
		}
		return out
	}
	n := ev.wait(t, 0, 5*time.Second, "a heard through eth0 and eth1", func(e discover.Event) bool {
		return e.Service.Name == "a" && slices.Equal(ifaces(e), []string{"eth0", "eth1"})
	})
	h1.DelLink(t, "eth1")
	i := ev.wait(t, n+1, 2*time.Second, "update of a without eth1", func(e discover.Event) bool {
		return e.Service.Name == "a" && !slices.Contains(ifaces(e), "eth1")
	})
	ev.mu.Lock()
	defer ev.mu.Unlock()
	got := ev.all[i]
	if got.Kind != discover.EventUpdate || !slices.Equal(ifaces(got), []string{"eth0"}) || got.Service.Iface != "eth0" {
		t.Fatalf("got %v of a with iface %s and paths %v, want an update through eth0 only",
			got.Kind, got.Service.Iface, got.Service.Paths)
	}
}
