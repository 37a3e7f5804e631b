package endpoint

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/ifacetest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

var eth1 = iface.Interface{Index: 3, Name: "eth1", Flags: iface.FlagUp | iface.FlagBroadcast | iface.FlagMulticast,
	Addrs: []iface.Addr{{Prefix: netip.MustParsePrefix("10.0.1.1/24"), Broadcast: netip.MustParseAddr("10.0.1.255")}}}

func names(ifs []iface.Interface) []string {
	var out []string
	for _, i := range ifs {
		out = append(out, i.Name)
	}
	return out
}

func TestDiff(t *testing.T) {
	eth0b := eth0
	eth0b.Addrs = append(slices.Clone(eth0.Addrs), iface.Addr{Prefix: netip.MustParsePrefix("10.0.0.9/24")})
	running := eth0
	running.Flags |= iface.FlagRunning
	tests := []struct {
		name           string
		before, now    []iface.Interface
		added, removed []string
	}{
		{"same", []iface.Interface{eth0}, []iface.Interface{eth0}, nil, nil},
		{"new interface", []iface.Interface{eth0}, []iface.Interface{eth0, eth1}, []string{"eth1"}, nil},
		{"gone", []iface.Interface{eth0, eth1}, []iface.Interface{eth1}, nil, []string{"eth0"}},
		{"address added", []iface.Interface{eth0}, []iface.Interface{eth0b}, []string{"eth0"}, nil},
		{"address removed: what beacons list changed",
			[]iface.Interface{eth0b}, []iface.Interface{eth0}, []string{"eth0"}, nil},
		{"carrier", []iface.Interface{eth0}, []iface.Interface{running}, []string{"eth0"}, nil},
		{"carrier lost", []iface.Interface{running}, []iface.Interface{eth0}, nil, nil},
		{"all gone", []iface.Interface{eth0, eth1}, nil, nil, []string{"eth0", "eth1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			added, removed := Diff(tc.before, tc.now)
			if !slices.Equal(names(added), tc.added) || !slices.Equal(names(removed), tc.removed) {
				t.Fatalf("got added %v removed %v, want added %v removed %v",
					names(added), names(removed), tc.added, tc.removed)
			}
		})
	}
}

func TestReplan(t *testing.T) {
	l := ifacetest.New(eth0)
	c := Config{Lister: l}
	p, err := NewPlan(c)
	if err != nil {
		t.Fatal(err)
	}
	l.Set(eth0, eth1)
	q, err := Replan(c, p)
	if err != nil || !slices.Equal(names(q.Selected), []string{"eth0", "eth1"}) || len(q.Targets) != 4 || q.Port != p.Port || q.Group != p.Group {
		t.Fatalf("after adding eth1: got %v with %d targets, err %v; want eth0 and eth1, 4 targets",
			names(q.Selected), len(q.Targets), err)
	}
	if _, ok := q.Arrivals.Accept(eth1.Index, netip.MustParseAddr("10.0.1.7")); !ok {
		t.Fatal("arrivals do not accept eth1")
	}
	l.Set()
	q, err = Replan(c, q)
	if err == nil || len(q.Selected) != 0 || len(q.Targets) != 0 {
		t.Fatalf("with nothing usable: got %v, %d targets, err %v; want an empty plan and an error saying why",
			names(q.Selected), len(q.Targets), err)
	}
}

func TestRejoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		h := hub.AddHost("h", udptest.Interface{Index: 2, Prefix: eth0.Addrs[0].Prefix}, udptest.Interface{Index: 3, Prefix: eth1.Addrs[0].Prefix})
		c, err := h.Listen(context.Background(), netip.AddrPortFrom(netip.IPv4Unspecified(), beacon.DefaultPort), udp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var warns counter
		log := slog.New(&warns)
		g := beacon.DefaultGroup
		if err := JoinAll(c, []iface.Interface{eth0}, g, log); err != nil {
			t.Fatal(err)
		}
		Rejoin(c, []iface.Interface{eth0}, []iface.Interface{eth1}, g, log)
		// Joined on eth1 (a second join fails), left on eth0 (a leave fails).
		if err := c.JoinGroup(eth1.Index, g); err == nil {
			t.Error("eth1: not a member after Rejoin")
		}
		if err := c.LeaveGroup(eth0.Index, g); err == nil {
			t.Error("eth0: still a member after Rejoin")
		}
		// eth1 is a member already (the join above failed): joining it
		// again as new is not a warning.
		Rejoin(c, nil, []iface.Interface{eth1}, g, log)
		if n := warns.n(); n != 0 {
			t.Errorf("got %d warnings, want 0", n)
		}
	})
}

