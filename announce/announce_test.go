package announce_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
	"github.com/lanfind/lanfind/seal"
)

var (
	prefixA = netip.MustParsePrefix("10.1.0.2/24")
	prefixQ = netip.MustParsePrefix("10.1.0.1/24")
	bcast   = netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
	group   = netip.AddrPortFrom(beacon.DefaultGroup, beacon.DefaultPort)
)

func staticLister(p netip.Prefix) iface.Static {
	return iface.Static{{Index: 2, Name: "eth0", Flags: iface.FlagUp | iface.FlagBroadcast | iface.FlagMulticast,
		HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		Addrs:        []iface.Addr{{Prefix: p, Broadcast: iface.BroadcastOf(p)}}}}
}

func TestConfigErrors(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name string
		cfg  announce.Config
		want string
	}{
		{"no services", announce.Config{}, "announce: no service to announce"},
		{"empty name", announce.Config{Services: []announce.Service{{}}}, "name is empty"},
		{"long name", announce.Config{Services: []announce.Service{{Name: long}}}, "name is 64 bytes, max 63"},
		{"duplicate", announce.Config{Services: []announce.Service{{Name: "a"}, {Name: "a"}}}, `service "a" of type "" is listed twice`},
		{"big value", announce.Config{Services: []announce.Service{{Name: "a", Meta: map[string]string{"k": strings.Repeat("v", 300)}}}}, "value is 300 bytes, max 255"},
		{"too big in all", announce.Config{Services: []announce.Service{{Name: "a", Meta: bigMeta()}}}, `service "a": metadata makes the beacon 1588 bytes, 388 over the maximum of 1200; the largest pair is meta "k0" (252 bytes)`},
		{"short interval", announce.Config{Services: []announce.Service{{Name: "a"}}, Interval: time.Millisecond}, "interval 1ms: want at least 10ms"},
		{"ttl below interval", announce.Config{Services: []announce.Service{{Name: "a"}}, Interval: time.Second, TTL: time.Millisecond}, "ttl 1ms: want at least two intervals"},
		{"ttl equal to interval", announce.Config{Services: []announce.Service{{Name: "a"}}, Interval: time.Second, TTL: time.Second}, "ttl 1s: want at least two intervals"},
		{"long interval", announce.Config{Services: []announce.Service{{Name: "a"}}, Interval: 13 * time.Hour}, "interval 13h0m0s: want at most 12h0m0s"},
		{"bad group", announce.Config{Services: []announce.Service{{Name: "a"}}, Group: netip.MustParseAddr("10.0.0.1")}, "not an IPv4 multicast address"},
		{"nothing to send with", announce.Config{Services: []announce.Service{{Name: "a"}}, NoBroadcast: true, NoMulticast: true}, "both broadcast and multicast are disabled"},
		{"unknown iface", announce.Config{Services: []announce.Service{{Name: "a"}}, Interfaces: []string{"eth9"}}, `no interface named "eth9"`},
		{"zero key", announce.Config{Services: []announce.Service{{Name: "a"}}, Keys: seal.Keys{{}}}, "announce: seal: key 0 is the zero Key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Lister = staticLister(prefixA)
			tc.cfg.Seam = &endpoint.Seam{Listen: func(context.Context, netip.AddrPort, udp.Options) (udp.Conn, error) {
				return nil, errors.New("test: must not open a socket for a bad config")
			}}
			s, err := announce.New(tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "announce: ") {
				t.Fatalf("got %q, want an announce: error containing %q", err, tc.want)
			}
		})
	}
}

// bigMeta fits every per-field limit but not the 1200-byte datagram.
func bigMeta() map[string]string {
	m := map[string]string{}
	for i := range 6 {
		m[fmt.Sprintf("k%d", i)] = strings.Repeat("v", 250)
	}
	return m
}

func TestInstanceID(t *testing.T) {
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	base := announce.InstanceID("m", "h", hw, "db", "pg")
	if got := announce.InstanceID("m", "h", hw, "db", "pg"); got != base {
		t.Fatalf("got %x, want the same ID %x for the same inputs", got, base)
	}
	for _, other := range []uint64{
		announce.InstanceID("m2", "h", hw, "db", "pg"),
		announce.InstanceID("m", "h2", hw, "db", "pg"),
		announce.InstanceID("m", "h", net.HardwareAddr{2, 0, 0, 0, 0, 2}, "db", "pg"),
		announce.InstanceID("m", "h", hw, "db2", "pg"),
		announce.InstanceID("m", "h", hw, "db", "pg2"),
		announce.InstanceID("mh", "", hw, "db", "pg"), // field boundaries matter
	} {
		if other == base {
			t.Fatalf("got equal IDs %x for different inputs", base)
		}
	}
}

// rig is one announcer host and one raw querier socket on a hub.
type rig struct {
	s    *announce.Sender
	q    udp.Conn
	hubA *udptest.Host
}

