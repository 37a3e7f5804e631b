package announce_test

import (
	"context"
	"fmt"
	"net/netip"
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

// recConn records how a Sender writes: which destinations got plain
// writes and which got WriteToNeighbor.
type recConn struct {
	udp.Conn
	// mu guards the maps.
	mu       sync.Mutex
	plain    map[netip.Addr]int
	neighbor map[netip.Addr]int
	bytes    map[netip.Addr]int // sent with WriteToNeighbor
}

func (c *recConn) WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	c.mu.Lock()
	c.plain[dst.Addr()]++
	c.mu.Unlock()
	return c.Conn.WriteTo(b, dst, ifIndex)
}

func (c *recConn) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	c.mu.Lock()
	c.neighbor[dst.Addr()]++
	c.bytes[dst.Addr()] += len(b)
	c.mu.Unlock()
	return c.Conn.WriteToNeighbor(b, dst, ifIndex)
}

func (c *recConn) sent(a netip.Addr) (datagrams, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neighbor[a], c.bytes[a]
}

func (c *recConn) counts() (plain, neighbor map[netip.Addr]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	plain, neighbor = map[netip.Addr]int{}, map[netip.Addr]int{}
	for k, v := range c.plain {
		plain[k] = v
	}
	for k, v := range c.neighbor {
		neighbor[k] = v
	}
	return plain, neighbor
}

// recRig is an announcer on a hub whose socket is recorded, and a querier.
type recRig struct {
	s    *announce.Sender
	rec  *recConn
	ha   *udptest.Host
	q    udp.Conn
	stop func()
}

func newRecRig(t *testing.T, services []announce.Service) *recRig {
	t.Helper()
	hub := udptest.NewHub()
	ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixA})
	hq := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixQ})
	r := &recRig{ha: ha}
	cfg := announce.Config{Interval: time.Hour, Services: services, Lister: staticLister(prefixA), Hostname: "a", MachineID: "m"}
	cfg.Seam = &endpoint.Seam{Listen: func(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error) {
		c, err := ha.Listen(ctx, addr, o)
		if err != nil {
			return nil, err
		}
		r.rec = &recConn{Conn: c, plain: map[netip.Addr]int{}, neighbor: map[netip.Addr]int{}, bytes: map[netip.Addr]int{}}
		return r.rec, nil
	}}
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	r.s = s
	if r.q, err = hq.Listen(context.Background(), netip.AddrPort{}, udp.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.q.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

func marshalQuery(t *testing.T, sender, request uint64, q beacon.Query) []byte {
	t.Helper()
	b := beacon.Beacon{Kind: beacon.KindQuery, Sender: sender, Seq: uint32(request), RequestID: request, Query: &q}
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// drain reads what reached c until a second of (bubble) time passes
// without a datagram.
func drain(t *testing.T, c udp.Conn) []beacon.Beacon {
	t.Helper()
	var out []beacon.Beacon
	buf := make([]byte, beacon.MaxSize+1)
	for {
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _, _, err := c.ReadFrom(buf)
		if err != nil {
			return out
		}
		b, err := beacon.Parse(buf[:n])
		if err != nil {
			t.Fatalf("unparsable datagram: %v", err)
		}
		out = append(out, b)
	}
}

// TestRepliesOnlyToOnLinkUnicast: a query whose source may not be answered
// (a broadcast, subnet, multicast or unspecified address, port 0, a source
// off the arrival interface's link) gets nothing; a neighbour's query is
// answered with WriteToNeighbor, never a plain (routable) write.
func TestRepliesOnlyToOnLinkUnicast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecRig(t, []announce.Service{{Name: "db"}})
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		bad := []string{
			"10.1.0.255:999",      // the subnet's broadcast address
			"10.1.0.0:999",        // the subnet's own address
			"255.255.255.255:999", // limited broadcast
			"239.255.70.70:999",   // multicast
			"224.0.0.1:999",       // multicast
			"0.0.0.0:999",         // unspecified
			"10.1.0.1:0",          // port 0
			"10.9.0.1:999",        // off-link: routed or forged
			"192.168.0.1:999",     // off-link
		}
		for i, src := range bad {
			r.ha.Inject(2, netip.MustParseAddrPort(src), dst, marshalQuery(t, uint64(100+i), uint64(i+1), beacon.Query{Name: "db"}))
		}
		synctest.Wait()
		if st := r.s.Stats(); st.BadSource != uint64(len(bad)) || st.Queries != 0 || st.Replies != 0 {
			t.Fatalf("got bad_source=%d queries=%d replies=%d, want %d, 0, 0",
				st.BadSource, st.Queries, st.Replies, len(bad))
		}
		neighbour := netip.MustParseAddrPort("10.1.0.1:999")
		r.ha.Inject(2, neighbour, dst, marshalQuery(t, 200, 99, beacon.Query{Name: "db"}))
		synctest.Wait()
		r.stop() // its goodbye is the last plain write
		plain, nb := r.rec.counts()
		if nb[neighbour.Addr()] != 1 || len(nb) != 1 {
			t.Errorf("neighbour writes %v, want exactly one, to %s", nb, neighbour.Addr())
		}
		for a := range plain {
			if a != bcast.Addr() && a != group.Addr() {
				t.Errorf("plain write to %s, want plain writes only to the broadcast address and the group",
					a)
			}
		}
	})
}

