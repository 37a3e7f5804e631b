package discover

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/dedup"
	"github.com/lanfind/lanfind/internal/endpoint"
)

// session is the state of one Run, Collect or Resolve. It is owned by the
// goroutine running that operation.
type session struct {
	l   *Listener
	now func() time.Time

	// byInstance maps instance ID, then sender ID, to the entry.
	byInstance map[uint64]map[uint64]*entry
	seen       *dedup.Cache[msgKey]
	requests   map[uint64]bool // request IDs this session sent
	emit       func(Event)     // may be nil
	newCount   int             // instances first heard, total
	entries    int             // live entries, at most Config.MaxEntries

	nextExpiry time.Time // zero when nothing expires

	ifs     []iface.Interface // the selected interfaces the session last acted on
	requery requery           // the repeat of a query sent on new interfaces

	// byes holds the sequence number of the latest goodbye of each
	// instance and sender (at most maxByes): a datagram that sender sent
	// before it and that is handled after it (a reply reaches the query
	// socket, the goodbye the beacon socket, and their readers race) must
	// not bring the instance back.
	byes map[instanceSender]uint32
}

type instanceSender struct{ instance, sender uint64 }

// maxByes caps the goodbyes a session remembers; past it, it forgets one.
// Reordering spans milliseconds, so only a flood of goodbyes reaches it.
const maxByes = 1024

// before reports whether sequence number a comes before b, in serial
// number arithmetic (RFC 1982): a Sender counts up from zero and wraps.
func before(a, b uint32) bool { return int32(a-b) < 0 }

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
	seq      uint32 // of the message rec came in, from sender
	lastSeen time.Time
	expires  time.Time
	conflict bool
	replaced uint64 // the sender this entry took over from at a restart
}

// maxSeen caps the message IDs a session keeps for duplicate suppression.
const maxSeen = 8192

func (l *Listener) newSession(emit func(Event)) *session {
	return &session{
		l:          l,
		now:        time.Now,
		byInstance: make(map[uint64]map[uint64]*entry),
		seen:       dedup.New[msgKey](maxSeen, endpoint.ReplayMemory(l.cfg.ReplayWindow, time.Minute), l.ep.Codec.Now),
		requests:   make(map[uint64]bool),
		byes:       make(map[instanceSender]uint32),
		emit:       emit,
		ifs:        l.ep.Plan().Selected,
	}
}

func (s *session) matches(r *beacon.Service) bool {
	return (s.l.cfg.Name == "" || s.l.cfg.Name == r.Name) && (s.l.cfg.Type == "" || s.l.cfg.Type == r.Type)
}

