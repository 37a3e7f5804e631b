package discover_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp/udptest"
	"github.com/lanfind/lanfind/seal"
)

func testKeys(t testing.TB, fill byte) seal.Keys {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return seal.Keys{k}
}

// watch runs a listener on f for d and returns the names reported up and
// its stats.
func watch(t *testing.T, f fakeHost, cfg discover.Config, d time.Duration) ([]string, discover.Stats) {
	t.Helper()
	l := f.listener(t, cfg)
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var up []string
	err := l.Run(ctx, func(ev discover.Event) {
		if ev.Kind == discover.EventUp {
			if cfg.Keys != nil != ev.Service.Verified {
				t.Errorf("%s: verified %v, want %v",
					ev.Service.Name, ev.Service.Verified, cfg.Keys != nil)
			}
			up = append(up, ev.Service.Name)
		}
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.Sort(up)
	return up, l.Stats()
}

// TestSealedModes runs a keyed and an unkeyed announcer side by side:
// each kind of listener sees only its own kind, and counts the rest.
func TestSealedModes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		b := addHost(hub, "b", "10.1.0.11/24")
		key := testKeys(t, 1)
		sa := a.sender(t, announce.Config{Keys: key, Interval: time.Second, Services: []announce.Service{{Name: "sealed", Type: "t", Port: 1}}})
		sb := b.sender(t, announce.Config{Interval: time.Second, Services: []announce.Service{{Name: "clear", Type: "t", Port: 2}}})
		run(t, sa)
		run(t, sb)
		synctest.Wait()

		rs, _ := collect(t, q, discover.Config{Keys: key})
		if len(rs) != 1 || rs[0].Name != "sealed" || !rs[0].Verified {
			t.Errorf("keyed Collect: got %v, want only sealed, verified", names(rs))
		}
		rs, _ = collect(t, q, discover.Config{})
		if len(rs) != 1 || rs[0].Name != "clear" || rs[0].Verified {
			t.Errorf("unkeyed Collect: got %v, want only clear, not verified", names(rs))
		}
		if st := sa.Stats(); st.Unsealed == 0 || st.Replies != 1 {
			t.Errorf("keyed announcer: got %+v, want the clear queries counted as unsealed and one reply (to the keyed query)",
				st)
		}
		if st := sb.Stats(); st.Sealed == 0 || st.Replies != 1 {
			t.Errorf("unkeyed announcer: got %+v, want the sealed queries counted as sealed and one reply (to the clear query)",
				st)
		}

		up, st := watch(t, q, discover.Config{Keys: key}, 3*time.Second)
		if !slices.Equal(up, []string{"sealed"}) || st.Unsealed == 0 || st.Rejected != 0 || st.Sealed != 0 || st.Stale != 0 || st.Malformed != 0 {
			t.Errorf("keyed listener: got %v, stats %+v; want sealed only, clear beacons counted as unsealed and nothing else dropped",
				up, st)
		}
		up, st = watch(t, q, discover.Config{}, 3*time.Second)
		if !slices.Equal(up, []string{"clear"}) || st.Sealed == 0 || st.Unsealed != 0 || st.Rejected != 0 {
			t.Errorf("unkeyed listener: got %v, stats %+v; want clear only and sealed beacons counted",
				up, st)
		}
		up, st = watch(t, q, discover.Config{Keys: testKeys(t, 2)}, 3*time.Second)
		if len(up) != 0 || st.Rejected == 0 {
			t.Errorf("listener with another key: got %v, stats %+v; want nothing and rejected datagrams counted",
				up, st)
		}
		// Rotation: a listener holding a new key and the old one finds the
		// announcer that still uses the old one.
		up, _ = watch(t, q, discover.Config{Keys: append(testKeys(t, 2), key...)}, 3*time.Second)
		if !slices.Equal(up, []string{"sealed"}) {
			t.Errorf("rotating listener: got %v, want sealed", up)
		}
	})
}

