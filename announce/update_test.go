package announce_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// tapHeard is one datagram a watcher received, and when.
type tapHeard struct {
	at time.Time
	b  beacon.Beacon
}

// tapRig is a Sender (broadcast only, so each beacon arrives once) and a
// watcher socket on the lanfind port of another host. Create it inside a
// synctest bubble.
type tapRig struct {
	s      *announce.Sender
	w      udp.Conn
	cancel context.CancelFunc // stops Run
	done   chan error         // Run's result
}

func newTapRig(t *testing.T, cfg announce.Config, run bool) *tapRig {
	t.Helper()
	hub := udptest.NewHub()
	ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixA})
	hw := hub.AddHost("w", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixQ})
	w, err := hw.Listen(context.Background(), netip.AddrPortFrom(netip.IPv4Unspecified(), beacon.DefaultPort), udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	cfg.Lister = staticLister(prefixA)
	cfg.Hostname, cfg.MachineID = "a", "m"
	cfg.NoMulticast = true
	cfg.Seam = &endpoint.Seam{Listen: ha.Listen}
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	r := &tapRig{s: s, w: w, done: make(chan error, 1)}
	if run {
		r.start(t)
	}
	return r
}

// start runs the Sender until the test ends or r.stop.
func (r *tapRig) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Go(func() { r.done <- r.s.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// stop ends Run and fails t unless it returned nil.
func (r *tapRig) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// next returns the next datagram the watcher hears within d, or ok false.
func (r *tapRig) next(t *testing.T, d time.Duration) (tapHeard, bool) {
	t.Helper()
	buf := make([]byte, beacon.MaxSize+1)
	r.w.SetReadDeadline(time.Now().Add(d))
	n, _, _, err := r.w.ReadFrom(buf)
	if isTimeout(err) {
		return tapHeard{}, false
	}
	if err != nil {
		t.Fatalf("watcher read: %v", err)
	}
	b, err := beacon.Parse(buf[:n])
	if err != nil {
		t.Fatalf("watcher got an unparsable datagram: %v", err)
	}
	return tapHeard{at: time.Now(), b: b}, true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// expect reads the next datagram, which must come within d and be of kind
// with exactly the services named (as name:port), and returns it.
func (r *tapRig) expect(t *testing.T, d time.Duration, kind beacon.Kind, want ...string) tapHeard {
	t.Helper()
	h, ok := r.next(t, d)
	if !ok {
		t.Fatalf("got nothing within %v, want %v %v", d, kind, want)
	}
	if got := summary(h.b); h.b.Kind != kind || !slices.Equal(got, want) {
		t.Fatalf("got %v %v, want %v %v", h.b.Kind, got, kind, want)
	}
	return h
}

// expectQuiet fails t if the watcher hears anything within d.
func (r *tapRig) expectQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	if h, ok := r.next(t, d); ok {
		t.Fatalf("got %v %v, want nothing within %v", h.b.Kind, summary(h.b), d)
	}
}

// summary lists a beacon's services as name:port, sorted.
func summary(b beacon.Beacon) []string {
	var out []string
	for _, s := range b.Services {
		out = append(out, fmt.Sprintf("%s:%d", s.Name, s.Port))
	}
	slices.Sort(out)
	return out
}

func TestUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Minute
		r := newTapRig(t, announce.Config{Interval: interval, Services: []announce.Service{
			{Name: "db", Type: "postgres", Port: 5432},
			{Name: "web", Port: 80},
		}}, true)
		start := r.expect(t, time.Second, beacon.KindAnnounce, "db:5432", "web:80")
		r.expect(t, 2*time.Second, beacon.KindAnnounce, "db:5432", "web:80") // the 1 s repeat
		dbID := r.s.Instances()[0].Instance

		time.Sleep(10 * time.Second)
		// web goes, db changes port and metadata, api comes.
		err := r.s.Update([]announce.Service{
			{Name: "db", Type: "postgres", Port: 5433, Meta: map[string]string{"version": "17"}},
			{Name: "api", Port: 9000},
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		at := time.Now()
		bye := r.expect(t, time.Millisecond, beacon.KindGoodbye, "web:80")
		if bye.at != at || bye.b.Services[0].TTL != 0 {
			t.Fatalf("goodbye at +%v with ttl %v, want at once with ttl 0",
				bye.at.Sub(at), bye.b.Services[0].TTL)
		}
		up := r.expect(t, time.Millisecond, beacon.KindAnnounce, "api:9000", "db:5433")
		if up.at != at {
			t.Fatalf("announcement of the changes at +%v, want at once", up.at.Sub(at))
		}
		for _, s := range up.b.Services {
			if s.Name == "db" && (s.Instance != dbID || s.Meta["version"] != "17") {
				t.Fatalf("changed db: instance %x meta %v, want the old instance %x and version=17",
					s.Instance, s.Meta, dbID)
			}
		}
		// The whole set a second later, then every interval.
		h := r.expect(t, 2*time.Second, beacon.KindAnnounce, "api:9000", "db:5433")
		if d := h.at.Sub(at); d != time.Second {
			t.Fatalf("repeat %v after the update, want 1s", d)
		}
		h = r.expect(t, 2*interval, beacon.KindAnnounce, "api:9000", "db:5433")
		if d := h.at.Sub(at); d != time.Second+interval {
			t.Fatalf("next beacon %v after the update, want 1s + interval", d)
		}
		if h.at.Sub(start.at) >= 2*interval {
			t.Fatalf("schedule drifted: beacon at +%v", h.at.Sub(start.at))
		}

		// The same set again: nothing to send.
		if err := r.s.Update([]announce.Service{{Name: "api", Port: 9000}, {Name: "db", Type: "postgres", Port: 5433, Meta: map[string]string{"version": "17"}}}); err != nil {
			t.Fatalf("Update with the same set: %v", err)
		}
		r.expectQuiet(t, interval/2)

		// A bad set changes nothing.
		before := r.s.Instances()
		for _, bad := range [][]announce.Service{
			nil,
			{{Name: "x"}, {Name: "x"}},
			{{Name: ""}},
			{{Name: strings.Repeat("n", 64)}},
			{{Name: "big", Meta: bigMeta()}},
		} {
			err := r.s.Update(bad)
			if err == nil || !strings.HasPrefix(err.Error(), "announce: ") {
				t.Fatalf("Update(%v): got %v, want an announce: error", bad, err)
			}
		}
		if got := r.s.Instances(); !slices.EqualFunc(got, before, func(a, b beacon.Service) bool {
			return a.Instance == b.Instance && a.Port == b.Port && maps.Equal(a.Meta, b.Meta)
		}) {
			t.Fatalf("after failed updates: got %v, want the old set %v", got, before)
		}
		r.expectQuiet(t, interval/4)

		// Goodbye for all at the end.
		r.stop(t)
		r.expect(t, time.Millisecond, beacon.KindGoodbye, "api:9000", "db:5433")
	})
}

func TestUpdateWithoutRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTapRig(t, announce.Config{Interval: time.Minute, Services: []announce.Service{{Name: "db"}}}, false)
		if err := r.s.Update([]announce.Service{{Name: "web", Port: 80}}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		r.expectQuiet(t, time.Second)
		r.start(t)
		// The first beacon has the new set, and no goodbye for a service
		// never announced comes before or after it.
		r.expect(t, time.Millisecond, beacon.KindAnnounce, "web:80")
		r.expect(t, 2*time.Second, beacon.KindAnnounce, "web:80")
		r.expectQuiet(t, 30*time.Second)
		r.stop(t)
		r.expect(t, time.Millisecond, beacon.KindGoodbye, "web:80")

		r.s.Close()
		if err := r.s.Update([]announce.Service{{Name: "db"}}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Update after Close: got %v, want net.ErrClosed", err)
		}
	})
}

