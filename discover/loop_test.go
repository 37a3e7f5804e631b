package discover_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// fakeHost is a simulated host on a udptest hub with the matching static
// interface list.
type fakeHost struct {
	h      *udptest.Host
	lister iface.Static
	addr   netip.Addr
}

func addHost(hub *udptest.Hub, name, prefix string) fakeHost {
	p := netip.MustParsePrefix(prefix)
	ui := udptest.Interface{Index: 2, Name: "eth0", Prefix: p}
	h := hub.AddHost(name, ui)
	hw := net.HardwareAddr{2, 0, 0, 0, 0, byte(p.Addr().As4()[3])}
	return fakeHost{h: h, addr: p.Addr(), lister: iface.Static{{
		Index: 2, Name: "eth0", Flags: iface.FlagUp | iface.FlagRunning | iface.FlagBroadcast | iface.FlagMulticast,
		MTU: 1500, HardwareAddr: hw, Addrs: []iface.Addr{{Prefix: p, Broadcast: ui.Broadcast()}},
	}}}
}

func (f fakeHost) sender(t *testing.T, cfg announce.Config) *announce.Sender {
	t.Helper()
	cfg.Lister = f.lister
	if cfg.Hostname == "" {
		cfg.Hostname = "host-" + f.addr.String()
	}
	if cfg.MachineID == "" {
		cfg.MachineID = "machine"
	}
	cfg.Seam = &endpoint.Seam{Listen: f.h.Listen}
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatalf("announce.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run starts s.Run and returns a function that cancels it, waits and
// reports its error.
func run(t *testing.T, s *announce.Sender) (stop func()) {
	t.Helper()
	return runInBackground(t, "announce Run", s.Run)
}

// collect runs Collect on a new listener of f with cfg, for at most 2s,
// and returns the results and the listener's stats.
func collect(t *testing.T, f fakeHost, cfg discover.Config) ([]discover.Result, discover.Stats) {
	t.Helper()
	l := f.listener(t, cfg)
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return rs, l.Stats()
}

// runListener starts l.Run with fn and returns a function that cancels
// it, waits and reports its error.
func runListener(t *testing.T, l *discover.Listener, fn func(discover.Event)) (stop func()) {
	t.Helper()
	return runInBackground(t, "Run", func(ctx context.Context) error { return l.Run(ctx, fn) })
}

// runInBackground runs run in a goroutine until the returned stop (which
// may be called more than once) or the end of the test cancels its
// context, and reports its error.
func runInBackground(t *testing.T, what string, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", what, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (f fakeHost) listener(t *testing.T, cfg discover.Config) *discover.Listener {
	t.Helper()
	cfg.Lister = f.lister
	cfg.Seam = &endpoint.Seam{Listen: f.h.Listen}
	l, err := discover.New(cfg)
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func names(rs []discover.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestCollectSettlesQuickly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		var want []string
		for i := range 5 {
			h := addHost(hub, fmt.Sprintf("h%d", i), fmt.Sprintf("10.1.0.%d/24", 10+i))
			name := fmt.Sprintf("svc%d", i)
			want = append(want, name)
			run(t, h.sender(t, announce.Config{Services: []announce.Service{{Name: name, Type: "t", Port: uint16(1000 + i)}}}))
		}
		synctest.Wait()
		l := q.listener(t, discover.Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		rs, err := l.Collect(ctx)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if got := names(rs); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		// Attempts 0 to 3 at 0, 60, 90 and 120ms, quiet window 30ms:
		// settled at 150ms, far below the 5s bound.
		if elapsed > 150*time.Millisecond {
			t.Errorf("Collect took %v, want it settled by 150ms", elapsed)
		}
		for _, r := range rs {
			if r.Addr != r.Paths[0].Addr || r.Iface != "eth0" || len(r.Paths) != 1 {
				t.Errorf("%s: got addr %v iface %q paths %v, want one path on eth0",
					r.Name, r.Addr, r.Iface, r.Paths)
			}
		}
	})
}

func TestCollectUnderLoss(t *testing.T) {
	for seed := range uint64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hub := udptest.NewHub()
				q := addHost(hub, "q", "10.1.0.1/24")
				rng := rand.New(rand.NewPCG(seed, 1))
				var mu sync.Mutex
				hub.SetLoss(func(p udptest.Packet) bool {
					mu.Lock()
					defer mu.Unlock()
					return p.Host == "q" && rng.Float64() < 0.3 // 30% loss into the querier
				})
				const n = 20
				for i := range n {
					h := addHost(hub, fmt.Sprintf("h%d", i), fmt.Sprintf("10.1.0.%d/24", 10+i))
					run(t, h.sender(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: fmt.Sprintf("svc%02d", i)}}}))
				}
				synctest.Wait()
				rs, _ := collect(t, q, discover.Config{})
				if len(rs) < n-1 {
					t.Fatalf("found %d of %d under 30%% loss: %v", len(rs), n, names(rs))
				}
			})
		})
	}
}

