package publish_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/publish"
)

// The tests in this file play the other side of RFC 6762 with a crafted
// peer: a plain UDP socket on port 5353 in another lab host that sends
// hand-built queries and answers, which no real stack sends on demand
// (a truncated query, an answer that duplicates the Publisher's, a
// defence of every name).

// peer is a plain mDNS socket on port 5353 of a lab host, joined to
// 224.0.0.251 on eth0, that hears only other hosts.
type peer struct {
	t    *testing.T
	conn udp.Conn
	idx  int
	in   chan rx
}

// rx is one datagram the peer received.
type rx struct {
	msg mdns.Message
	src netip.AddrPort
	dst netip.Addr
	at  time.Time
}

func newPeer(t *testing.T, h *netnstest.Host) *peer {
	t.Helper()
	c, idx := mdnslab.Peer(t, h)
	pr := &peer{t: t, conn: c, idx: idx, in: make(chan rx, 4096)}
	var wg sync.WaitGroup
	wg.Go(func() {
		b := make([]byte, mdns.MaxMessage+1)
		for {
			n, src, meta, err := c.ReadFrom(b)
			if err != nil {
				close(pr.in)
				return
			}
			m, err := mdns.Parse(b[:n])
			if err != nil {
				continue // not the Publisher's: it sends only well-formed messages
			}
			select {
			case pr.in <- rx{msg: m, src: src, dst: meta.Dst, at: time.Now()}:
			default: // the test reads far fewer than it buffers
			}
		}
	})
	t.Cleanup(func() {
		c.Close()
		wg.Wait()
	})
	return pr
}

// send multicasts m.
func (pr *peer) send(m mdns.Message) {
	pr.t.Helper()
	b, err := m.AppendPack(nil)
	if err != nil {
		pr.t.Fatal(err)
	}
	if _, err := pr.conn.WriteTo(b, netip.AddrPortFrom(mdns.GroupV4, mdns.Port), pr.idx); err != nil {
		pr.t.Fatal(err)
	}
}

// next returns the first received datagram for which match is true, or
// false at the deadline.
func (pr *peer) next(deadline time.Time, match func(rx) bool) (rx, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case p, ok := <-pr.in:
			if !ok {
				return rx{}, false
			}
			if match(p) {
				return p, true
			}
		case <-timer.C:
			return rx{}, false
		}
	}
}

// runPublisher starts a Publisher on h and stops it at cleanup.
func runPublisher(t *testing.T, h *netnstest.Host, services ...publish.Service) *publish.Publisher {
	t.Helper()
	pub, err := publish.New(t.Context(), publish.Config{
		Lister:       h.Lister(t),
		ListenPacket: h.ListenPacket,
		Host:         "h0",
		Logger:       testLogger(t),
		Services:     services,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		pub.Close()
	})
	return pub
}

func ptr(instance string) mdns.Record {
	return mdns.Record{
		Name:   pgType.FQDN(),
		Type:   dnsmessage.TypePTR,
		TTL:    uint32(publish.DefaultTTL / time.Second),
		Target: mdns.InstanceName(instance, pgType),
	}
}

// ptrAnswers returns the instance labels that the answer section of m
// points the type's PTR at.
func ptrAnswers(m mdns.Message) []string {
	var out []string
	for _, r := range m.Answers {
		if r.Type == dnsmessage.TypePTR && mdns.EqualNames(r.Name, pgType.FQDN()) {
			out = append(out, strings.TrimSuffix(r.Target, "."+pgType.FQDN()))
		}
	}
	slices.Sort(out)
	return out
}

// settled waits until the peer has seen the Publisher on from announce
// instance twice, and then until its per-record multicast limit (one a
// second) no longer holds anything back.
func (pr *peer) settled(from netip.Addr, instance string) {
	pr.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last rx
	for i := range 2 {
		p, ok := pr.next(deadline, func(p rx) bool {
			return p.src.Addr() == from && p.msg.Response && slices.Contains(ptrAnswers(p.msg), instance)
		})
		if !ok {
			pr.t.Fatalf("announcement %d of %s not seen", i+1, instance)
		}
		last = p
	}
	pr.quiet(from, last.at.Add(1100*time.Millisecond), "")
}

