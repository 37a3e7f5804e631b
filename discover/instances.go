// The instance table of a session: what was heard, from whom, through
// which paths, until when.

package discover

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
)

type instanceSender struct{ instance, sender uint64 }

// maxByes caps the goodbyes a session remembers; past it, it forgets one.
// Reordering spans milliseconds, so only a flood of goodbyes reaches it.
const maxByes = 1024

// before reports whether sequence number a comes before b, in serial
// number arithmetic (RFC 1982): a Sender counts up from zero and wraps.
func before(a, b uint32) bool { return int32(a-b) < 0 }

// In clear mode anyone can forge a sender's datagrams, sequence number
// included, so the order sequence numbers give is believed only as far as
// it protects against reordering:
//
//   - reorderHorizon: a record rules out older datagrams of its sender,
//     and a goodbye the records sent before it, for this long after it
//     was heard. Reordering (a reply and a beacon read from two sockets)
//     spans milliseconds; a second leaves room for a loaded host.
//   - seqWindow: a datagram whose sequence number lies further than this
//     from the one of the record held (ahead or behind) is not believed
//     alone: a second one that continues it must follow (a genuine
//     sender that sent that many datagrams to others in between). A
//     goodbye that far ahead of a record is never believed.
//
// In keyed mode sequence numbers are sealed and believed as they come.
const (
	reorderHorizon = time.Second
	seqWindow      = 1 << 16
)

// contestMemory is how long a record stays marked as a conflict after its
// sender's datagrams last contradicted each other.
const contestMemory = time.Minute

// order is how a datagram's sequence number relates to an entry's.
type order int

const (
	newer        order = iota // believe it
	older                     // sent before the record held: ignore
	contradicts               // older than the record, past the horizon: one of them is forged
	unbelievable              // too far from the record held, not (yet) confirmed
)

// order judges sequence number seq, heard at at, against e's record.
func (s *session) order(e *entry, seq uint32, at time.Time) order {
	d := int64(int32(seq - e.seq))
	if s.l.ep.Codec.Keyed() {
		if d < 0 {
			return older
		}
		return newer
	}
	switch {
	case d < 0 && at.Sub(e.seqAt) < reorderHorizon:
		return older
	case d < -seqWindow || d > seqWindow:
	case d < 0:
		return contradicts
	default:
		e.jump = nil
		return newer
	}
	if j := e.jump; j != nil && !before(seq, *j) && seq-*j <= seqWindow {
		// A second datagram continues the jump.
		e.jump = nil
		if !e.jumpedAt.IsZero() && at.Sub(e.jumpedAt) < contestMemory {
			s.contest(e, at) // back and forth: two senders of one ID
		}
		e.jumpedAt = at
		return newer
	}
	e.jump = &seq
	return unbelievable
}

// contest marks e as a conflict: its sender's datagrams contradict each
// other, so someone forges them.
func (s *session) contest(e *entry, at time.Time) {
	if e.contested.IsZero() {
		s.l.log.Warn("conflicting datagrams from one sender: someone forges them",
			"name", e.rec.Name, "instance", fmt.Sprintf("%016x", e.rec.Instance),
			"sender", fmt.Sprintf("%016x", e.sender))
	}
	e.contested = at
}

type msgKey struct {
	sender uint64
	seq    uint32
}

type pathKey struct {
	ifIndex int
	addr    netip.Addr
}

// comparePaths orders paths by interface index, then address: the order
// of Result.Paths, and the first path is the one that stands in for an
// instance.
func comparePaths(a, b pathKey) int {
	return cmp.Or(cmp.Compare(a.ifIndex, b.ifIndex), a.addr.Compare(b.addr))
}