// TestQueryFloodIsRateLimited: 2,000 distinct queries at once from one
// source get ReplyBurstBytes of answers; a steady flood gets
// ReplyBytesPerSecond; a second source is answered meanwhile.
func TestQueryFloodIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One service whose record nearly fills a datagram.
		r := newRecRig(t, []announce.Service{{Name: "db", Meta: map[string]string{"k": strings.Repeat("v", 255), "l": strings.Repeat("v", 255), "m": strings.Repeat("v", 255), "n": strings.Repeat("v", 255)}}})
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		flooder := netip.MustParseAddrPort("10.1.0.66:40000")
		for i := range 2000 {
			r.ha.Inject(2, flooder, dst, marshalQuery(t, 7, uint64(i+1), beacon.Query{Name: "db"}))
		}
		synctest.Wait()
		n, bytes := r.rec.sent(flooder.Addr())
		size := bytes / max(n, 1)
		if bytes > announce.ReplyBurstBytes || bytes <= announce.ReplyBurstBytes-size {
			t.Fatalf("2000 queries at once: got %d replies, %d bytes, want the burst of %d bytes",
				n, bytes, announce.ReplyBurstBytes)
		}
		if st := r.s.Stats(); st.Limited != uint64(2000-n) || st.Queries != 2000 {
			t.Fatalf("got limited=%d queries=%d, want %d and 2000", st.Limited, st.Queries, 2000-n)
		}
		// Another neighbour is answered during the flood.
		r.query2(t, dst)
		// A steady flood of 100 queries a second for 10 seconds.
		for i := range 1000 {
			time.Sleep(10 * time.Millisecond)
			r.ha.Inject(2, flooder, dst, marshalQuery(t, 7, uint64(10000+i), beacon.Query{Name: "db"}))
		}
		synctest.Wait()
		n, bytes = r.rec.sent(flooder.Addr())
		if limit := announce.ReplyBurstBytes + 10*announce.ReplyBytesPerSecond; bytes > limit || bytes < limit-2*size {
			t.Fatalf("after 10s more at 100 queries/s: got %d bytes in all, want about %d",
				bytes, limit)
		}
		t.Logf("replies to the flooding source: %d datagrams of %d bytes (%d bytes) for 3000 queries in 10s (%d limited)",
			n, size, bytes, r.s.Stats().Limited)
	})
}

// TestRepeatFloodCountsOnlyUnanswered: repeated queries (attempt 1) get
// their answer twice while the budget allows; a query answered once whose
// copy the budget refused is not counted as limited (unanswered).
func TestRepeatFloodCountsOnlyUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecRig(t, []announce.Service{{Name: "db", Meta: map[string]string{"k": strings.Repeat("v", 255), "l": strings.Repeat("v", 255), "m": strings.Repeat("v", 255), "n": strings.Repeat("v", 255)}}})
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		flooder := netip.MustParseAddrPort("10.1.0.66:40000")
		for i := range 1000 {
			time.Sleep(10 * time.Millisecond)
			r.ha.Inject(2, flooder, dst, marshalQuery(t, 7, uint64(i+1), beacon.Query{Name: "db", Attempt: 1}))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		n, _ := r.rec.sent(flooder.Addr())
		st := r.s.Stats()
		// Each answered query got one or two datagrams.
		if lo, hi := st.Queries-uint64(n), st.Queries-uint64(n+1)/2; st.Limited < lo || st.Limited > hi {
			t.Fatalf("%d queries, %d reply datagrams: limited %d, want between %d and %d",
				st.Queries, n, st.Limited, lo, hi)
		}
	})
}

// query2 sends one named query from the other host and checks it is
// answered.
func (r *recRig) query2(t *testing.T, dst netip.AddrPort) {
	t.Helper()
	if _, err := r.q.WriteTo(marshalQuery(t, 8, 1, beacon.Query{Name: "db"}), dst, 0); err != nil {
		t.Fatal(err)
	}
	r.q.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, beacon.MaxSize+1)
	if _, _, _, err := r.q.ReadFrom(buf); err != nil {
		t.Fatalf("a second source got no reply during the flood: %v", err)
	}
}

