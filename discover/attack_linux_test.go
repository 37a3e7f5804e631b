package discover_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
)

// The attacks of the reply path (issue "Hardening", findings 1, 2, 12 and
// 13): an attacker host of the lab forges queries with the sources it
// chooses, and a genuine list must still find everything.

// quietAnnouncer starts a Sender on h announcing n services named
// prefix000, prefix001, ... and waits until its fast repeat has gone, so
// that from then on only replies bring its records to a Collect (the
// next beacon is a minute away).
func quietAnnouncer(t *testing.T, h *netnstest.Host, prefix string, n int) *announce.Sender {
	t.Helper()
	svcs := make([]announce.Service, n)
	for i := range svcs {
		svcs[i] = announce.Service{Name: fmt.Sprintf("%s%03d", prefix, i), Port: uint16(1000 + i)}
	}
	s, _ := startSender(t, announce.Config{
		Services:     svcs,
		Interval:     time.Minute,
		Lister:       h.Lister(t),
		ListenPacket: h.ListenPacket,
	})
	return s
}

// bulkyAnnouncer is a quietAnnouncer whose records carry metadata, so
// that n = 60 of them answer a browse-all query with 4 datagrams. It
// also returns a function that stops it.
func bulkyAnnouncer(t *testing.T, h *netnstest.Host, prefix string,
	n int) (*announce.Sender, func()) {
	t.Helper()
	meta := map[string]string{"role": strings.Repeat("r", 40)}
	svcs := make([]announce.Service, n)
	for i := range svcs {
		svcs[i] = announce.Service{Name: fmt.Sprintf("%s%03d", prefix, i), Port: uint16(1000 + i),
			Meta: meta}
	}
	return startSender(t, announce.Config{Services: svcs, Interval: time.Minute,
		Lister: h.Lister(t), ListenPacket: h.ListenPacket})
}

// waitFastRepeat waits until the announcers started just before have sent
// their second beacon (one second after the first).
func waitFastRepeat() { time.Sleep(1200 * time.Millisecond) }

// listFrom runs a Collect on h with a timeout and counts the results per
// announcer address.
func listFrom(t *testing.T, h *netnstest.Host, cfg discover.Config,
	timeout time.Duration) (map[netip.Addr]int, discover.Stats) {
	t.Helper()
	cfg.ListenPacket, cfg.Lister = h.ListenPacket, h.Lister(t)
	if cfg.QuietWindow == 0 {
		cfg.QuietWindow = 150 * time.Millisecond // a loaded 2-core machine
	}
	l, err := discover.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil && ctx.Err() == nil {
		t.Fatalf("Collect: %v", err)
	}
	n := map[netip.Addr]int{}
	for _, r := range rs {
		n[r.Addr]++
	}
	return n, l.Stats()
}

// sniffQueries returns the queries h hears on the discovery port (the
// broadcast copies), with their sources, until the test ends.
func sniffQueries(t *testing.T, h *netnstest.Host) <-chan sniffed {
	t.Helper()
	c, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), beacon.DefaultPort),
		udp.Options{ListenPacket: h.ListenPacket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan sniffed, 64)
	go func() {
		buf := make([]byte, beacon.MaxSize+1)
		for {
			n, src, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			b, err := beacon.Parse(buf[:n])
			if err != nil || b.Kind != beacon.KindQuery {
				continue
			}
			select {
			case out <- sniffed{b, src}:
			default:
			}
		}
	}()
	return out
}

type sniffed struct {
	b   beacon.Beacon
	src netip.AddrPort
}

// forgeQuery sends a query from src to the subnet broadcast address of
// f's host.
func forgeQuery(t *testing.T, f *netnstest.Forger, bcast netip.Addr, src netip.AddrPort,
	b beacon.Beacon) {
	t.Helper()
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Send(src, netip.AddrPortFrom(bcast, beacon.DefaultPort), p); err != nil {
		t.Error(err)
	}
}