type entry struct {
	rec      beacon.Service
	sender   uint64
	primary  pathKey
	paths    map[pathKey]time.Time
	seq      uint32    // of the message rec came in, from sender
	seqAt    time.Time // when that message was heard
	jump     *uint32   // a sequence number too far ahead, not yet confirmed
	jumpedAt time.Time // when the last confirmed jump was believed
	lastSeen time.Time
	expires  time.Time
	conflict bool
	// contested is when its sender's datagrams last contradicted each
	// other (zero: never, or longer than contestMemory ago).
	contested time.Time
	shown     bool   // Conflict as the last event reported it
	replaced  uint64 // the sender this entry took over from at a restart
	// firstSent is when the first sealed datagram heard from sender was
	// sealed (zero in clear mode): that process ran from then on.
	firstSent time.Time
	source    netip.Addr // the address it was first heard from: its share
}

// maxSeen caps the message IDs a session keeps for duplicate suppression.
const maxSeen = 8192

func (s *session) matches(r *beacon.Service) bool {
	cfg := &s.l.cfg
	return (cfg.Name == "" || cfg.Name == r.Name) && (cfg.Type == "" || cfg.Type == r.Type)
}

// handle processes one parsed datagram.
func (s *session) handle(p packet) {
	b := &p.b
	if b.Kind == beacon.KindReply && !s.requests[b.RequestID] {
		s.l.stats.unknownReq.Add(1)
		s.l.log.Debug("dropped reply with unknown request ID",
			"src", p.src.String(), "request", b.RequestID)
		return
	}
	if s.seen.Seen(msgKey{b.Sender, b.Seq}) {
		// A copy by another path: only note the path.
		s.l.stats.dups.Add(1)
		for i := range b.Services {
			if e := s.byInstance[b.Services[i].Instance][b.Sender]; e != nil {
				if s.addPath(e, p) {
					s.emitEvent(EventUpdate, "", e)
				}
			}
		}
		return
	}
	s.l.stats.accepted.Add(1)
	for i := range b.Services {
		rec := &b.Services[i]
		if !s.matches(rec) {
			continue
		}
		if e := s.byInstance[rec.Instance][b.Sender]; e != nil {
			switch s.order(e, b.Seq, p.at) {
			case older:
				// Sent before what e holds and handled after it
				// (replies and beacons reach different sockets), or a
				// replay inside the window of a message this session
				// did not see; either would roll the record back or
				// say a stale goodbye. Only its path is news.
				s.l.log.Debug("ignored an older record",
					"name", rec.Name, "src", p.src.String(), "seq", b.Seq, "have", e.seq)
				if s.addPath(e, p) {
					s.emitEvent(EventUpdate, "", e)
				}
				continue
			case unbelievable:
				s.l.stats.implausible.Add(1)
				s.l.log.Debug("ignored a record too far from its sender's sequence",
					"name", rec.Name, "src", p.src.String(), "seq", b.Seq, "have", e.seq)
				continue
			case contradicts:
				s.contest(e, p.at)
			}
		}
		if b.Kind == beacon.KindGoodbye {
			s.noteGoodbye(rec.Instance, b.Sender, b.Seq, p.at)
			s.goodbye(rec.Instance, b.Sender, p.src.Addr())
			continue
		}
		if bye, ok := s.byeBefore(rec.Instance, b.Sender, b.Seq, p.at); ok {
			s.l.log.Debug("dropped record sent before its goodbye",
				"name", rec.Name, "src", p.src.String(), "seq", b.Seq, "goodbye_seq", bye)
			continue
		}
		s.refresh(rec, b.Sender, p)
	}
}

// addPath records that e was heard through p and reports whether that path
// is new.
func (s *session) addPath(e *entry, p packet) bool {
	k := pathKey{p.m.IfIndex, p.src.Addr().Unmap()}
	e.lastSeen = p.at
	if _, ok := e.paths[k]; ok || len(e.paths) < maxPaths {
		e.paths[k] = p.at
		return !ok
	}
	return false // a spoofer cycling source addresses cannot grow an entry
}

