package announce

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
)

// reply is a pending answer to one query attempt.
type reply struct {
	at      time.Time
	dst     netip.AddrPort
	ifIndex int
	request uint64
	records []beacon.Service
	again   int      // copies still to send after this one
	packets [][]byte // the datagrams, packed at the first send
	size    int      // bytes charged to dst's budget (replyBytes)
	repeat  bool     // answers a repeated query (attempt > 0)
	probe   bool     // dst must answer a probe first; nothing charged yet
	slip    bool     // over budget: one datagram only (see slip)
}

// Answers to a repeated query go twice, repeatCopyGap apart, and with a
// quarter of the jitter. A repeat that does not list our instances as
// known means the querier missed our answer, so this LAN may be losing
// datagrams: a second copy turns a loss rate p into p² for the answers
// that matter, at no cost on a quiet LAN, where known-answer suppression
// keeps everyone silent on repeats. Few responders answer a repeat, so
// they need less spreading.
const repeatCopyGap = 10 * time.Millisecond

type replyQueue []reply

func (q replyQueue) Len() int           { return len(q) }
func (q replyQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q replyQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *replyQueue) Push(x any)        { *q = append(*q, x.(reply)) }
func (q *replyQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	*q = old[:len(old)-1]
	return r
}

// maxPending caps queued replies; more are dropped and counted
// (Stats.Overload) rather than growing memory.
const maxPending = 1024

// sendReply sends r, or its probe when r.probe is set or the discovery
// socket is backlogged: it then reports true, and the probe owns r (see
// probe.go).
func (s *Sender) sendReply(r *reply) (probing bool) {
	first := r.packets == nil
	if first {
		// The records were matched when the query arrived. Update or an
		// interface change may have replaced them since (even before
		// Run queued the reply): answer with what is announced now, so
		// no reply brings back a removed service or an old port.
		r.records = s.recs.currentOf(r.records)
		r.packets = capReply(s.pack(beacon.KindReply, r.request, r.records))
		if r.slip {
			r.packets = r.packets[:min(len(r.packets), 1)]
		}
		if len(r.packets)*(1+r.again) > MaxReplyDatagrams {
			r.again = 0 // the copy would exceed MaxReplyDatagrams for one query
		}
	}
	if len(r.packets) == 0 {
		s.unclaim(*r)
		return false
	}
	backlogged := s.backlogged(r.dst.Addr())
	if first && (r.probe || backlogged) {
		if !r.probe && !s.claimProbe(r.dst.Addr()) {
			s.stats.overload.Add(1)
			s.log.Debug("dropped reply: another to its destination waits for the neighbour",
				"dst", r.dst.String())
			return false
		}
		s.startProbe(*r, time.Now())
		return true
	}
	if backlogged {
		s.stats.overload.Add(1)
		s.log.Debug("dropped reply: the socket is backlogged", "dst", r.dst.String())
		return false
	}
	for _, p := range r.packets {
		if _, err := s.conn.WriteToNeighbor(p, r.dst, r.ifIndex); err != nil {
			s.stats.sendErrors.Add(1)
			s.log.Warn("reply failed", "dst", r.dst.String(), "err", err)
			continue
		}
		s.stats.replies.Add(1)
	}
	return false
}

// readLoop reads queries from every socket, one loop per address family,
// until the sockets close or ctx ends. When one loop ends it stops the
// others and returns the first's error.
func (s *Sender) readLoop(ctx context.Context, replies chan<- reply) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	socks := s.conn.Sockets()
	errs := make(chan error, len(socks))
	for _, c := range socks {
		go func() { errs <- s.readSocket(ctx, c, replies) }()
	}
	err := <-errs
	cancel()
	s.conn.SetReadDeadline(time.Unix(1, 0)) // unblock the other loops
	for range socks[1:] {
		<-errs
	}
	return err
}

