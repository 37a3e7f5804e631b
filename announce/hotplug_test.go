package announce_test

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/ifacetest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// runningEth0 is eth0 with carrier, as a system lister reports a working
// link; only then does a Sender send a burst on an interface that appears.
func runningEth0() iface.Interface {
	i := staticLister(prefixA)[0]
	i.Flags |= iface.FlagRunning
	return i
}

// heard is a datagram a receiving host got, with when.
type heard struct {
	at   time.Time
	dst  netip.AddrPort
	data []byte
}

// hotRig is a Sender on a hub whose interface list the test changes, and
// a log of what another host on the link receives.
type hotRig struct {
	s      *announce.Sender
	lister *ifacetest.Lister
	cancel context.CancelFunc
	done   chan error

	mu    sync.Mutex // guards heard
	heard []heard
}

func newHotRig(t *testing.T) *hotRig {
	t.Helper()
	hub := udptest.NewHub()
	ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixA})
	hr := hub.AddHost("r", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixQ})
	r := &hotRig{lister: ifacetest.New(runningEth0()), done: make(chan error, 1)}
	hub.SetLoss(func(p udptest.Packet) bool {
		if p.Host == "r" {
			r.mu.Lock()
			r.heard = append(r.heard, heard{time.Now(), p.Dst, bytes.Clone(p.Data)})
			r.mu.Unlock()
		}
		return false
	})
	rc, err := hr.Listen(context.Background(), netip.AddrPortFrom(netip.IPv4Unspecified(), beacon.DefaultPort), udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if err := rc.JoinGroup(2, beacon.DefaultGroup); err != nil {
		t.Fatal(err)
	}
	cfg := announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "db"}}, Lister: r.lister, Hostname: "a", MachineID: "m"}
	cfg.Seam = &endpoint.Seam{Listen: ha.Listen}
	r.s, err = announce.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// count returns how many datagrams the receiver got.
func (r *hotRig) count() int {
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.heard)
}

func (r *hotRig) expect(t *testing.T, want int, what string) {
	t.Helper()
	if got := r.count(); got != want {
		t.Fatalf("%s: receiver got %d datagrams, want %d", what, got, want)
	}
}

// TestHotplugIdleAndResume takes the Sender's only interface away and
// gives it back: it idles without errors meanwhile and, once the change
// has settled, sends a beacon at once and another a second later.
func TestHotplugIdleAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newHotRig(t)
		r.expect(t, 2, "at start (broadcast and group)")
		time.Sleep(time.Second)
		r.expect(t, 4, "after the one-second repeat")

		r.lister.Set()
		time.Sleep(endpoint.Settle)
		synctest.Wait()
		if ts := r.s.Targets(); len(ts) != 0 {
			t.Fatalf("targets %v with no interface, want none", ts)
		}
		time.Sleep(3 * time.Hour)
		r.expect(t, 4, "three intervals without an interface")
		if st := r.s.Stats(); st.SendErrors != 0 {
			t.Fatalf("idle Sender: %d send errors, want 0", st.SendErrors)
		}

		r.lister.Set(runningEth0())
		time.Sleep(endpoint.Settle - time.Millisecond)
		r.expect(t, 4, "before the change settled")
		time.Sleep(time.Millisecond)
		r.expect(t, 6, "as the change settled")
		time.Sleep(time.Second)
		r.expect(t, 8, "a second later")
		// The regular schedule goes on as before: beacons at 1 s past
		// each hour since Run started.
		time.Sleep(time.Until(start.Add(4*time.Hour + time.Second - time.Millisecond)))
		r.expect(t, 8, "until the next interval")
		time.Sleep(time.Millisecond)
		r.expect(t, 10, "at the next interval")
	})
}

// TestGoodbyeTwice checks that the goodbye goes out twice, 75 ms apart,
// as the same datagrams, so receivers drop the second copy as a duplicate.
func TestGoodbyeTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newHotRig(t)
		r.expect(t, 2, "at start")
		r.cancel()
		if err := <-r.done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil // for the cleanup
		r.mu.Lock()
		defer r.mu.Unlock()
		got := r.heard[2:]
		if len(got) != 4 {
			t.Fatalf("got %d goodbye datagrams, want 4 (2 destinations, twice)", len(got))
		}
		for i := range 2 {
			first, again := got[i], got[i+2]
			if d := again.at.Sub(first.at); d != 75*time.Millisecond {
				t.Errorf("%v: copy %v after the first, want 75ms", first.dst, d)
			}
			if first.dst != again.dst || !bytes.Equal(first.data, again.data) {
				t.Errorf("%v: the copy differs from the first goodbye", first.dst)
			}
			b, err := beacon.Parse(first.data)
			if err != nil || b.Kind != beacon.KindGoodbye {
				t.Errorf("%v: got kind %v (err %v), want a goodbye", first.dst, b.Kind, err)
			}
		}
	})
}

// TestHotplugWaitsForCarrier: an interface that comes back up without
// carrier gets its burst only when the carrier comes.
func TestHotplugWaitsForCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newHotRig(t)
		time.Sleep(time.Second)
		r.expect(t, 4, "start and repeat")
		r.lister.Set()
		time.Sleep(time.Second)
		noCarrier := runningEth0()
		noCarrier.Flags &^= iface.FlagRunning
		r.lister.Set(noCarrier)
		time.Sleep(time.Second)
		r.expect(t, 4, "up without carrier")
		r.lister.Set(runningEth0())
		time.Sleep(endpoint.Settle)
		r.expect(t, 6, "carrier")
	})
}