// TestNSRepeatPreemption is finding 12: an attacker that hears a
// querier's first attempt forges attempts 1 to 40 of the same request,
// from the querier's address and port, for a name that matches nothing.
// The announcer must still answer the querier's real repeats, which
// bring the records its first, capped reply left out: a list finds all
// 200 services of the host.
func TestNSRepeatPreemption(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	const services = 200
	quietAnnouncer(t, h0, "s", services)
	queries := sniffQueries(t, h2)
	f := h2.Forger(t)
	forged := make(chan int, 1)
	go func() {
		seen := map[uint64]bool{}
		n := 0
		defer func() { forged <- n }()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case q := <-queries:
				if q.src.Addr() != h1.Addr("eth0") || seen[q.b.RequestID] {
					continue
				}
				seen[q.b.RequestID] = true
				for a := 1; a <= 40; a++ {
					forgeQuery(t, f, h2.Broadcast("eth0"), q.src, beacon.Beacon{
						Kind:      beacon.KindQuery,
						Sender:    q.b.Sender,
						Seq:       q.b.Seq + uint32(a)*1000,
						RequestID: q.b.RequestID,
						Query:     &beacon.Query{Attempt: uint8(a), Name: "no-such-service"},
					})
					n++
				}
			case <-timeout:
				return
			case <-t.Context().Done():
				return
			}
		}
	}()
	waitFastRepeat()
	got, st := listFrom(t, h1, discover.Config{}, 8*time.Second)
	if n := got[h0.Addr("eth0")]; n != services {
		t.Errorf("list found %d of %d services while forged repeats pre-empted the real ones "+
			"(listener stats %+v)", n, services, st)
	}
	t.Logf("found %d of %d", got[h0.Addr("eth0")], services)
}

// TestNSLargeHost is finding 13 (no attacker): one host announces 200
// services whose records fill a datagram at 18 each, so that a reply
// capped at MaxReplyDatagrams holds 72 of them, and another host 51. A
// known-answer list holds at most beacon.MaxKnown IDs, fewer than the 251
// heard, so the repeats must still bring every record the first replies
// left out.
func TestNSLargeHost(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	meta := map[string]string{"role": "a service among very many"}
	bigSvcs := make([]announce.Service, 200)
	for i := range bigSvcs {
		bigSvcs[i] = announce.Service{Name: fmt.Sprintf("big%03d", i), Type: "large-host",
			Port: uint16(1000 + i), Meta: meta}
	}
	startSender(t, announce.Config{Services: bigSvcs, Interval: time.Minute,
		Lister: h0.Lister(t), ListenPacket: h0.ListenPacket})
	quietAnnouncer(t, h2, "other", 51)
	waitFastRepeat()
	got, st := listFrom(t, h1, discover.Config{}, 10*time.Second)
	if got[h0.Addr("eth0")] != 200 || got[h2.Addr("eth0")] != 51 {
		t.Errorf("list found %d of 200 services of the large host and %d of 51 of the other "+
			"(listener stats %+v)", got[h0.Addr("eth0")], got[h2.Addr("eth0")], st)
	}
	t.Logf("found %d of 200 and %d of 51", got[h0.Addr("eth0")], got[h2.Addr("eth0")])
}

// TestNSManyServices is the other half of finding 13: 5,100 services on
// three hosts, more than the 4,096 instances one operation used to keep,
// are all listed with the default bound.
func TestNSManyServices(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 4)
	const each = 1700
	hosts := []*netnstest.Host{lab.Hosts[0], lab.Hosts[2], lab.Hosts[3]}
	for i, h := range hosts {
		quietAnnouncer(t, h, fmt.Sprintf("h%d-", i), each)
	}
	waitFastRepeat()
	start := time.Now()
	got, st := listFrom(t, lab.Hosts[1], discover.Config{}, 20*time.Second)
	total := 0
	for _, h := range hosts {
		total += got[h.Addr("eth0")]
	}
	if total != each*len(hosts) {
		t.Errorf("list found %d of %d services (per host %v; listener stats %+v)",
			total, each*len(hosts), got, st)
	}
	t.Logf("found %d of %d in %v", total, each*len(hosts), time.Since(start))
}

// unresolvedFlood forges browse-all queries to the broadcast address from
// unused addresses of f's subnet (10.77.0.100 to .249, which no host
// answers ARP for), at rate a second for d, and returns how many it sent.
func unresolvedFlood(t *testing.T, f *netnstest.Forger, bcast netip.Addr, rate int,
	d time.Duration) int {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	for i := 0; i < rate*int(d/time.Second+1); i++ {
		select {
		case <-tick.C:
		case <-end:
			return i
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 77, 0, byte(100 + i%150)}), 40000)
		forgeQuery(t, f, bcast, src, beacon.Beacon{
			Kind:      beacon.KindQuery,
			Sender:    uint64(1000 + i),
			Seq:       1,
			RequestID: uint64(1 + i),
			Query:     &beacon.Query{},
		})
	}
	return rate * int(d/time.Second+1)
}

// stallLab is the lab of the stall tests: h0 announces stallServices
// services whose answer fills 4 datagrams, h1 watches them, h2 attacks.
type stallLab struct {
	h0, h1, h2 *netnstest.Host
	sender     *announce.Sender
	stop       func()
	ev         *eventLog
}

const stallServices = 60