// readSocket reads queries from c until it closes or ctx ends.
func (s *Sender) readSocket(ctx context.Context, c udp.Conn, replies chan<- reply) error {
	buf := make([]byte, beacon.MaxSize+1)
	for {
		d, err := s.ep.Read(c, buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("announce: read: %w", err)
		}
		r, ok := s.handle(d)
		if !ok {
			continue
		}
		select {
		case replies <- r:
		case <-ctx.Done():
			s.unclaim(r)
			return nil
		}
	}
}

// handle decides whether and when to answer one datagram the endpoint
// kept.
func (s *Sender) handle(d endpoint.Datagram) (reply, bool) {
	b, src, m, st := &d.Beacon, d.Src, d.Meta, d.Plan
	if b.Kind != beacon.KindQuery || b.Sender == s.id {
		return reply{}, false
	}
	if !answerable(st.Selected, src, m.IfIndex) {
		s.stats.badSource.Add(1)
		s.log.Debug("dropped query from bad source", "src", src.String())
		return reply{}, false
	}
	if b.Flags&beacon.FlagAlsoIPv4 != 0 && m.Is6() && hasIPv4(st.Selected, m.IfIndex) {
		// The querier sent this attempt over IPv4 on this link too, and
		// that copy is the one answered. The copy is not remembered as
		// answered, so a forged flagged copy pre-empts nothing.
		s.stats.dups.Add(1)
		return reply{}, false
	}
	q := b.Query
	var all []beacon.Service
	for _, r := range s.recs.current() {
		if (q.Name == "" || q.Name == r.Name) && (q.Type == "" || q.Type == r.Type) {
			all = append(all, r)
		}
	}
	match := answer(all, q, s.ep.Codec.Budget(), MaxReplyDatagrams)
	if len(match) == 0 {
		// Nothing to send, and nothing remembered: only a query that is
		// answered is marked answered.
		return reply{}, false
	}
	key := queryKey{b.Sender, b.RequestID, q.Attempt, src, s.digest(q)}
	if s.ep.Codec.Keyed() {
		// A sealed query cannot be forged, only replayed, and the source
		// address is not sealed: a replay from anywhere is a copy.
		key.src = netip.AddrPort{}
	}
	at, jitter, again := time.Now(), s.cfg.ReplyJitter, 0
	// A source not proven reachable is charged once its probe shows it
	// is (probe.go): forged sources nobody answers ARP for never reach
	// the limiter's table, so they cannot crowd genuine queriers into its
	// shared overflow budget. While a reply to the same address waits
	// for its probe, the query is dropped (probe.go, claims).
	probe, slip := s.mustProbe(src.Addr(), at), false
	s.mu.Lock()
	busy := probe && s.probes.waiting[src.Addr()]
	dup := !busy && s.queries.Seen(key)
	if probe && !busy && !dup {
		s.probes.waiting[src.Addr()] = true
	}
	s.mu.Unlock()
	if busy {
		s.stats.overload.Add(1)
		s.log.Debug("dropped query: a reply to its source waits for the neighbour",
			"src", src.String())
		return reply{}, false
	}
	if dup {
		s.stats.dups.Add(1)
		return reply{}, false
	}
	s.stats.queries.Add(1)
	size := replyBytes(match, s.ep.Codec.Budget())
	if !probe && !s.takeBudget(src.Addr(), size) {
		if !s.slip(src, b) {
			s.noteLimited(src.Addr(), size)
			return reply{}, false
		}
		slip = true
		match = answer(all, q, s.ep.Codec.Budget(), 1)
	}
	if q.Attempt > 0 {
		// A repeat means the querier may be losing datagrams: answer
		// sooner, and twice, if the source's byte budget allows the copy
		// (a copy refused is not a query limited: it is answered once).
		jitter = jitter / 4
		if !probe && !slip && s.takeBudget(src.Addr(), size) {
			again = 1
		}
	}
	if q.Name == "" && jitter > 0 {
		at = at.Add(randDuration(jitter))
	}
	s.log.Debug("answering query",
		"src", src.String(), "attempt", q.Attempt, "name", q.Name, "type", q.Type,
		"services", len(match))
	return reply{
		at:      at,
		dst:     src,
		ifIndex: m.IfIndex,
		request: b.RequestID,
		records: match,
		again:   again,
		size:    size,
		repeat:  q.Attempt > 0,
		probe:   probe,
		slip:    slip,
	}, true
}