// quiet fails the test if a response from from with answers arrives
// before until; what says which exchange is checked ("" to only wait).
func (pr *peer) quiet(from netip.Addr, until time.Time, what string) {
	pr.t.Helper()
	p, ok := pr.next(until, func(p rx) bool {
		return p.src.Addr() == from && p.msg.Response && len(p.msg.Answers) > 0
	})
	if ok && what != "" {
		var got []string
		for _, r := range p.msg.Answers {
			got = append(got, strings.TrimSpace(fmt.Sprintf("%s %v %s", r.Name, r.Type, r.Target)))
		}
		pr.t.Errorf("%s: the publisher answered %s (to %v), want no answer", what, strings.Join(got, ", "), p.dst)
	}
}

// TestNSTruncatedKnownAnswers sends truncated queries (TC bit) followed
// by a packet with more known answers (RFC 6762 §7.2): the Publisher
// waits 400–500 ms for them and then answers only what none of the
// packets listed, by multicast for a QM question and by unicast for a QU
// one.
func TestNSTruncatedKnownAnswers(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	pr := newPeer(t, h1)
	var svcs []publish.Service
	for i := 1; i <= 4; i++ {
		svcs = append(svcs, publish.Service{Name: fmt.Sprintf("db%d", i), Type: pgType, Port: uint16(5430 + i)})
	}
	pub := runPublisher(t, h0, svcs...)
	from := h0.Addr("eth0")
	pr.settled(from, "db1")

	question := func(qu bool) []mdns.Question {
		return []mdns.Question{{Name: pgType.FQDN(), Type: dnsmessage.TypePTR, Unicast: qu}}
	}
	// exchange sends a truncated query with the known answers first and
	// 30 ms later one with rest, unless rest is nil.
	exchange := func(qu bool, first, rest []mdns.Record) time.Time {
		sent := time.Now()
		pr.send(mdns.Message{Truncated: true, Questions: question(qu), Answers: first})
		if rest != nil {
			time.Sleep(30 * time.Millisecond)
			pr.send(mdns.Message{Answers: rest})
		}
		return sent
	}
	answered := func(what string, sent time.Time, unicast bool, want []string) {
		t.Helper()
		p, ok := pr.next(sent.Add(time.Second), func(p rx) bool {
			return p.src.Addr() == from && p.msg.Response && len(ptrAnswers(p.msg)) > 0
		})
		if !ok {
			t.Errorf("%s: no answer, want %v", what, want)
			return
		}
		if got := ptrAnswers(p.msg); !slices.Equal(got, want) {
			t.Errorf("%s: answered %v, want %v", what, got, want)
		}
		if d := p.at.Sub(sent); d < 380*time.Millisecond || d > 700*time.Millisecond {
			t.Errorf("%s: answered after %v, want 400 to 500 ms", what, d)
		}
		if got := p.dst.IsMulticast(); got == unicast {
			t.Errorf("%s: answer sent to %v, want unicast=%v", what, p.dst, unicast)
		}
	}
	p1, p2, p3, p4 := ptr("db1"), ptr("db2"), ptr("db3"), ptr("db4")

	sent := exchange(false, []mdns.Record{p1, p2}, []mdns.Record{p3, p4})
	pr.quiet(from, sent.Add(700*time.Millisecond), "QM, every answer known over two packets")

	sent = exchange(false, []mdns.Record{p1, p2}, []mdns.Record{p3})
	answered("QM, three answers known over two packets", sent, false, []string{"db4"})

	sent = exchange(true, []mdns.Record{p1}, []mdns.Record{p2, p3, p4})
	pr.quiet(from, sent.Add(700*time.Millisecond), "QU, every answer known over two packets")

	sent = exchange(true, []mdns.Record{p1, p2}, nil)
	answered("QU, two answers known, no more packets", sent, true, []string{"db3", "db4"})

	if st := pub.Stats(); st.Truncated != 4 || st.TruncatedOverflow != 0 {
		t.Errorf("Stats: Truncated %d, TruncatedOverflow %d; want 4 and 0", st.Truncated, st.TruncatedOverflow)
	}

	// At most 32 truncated queries wait at once: from 33 sources (here
	// legacy ones, on ephemeral ports, answered by unicast at once or
	// after the wait), the last is answered at once.
	const sources = 33
	arrived := make(chan time.Duration, sources)
	var wg sync.WaitGroup
	defer wg.Wait()
	sent = time.Now()
	for i := range sources {
		c, err := udp.Listen(t.Context(), netip.AddrPort{}, udp.Options{ListenPacket: h1.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m := mdns.Message{ID: uint16(i), Truncated: true, Questions: question(false)}
		b, err := m.AppendPack(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(b, netip.AddrPortFrom(mdns.GroupV4, mdns.Port), pr.idx); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(sent.Add(time.Second))
		wg.Go(func() {
			buf := make([]byte, mdns.MaxMessage+1)
			if _, _, _, err := c.ReadFrom(buf); err == nil {
				arrived <- time.Since(sent)
			}
		})
	}
	wg.Wait()
	close(arrived)
	var fast, slow int
	for d := range arrived {
		if d < 300*time.Millisecond {
			fast++
		} else {
			slow++
		}
	}
	if fast != 1 || slow != sources-1 {
		t.Errorf("%d sources: %d answered at once and %d after a wait, want 1 and %d", sources, fast, slow, sources-1)
	}
	if st := pub.Stats(); st.Truncated != 4+sources-1 || st.TruncatedOverflow != 1 {
		t.Errorf("Stats: Truncated %d, TruncatedOverflow %d; want %d and 1", st.Truncated, st.TruncatedOverflow, 4+sources-1)
	}
}

// TestNSDuplicateAnswerSuppression asks for a shared PTR record and then
// multicasts that record itself, as another responder would, before the
// Publisher's 20–120 ms delay ends (RFC 6762 §7.4): the Publisher sends
// no answer of its own. Asked again without the duplicate, it answers.
func TestNSDuplicateAnswerSuppression(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	pr := newPeer(t, h1)
	pub := runPublisher(t, h0, publish.Service{Name: "db", Type: pgType, Port: 5432})
	from := h0.Addr("eth0")
	pr.settled(from, "db")

	// duplicated sends q, multicasts the answer after gap as another
	// responder would, and checks that the Publisher sends none.
	duplicated := func(what string, q mdns.Message, gap, wait time.Duration, wantDup uint64) {
		t.Helper()
		sent := time.Now()
		pr.send(q)
		time.Sleep(gap)
		pr.send(mdns.Message{Response: true, Answers: []mdns.Record{ptr("db")}})
		pr.quiet(from, sent.Add(wait), what)
		if st := pub.Stats(); st.Duplicates != wantDup {
			t.Errorf("%s: Stats().Duplicates = %d, want %d", what, st.Duplicates, wantDup)
		}
	}
	q := mdns.Message{Questions: []mdns.Question{{Name: pgType.FQDN(), Type: dnsmessage.TypePTR}}}
	duplicated("query answered by another responder", q, 5*time.Millisecond, 500*time.Millisecond, 1)

	// Asked again without a duplicate, and with a second question, it
	// answers both in one message (§6.3).
	inst := mdns.InstanceName("db", pgType)
	q.Questions = append(q.Questions, mdns.Question{Name: inst, Type: dnsmessage.TypeSRV})
	sent := time.Now()
	pr.send(q)
	p, ok := pr.next(sent.Add(time.Second), func(p rx) bool {
		return p.src.Addr() == from && p.msg.Response && len(ptrAnswers(p.msg)) > 0
	})
	if !ok {
		t.Fatalf("query without a duplicate answer: no answer from the publisher")
	}
	if got := ptrAnswers(p.msg); !slices.Equal(got, []string{"db"}) {
		t.Errorf("answered %v, want [db]", got)
	}
	if !slices.ContainsFunc(p.msg.Answers, func(r mdns.Record) bool {
		return r.Type == dnsmessage.TypeSRV && mdns.EqualNames(r.Name, inst) && r.Port == 5432
	}) {
		t.Errorf("answer %+v lacks the SRV record asked for in the same query", p.msg.Answers)
	}
	t.Logf("answered after %v", p.at.Sub(sent))

	// Asked once more 300 ms later, it multicasts neither record again
	// within a second of the answer (§6).
	pr.quiet(from, p.at.Add(300*time.Millisecond), "no query")
	pr.send(q)
	pr.quiet(from, p.at.Add(900*time.Millisecond), "the same query again within a second")

	// A truncated query waits 400-500 ms for more known answers (§7.2):
	// another responder's answer meanwhile suppresses the Publisher's too.
	pr.quiet(from, p.at.Add(1100*time.Millisecond), "no query")
	q.Truncated = true
	q.Questions = q.Questions[:1]
	duplicated("truncated query answered by another responder", q, 50*time.Millisecond, 700*time.Millisecond, 2)
}

// TestNSConflictBackoff defends every name the Publisher probes with a
// conflicting SRV record: after fifteen conflicts the Publisher waits
// five seconds before each further probe attempt (RFC 6762 §8.1) instead
// of renaming without bound.
func TestNSConflictBackoff(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	pr := newPeer(t, h1)
	start := time.Now()
	pub := runPublisher(t, h0, publish.Service{Name: "db", Type: pgType, Port: 5432})
	from := h0.Addr("eth0")

	// An attempt starts with the first probe for a new name.
	var attempts []time.Time
	seen := map[string]bool{}
	end := start.Add(8 * time.Second)
	suffix := "." + pgType.FQDN()
	var errs []error
	for {
		p, ok := pr.next(end, func(p rx) bool {
			return p.src.Addr() == from && !p.msg.Response && len(p.msg.Authorities) > 0
		})
		if !ok {
			break
		}
		for _, r := range p.msg.Authorities {
			if r.Type != dnsmessage.TypeSRV || !strings.HasSuffix(strings.ToLower(r.Name), suffix) {
				continue
			}
			if !seen[r.Name] {
				seen[r.Name] = true
				attempts = append(attempts, p.at)
			}
			defence := mdns.Record{Name: r.Name, Type: dnsmessage.TypeSRV, Flush: true, TTL: 120,
				Port: 1, Target: "peer.local."}
			b, err := (&mdns.Message{Response: true, Answers: []mdns.Record{defence}}).AppendPack(nil)
			if err == nil {
				_, err = pr.conn.WriteTo(b, netip.AddrPortFrom(mdns.GroupV4, mdns.Port), pr.idx)
			}
			if err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		if len(attempts) > 100 {
			break // far beyond the limit: no need to count on
		}
	}
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	t.Logf("%d probe attempts in %v", len(attempts), time.Since(start).Round(time.Millisecond))
	// Fifteen conflicts at once, then one attempt five seconds later (and
	// perhaps, on a slow machine, the start of the next).
	if n := len(attempts); n < 16 || n > 17 {
		t.Fatalf("%d probe attempts in 8 s, want 16 or 17", n)
	}
	if gap := attempts[15].Sub(attempts[14]); gap < 5*time.Second {
		t.Errorf("attempt 16 came %v after attempt 15, want at least 5s", gap)
	}
	st := pub.Stats()
	if st.Conflicts < 15 || st.Backoffs < 1 {
		t.Errorf("Stats: Conflicts %d, Backoffs %d; want at least 15 and 1", st.Conflicts, st.Backoffs)
	}
}
