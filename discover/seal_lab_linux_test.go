package discover_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/seal"
)

// skewClock is a clock that a test moves forward, instead of sleeping.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// attacker is a plain UDP socket on the lanfind port of a lab host that
// records every datagram it hears (it cannot open them; the test can,
// to pick which one to replay) and sends whatever bytes it likes.
type attacker struct {
	c    *net.UDPConn
	keys seal.Keys // the test's, to classify captures
	mu   sync.Mutex
	got  map[beacon.Kind][][]byte
	done chan struct{}
}

func newAttacker(t *testing.T, h *netnstest.Host, keys seal.Keys) *attacker {
	t.Helper()
	pc, err := h.ListenPacket(t.Context(), "udp4", fmt.Sprintf(":%d", beacon.DefaultPort))
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{c: pc.(*net.UDPConn), keys: keys, got: map[beacon.Kind][][]byte{}, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		buf := make([]byte, beacon.MaxSize+1)
		for {
			n, _, err := a.c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			raw := slices.Clone(buf[:n])
			msg, _, err := keys.Open(raw)
			if err != nil {
				continue
			}
			if b, err := beacon.Parse(msg); err == nil {
				a.mu.Lock()
				a.got[b.Kind] = append(a.got[b.Kind], raw)
				a.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		a.c.Close()
		<-a.done
	})
	return a
}

// last waits for a captured datagram of kind and returns the latest.
func (a *attacker) last(t *testing.T, kind beacon.Kind) []byte {
	t.Helper()
	var p []byte
	waitFor(t, fmt.Sprintf("a captured %v", kind), func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		if got := a.got[kind]; len(got) > 0 {
			p = got[len(got)-1]
			return true
		}
		return false
	})
	return p
}

func (a *attacker) send(t *testing.T, p []byte, dst netip.AddrPort) {
	t.Helper()
	if _, err := a.c.WriteToUDPAddrPort(p, dst); err != nil {
		t.Fatalf("attacker: send to %v: %v", dst, err)
	}
}

// labKeys returns the one key of the lab tests.
func labKeys(t *testing.T) seal.Keys {
	t.Helper()
	k, err := seal.NewKey([]byte("a lab key of at least thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	return seal.Keys{k}
}

// waitFor polls cond until it holds or 5 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: still waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not waiting for an event
	}
}