// TestCollectLossyWaitsLonger: once a repeat has brought an answer that
// earlier copies lost, Collect wants more quiet repeats before it settles.
// h2's first reply is lost (so its answer to the first repeat shows the
// LAN loses datagrams), and every reply of h1 up to the fourth repeat is
// lost too (9 datagrams: one, then two copies per repeat): three quiet
// repeats would settle without h1, five wait for its answer to the fifth.
func TestCollectLossyWaitsLonger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		qa := netip.MustParseAddr("10.1.0.1")
		drop := map[netip.Addr]int{netip.MustParseAddr("10.1.0.11"): 9, netip.MustParseAddr("10.1.0.12"): 1}
		var mu sync.Mutex
		hub.SetLoss(func(p udptest.Packet) bool {
			mu.Lock()
			defer mu.Unlock()
			if p.Host != "q" || p.Dst.Addr() != qa || drop[p.Src.Addr()] == 0 {
				return false
			}
			drop[p.Src.Addr()]--
			return true
		})
		for i := range 3 {
			h := addHost(hub, fmt.Sprintf("h%d", i), fmt.Sprintf("10.1.0.%d/24", 10+i))
			run(t, h.sender(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: fmt.Sprintf("svc%d", i)}}}))
		}
		synctest.Wait()
		rs, _ := collect(t, q, discover.Config{})
		if got, want := names(rs), []string{"svc0", "svc1", "svc2"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v (replies still to drop: %v)", got, want, drop)
		}
	})
}

func TestWatchEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.2/24")
		b := addHost(hub, "b", "10.1.0.3/24")
		l := q.listener(t, discover.Config{})
		var mu sync.Mutex
		var events []string
		stop := runListener(t, l, func(ev discover.Event) {
			mu.Lock()
			events = append(events, fmt.Sprintf("%s %s %s", ev.Kind, ev.Reason, ev.Service.Name))
			mu.Unlock()
		})
		synctest.Wait() // Run is listening before anything is announced
		const interval = time.Second
		stopA := run(t, a.sender(t, announce.Config{Interval: interval, Services: []announce.Service{{Name: "a"}}}))
		synctest.Wait()
		sb := b.sender(t, announce.Config{Interval: interval, Services: []announce.Service{{Name: "b"}}})
		stopB := run(t, sb)
		time.Sleep(500 * time.Millisecond)
		stopA() // goodbye
		time.Sleep(500 * time.Millisecond)
		// b crashes: closing the socket stops Run without a goodbye.
		sb.Close()
		stopB()
		// b expires after its TTL (3s) from its last beacon.
		time.Sleep(4 * time.Second)
		stop()
		if st := l.Stats(); st.Duplicates == 0 {
			t.Errorf("got %d duplicates, want >0 (each beacon arrives by broadcast and by multicast)",
				st.Duplicates)
		}
		want := []string{"up  a", "up  b", "down goodbye a", "down expired b"}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(events, want) {
			t.Fatalf("got events %q, want %q", events, want)
		}
	})
}

func TestRestartReplacesEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.2/24")
		l := q.listener(t, discover.Config{})
		var mu sync.Mutex
		var events []discover.Event
		stop := runListener(t, l, func(ev discover.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		})
		synctest.Wait() // Run is listening before anything is announced
		cfg := announce.Config{Interval: time.Second, Services: []announce.Service{{Name: "db", Port: 1}}}
		s1 := a.sender(t, cfg)
		stop1 := run(t, s1)
		time.Sleep(100 * time.Millisecond)
		s1.Close() // crash, no goodbye
		stop1()
		cfg.Services[0].Port = 2
		run(t, a.sender(t, cfg))
		time.Sleep(100 * time.Millisecond)
		stop()
		mu.Lock()
		defer mu.Unlock()
		if len(events) != 2 || events[0].Kind != discover.EventUp || events[1].Kind != discover.EventUpdate {
			t.Fatalf("got %v, want up then update (never two entries for one instance)", events)
		}
		if events[0].Service.Instance != events[1].Service.Instance || events[1].Service.Port != 2 {
			t.Fatalf("got instance %x then %x port %d, want the same instance with port 2",
				events[0].Service.Instance, events[1].Service.Instance, events[1].Service.Port)
		}
	})
}

func TestConflictListsBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.2/24")
		b := addHost(hub, "b", "10.1.0.3/24")
		b.lister[0].HardwareAddr = a.lister[0].HardwareAddr // a clone: same MAC, machine ID and host name
		for _, h := range []fakeHost{a, b} {
			run(t, h.sender(t, announce.Config{Hostname: "clone", Services: []announce.Service{{Name: "db"}}}))
		}
		synctest.Wait()
		l := q.listener(t, discover.Config{})
		rs, err := l.Collect(t.Context())
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if len(rs) != 2 || rs[0].Instance != rs[1].Instance || !rs[0].Conflict || !rs[1].Conflict {
			t.Fatalf("got %+v, want two conflicting entries of one instance", rs)
		}
	})
}

func TestForeignAndForgedDatagramsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		evil := addHost(hub, "evil", "10.1.0.66/24")
		l := q.listener(t, discover.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan []discover.Result, 1)
		go func() {
			rs, _ := l.Collect(ctx)
			done <- rs
		}()
		synctest.Wait()
		src := netip.AddrPortFrom(evil.addr, beacon.DefaultPort)
		forged := beacon.Beacon{Kind: beacon.KindReply, Sender: 99, Seq: 1, RequestID: 12345,
			Services: []beacon.Service{{Instance: 1, Name: "forged", Type: "x", TTL: time.Minute}}}
		p, err := forged.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		qaddr := netip.AddrPortFrom(q.addr, l.QueryAddr().Port())
		q.h.Inject(2, src, qaddr, p)
		q.h.Inject(2, src, qaddr, []byte("GET / HTTP/1.0\r\n\r\n"))
		q.h.Inject(2, src, qaddr, p[:beacon.HeaderSize+3])
		synctest.Wait()
		cancel()
		rs := <-done
		if len(rs) != 0 {
			t.Fatalf("got %v, want nothing (the reply's request ID was never sent)", names(rs))
		}
		st := l.Stats()
		if st.UnknownRequest != 1 || st.Foreign != 1 || st.Malformed != 1 {
			t.Fatalf("got unknown_request=%d foreign=%d malformed=%d, want 1 each",
				st.UnknownRequest, st.Foreign, st.Malformed)
		}
	})
}

func TestFloodOfInstancesIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		l := q.listener(t, discover.Config{MaxEntries: 50})
		counts := map[discover.EventKind]int{}
		stop := runListener(t, l, func(ev discover.Event) { counts[ev.Kind]++ })
		synctest.Wait()
		dst := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		for i := range 1000 {
			// Each datagram claims a new instance from a new source address.
			b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: uint64(i), Seq: 1,
				Services: []beacon.Service{{Instance: uint64(i), Name: fmt.Sprintf("s%d", i), TTL: time.Hour}}}
			p, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(2 + i%250)}), beacon.DefaultPort)
			q.h.Inject(2, src, dst, p)
			synctest.Wait()
		}
		// One instance heard from 100 spoofed addresses keeps at most 16 paths.
		for i := range 100 {
			b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 7, Seq: uint32(100 + i),
				Services: []beacon.Service{{Instance: 7, Name: "s7", TTL: time.Hour}}}
			p, _ := b.Marshal()
			q.h.Inject(2, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(2 + i)}), beacon.DefaultPort), dst, p)
			synctest.Wait()
		}
		stop()
		// Each newcomer from a source that holds nothing evicts one of a
		// source that holds one, or is dropped when the sample found no
		// larger source: the table stays at 50. s7, likely evicted by
		// then, comes back (after a few drops, maybe); the first path of
		// s7 came with the beacon that brought it back, 15 more fit.
		ups, downs := counts[discover.EventUp], counts[discover.EventDown]
		st := l.Stats()
		if n := uint64(ups) + st.TableFull; ups-downs != 50 || uint64(downs) != st.Evicted ||
			n < 1000 || n > 1100 || counts[discover.EventUpdate] != 15 {
			t.Fatalf("got %d ups, %d downs, %d updates, table_full=%d, evicted=%d; want 50 more ups "+
				"than downs, as many evicted, ups and drops 1000 to 1100, 15 path updates",
				ups, downs, counts[discover.EventUpdate], st.TableFull, st.Evicted)
		}
	})
}