// maxPaths caps the interfaces and source addresses kept per entry.
const maxPaths = 16

// maxSenders caps the senders (announcing processes) kept for one instance
// ID: one, or two or three at a restart or on cloned machines.
const maxSenders = 8

func (s *session) refresh(rec *beacon.Service, sender uint64, p packet) {
	src := p.src.Addr().Unmap()
	bySender := s.byInstance[rec.Instance]
	e := bySender[sender] // not older than p: handle checked
	kind := EventUpdate
	if e == nil && s.superseded(bySender, p) {
		s.l.stats.superseded.Add(1)
		s.l.log.Debug("ignored a record of a process older than the one heard",
			"name", rec.Name, "src", src.String(), "sender", fmt.Sprintf("%016x", sender))
		return
	}
	if e == nil && !s.replacedBy(bySender, sender) {
		// A restarted announcer comes back from an address we already know
		// under a new sender ID: it replaces its old entry. (Unless the
		// sender it would replace is itself one that an entry replaced:
		// then two processes announce the same service, a conflict.)
		for oldSender, old := range bySender {
			if _, ok := old.paths[pathKey{p.m.IfIndex, src}]; ok {
				delete(bySender, oldSender)
				s.shares.del(old)
				old.sender, old.replaced, old.firstSent, old.jump = sender, oldSender, p.sent, nil
				s.shares.add(old)
				bySender[sender] = old
				e = old
				s.l.log.Debug("instance restarted",
					"name", rec.Name, "instance", rec.Instance, "addr", src.String())
				break
			}
		}
	}
	if e == nil {
		if len(bySender) >= maxSenders {
			// Not a restart nor a cloned machine, but forged: do not
			// let one instance cost a loop over thousands of entries
			// and a warning listing them all on every datagram.
			s.l.stats.tableFull.Add(1)
			s.l.log.Debug("dropped new sender of an instance: too many claim it",
				"name", rec.Name, "src", src.String(), "max", maxSenders)
			return
		}
		if !s.makeRoom(src, sender) {
			s.l.stats.tableFull.Add(1)
			s.l.log.Debug("dropped new instance: table full, and its source holds as many as any",
				"name", rec.Name, "src", src.String(), "max", s.l.cfg.MaxEntries)
			return
		}
		bySender = s.byInstance[rec.Instance] // makeRoom may have emptied it
		if bySender == nil {
			bySender = make(map[uint64]*entry)
			s.byInstance[rec.Instance] = bySender
		}
		kind = EventUp
		e = &entry{
			sender:    sender,
			primary:   pathKey{p.m.IfIndex, src},
			paths:     make(map[pathKey]time.Time),
			firstSent: p.sent,
			source:    src,
		}
		bySender[sender] = e
		s.shares.add(e)
		s.entries++
		s.newCount++
		if len(bySender) > 1 {
			e.conflict = true
			var addrs []string
			for _, other := range bySender {
				addrs = append(addrs, other.primary.addr.String())
				if !other.conflict {
					other.conflict = true
					s.emitEvent(EventUpdate, "", other)
				}
			}
			slices.Sort(addrs)
			s.l.log.Warn("instance ID conflict: two announcers claim one instance "+
				"(a cloned machine, or the same service announced twice)",
				"name", rec.Name, "instance", fmt.Sprintf("%016x", rec.Instance), "addrs", addrs)
		}
	}
	changed := kind == EventUp || !e.rec.SameAs(rec)
	if s.addPath(e, p) {
		changed = true
	}
	if !e.contested.IsZero() && p.at.Sub(e.contested) >= contestMemory {
		e.contested = time.Time{}
		changed = true
	}
	if (e.conflict || !e.contested.IsZero()) != e.shown {
		changed = true // a conflict began or ended: say so even if nothing else changed
	}
	e.rec = *rec
	e.seq, e.seqAt = p.b.Seq, p.at
	e.expires = p.at.Add(rec.TTL)
	if s.nextExpiry.IsZero() || e.expires.Before(s.nextExpiry) {
		s.nextExpiry = e.expires
	}
	switch {
	case changed:
		s.emitEvent(kind, "", e)
	case s.l.cfg.Refreshes:
		s.emitEvent(EventRefresh, "", e)
	}
}