// TestNSSealedAttacks runs a keyed announcer and a keyed listener on a lab
// LAN with an attacker host that has no key. The attacker injects forged
// beacons and replies, tampers with captured datagrams, and replays a
// captured beacon and goodbye after the window, and a captured query:
// every attempt is dropped and counted, and changes nothing.
func TestNSSealedAttacks(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	keys := labKeys(t)
	evil := newAttacker(t, h2, keys)

	var lclock, aclock skewClock
	// The announcer's socket exists before the listener's first query, so
	// it sees every query the attacker captures. It beacons only at start
	// and a second later (then hourly), so the replays below are the only
	// traffic.
	acfg := announce.Config{Keys: keys, Interval: time.Hour, Services: []announce.Service{{Name: "db", Port: 5432}},
		ListenPacket: h1.ListenPacket, Lister: h1.Lister(t), Logger: testLogger(t)}
	acfg.Seam = &endpoint.Seam{Now: aclock.now}
	s, err := announce.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	lcfg := discover.Config{Keys: keys, ListenPacket: h0.ListenPacket, Lister: h0.Lister(t), Logger: testLogger(t)}
	lcfg.Seam = &endpoint.Seam{Now: lclock.now}
	l, err := discover.New(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var events []string
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() {
		runErr <- l.Run(ctx, func(ev discover.Event) {
			mu.Lock()
			events = append(events, fmt.Sprintf("%s %s %s", ev.Kind, ev.Reason, ev.Service.Name))
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var want []string
	waitEvents := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) { // polling, as waitFor
			mu.Lock()
			got := slices.Clone(events)
			mu.Unlock()
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 5s: got events %q, want %q (%s)", got, want, what)
			}
		}
	}
	checkEvents := func(what string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(events, want) {
			t.Fatalf("%s: got events %q, want %q", what, events, want)
		}
	}
	// Wait until a counter of l (or s) has grown past before.
	grew := func(what string, get func() uint64, before uint64) {
		t.Helper()
		waitFor(t, what, func() bool { return get() > before })
	}

	runAnnouncer := func() (stop func()) {
		actx, acancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(actx) }()
		return func() {
			acancel()
			if err := <-done; err != nil {
				t.Errorf("announce Run: %v", err)
			}
		}
	}
	stop := runAnnouncer()
	want = []string{"up  db"}
	waitEvents("announcer started")
	query := evil.last(t, beacon.KindQuery) // sent by l before any clock moved
	beaconPort := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	queryPort := netip.AddrPortFrom(h0.Addr("eth0"), l.QueryAddr().Port())

	// 1. Forged beacon and forged reply, in clear: the attacker has no key.
	forged := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: rand.Uint64(), Seq: 1,
		Services: []beacon.Service{{Instance: rand.Uint64(), Name: "evil", Port: 9, TTL: time.Minute}}}
	p, err := forged.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	before := l.Stats().Unsealed
	evil.send(t, p, beaconPort)
	forged.Kind, forged.RequestID = beacon.KindReply, rand.Uint64()
	if p, err = forged.Marshal(); err != nil {
		t.Fatal(err)
	}
	evil.send(t, p, queryPort)
	grew("forged clear beacon and reply counted", func() uint64 { return l.Stats().Unsealed }, before+1)

	// 2. A forged sealed datagram (a captured header, random rest) and a
	// captured beacon with one bit flipped.
	captured := evil.last(t, beacon.KindAnnounce)
	junk := slices.Clone(captured)
	for i := seal.HeaderSize; i < len(junk); i++ {
		junk[i] = byte(rand.Uint32())
	}
	tampered := slices.Clone(captured)
	tampered[len(tampered)/2] ^= 0x01
	before = l.Stats().Rejected
	evil.send(t, junk, beaconPort)
	evil.send(t, tampered, queryPort)
	grew("forged and tampered datagrams counted", func() uint64 { return l.Stats().Rejected }, before+1)
	checkEvents("after forged and tampered datagrams")

	// 3. The announcer stops (goodbye) and comes back; the attacker has
	// its goodbye and a beacon. After the window both are stale.
	stop()
	want = append(want, "down goodbye db")
	waitEvents("goodbye")
	goodbye := evil.last(t, beacon.KindGoodbye)
	stop = runAnnouncer()
	t.Cleanup(stop)
	want = append(want, "up  db")
	waitEvents("announcer back")
	lclock.advance(seal.DefaultWindow + time.Second)
	before = l.Stats().Stale
	evil.send(t, goodbye, beaconPort)
	evil.send(t, captured, beaconPort)
	grew("replayed goodbye and beacon counted as stale", func() uint64 { return l.Stats().Stale }, before+1)
	checkEvents("after replaying the goodbye") // the service stays

	// 4. A captured query replayed to the announcer, inside the window and
	// after it (past its memory of answered queries too): no reply. A
	// reply would go to the replay's source, the attacker; the listener's
	// own queries may still be answered meanwhile (it repeats them until
	// the answers settle), but those replies go to the listener.
	annPort := netip.AddrPortFrom(h1.Addr("eth0"), beacon.DefaultPort)
	st := s.Stats()
	evil.send(t, query, annPort)
	grew("replayed query counted as a copy", func() uint64 { return s.Stats().Duplicates }, st.Duplicates)
	aclock.advance(5 * time.Minute)
	evil.send(t, query, annPort)
	grew("replayed query counted as stale", func() uint64 { return s.Stats().Stale }, st.Stale)
	time.Sleep(2 * announce.DefaultReplyJitter) // a reply, if any, would have gone by now
	evil.mu.Lock()
	replies := len(evil.got[beacon.KindReply])
	evil.mu.Unlock()
	if replies != 0 {
		t.Fatalf("replayed query: the attacker got %d replies, want none", replies)
	}
	if st := l.Stats(); st.Malformed != 0 || st.Accepted == 0 {
		t.Fatalf("listener stats %+v: want accepted datagrams and no malformed ones", st)
	}
}
