package discover

import (
	"context"
	"time"

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
	shares     shares          // the live entries by source and by sender
	warnedFull bool            // the table filled up once and it was logged

	nextExpiry time.Time // zero when nothing expires
	wakeAt     time.Time // when the operation wants to look at its stop condition; zero: never
	watchAt    time.Time // when to start following interface changes; zero: not this session's job

	ifs     []iface.Interface // the selected interfaces the session last acted on
	requery requery           // the repeat of a query sent on new interfaces

	// byes holds the latest goodbye of each instance and sender (at most
	// maxByes, each for byeMemory): a datagram that sender sent before it
	// and that is handled after it (a reply reaches the query socket, the
	// goodbye the beacon socket, and their readers race) must not bring
	// the instance back.
	byes map[instanceSender]goodbyeMark
	// byeMemory is reorderHorizon in clear mode; in keyed mode, where a
	// captured beacon can be replayed for as long as the replay window
	// lets it through, the replay memory.
	byeMemory time.Duration
}

func (l *Listener) newSession(emit func(Event)) *session {
	replayMemory := endpoint.ReplayMemory(l.cfg.ReplayWindow, time.Minute)
	s := &session{
		l:          l,
		now:        time.Now,
		byInstance: make(map[uint64]map[uint64]*entry),
		shares:     newShares(),
		seen:       dedup.New[msgKey](maxSeen, replayMemory, l.ep.Codec.Now),
		requests:   make(map[uint64]bool),
		byes:       make(map[instanceSender]goodbyeMark),
		byeMemory:  reorderHorizon,
		emit:       emit,
		ifs:        l.ep.Plan().Selected,
	}
	if l.ep.Codec.Keyed() {
		s.byeMemory = replayMemory
	}
	return s
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
		if !s.wakeAt.IsZero() && (wake.IsZero() || s.wakeAt.Before(wake)) {
			wake = s.wakeAt
		}
		if !s.watchAt.IsZero() && (wake.IsZero() || s.watchAt.Before(wake)) {
			wake = s.watchAt
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
		if !s.watchAt.IsZero() && !now.Before(s.watchAt) {
			s.watchAt = time.Time{}
			l.watch()
		}
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
	s.watchAt = s.now().Add(oneShotWatch)
	q := newQuerier(s, true)
	err = l.loop(ctx, s, q, func() bool { return q.settled })
	if err != nil && ctx.Err() == nil {
		return s.results(), err
	}
	return s.results(), nil
}

// Resolve returns the first instance matching Config.Name (and
// Config.Type) that is heard, once Config.ContestWindow has passed since
// (a query is sent at once when the instance was heard by its beacon, not
// in answer to a query of this Resolve). Another announcer that claims
// the same instance ID answers the same query, so a contested instance
// comes back with Result.Conflict set.
// Queries repeat with backoff until ctx ends, when Resolve returns
// [ErrNotFound].
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
	var q *querier
	s := l.newSession(nil)
	s.emit = func(ev Event) {
		switch {
		case found == nil && ev.Kind == EventUp:
			r := ev.Service
			found = &r
			now := s.now()
			if l.cfg.ContestWindow > 0 && now.After(q.sentAt.Add(l.cfg.QuietWindow)) {
				q.send(q.attempt+1, now) // heard by its beacon: ask who else claims it
			}
			s.wakeAt = now.Add(l.cfg.ContestWindow)
		case found != nil && ev.Service.Instance == found.Instance && ev.Service.Conflict:
			found.Conflict = true
		}
	}
	s.watchAt = s.now().Add(oneShotWatch)
	q = newQuerier(s, false)
	q.forever = true
	err = l.loop(ctx, s, q, func() bool { return found != nil && !s.now().Before(s.wakeAt) })
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
	l.watch()
	s := l.newSession(fn)
	q := newQuerier(s, true)
	err = l.loop(ctx, s, q, nil)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