// superseded reports whether p, sealed by a sender that bySender does not
// hold, was sealed before any of bySender's processes started: it comes
// from a process older than one already heard, which stopped before that
// one started (a restart) or had not been heard since. Such a record is a
// replay: it must neither replace the newer process nor stand beside it as
// a conflict. A genuine second process of the instance is heard again
// with a later datagram.
func (s *session) superseded(bySender map[uint64]*entry, p packet) bool {
	if p.sent.IsZero() {
		return false
	}
	for _, e := range bySender {
		if p.sent.Before(e.firstSent) {
			return true
		}
	}
	return false
}

// replacedBy reports whether an entry of bySender took over from sender as
// a restart: hearing sender again means both processes are alive.
func (s *session) replacedBy(bySender map[uint64]*entry, sender uint64) bool {
	for _, e := range bySender {
		if e.replaced == sender {
			return true
		}
	}
	return false
}

// goodbyeMark is a goodbye a session remembers: its sequence number and
// when it was heard.
type goodbyeMark struct {
	seq uint32
	at  time.Time
}

// noteGoodbye remembers that sender said goodbye for instance in its
// datagram seq, heard at at.
func (s *session) noteGoodbye(instance, sender uint64, seq uint32, at time.Time) {
	k := instanceSender{instance, sender}
	if bye, ok := s.byes[k]; ok && before(seq, bye.seq) && at.Sub(bye.at) < s.byeMemory {
		return
	}
	if _, ok := s.byes[k]; !ok && len(s.byes) >= maxByes {
		for old := range s.byes {
			delete(s.byes, old)
			break
		}
	}
	s.byes[k] = goodbyeMark{seq, at}
}

// byeBefore returns the sequence number of a goodbye of instance by sender
// that a record in its datagram seq, heard at at, was sent before, and
// reports whether there is one. A goodbye is remembered for s.byeMemory;
// in clear mode it does not count against a record more than seqWindow
// before it.
func (s *session) byeBefore(instance, sender uint64, seq uint32, at time.Time) (uint32, bool) {
	k := instanceSender{instance, sender}
	bye, ok := s.byes[k]
	if !ok {
		return 0, false
	}
	if at.Sub(bye.at) >= s.byeMemory {
		delete(s.byes, k)
		return 0, false
	}
	far := !s.l.ep.Codec.Keyed() && bye.seq-seq > seqWindow
	return bye.seq, before(seq, bye.seq) && !far
}

func (s *session) goodbye(instance, sender uint64, src netip.Addr) {
	bySender := s.byInstance[instance]
	e := bySender[sender]
	if e == nil {
		return
	}
	s.emitEvent(EventDown, ReasonGoodbye, e)
	s.remove(instance, sender)
}

func (s *session) remove(instance, sender uint64) {
	bySender := s.byInstance[instance]
	if e, ok := bySender[sender]; ok {
		s.entries--
		s.shares.del(e)
	}
	delete(bySender, sender)
	if len(bySender) == 0 {
		delete(s.byInstance, instance)
	}
	if len(bySender) == 1 {
		for _, e := range bySender {
			if e.conflict {
				e.conflict = false
				s.emitEvent(EventUpdate, "", e)
			}
		}
	}
}

