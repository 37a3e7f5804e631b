// The query schedule of a session: attempts, backoff and when the
// answers have settled.

package discover

import (
	"maps"
	"slices"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
)

// sendQuery sends one attempt of request: the first to every target,
// a repeat to half of them (see [repeatTargets]).
func (s *session) sendQuery(request uint64, attempt uint8, withKnown bool) {
	targets := s.l.ep.Plan().Targets
	if attempt > 0 {
		targets = repeatTargets(targets, attempt)
		targets = slices.DeleteFunc(targets, func(t iface.Target) bool {
			return alsoIPv4(targets, t) && !s.heardIPv6Only(t.IfIndex)
		})
	}
	s.sendQueryTo(request, attempt, withKnown, targets)
}

// repeatTargets returns the targets of a repeated query: on each
// interface and for each address family the group on odd attempts and
// the subnet broadcasts on even ones, or all its targets when it has only
// one kind (IPv6 has no broadcast: its group gets every repeat). Every
// responder on
// the link hears either, and answers one copy of an attempt anyway: the
// first query goes both ways, so that one path filtered (multicast
// without an IGMP querier, broadcast on some Wi-Fi) does not hide
// anyone, and repeats alternate. A repeat carries the known-answer list,
// 8 bytes per instance heard: sent once instead of twice per interface, a
// list of 100 instances costs about 2.6 KB less on a quiet LAN.
func repeatTargets(all []iface.Target, attempt uint8) []iface.Target {
	group := attempt%2 == 1
	out := make([]iface.Target, 0, len(all))
	for _, t := range all {
		if t.Dst.Addr().IsMulticast() == group || !slices.ContainsFunc(all, func(o iface.Target) bool {
			return o.IfIndex == t.IfIndex && o.Dst.Addr().Is4() == t.Dst.Addr().Is4() &&
				o.Dst.Addr().IsMulticast() == group
		}) {
			out = append(out, t)
		}
	}
	return out
}

// sendQueryTo sends one attempt of request to targets.
func (s *session) sendQueryTo(request uint64, attempt uint8, withKnown bool,
	targets []iface.Target) {
	s.requests[request] = true
	q := &beacon.Query{Attempt: attempt, Name: s.l.cfg.Name, Type: s.l.cfg.Type}
	if withKnown {
		q.Known = s.known(attempt)
	}
	b := beacon.Beacon{
		Kind:      beacon.KindQuery,
		Sender:    s.l.id,
		Seq:       s.l.seq.Add(1),
		RequestID: request,
		Query:     q,
	}
	s.l.fitQuery(&b)
	p, err := s.l.ep.Codec.Encode(&b)
	if err != nil {
		s.l.log.Error("marshal query", "err", err)
		return
	}
	var flagged []byte // p with beacon.FlagAlsoIPv4, for IPv6 copies
	for _, t := range targets {
		p := p
		if alsoIPv4(targets, t) {
			if flagged == nil {
				b.Flags |= beacon.FlagAlsoIPv4
				if flagged, err = s.l.ep.Codec.Encode(&b); err != nil {
					s.l.log.Error("marshal query", "err", err)
					return
				}
			}
			p = flagged
		}
		if _, err := s.l.qconn.WriteTo(p, t.Dst, t.IfIndex); err != nil {
			s.l.stats.sendErrors.Add(1)
			s.l.log.Warn("query send failed", "iface", t.IfName, "dst", t.Dst.String(), "err", err)
			continue
		}
		s.l.stats.sent.Add(1)
	}
	s.l.log.Debug("sent query", "request", request, "attempt", attempt, "known", len(q.Known))
}

// alsoIPv4 reports whether t is an IPv6 target of a query that targets
// also send over IPv4 on t's interface: its copy then carries
// beacon.FlagAlsoIPv4, and a responder with an IPv4 address on that link
// answers the IPv4 copy only. Without the flag every dual-stack responder
// answered both copies (their sources differ, so neither is a copy of the
// other to it), which doubled the bytes of a list on a dual-stack LAN.
func alsoIPv4(targets []iface.Target, t iface.Target) bool {
	return !t.Dst.Addr().Is4() && slices.ContainsFunc(targets, func(o iface.Target) bool {
		return o.IfIndex == t.IfIndex && o.Dst.Addr().Is4()
	})
}

// heardIPv6Only reports whether an instance was heard on the interface
// ifIndex over IPv6 only. Only such a responder answers the IPv6 copy of a
// query also sent over IPv4 there (beacon.FlagAlsoIPv4): every other one
// answers the IPv4 copy. So a repeat on a link that has both families
// goes over IPv6 too only when it has someone to reach: on a dual-stack
// LAN the known-answer list of each repeat crosses the wire once, not
// twice. The first query of a request always goes both ways, so an
// IPv6-only responder not heard yet answers it; if that answer is lost
// and no other IPv6-only responder on the link was heard, the repeats of
// this request do not reach it (its announcements still do).
func (s *session) heardIPv6Only(ifIndex int) bool {
	for _, bySender := range s.byInstance {
		for _, e := range bySender {
			v4, v6 := false, false
			for p := range e.paths {
				if p.ifIndex == ifIndex {
					v4 = v4 || p.addr.Unmap().Is4()
					v6 = v6 || !p.addr.Unmap().Is4()
				}
			}
			if v6 && !v4 {
				return true
			}
		}
	}
	return false
}

// known lists up to beacon.MaxKnown of the instance IDs heard, for
// attempt of a query: when more were heard, successive attempts list
// successive windows of them in ID order, so that every instance is
// listed as known in turn (and its owner kept quiet about it on that
// attempt) rather than the same ones each time.
func (s *session) known(attempt uint8) []uint64 {
	ids := slices.Sorted(maps.Keys(s.byInstance))
	if len(ids) <= beacon.MaxKnown {
		return ids
	}
	start := int(attempt) * beacon.MaxKnown % len(ids)
	return slices.Concat(ids[start:], ids[:start])[:beacon.MaxKnown]
}