// handle processes one parsed datagram.
func (s *session) handle(p packet) {
	b := &p.b
	if b.Kind == beacon.KindReply && !s.requests[b.RequestID] {
		s.l.stats.unknownReq.Add(1)
		s.l.log.Debug("dropped reply with unknown request ID", "src", p.src.String(), "request", b.RequestID)
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
		if e := s.byInstance[rec.Instance][b.Sender]; e != nil && before(b.Seq, e.seq) {
			// Older than what e holds: sent before it and handled after
			// it (replies and beacons reach different sockets), or a
			// replay inside the window of a message this session did not
			// see; either would roll the record back or say a stale
			// goodbye. Only its path is news.
			s.l.log.Debug("ignored an older record", "name", rec.Name, "src", p.src.String(), "seq", b.Seq, "have", e.seq)
			if s.addPath(e, p) {
				s.emitEvent(EventUpdate, "", e)
			}
			continue
		}
		if b.Kind == beacon.KindGoodbye {
			s.noteGoodbye(rec.Instance, b.Sender, b.Seq)
			s.goodbye(rec.Instance, b.Sender, p.src.Addr())
			continue
		}
		if bye, ok := s.byes[instanceSender{rec.Instance, b.Sender}]; ok && before(b.Seq, bye) {
			s.l.log.Debug("dropped record sent before its goodbye", "name", rec.Name, "src", p.src.String(), "seq", b.Seq, "goodbye_seq", bye)
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
	if e == nil && !s.replacedBy(bySender, sender) {
		// A restarted announcer comes back from an address we already know
		// under a new sender ID: it replaces its old entry. (Unless the
		// sender it would replace is itself one that an entry replaced:
		// then two processes announce the same service, a conflict.)
		for oldSender, old := range bySender {
			if _, ok := old.paths[pathKey{p.m.IfIndex, src}]; ok {
				delete(bySender, oldSender)
				old.sender, old.replaced = sender, oldSender
				bySender[sender] = old
				e = old
				s.l.log.Debug("instance restarted", "name", rec.Name, "instance", rec.Instance, "addr", src.String())
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
			s.l.log.Debug("dropped new sender of an instance: too many claim it", "name", rec.Name, "src", src.String(), "max", maxSenders)
			return
		}
		if s.entries >= s.l.cfg.MaxEntries {
			s.l.stats.tableFull.Add(1)
			s.l.log.Debug("dropped new instance: table full", "name", rec.Name, "src", src.String(), "max", s.l.cfg.MaxEntries)
			return
		}
		if bySender == nil {
			bySender = make(map[uint64]*entry)
			s.byInstance[rec.Instance] = bySender
		}
		kind = EventUp
		e = &entry{sender: sender, primary: pathKey{p.m.IfIndex, src}, paths: make(map[pathKey]time.Time)}
		bySender[sender] = e
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
			s.l.log.Warn("instance ID conflict: two announcers claim one instance (a cloned machine, or the same service announced twice)",
				"name", rec.Name, "instance", fmt.Sprintf("%016x", rec.Instance), "addrs", addrs)
		}
	}
	changed := kind == EventUp || !e.rec.SameAs(rec)
	if s.addPath(e, p) {
		changed = true
	}
	e.rec = *rec
	e.seq = p.b.Seq
	e.expires = p.at.Add(rec.TTL)
	if s.nextExpiry.IsZero() || e.expires.Before(s.nextExpiry) {
		s.nextExpiry = e.expires
	}
	if changed {
		s.emitEvent(kind, "", e)
	}
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

// noteGoodbye remembers that sender said goodbye for instance in its
// datagram seq.
func (s *session) noteGoodbye(instance, sender uint64, seq uint32) {
	k := instanceSender{instance, sender}
	if bye, ok := s.byes[k]; ok && before(seq, bye) {
		return
	}
	if _, ok := s.byes[k]; !ok && len(s.byes) >= maxByes {
		for old := range s.byes {
			delete(s.byes, old)
			break
		}
	}
	s.byes[k] = seq
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
	if _, ok := bySender[sender]; ok {
		s.entries--
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
}

func (s *session) emitEvent(kind EventKind, reason string, e *entry) {
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
		if i := slices.IndexFunc(s.ifs, func(i iface.Interface) bool { return i.Index == index }); i >= 0 {
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
		Addrs:    rankAddrs(e.rec.Addrs, e.primary.addr, local),
		Meta:     maps.Clone(e.rec.Meta),
		TTL:      e.rec.TTL,
		Addr:     e.primary.addr,
		Iface:    name(e.primary.ifIndex),
		LastSeen: e.lastSeen,
		Conflict: e.conflict,
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

// known lists up to beacon.MaxKnown instance IDs already heard.
func (s *session) known() []uint64 {
	var out []uint64
	for inst := range s.byInstance {
		if len(out) == beacon.MaxKnown {
			break
		}
		out = append(out, inst)
	}
	slices.Sort(out)
	return out
}

// sendQuery sends one attempt of request to every target.
func (s *session) sendQuery(request uint64, attempt uint8, withKnown bool) {
	s.sendQueryTo(request, attempt, withKnown, s.l.ep.Plan().Targets)
}

// sendQueryTo sends one attempt of request to targets.
func (s *session) sendQueryTo(request uint64, attempt uint8, withKnown bool, targets []iface.Target) {
	s.requests[request] = true
	q := &beacon.Query{Attempt: attempt, Name: s.l.cfg.Name, Type: s.l.cfg.Type}
	if withKnown {
		q.Known = s.known()
	}
	b := beacon.Beacon{Kind: beacon.KindQuery, Sender: s.l.id, Seq: s.l.seq.Add(1), RequestID: request, Query: q}
	s.l.fitQuery(&b)
	p, err := s.l.ep.Codec.Encode(&b)
	if err != nil {
		s.l.log.Error("marshal query", "err", err)
		return
	}
	for _, t := range targets {
		if _, err := s.l.qconn.WriteTo(p, t.Dst, t.IfIndex); err != nil {
			s.l.stats.sendErrors.Add(1)
			s.l.log.Warn("query send failed", "iface", t.IfName, "dst", t.Dst.String(), "err", err)
			continue
		}
		s.l.stats.sent.Add(1)
	}
	s.l.log.Debug("sent query", "request", request, "attempt", attempt, "known", len(q.Known))
}

// backoff is the delay before the next attempt after quiet consecutive
// repeats that brought nothing new: 100, 200, 400, 800 ms, then 1 s. While
// repeats keep bringing answers (the network is losing some, but delivering)
// the pace stays at 100 ms; silence backs off exponentially.
func backoff(quiet int) time.Duration {
	d := 100 * time.Millisecond << min(max(quiet, 0), 4)
	return min(d, time.Second)
}

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

// next returns when the querier next needs to act.
func (q *querier) next() time.Time {
	if q.attempt >= 1 && !q.checked {
		return q.sentAt.Add(q.s.l.cfg.QuietWindow)
	}
	if !q.forever && q.s.newCount > 0 {
		// Collect and Run have heard answers: repeat at the quiet-window
		// pace until quietRounds repeats in a row bring nothing new.
		return q.sentAt.Add(q.s.l.cfg.QuietWindow)
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
// quiet repeat settled. On a quiet LAN the three repeats cost 180ms.
const quietRounds = 3

// lossyQuietRounds replaces quietRounds once a repeat has brought an answer
// that earlier copies lost: the LAN is known to lose datagrams, and a
// responder that lost its answers to three repeats in a row, or stalled for
// as long, is no longer rare enough to give up on (the bench saw about one
// incomplete list in a hundred at 30% loss). Five quiet repeats cost
// another 120ms on such a LAN only.
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

// loop feeds packets to s until ctx ends, the Listener closes or stop
// reports true. q may be nil. It returns ctx's error if ctx ended.
func (l *Listener) loop(ctx context.Context, s *session, q *querier, stop func() bool) error {
	defer s.logTables()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if stop != nil && stop() {
			return nil
		}
		var wake time.Time
		if q != nil && !q.settled {
			wake = q.next()
		}
		if !s.nextExpiry.IsZero() && (wake.IsZero() || s.nextExpiry.Before(wake)) {
			wake = s.nextExpiry
		}
		if !s.requery.at.IsZero() && (wake.IsZero() || s.requery.at.Before(wake)) {
			wake = s.requery.at
		}
		if !wake.IsZero() {
			timer.Reset(max(time.Until(wake), 0))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return nil
		case p := <-l.in:
			if !s.selected(p.m.IfIndex) {
				// The reader accepted it: the interface may be new, and
				// this datagram ahead of the notice (l.netChanged).
				s.ifacesChanged(q)
			}
			if !s.selected(p.m.IfIndex) { // queued before its interface went away
				l.ep.Drops.Count(endpoint.OtherIface)
				break
			}
			s.handle(p)
		case <-l.netChanged:
			s.ifacesChanged(q)
		case <-timer.C:
		}
		timer.Stop()
		now := s.now()
		if q != nil {
			q.tick(now)
		}
		s.requeryDue(now)
		if !s.nextExpiry.IsZero() && !now.Before(s.nextExpiry) {
			s.expire(now)
		}
	}
}

// Collect queries the network and returns every matching instance once the
// answers have settled, or when ctx ends (a deadline is the upper bound, not
// an error). Results are sorted by name, type, host and address.
func (l *Listener) Collect(ctx context.Context) ([]Result, error) {
	release, err := l.claim()
	if err != nil {
		return nil, err
	}
	defer release()
	s := l.newSession(nil)
	q := newQuerier(s, true)
	err = l.loop(ctx, s, q, func() bool { return q.settled })
	if err != nil && ctx.Err() == nil {
		return s.results(), err
	}
	return s.results(), nil
}

// Resolve returns the first instance matching Config.Name (and Config.Type)
// the moment it is heard. Queries repeat with backoff until ctx ends, when
// Resolve returns [ErrNotFound].
func (l *Listener) Resolve(ctx context.Context) (Result, error) {
	if l.cfg.Name == "" {
		return Result{}, errNoName
	}
	release, err := l.claim()
	if err != nil {
		return Result{}, err
	}
	defer release()
	var found *Result
	s := l.newSession(func(ev Event) {
		if ev.Kind == EventUp && found == nil {
			r := ev.Service
			found = &r
		}
	})
	q := newQuerier(s, false)
	q.forever = true
	err = l.loop(ctx, s, q, func() bool { return found != nil })
	if found != nil {
		return *found, nil
	}
	if err != nil && ctx.Err() == nil {
		return Result{}, err
	}
	return Result{}, ErrNotFound
}

// Run reports changes to fn until ctx ends, then returns nil. It starts
// with a query so that instances already running are reported at once, then
// listens to their beacons. fn runs synchronously on Run's goroutine and
// must return quickly; it must not call the Listener's Run, Collect or
// Resolve.
func (l *Listener) Run(ctx context.Context, fn func(Event)) error {
	release, err := l.claim()
	if err != nil {
		return err
	}
	defer release()
	s := l.newSession(fn)
	q := newQuerier(s, true)
	err = l.loop(ctx, s, q, nil)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