// expire removes entries whose TTL has run out and recomputes nextExpiry.
// The scan looks at every entry, so it runs at most every expiryStep: a
// flood of instances that expire a few microseconds apart would otherwise
// cost a scan of the whole table for each (quadratic), and an entry is
// reported expired at most expiryStep late.
func (s *session) expire(now time.Time) {
	s.nextExpiry = time.Time{}
	for inst, bySender := range s.byInstance {
		for sender, e := range bySender {
			if !e.expires.After(now) {
				s.emitEvent(EventDown, ReasonExpired, e)
				s.remove(inst, sender)
				continue
			}
			if s.nextExpiry.IsZero() || e.expires.Before(s.nextExpiry) {
				s.nextExpiry = e.expires
			}
		}
	}
	if step := now.Add(expiryStep); !s.nextExpiry.IsZero() && s.nextExpiry.Before(step) {
		s.nextExpiry = step
	}
}

// expiryStep is the shortest pause between two scans for expired entries.
const expiryStep = 100 * time.Millisecond

func (s *session) emitEvent(kind EventKind, reason string, e *entry) {
	e.shown = e.conflict || !e.contested.IsZero()
	if s.emit != nil {
		s.emit(Event{Kind: kind, Reason: reason, Service: s.result(e)})
	}
}

func (s *session) result(e *entry) Result {
	st := s.l.ep.Plan()
	name := func(index int) string {
		if n, ok := st.IfName(index); ok {
			return n
		}
		// Gone from the list: the interfaces the session last acted on
		// still name it, for the down event it causes (ifacesChanged).
		if i := slices.IndexFunc(s.ifs, endpoint.HasIndex(index)); i >= 0 {
			return s.ifs[i].Name
		}
		return ""
	}
	local := prefixesOf(st.Selected, e.primary.ifIndex)
	if local == nil {
		local = prefixesOf(s.ifs, e.primary.ifIndex)
	}
	r := Result{
		Instance: e.rec.Instance,
		Name:     e.rec.Name,
		Type:     e.rec.Type,
		Port:     e.rec.Port,
		Host:     e.rec.Host,
		Addrs: rankAddrs(e.rec.Addrs, e.primary.addr, local,
			s.l.cfg.PreferIPv6, name(e.primary.ifIndex)),
		Meta:     maps.Clone(e.rec.Meta),
		TTL:      e.rec.TTL,
		Addr:     e.primary.addr,
		Iface:    name(e.primary.ifIndex),
		LastSeen: e.lastSeen,
		Conflict: e.conflict || !e.contested.IsZero(),
		Sender:   e.sender,
		Verified: s.l.ep.Codec.Keyed(),
	}
	for _, k := range slices.SortedFunc(maps.Keys(e.paths), comparePaths) {
		r.Paths = append(r.Paths, Path{
			Iface:    name(k.ifIndex),
			IfIndex:  k.ifIndex,
			Addr:     k.addr,
			LastSeen: e.paths[k],
		})
	}
	return r
}

// results returns every live entry, sorted by [CompareResults].
func (s *session) results() []Result {
	var out []Result
	for _, bySender := range s.byInstance {
		for _, e := range bySender {
			out = append(out, s.result(e))
		}
	}
	slices.SortFunc(out, CompareResults)
	return out
}

// CompareResults is the order of results everywhere: by name, type,
// host, address and instance ID. It returns a negative number when a
// comes first, a positive one when b does, and zero for the same
// instance at the same address; it suits [slices.SortFunc].
func CompareResults(a, b Result) int {
	return cmp.Or(
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.Host, b.Host),
		a.Addr.Compare(b.Addr),
		cmp.Compare(a.Instance, b.Instance),
	)
}

// logTables logs, at debug level, how full the session's tables are when
// an operation ends: the instance table (capped by Config.MaxEntries) and
// the message IDs kept for duplicate suppression (capped at maxSeen).
func (s *session) logTables() {
	s.l.log.Debug("tables",
		"entries", s.entries, "max_entries", s.l.cfg.MaxEntries,
		"seen_ids", s.seen.Len(), "max_seen_ids", maxSeen,
		"goodbyes", len(s.byes), "max_goodbyes", maxByes)
}