// backoff is the delay before the next attempt after quiet consecutive
// repeats that brought nothing new: 100, 200, 400, 800 ms, then 1 s. While
// repeats keep bringing answers (the network is losing some, but delivering)
// the pace stays at 100 ms; silence backs off exponentially.
func backoff(quiet int) time.Duration {
	d := 100 * time.Millisecond << min(max(quiet, 0), 4)
	return min(d, time.Second)
}

// resolveRepeat is how long Resolve waits for an answer to its first
// query before it repeats it; later repeats back off as [backoff] says.
// A named query is answered without jitter, within a millisecond on a
// quiet LAN, and a repeat is answered twice: under 30% loss the answer is
// then back within about 40ms in 97% of resolves, where the first repeat
// at 100ms left 30% of them waiting that long. It costs one more query
// only when the answer takes longer than this to come.
const resolveRepeat = 25 * time.Millisecond

// querier runs the retransmission schedule of one request and decides when
// answers have settled.
type querier struct {
	s         *session
	request   uint64
	attempt   int       // last attempt sent
	sentAt    time.Time // when it was sent
	newAtSend int       // s.newCount when it was sent
	checked   bool      // the quiet window after it has been judged
	quiet     int       // consecutive repeats that brought nothing new
	lossy     bool      // a repeat brought something new: the network loses datagrams
	settled   bool
	withKnown bool
	forever   bool // repeat until stopped from outside (Resolve)
}

func newQuerier(s *session, withKnown bool) *querier {
	q := &querier{s: s, request: endpoint.RandomID(), withKnown: withKnown}
	q.send(0, s.now())
	return q
}

func (q *querier) send(attempt int, now time.Time) {
	q.attempt, q.sentAt, q.newAtSend, q.checked = attempt, now, q.s.newCount, false
	if attempt > 0 && attempt%256 == 0 {
		// The attempt number is one byte and responders answer each
		// (request, attempt) once: a request that outlives 256 attempts
		// continues under a new request ID.
		q.request = endpoint.RandomID()
	}
	q.s.sendQuery(q.request, uint8(attempt%256), q.withKnown)
}

// window is how long the answers to the last attempt are awaited: the
// quiet window after a repeat, twice it after the first query, whose
// answers are spread over the responders' whole reply jitter, and while
// nothing has been heard at all (a responder slow to answer anything
// still has as long as before to be heard before Collect gives up).
func (q *querier) window() time.Duration {
	if q.attempt == 0 || q.s.newCount == 0 {
		return 2 * q.s.l.cfg.QuietWindow
	}
	return q.s.l.cfg.QuietWindow
}

// next returns when the querier next needs to act.
func (q *querier) next() time.Time {
	if q.attempt >= 1 && !q.checked {
		return q.sentAt.Add(q.window())
	}
	if !q.forever && q.s.newCount > 0 {
		// Collect and Run have heard answers: repeat at the quiet-window
		// pace until quietRounds repeats in a row bring nothing new.
		return q.sentAt.Add(q.window())
	}
	if q.forever && q.attempt == 0 {
		// Resolve's query names one service, which responders answer at
		// once (no reply jitter): an answer not back by then was most
		// likely lost.
		return q.sentAt.Add(resolveRepeat)
	}
	if q.lossy {
		// The LAN answers but loses datagrams: keep repeating at the
		// fastest pace.
		return q.sentAt.Add(backoff(0))
	}
	return q.sentAt.Add(backoff(q.quiet))
}

// quietRounds is how many repeats in a row must bring nothing new before
// Collect settles once it has heard answers. One quiet repeat is no proof:
// a responder whose answer to the first query was lost may lose its answer
// to the repeat too. With a loss rate p, an answer still missing is lost
// again by all of them with probability p³ (2.7% at 30%), and a list of
// ten responders that each pack their services into one reply comes back
// incomplete in about 0.35% of runs at 30% loss, against 6.6% when one
// quiet repeat settled. On a quiet LAN the three repeats cost 90ms.
const quietRounds = 3

// lossyQuietRounds replaces quietRounds once a repeat has brought an answer
// that earlier copies lost: the LAN is known to lose datagrams, and a
// responder that lost its answers to three repeats in a row, or stalled for
// as long, is no longer rare enough to give up on (the loss rows of
// bench/results/results.md measure it). Five quiet repeats cost another
// 60ms on such a LAN only.
const lossyQuietRounds = 5

// tick acts if it is time: judges a quiet window or sends the next attempt.
func (q *querier) tick(now time.Time) {
	if q.settled || now.Before(q.next()) {
		return
	}
	if q.attempt >= 1 && !q.checked {
		q.checked = true
		if q.s.newCount == q.newAtSend {
			q.quiet++
		} else {
			q.quiet, q.lossy = 0, true
		}
		need, minAttempts := quietRounds, 1
		if q.lossy {
			need = lossyQuietRounds
		}
		if q.s.newCount == 0 {
			// Nothing heard: nobody's answer can be missing but the
			// first. Give the LAN one more chance after the first repeat.
			need, minAttempts = 1, 2
		}
		if !q.forever && q.quiet >= need && q.attempt >= minAttempts {
			q.settled = true
			q.s.l.log.Debug("answers settled", "attempts", q.attempt+1, "found", q.s.newCount)
			return
		}
		if now.Before(q.next()) {
			return
		}
	}
	q.send(q.attempt+1, now)
}