// TestSealedPacking checks that a keyed announcer packs its records into
// sealed datagrams of at most beacon.MaxSize, and refuses a service that
// fits unkeyed but not sealed.
func TestSealedPacking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		key := testKeys(t, 1)
		var mu sync.Mutex
		largest := 0
		hub.SetLoss(func(p udptest.Packet) bool {
			mu.Lock()
			defer mu.Unlock()
			largest = max(largest, len(p.Data))
			return false
		})
		var svcs []announce.Service
		for i := range 12 {
			svcs = append(svcs, announce.Service{Name: fmt.Sprintf("svc%02d", i), Meta: map[string]string{"k": string(bytes.Repeat([]byte{'v'}, 200))}})
		}
		run(t, a.sender(t, announce.Config{Keys: key, Services: svcs}))
		synctest.Wait()
		rs, _ := collect(t, q, discover.Config{Keys: key})
		if len(rs) != len(svcs) {
			t.Fatalf("got %d services, want %d", len(rs), len(svcs))
		}
		mu.Lock()
		defer mu.Unlock()
		if largest > beacon.MaxSize || largest < beacon.MaxSize-300 {
			t.Fatalf("largest datagram %d bytes, want close to but at most %d",
				largest, beacon.MaxSize)
		}

		// One service whose clear beacon is 1180 bytes: fine unkeyed, too
		// big sealed.
		big := announce.Service{Name: "big", Meta: map[string]string{"k": string(bytes.Repeat([]byte{'v'}, 255))}}
		for i := range 3 {
			big.Meta[fmt.Sprint("k", i)] = string(bytes.Repeat([]byte{'v'}, 255))
		}
		big.Meta["pad"] = string(bytes.Repeat([]byte{'v'}, 90))
		cfg := announce.Config{Services: []announce.Service{big}, Lister: a.lister, Hostname: "h", MachineID: "m"}
		cfg.Seam = &endpoint.Seam{Listen: a.h.Listen}
		s, err := announce.New(cfg)
		if err != nil {
			t.Fatalf("unkeyed announce of a 1180-byte beacon: %v", err)
		}
		s.Close()
		cfg.Keys = key
		if _, err := announce.New(cfg); !errors.Is(err, beacon.ErrTooBig) || !strings.Contains(err.Error(), "sealing takes 52 of the 1200 bytes") {
			t.Fatalf("keyed announce of a 1180-byte beacon: got %v, want it refused as too big",
				err)
		}
	})
}

// capture records the datagrams host receives on port, opened with keys.
type capture struct {
	mu   sync.Mutex
	keys seal.Keys
	host string
	port uint16
	got  []captured
}

type captured struct {
	raw []byte
	b   beacon.Beacon
}

func (c *capture) loss(p udptest.Packet) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.Host != c.host || p.Dst.Port() != c.port {
		return false
	}
	if msg, _, err := c.keys.Open(p.Data); err == nil {
		if b, err := beacon.Parse(msg); err == nil {
			c.got = append(c.got, captured{bytes.Clone(p.Data), b})
		}
	}
	return false
}

// last returns the last captured datagram of kind.
func (c *capture) last(t *testing.T, kind beacon.Kind) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range slices.Backward(c.got) {
		if d.b.Kind == kind {
			return d.raw
		}
	}
	t.Fatalf("no %v captured", kind)
	return nil
}

// TestSealedReplay replays captured sealed beacons and goodbyes inside and
// after the replay window: none of them changes what the listener reports.
func TestSealedReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		key := testKeys(t, 1)
		c := &capture{keys: key, host: "q", port: beacon.DefaultPort}
		hub.SetLoss(c.loss)
		l := q.listener(t, discover.Config{Keys: key})
		var mu sync.Mutex
		var events []string
		stopRun := runListener(t, l, func(ev discover.Event) {
			mu.Lock()
			events = append(events, fmt.Sprintf("%s %s", ev.Kind, ev.Reason))
			mu.Unlock()
		})
		defer stopRun()
		s := a.sender(t, announce.Config{Keys: key, Interval: time.Second, Services: []announce.Service{{Name: "db"}}})
		stop := run(t, s)
		time.Sleep(1500 * time.Millisecond) // two beacons
		stop()                              // goodbye
		synctest.Wait()
		oldBeacon, oldGoodbye := c.last(t, beacon.KindAnnounce), c.last(t, beacon.KindGoodbye)
		bcast := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		src := netip.AddrPortFrom(a.addr, beacon.DefaultPort)
		want := []string{"up ", "down goodbye"}
		check := func(when string) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(events, want) {
				t.Fatalf("%s: got events %q, want %q", when, events, want)
			}
		}
		check("after the goodbye")

		// Inside the window: the beacon is a copy of one already seen, so
		// it cannot bring the service back.
		dups := l.Stats().Duplicates
		q.h.Inject(2, src, bcast, oldBeacon)
		synctest.Wait()
		if got := l.Stats().Duplicates; got != dups+1 {
			t.Fatalf("replayed beacon inside the window: duplicates %d, want %d", got, dups+1)
		}
		check("replayed beacon inside the window")

		// The announcer runs again (same sender); after the window, its
		// old goodbye and beacon are stale.
		run(t, s)
		time.Sleep(seal.DefaultWindow + time.Second)
		want = append(want, "up ")
		check("announcer back")
		stale := l.Stats().Stale
		q.h.Inject(2, src, bcast, oldGoodbye)
		q.h.Inject(2, src, bcast, oldBeacon)
		synctest.Wait()
		if got := l.Stats().Stale; got != stale+2 {
			t.Fatalf("replays after the window: stale %d, want %d", got, stale+2)
		}
		check("replayed goodbye after the window") // the service stays
	})
}