func newRig(t *testing.T, cfg announce.Config) *rig {
	t.Helper()
	hub := udptest.NewHub()
	ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixA})
	hq := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixQ})
	cfg.Lister = staticLister(prefixA)
	cfg.Hostname, cfg.MachineID = "a", "m"
	cfg.Seam = &endpoint.Seam{Listen: ha.Listen}
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	q, err := hq.Listen(context.Background(), netip.AddrPort{}, udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &rig{s: s, q: q, hubA: ha}
}

func (r *rig) query(t *testing.T, id uint64, attempt uint8, q beacon.Query, dsts ...netip.AddrPort) {
	t.Helper()
	q.Attempt = attempt
	b := beacon.Beacon{Kind: beacon.KindQuery, Sender: 42, Seq: uint32(id)<<8 | uint32(attempt), RequestID: id, Query: &q}
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dsts {
		if _, err := r.q.WriteTo(p, d, 0); err != nil {
			t.Fatalf("write query to %v: %v", d, err)
		}
	}
}

// replies reads what reached the querier until nothing more arrives.
func (r *rig) replies(t *testing.T) []beacon.Beacon {
	t.Helper()
	return drain(t, r.q)
}

func TestAnswersEachAttemptOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "db", Port: 5432}, {Name: "web", Type: "http"}}})
		// Attempt 0 arrives twice: by broadcast and by multicast.
		r.query(t, 7, 0, beacon.Query{}, bcast, group)
		got := r.replies(t)
		if len(got) != 1 || got[0].Kind != beacon.KindReply || got[0].RequestID != 7 || len(got[0].Services) != 2 {
			t.Fatalf("got %d replies %+v, want one reply echoing request 7 with both services packed",
				len(got), got)
		}
		// A repeat of the same attempt is a copy: no answer.
		r.query(t, 7, 0, beacon.Query{}, bcast)
		if got := r.replies(t); len(got) != 0 {
			t.Fatalf("got %d replies to a copy of an answered attempt, want 0", len(got))
		}
		// Attempt 1 naming db as a known answer: only web replies, and
		// twice (the same datagram), since a repeat hints at loss.
		db := got[0].Services[0].Instance
		r.query(t, 7, 1, beacon.Query{Known: []uint64{db}}, group)
		got = r.replies(t)
		if len(got) != 2 || len(got[0].Services) != 1 || got[0].Services[0].Name != "web" || !reflect.DeepEqual(got[0], got[1]) {
			t.Fatalf("got %+v, want two copies of one reply with only web (db is a known answer)",
				got)
		}
		if st := r.s.Stats(); st.Queries != 2 || st.Duplicates != 2 || st.Replies != 3 {
			t.Fatalf("got stats %+v, want 2 queries answered, 2 duplicates, 3 replies", st)
		}
	})
}

func TestReplyTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const jitter = 50 * time.Millisecond
		r := newRig(t, announce.Config{Interval: time.Hour, ReplyJitter: jitter, Services: []announce.Service{{Name: "db"}}})
		buf := make([]byte, beacon.MaxSize+1)
		delay := func(id uint64, q beacon.Query) time.Duration {
			start := time.Now()
			r.query(t, id, 0, q, bcast)
			r.q.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, _, err := r.q.ReadFrom(buf); err != nil {
				t.Fatalf("query %d: no reply: %v", id, err)
			}
			return time.Since(start)
		}
		// A named query is answered at once, every time.
		for id := uint64(1); id <= 10; id++ {
			if d := delay(id, beacon.Query{Name: "db"}); d != 0 {
				t.Fatalf("named query: reply after %v, want at once", d)
			}
		}
		// A browse-all query waits a random jitter below the maximum.
		var delayed int
		for id := uint64(11); id <= 30; id++ {
			d := delay(id, beacon.Query{})
			if d >= jitter {
				t.Fatalf("browse-all query: reply after %v, want less than %v", d, jitter)
			}
			if d > 0 {
				delayed++
			}
		}
		if delayed < 15 {
			t.Fatalf("got %d of 20 browse-all replies delayed, want nearly all (random jitter)",
				delayed)
		}
	})
}

func TestDropsBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, announce.Config{Interval: time.Hour, Services: []announce.Service{{Name: "db"}}})
		q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 9, Seq: 1, RequestID: 5, Query: &beacon.Query{}}
		p, _ := q.Marshal()
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		r.hubA.Inject(2, netip.MustParseAddrPort("10.1.0.255:999"), dst, p) // broadcast source
		r.hubA.Inject(2, netip.MustParseAddrPort("10.1.0.1:0"), dst, p)     // port 0
		r.hubA.Inject(2, netip.MustParseAddrPort("10.9.0.1:999"), dst, p)   // off-link: not in eth0's subnet
		r.hubA.Inject(2, netip.MustParseAddrPort("10.1.0.1:999"), dst, []byte("garbage that is long enough to not be short"))
		r.hubA.Inject(2, netip.MustParseAddrPort("10.1.0.1:999"), dst, p[:beacon.HeaderSize+1])
		synctest.Wait()
		st := r.s.Stats()
		if st.BadSource != 3 || st.Foreign != 1 || st.Malformed != 1 || st.Replies != 0 {
			t.Fatalf("got stats %+v, want 3 bad sources, 1 foreign, 1 malformed, 0 replies", st)
		}
	})
}