// TestReplyIsCapped: a query matching 200 services is answered with
// MaxReplyDatagrams full datagrams; the repeat that lists them as known
// gets the rest.
func TestReplyIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var svcs []announce.Service
		for i := range 200 {
			svcs = append(svcs, announce.Service{Name: fmt.Sprintf("s%03d", i), Port: uint16(i)})
		}
		r := newRecRig(t, svcs)
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		if _, err := r.q.WriteTo(marshalQuery(t, 8, 1, beacon.Query{}), dst, 0); err != nil {
			t.Fatal(err)
		}
		got := drain(t, r.q)
		var known []uint64
		for _, b := range got {
			for _, s := range b.Services {
				known = append(known, s.Instance)
			}
		}
		if len(got) != announce.MaxReplyDatagrams || len(known) != announce.MaxReplyDatagrams*beacon.MaxServices {
			t.Fatalf("got %d datagrams with %d records, want %d with %d",
				len(got), len(known), announce.MaxReplyDatagrams,
				announce.MaxReplyDatagrams*beacon.MaxServices)
		}
		if len(known) > beacon.MaxKnown {
			t.Fatalf("one reply holds %d records, more than a query can list as known (%d)",
				len(known), beacon.MaxKnown)
		}
		q := beacon.Query{Attempt: 1, Known: known}
		if _, err := r.q.WriteTo(marshalQuery(t, 8, 1, q), dst, 0); err != nil {
			t.Fatal(err)
		}
		rest := 0
		for _, b := range drain(t, r.q) {
			rest += len(b.Services)
		}
		if rest != 200-len(known) {
			t.Fatalf("the repeat got %d more records, want %d", rest, 200-len(known))
		}
	})
}

// TestLimitedCountsUnanswered: Stats.Limited counts the queries left
// unanswered, also when repeats (answered twice if the budget allows) use
// up the source's budget: a repeat answered once, without its copy, is
// answered, not limited.
func TestLimitedCountsUnanswered(t *testing.T) {
	for _, size := range []int{100, 400, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				meta := map[string]string{}
				for i := 0; i < size; i += 255 {
					meta[fmt.Sprint(i)] = strings.Repeat("v", min(255, size-i))
				}
				r := newRecRig(t, []announce.Service{{Name: "db", Meta: meta}})
				dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
				const queries = 600
				for i := range queries {
					if _, err := r.q.WriteTo(marshalQuery(t, 8, uint64(i+1), beacon.Query{Name: "db", Attempt: 1}), dst, 0); err != nil {
						t.Fatal(err)
					}
				}
				answered := map[uint64]bool{}
				for _, b := range drain(t, r.q) {
					answered[b.RequestID] = true
				}
				st := r.s.Stats()
				if st.Queries != queries || st.Limited != uint64(queries-len(answered)) {
					t.Fatalf("%d of %d queries answered: got queries=%d limited=%d, want %d and %d",
						len(answered), queries, st.Queries, st.Limited, queries,
						queries-len(answered))
				}
			})
		})
	}
}

// TestSlip: once a source's budget is spent, its first attempts stay
// unanswered, but a repeat of a request refused before, from the same
// address and port, gets one datagram (a slip), at most SlipsPerSecond a
// second; a repeat from another port of that address does not.
func TestSlip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svcs := make([]announce.Service, 60)
		for i := range svcs {
			svcs[i] = announce.Service{Name: fmt.Sprintf("s%02d", i),
				Meta: map[string]string{"k": strings.Repeat("v", 40)}}
		}
		r := newRecRig(t, svcs)
		dst := netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort)
		victim := netip.AddrPortFrom(prefixQ.Addr(), r.q.LocalAddr().Port())
		// All at one instant: forged first attempts from the victim's
		// address and port spend its budget; then the victim's own first
		// attempt, a repeat of it from another port, and nine repeats.
		for i := range 200 {
			r.ha.Inject(2, victim, dst, marshalQuery(t, 7, uint64(1000+i), beacon.Query{}))
		}
		const request = 5
		r.ha.Inject(2, victim, dst, marshalQuery(t, 9, request, beacon.Query{}))
		other := netip.AddrPortFrom(victim.Addr(), victim.Port()+1)
		r.ha.Inject(2, other, dst, marshalQuery(t, 9, request, beacon.Query{Attempt: 1}))
		for a := range uint8(9) {
			r.ha.Inject(2, victim, dst, marshalQuery(t, 9, request, beacon.Query{Attempt: a + 1}))
		}
		slips := 0
		for _, b := range drain(t, r.q) {
			if b.RequestID == request {
				slips++
			}
		}
		if slips != announce.SlipsPerSecond {
			t.Fatalf("the victim's request over budget got %d datagrams, want %d slips", slips,
				announce.SlipsPerSecond)
		}
		if st := r.s.Stats(); st.Slipped != announce.SlipsPerSecond {
			t.Fatalf("Stats.Slipped = %d, want %d", st.Slipped, announce.SlipsPerSecond)
		}
	})
}