// answer returns the records that answer q, a query all matches, in a
// reply of at most datagrams datagrams: rotated for q's attempt, without
// those q lists as known.
func answer(all []beacon.Service, q *beacon.Query, budget, datagrams int) []beacon.Service {
	return slices.DeleteFunc(rotate(all, q.Attempt, budget, datagrams),
		func(r beacon.Service) bool { return slices.Contains(q.Known, r.Instance) })
}

// rotate orders the records that answer attempt of a query so that the
// attempt's share comes first: attempt k starts k times the smallest
// capacity of a reply of datagrams datagrams into recs and wraps around. A reply is cut at
// MaxReplyDatagrams, and a known-answer list holds at most
// beacon.MaxKnown IDs, which may be fewer than the querier has heard
// (and then not all of them ours): without rotation every repeat would
// start from the same records, bring back ones the querier has and leave
// the same tail out, so that the querier settles without it. Rotated,
// the repeats of a request cover every record within one round of
// len(recs)/capacity attempts, whatever the known-answer lists hold.
func rotate(recs []beacon.Service, attempt uint8, budget, datagrams int) []beacon.Service {
	if len(recs) == 0 {
		return recs
	}
	largest := 0
	for i := range recs {
		largest = max(largest, recs[i].Size())
	}
	perDatagram := min(beacon.MaxServices, max(1, (budget-beacon.HeaderSize-1)/largest))
	start := int(attempt) * perDatagram * datagrams % len(recs)
	return slices.Concat(recs[start:], recs[:start])
}

// digest hashes what a query asks: its filter and known answers.
func (s *Sender) digest(q *beacon.Query) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(q.Name)
	h.WriteByte(0)
	h.WriteString(q.Type)
	h.WriteByte(0)
	for _, id := range q.Known {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], id)
		h.Write(b[:])
	}
	return h.Sum64()
}

// answerable reports whether a reply may go to src, which sent a query
// that arrived on ifIndex, one of the selected interfaces ifs (from the
// same state that accepted the datagram): a unicast IPv4 or IPv6 address
// on-link for that interface ([iface.OnLink]: inside one of its subnets,
// or IPv6 link-local on it; a spoofed far-away source gets nothing, so a
// small query cannot aim a larger reply at someone elsewhere) that is not
// a broadcast or subnet address, and a non-zero port. sendReply also
// writes with udp.Conn.WriteToNeighbor, so the kernel refuses to route a
// reply even if this check were wrong.
func answerable(ifs []iface.Interface, src netip.AddrPort, ifIndex int) bool {
	a := src.Addr().Unmap()
	limited := netip.AddrFrom4([4]byte{255, 255, 255, 255})
	if src.Port() == 0 || !a.IsValid() || a.IsMulticast() || a.IsUnspecified() || a == limited {
		return false
	}
	onLink := false
	for _, ifc := range ifs {
		for _, ad := range ifc.Addrs {
			if ad.IsSubnetAddr(a) {
				return false
			}
		}
		if ifc.Index == ifIndex && ifc.Contains(a) {
			onLink = true
		}
	}
	return onLink
}

// hasIPv4 reports whether the interface ifIndex, one of ifs, has an IPv4
// address.
func hasIPv4(ifs []iface.Interface, ifIndex int) bool {
	for _, ifc := range ifs {
		if ifc.Index == ifIndex {
			return slices.ContainsFunc(ifc.Addrs, func(a iface.Addr) bool { return a.Prefix.Addr().Is4() })
		}
	}
	return false
}

// randDuration returns a random duration in [0, max); max must be
// positive.
func randDuration(max time.Duration) time.Duration { return rand.N(max) }