func newStallLab(t *testing.T) *stallLab {
	t.Helper()
	lab := netnstest.New(t, 3)
	l := &stallLab{h0: lab.Hosts[0], h1: lab.Hosts[1], h2: lab.Hosts[2]}
	l.sender, l.stop = bulkyAnnouncer(t, l.h0, "s", stallServices)
	_, l.ev, _ = startWatch(t, discover.Config{ListenPacket: l.h1.ListenPacket,
		Lister: l.h1.Lister(t)})
	l.ev.waitUp(t, "s000")
	waitFastRepeat()
	return l
}

// listAndBye lists from h1, which must find every service, then stops the
// announcer, whose goodbye must reach the watch at once, not seconds later
// behind stalled replies; during names the attack for the messages.
func (l *stallLab) listAndBye(t *testing.T, during string) {
	t.Helper()
	start := time.Now()
	got, st := listFrom(t, l.h1, discover.Config{}, 2*time.Second)
	took := time.Since(start)
	n := got[l.h0.Addr("eth0")]
	if n != stallServices {
		t.Errorf("list %s found %d of %d services in %v (listener stats %+v, announcer stats %+v)",
			during, n, stallServices, took, st, l.sender.Stats())
	}
	stopped := time.Now()
	l.stop()
	for l.ev.isUp("s000") && time.Since(stopped) < 2*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	bye := time.Since(stopped)
	if l.ev.isUp("s000") || bye > 500*time.Millisecond {
		t.Errorf("the goodbye sent %s took %v to reach the watch, want under 500ms", during, bye)
	}
	t.Logf("list %s: %d of %d in %v; goodbye after %v; announcer %+v",
		during, n, stallServices, took, bye, l.sender.Stats())
}

// TestNSReplyStall is finding 1: browse-all queries forged from unused
// addresses of the subnet, 200 a second, from 150 addresses in turn. Every
// reply to such an address waits in the kernel for a neighbour that never
// answers (about 3 s) and holds the socket's send buffer meanwhile. A list
// from a real host during the flood must still find everything, and a
// goodbye must still reach a watch at once.
func TestNSReplyStall(t *testing.T) {
	t.Parallel()
	l := newStallLab(t)
	f := l.h2.Forger(t)
	sent := make(chan int, 1)
	go func() { sent <- unresolvedFlood(t, f, l.h2.Broadcast("eth0"), 200, 5*time.Second) }()
	time.Sleep(2 * time.Second) // the stall builds up
	l.listAndBye(t, "during the flood")
	t.Logf("flood: %d queries", <-sent)
}

// TestNSReplyStallStaleNeighbour is finding 1 through addresses the
// announcer has proven reachable: the attacker queries from three
// addresses of its own, which answer ARP, then drops them, and the
// announcer's kernel forgets their neighbour entries. Queries forged from
// them, as many as their reply budgets allow, must not hold the discovery
// socket either.
func TestNSReplyStallStaleNeighbour(t *testing.T) {
	t.Parallel()
	l := newStallLab(t)
	announcer := netip.AddrPortFrom(l.h0.Addr("eth0"), beacon.DefaultPort)
	var stale []netip.AddrPort
	for i := range 3 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, 0, byte(200 + i)}), 24)
		l.h2.AddAddr(t, "eth0", p)
		c, err := udp.Listen(t.Context(), netip.AddrPortFrom(p.Addr(), 0),
			udp.Options{ListenPacket: l.h2.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		q := beacon.Beacon{Kind: beacon.KindQuery, Sender: uint64(77 + i), Seq: 1,
			RequestID: uint64(77 + i), Query: &beacon.Query{Name: "s000"}}
		pkt, _ := q.Marshal()
		if _, err := c.WriteTo(pkt, announcer, 0); err != nil {
			t.Fatal(err)
		}
		stale = append(stale, netip.AddrPortFrom(p.Addr(), c.LocalAddr().Port()))
	}
	time.Sleep(200 * time.Millisecond) // the probes prove them reachable
	for _, src := range stale {
		l.h2.DelAddr(t, "eth0", netip.PrefixFrom(src.Addr(), 24))
		mustRun(t, l.h0, "ip", "neigh", "del", src.Addr().String(), "dev", "eth0")
	}
	f := l.h2.Forger(t)
	for i := range 100 {
		for k, src := range stale {
			id := uint64(1 + i*len(stale) + k)
			forgeQuery(t, f, l.h2.Broadcast("eth0"), src, beacon.Beacon{Kind: beacon.KindQuery,
				Sender: 9000 + id, Seq: 1, RequestID: id, Query: &beacon.Query{}})
		}
	}
	time.Sleep(100 * time.Millisecond) // past the reply jitter
	l.listAndBye(t, "after queries forged from stale neighbours")
}