// TestSealedQueryReplay replays a captured sealed query to an announcer:
// no reply, inside the window (a copy) or after it (stale).
func TestSealedQueryReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		key := testKeys(t, 1)
		c := &capture{keys: key, host: "a", port: beacon.DefaultPort}
		hub.SetLoss(c.loss)
		s := a.sender(t, announce.Config{Keys: key, Interval: time.Hour, Services: []announce.Service{{Name: "db"}}})
		run(t, s)
		synctest.Wait()
		l := q.listener(t, discover.Config{Keys: key, Name: "db"})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		r, err := l.Resolve(ctx)
		cancel()
		if err != nil || !r.Verified {
			t.Fatalf("Resolve: %v %v, want a verified result", r, err)
		}
		query := c.last(t, beacon.KindQuery)
		bcast := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		src := netip.AddrPortFrom(q.addr, l.QueryAddr().Port())
		// Resolve returns on the first answer: the announcer may still be
		// handling a copy of the query (sent to its other target, counted as a
		// duplicate) when it does.
		synctest.Wait()
		before := s.Stats()
		a.h.Inject(2, src, bcast, query)
		synctest.Wait()
		// Past the announcer's memory of answered queries too, so that
		// only the timestamp protects it.
		time.Sleep(5 * time.Minute)
		a.h.Inject(2, src, bcast, query)
		synctest.Wait()
		time.Sleep(time.Second) // any reply jitter has passed
		st := s.Stats()
		if st.Replies != before.Replies || st.Duplicates != before.Duplicates+1 || st.Stale != before.Stale+1 {
			t.Fatalf("got replies %d duplicates %d stale %d, want %d, %d, %d",
				st.Replies, st.Duplicates, st.Stale, before.Replies, before.Duplicates+1, before.Stale+1)
		}
	})
}

// TestSealedRelayedBeacon replays a captured sealed beacon, inside the
// window, from another host's address: the listener drops it rather than
// report that address for the service.
func TestSealedRelayedBeacon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		evil := addHost(hub, "evil", "10.1.0.66/24")
		key := testKeys(t, 1)
		c := &capture{keys: key, host: "q", port: beacon.DefaultPort}
		hub.SetLoss(c.loss)
		l := q.listener(t, discover.Config{Keys: key})
		run(t, a.sender(t, announce.Config{Keys: key, Interval: time.Hour, Services: []announce.Service{{Name: "db"}}}))
		synctest.Wait()
		captured := c.last(t, beacon.KindAnnounce)

		var mu sync.Mutex
		var paths []netip.Addr
		stop := runListener(t, l, func(ev discover.Event) {
			mu.Lock()
			defer mu.Unlock()
			paths = append(paths, ev.Service.Addr)
			for _, p := range ev.Service.Paths {
				paths = append(paths, p.Addr)
			}
		})
		synctest.Wait() // Run has queried and heard the answer
		bcast := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		q.h.Inject(2, netip.AddrPortFrom(evil.addr, beacon.DefaultPort), bcast, captured)
		time.Sleep(time.Second)
		stop()
		mu.Lock()
		defer mu.Unlock()
		if len(paths) == 0 || slices.Contains(paths, evil.addr) {
			t.Fatalf("got addresses %v, want only %v", paths, a.addr)
		}
		if st := l.Stats(); st.Relayed != 1 {
			t.Fatalf("got relayed %d, want 1", st.Relayed)
		}
	})
}

// TestSealedOlderReplay replays, inside the window, a goodbye and a beacon
// of an announcer that has since run again (same sender, later sequence
// numbers) to a listener that started after them: it has not seen them,
// so only their sequence numbers tell they are older than what it has.
// Neither may take the service down or roll its record back.
func TestSealedOlderReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.10/24")
		key := testKeys(t, 1)
		c := &capture{keys: key, host: "q", port: beacon.DefaultPort}
		hub.SetLoss(c.loss)
		l := q.listener(t, discover.Config{Keys: key}) // idle until Run
		s := a.sender(t, announce.Config{Keys: key, Interval: time.Second, Services: []announce.Service{{Name: "db", Port: 1}}})
		stop := run(t, s)
		time.Sleep(1500 * time.Millisecond)
		stop() // goodbye
		synctest.Wait()
		oldBeacon, oldGoodbye := c.last(t, beacon.KindAnnounce), c.last(t, beacon.KindGoodbye)
		if err := s.Update([]announce.Service{{Name: "db", Port: 2}}); err != nil {
			t.Fatal(err)
		}
		run(t, s) // again, same sender

		var mu sync.Mutex
		var events []string
		stopRun := runListener(t, l, func(ev discover.Event) {
			mu.Lock()
			events = append(events, fmt.Sprintf("%s %s port %d", ev.Kind, ev.Reason, ev.Service.Port))
			mu.Unlock()
		})
		time.Sleep(2 * time.Second)
		bcast := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		src := netip.AddrPortFrom(a.addr, beacon.DefaultPort)
		q.h.Inject(2, src, bcast, oldBeacon)
		q.h.Inject(2, src, bcast, oldGoodbye)
		synctest.Wait()
		stopRun()
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"up  port 2"}; !slices.Equal(events, want) {
			t.Fatalf("got events %q, want %q", events, want)
		}
	})
}