// TestUpdateConcurrent runs updates from several goroutines while Run
// sends and answers; -race checks the locking, and the watcher must end up
// with a consistent picture: the last set is what the next beacon carries.
func TestUpdateConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTapRig(t, announce.Config{Interval: time.Minute, Services: []announce.Service{{Name: "s0"}}}, true)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 20 {
					if err := r.s.Update([]announce.Service{{Name: fmt.Sprintf("s%d", (g+i)%5), Port: uint16(i)}}); err != nil {
						t.Errorf("Update: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if err := r.s.Update([]announce.Service{{Name: "final", Port: 1}}); err != nil {
			t.Fatal(err)
		}
		// Drain what the updates sent; the full beacon a second after the
		// last change carries only the final set.
		synctest.Wait()
		for {
			if _, ok := r.next(t, time.Nanosecond); !ok {
				break
			}
		}
		r.expect(t, 2*time.Second, beacon.KindAnnounce, "final:1")
	})
}

func TestCheckServices(t *testing.T) {
	ok := []announce.Service{{Name: "db", Type: "postgres", Port: 5432, Meta: map[string]string{"version": "16"}}, {Name: "db", Type: "http"}}
	if err := announce.CheckServices(announce.Config{Hostname: "host", Services: ok}); err != nil {
		t.Fatalf("CheckServices(%v): %v", ok, err)
	}
	// Metadata that fits with one address but not with the most a beacon
	// can list.
	m := map[string]string{}
	for i := range 4 {
		m[fmt.Sprintf("k%d", i)] = strings.Repeat("v", 250)
	}
	m["pad"] = strings.Repeat("p", 68)
	edge := []announce.Service{{Name: "a", Meta: m}}
	if err := announce.CheckServices(announce.Config{Hostname: "a", Services: edge}); !errors.Is(err, beacon.ErrTooBig) {
		t.Fatalf("CheckServices(edge): got %v, want beacon.ErrTooBig (counted with %d addresses)",
			err, beacon.MaxAddrs)
	}
	r := newTapRig(t, announce.Config{Services: edge}, false) // New counts the one address it has
	if got := len(r.s.Instances()); got != 1 {
		t.Fatalf("New(edge): got %d instances, want 1", got)
	}
	for _, tc := range []struct {
		name string
		svcs []announce.Service
		want string
	}{
		{"none", nil, "announce: no service to announce"},
		{"duplicate", []announce.Service{{Name: "a", Type: "t"}, {Name: "a", Type: "t"}}, `announce: service "a" of type "t" is listed twice`},
		{"empty key", []announce.Service{{Name: "a", Meta: map[string]string{"": "v"}}}, "meta key is empty"},
		{"long type", []announce.Service{{Name: "a", Type: strings.Repeat("t", 64)}}, "type is 64 bytes, max 63"},
	} {
		err := announce.CheckServices(announce.Config{Hostname: "h", Services: tc.svcs})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestManyServices announces 50 services from one Sender: beacons and
// replies pack several records per datagram, every datagram fits, and each
// service goes out exactly once per round.
func TestManyServices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var svcs []announce.Service
		for i := range 50 {
			svcs = append(svcs, announce.Service{Name: fmt.Sprintf("svc-%02d", i), Type: "http", Port: uint16(8000 + i),
				Meta: map[string]string{"path": "/", "version": "1.2.3"}})
		}
		r := newTapRig(t, announce.Config{Interval: time.Minute, Services: svcs}, true)
		count := func(what string, bs []beacon.Beacon) {
			t.Helper()
			seen := map[string]int{}
			for _, b := range bs {
				p, err := b.Marshal()
				if err != nil || len(p) > beacon.MaxSize {
					t.Fatalf("%s: datagram of %d bytes (%v), want at most %d",
						what, len(p), err, beacon.MaxSize)
				}
				for _, s := range b.Services {
					seen[s.Name]++
				}
			}
			if len(seen) != 50 {
				t.Fatalf("%s: got %d distinct services, want 50", what, len(seen))
			}
			for n, c := range seen {
				if c != 1 {
					t.Fatalf("%s: %s sent %d times, want once", what, n, c)
				}
			}
			if len(bs) > 50/4 {
				t.Fatalf("%s: %d datagrams for 50 services, want them packed (at most %d)",
					what, len(bs), 50/4)
			}
			t.Logf("%s: 50 services in %d datagrams", what, len(bs))
		}
		var first []beacon.Beacon
		for {
			h, ok := r.next(t, time.Nanosecond)
			if !ok {
				break
			}
			first = append(first, h.b)
		}
		count("announcement", first)

		// A browse query from another host on the link gets packed replies.
		q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 42, Seq: 1, RequestID: 7, Query: &beacon.Query{}}
		p, err := q.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.w.WriteTo(p, bcast, 0); err != nil {
			t.Fatal(err)
		}
		var replies []beacon.Beacon
		for {
			h, ok := r.next(t, 500*time.Millisecond)
			if !ok {
				break
			}
			if h.b.Kind == beacon.KindReply {
				replies = append(replies, h.b)
			}
		}
		count("reply", replies)
	})
}

