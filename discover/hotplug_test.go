package discover_test

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/ifacetest"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestIfaceDown runs a watcher with two interfaces, one announcer behind
// each, and takes one interface away and back: the announcer heard only
// through it is reported down (iface-down), the other is untouched, and
// when the interface is back a query there finds the announcer at once.
func TestIfaceDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		a := addHost(hub, "a", "10.1.0.10/24")
		b := addHost(hub, "b", "10.2.0.20/24")
		p0, p1 := netip.MustParsePrefix("10.1.0.1/24"), netip.MustParsePrefix("10.2.0.1/24")
		q := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: p0}, udptest.Interface{Index: 3, Name: "eth1", Prefix: p1})
		flags := iface.FlagUp | iface.FlagRunning | iface.FlagBroadcast | iface.FlagMulticast
		eth0 := iface.Interface{Index: 2, Name: "eth0", Flags: flags, Addrs: []iface.Addr{{Prefix: p0, Broadcast: iface.BroadcastOf(p0)}}}
		eth1 := iface.Interface{Index: 3, Name: "eth1", Flags: flags, Addrs: []iface.Addr{{Prefix: p1, Broadcast: iface.BroadcastOf(p1)}}}
		lister := ifacetest.New(eth0, eth1)

		run(t, a.sender(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "a"}}}))
		run(t, b.sender(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "b"}}}))
		cfg := discover.Config{Lister: lister}
		cfg.Seam = &endpoint.Seam{Listen: q.Listen}
		l, err := discover.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { l.Close() })

		var mu sync.Mutex // guards evs
		var evs []string
		runListener(t, l, func(ev discover.Event) { // stopped at the end of the test
			mu.Lock()
			defer mu.Unlock()
			evs = append(evs, ev.Kind.String()+" "+ev.Reason+" "+ev.Service.Name+" "+ev.Service.Iface)
		})
		expect := func(what string, want ...string) {
			t.Helper()
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(evs)
			if !slices.Equal(evs, want) {
				t.Fatalf("%s: got events %q, want %q", what, evs, want)
			}
			evs = nil
		}

		time.Sleep(time.Second)
		expect("start", "up  a eth0", "up  b eth1")
		lister.Set(eth0)
		time.Sleep(endpoint.Settle)
		expect("eth1 gone", "down iface-down b eth1")
		time.Sleep(time.Minute)
		expect("a minute later")
		lister.Set(eth0, eth1)
		time.Sleep(endpoint.Settle + 100*time.Millisecond)
		expect("eth1 back", "up  b eth1")
		if got := len(l.Interfaces()); got != 2 {
			t.Fatalf("got %d interfaces, want 2", got)
		}
	})
}

// countingLister counts a lister's calls.
type countingLister struct {
	*ifacetest.Lister
	mu               sync.Mutex // guards the counts
	lists, subscribe int
}

func (c *countingLister) Interfaces() ([]iface.Interface, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Lister.Interfaces()
}

func (c *countingLister) Subscribe(ch chan<- struct{}, done <-chan struct{}) error {
	c.mu.Lock()
	c.subscribe++
	c.mu.Unlock()
	return c.Lister.Subscribe(ch, done)
}

func (c *countingLister) counts() (lists, subscribe int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists, c.subscribe
}

// TestOneShotWatchesLate: a Collect that settles within a second neither
// subscribes to interface changes nor lists the interfaces again; a
// Resolve that lasts longer starts following them, and so does Run, once.
func TestOneShotWatchesLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		p0 := netip.MustParsePrefix("10.1.0.1/24")
		q := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: p0})
		flags := iface.FlagUp | iface.FlagRunning | iface.FlagBroadcast | iface.FlagMulticast
		eth0 := iface.Interface{Index: 2, Name: "eth0", Flags: flags, Addrs: []iface.Addr{{Prefix: p0, Broadcast: iface.BroadcastOf(p0)}}}
		lister := &countingLister{Lister: ifacetest.New(eth0)}
		cfg := discover.Config{Name: "absent", Lister: lister}
		cfg.Seam = &endpoint.Seam{Listen: q.Listen}
		l, err := discover.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer l.Close()
		expect := func(what string, lists, subscribe int) {
			t.Helper()
			synctest.Wait()
			if gl, gs := lister.counts(); gl != lists || gs != subscribe {
				t.Fatalf("%s: %d listings and %d subscriptions, want %d and %d", what, gl, gs, lists, subscribe)
			}
		}
		// New listed the interfaces, and again if it switched a family off
		// (the hub has no IPv6).
		listed, _ := lister.counts()
		start := time.Now()
		if _, err := l.Collect(context.Background()); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if d := time.Since(start); d >= time.Second {
			t.Fatalf("Collect with nobody around took %v, want less than a second", d)
		}
		expect("after a short Collect", listed, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := l.Resolve(ctx); err != discover.ErrNotFound {
			t.Fatalf("Resolve: got %v, want ErrNotFound", err)
		}
		expect("after a Resolve of 2s", listed+1, 1) // the watcher's listing at its start
		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := l.Run(ctx, func(discover.Event) {}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		expect("after Run", listed+1, 1)
	})
}