// counter is a slog.Handler counting warnings.
type counter struct {
	mu    sync.Mutex // guards warns
	warns int
}

func (c *counter) Enabled(context.Context, slog.Level) bool { return true }
func (c *counter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *counter) WithGroup(string) slog.Handler            { return c }
func (c *counter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		c.mu.Lock()
		c.warns++
		c.mu.Unlock()
	}
	return nil
}

func (c *counter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warns
}

// TestWatcherSettles checks that bursts of changes become one re-plan,
// Settle after the last, and that changes that never stop are still looked
// at every MaxSettle.
func TestWatcherSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ifacetest.New(eth0)
		c := Config{Lister: l}
		p, err := NewPlan(c)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex // guards applied
		var applied []time.Duration
		start := time.Now()
		w := Watch(c, p, slog.New(slog.DiscardHandler), func(q Plan) {
			mu.Lock()
			applied = append(applied, time.Since(start))
			mu.Unlock()
		})
		if w == nil {
			t.Fatal("Watch returned nil for a Subscriber")
		}
		got := func() []time.Duration {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(applied)
		}

		// One change.
		l.Set(eth0, eth1)
		time.Sleep(time.Second)
		want := []time.Duration{Settle}
		if g := got(); !slices.Equal(g, want) {
			t.Fatalf("one change: re-planned at %v, want %v", g, want)
		}
		// A burst of five, 50 ms apart: one re-plan, Settle after the last.
		for range 5 {
			l.Set(eth0)
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		want = append(want, time.Second+200*time.Millisecond+Settle)
		if g := got(); !slices.Equal(g, want) {
			t.Fatalf("burst: re-planned at %v, want %v", g, want)
		}
		// Changes every 100 ms for 2.5 s: re-planned every MaxSettle.
		burst := time.Since(start)
		for range 25 {
			l.Set(eth0, eth1)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second)
		want = append(want, burst+MaxSettle, burst+2*MaxSettle, burst+2400*time.Millisecond+Settle)
		if g := got(); !slices.Equal(g, want) {
			t.Fatalf("endless changes: re-planned at %v, want %v", g, want)
		}

		w.Stop()
		w.Stop() // idempotent
		l.Set(eth0)
		time.Sleep(time.Second)
		if g := got(); len(g) != len(want) {
			t.Fatalf("re-planned after Stop: %v", g)
		}
	})
}

// lateLister is an ifacetest.Lister whose interfaces change just before
// Subscribe subscribes, after NewPlan listed them.
type lateLister struct {
	*ifacetest.Lister
	change func()
}

func (l lateLister) Subscribe(ch chan<- struct{}, done <-chan struct{}) error {
	l.change()
	return l.Lister.Subscribe(ch, done)
}

// TestWatcherChangeBeforeSubscribe: a change between NewPlan's listing
// and the subscription, which reports only later changes, is still
// applied (an address from DHCP while lanfind starts).
func TestWatcherChangeBeforeSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ifacetest.New(eth0)
		c := Config{Lister: lateLister{l, func() { l.Set(eth0, eth1) }}}
		p, err := NewPlan(c)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex // guards applied
		var applied []Plan
		w := Watch(c, p, slog.New(slog.DiscardHandler), func(q Plan) {
			mu.Lock()
			applied = append(applied, q)
			mu.Unlock()
		})
		defer w.Stop()
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(applied) != 1 || !slices.Equal(names(applied[0].Selected), []string{"eth0", "eth1"}) {
			var got [][]string
			for _, q := range applied {
				got = append(got, names(q.Selected))
			}
			t.Fatalf("applied %v, want one plan with eth0 and eth1", got)
		}
	})
}