// TestUpdatePendingReply changes the services while a reply waits for its
// jitter: the reply carries the new records, never a removed service or
// an old port.
func TestUpdatePendingReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTapRig(t, announce.Config{Interval: time.Minute, ReplyJitter: time.Second, Services: []announce.Service{
			{Name: "db", Port: 5432}, {Name: "web", Port: 80},
		}}, true)
		r.expect(t, time.Millisecond, beacon.KindAnnounce, "db:5432", "web:80")
		q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 42, Seq: 1, RequestID: 7, Query: &beacon.Query{}}
		p, err := q.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.w.WriteTo(p, bcast, 0); err != nil {
			t.Fatal(err)
		}
		r.expect(t, time.Millisecond, beacon.KindQuery) // the watcher hears its own broadcast
		synctest.Wait()                                 // the query is queued with its jitter
		if err := r.s.Update([]announce.Service{{Name: "db", Port: 5433}}); err != nil {
			t.Fatal(err)
		}
		r.expect(t, time.Millisecond, beacon.KindGoodbye, "web:80")
		r.expect(t, time.Millisecond, beacon.KindAnnounce, "db:5433")
		for {
			h, ok := r.next(t, 2*time.Second)
			if !ok {
				t.Fatal("no reply within the jitter")
			}
			if h.b.Kind == beacon.KindReply {
				if got := summary(h.b); !slices.Equal(got, []string{"db:5433"}) {
					t.Fatalf("reply after the update: got %v, want [db:5433]", got)
				}
				break
			}
		}
	})
}