// TestFloodOfSendersForOneInstance: forged announcements that all claim
// one instance ID, each from a new sender and address, keep a few entries
// and log a few conflict warnings, not one warning per sender listing
// every address before it.
func TestFloodOfSendersForOneInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/16")
		var logged countWriter
		l := q.listener(t, discover.Config{Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		ups := 0
		stop := runListener(t, l, func(ev discover.Event) {
			if ev.Kind == discover.EventUp {
				ups++
			}
		})
		synctest.Wait()
		dst := netip.AddrPortFrom(netip.MustParseAddr("10.1.255.255"), beacon.DefaultPort)
		const n = 1000
		for i := range n {
			b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: uint64(1000 + i), Seq: 1,
				Services: []beacon.Service{{Instance: 7, Name: "db", TTL: time.Hour}}}
			p, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(1 + i/250), byte(2 + i%250)}), beacon.DefaultPort)
			q.h.Inject(2, src, dst, p)
			synctest.Wait()
		}
		stop()
		if ups > 8 || l.Stats().TableFull != uint64(n-ups) {
			t.Errorf("got %d instances up, table_full %d; want at most 8 up and the rest dropped",
				ups, l.Stats().TableFull)
		}
		if got := logged.n.Load(); got > 8<<10 {
			t.Errorf("%d bytes of warnings, want a few lines", got)
		}
	})
}

type countWriter struct{ n atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func TestSameServiceTwiceOnOneHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.2/24")
		l := q.listener(t, discover.Config{})
		var events []string
		stop := runListener(t, l, func(ev discover.Event) {
			events = append(events, fmt.Sprintf("%s %s conflict=%v", ev.Kind, ev.Reason, ev.Service.Conflict))
		})
		synctest.Wait()
		cfg := announce.Config{Interval: time.Second, Services: []announce.Service{{Name: "db"}}}
		stop1 := run(t, a.sender(t, cfg))
		synctest.Wait()
		run(t, a.sender(t, cfg)) // the same service again, same host: same instance ID
		time.Sleep(5 * time.Second)
		stop1()
		synctest.Wait()
		stop()
		// The second process first looks like a restart of the first; when
		// the first is heard again, both are listed as a conflict. No
		// flapping afterwards; the goodbye of one ends the conflict.
		want := []string{"up  conflict=false", "update  conflict=true", "up  conflict=true",
			"down goodbye conflict=true", "update  conflict=false"}
		if !slices.Equal(events, want) {
			t.Fatalf("got events %q, want %q", events, want)
		}
	})
}

// TestResolveRepeatsSoon: when the answer to Resolve's first query is
// lost, the repeat goes out 25ms later, not after the collect backoff.
func TestResolveRepeatsSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		h := addHost(hub, "h", "10.1.0.10/24")
		qa := netip.MustParseAddr("10.1.0.1")
		var mu sync.Mutex
		lost := 0
		hub.SetLoss(func(p udptest.Packet) bool {
			mu.Lock()
			defer mu.Unlock()
			if p.Host == "q" && p.Dst.Addr() == qa && lost == 0 {
				lost++ // the first reply
				return true
			}
			return false
		})
		run(t, h.sender(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "db", Port: 5432}}}))
		synctest.Wait()
		l := q.listener(t, discover.Config{Name: "db"})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		r, err := l.Resolve(ctx)
		elapsed := time.Since(start)
		if err != nil || r.Name != "db" {
			t.Fatalf("Resolve: got %v, %v", r.Name, err)
		}
		if lost != 1 {
			t.Fatalf("%d replies lost, want the first", lost)
		}
		if elapsed > 50*time.Millisecond {
			t.Errorf("Resolve took %v after a lost answer, want it repeated and answered by 50ms", elapsed)
		}
	})
}
