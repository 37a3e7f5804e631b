package discover

import (
	"maps"
	"slices"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
)

// applyPlan takes a new interface plan, from the endpoint's watcher
// (which has made the memberships follow it and put it in force), and
// tells the running operation.
func (l *Listener) applyPlan(*endpoint.Plan) {
	select {
	case l.netChanged <- struct{}{}:
	default: // a notice is already pending: the session reads the latest plan anyway
	}
}

// selected reports whether the interface with index is one the session
// works on.
func (s *session) selected(index int) bool {
	return slices.ContainsFunc(s.ifs, endpoint.HasIndex(index))
}

// ifacesChanged follows a change of the selected interfaces during an
// operation: paths through interfaces that went away are dropped (an
// instance left with none is down, [ReasonIfaceDown]), and a query goes
// out on the interfaces that appeared, so instances there are heard
// without waiting for their next beacon.
func (s *session) ifacesChanged(q *querier) {
	st := s.l.ep.Plan()
	added, removed := endpoint.Diff(s.ifs, st.Selected)
	if len(removed) > 0 {
		gone := make(map[int]bool, len(removed))
		for _, i := range removed {
			gone[i.Index] = true
			s.l.log.Info("interface gone", "iface", i.Name)
		}
		s.dropPaths(gone) // before s.ifs forgets them: events name them
	}
	s.ifs = st.Selected
	if len(added) == 0 || q == nil {
		return
	}
	// An interface set up but without carrier yet would lose the query;
	// its carrier coming makes it "added" again (endpoint.Diff).
	added = slices.DeleteFunc(added, func(i iface.Interface) bool {
		return i.Flags&iface.FlagRunning == 0
	})
	var targets []iface.Target
	for _, t := range st.Targets {
		if slices.ContainsFunc(added, endpoint.HasIndex(t.IfIndex)) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return
	}
	for _, i := range added {
		s.l.log.Info("interface added or changed: querying on it", "iface", i.Name)
	}
	// A request of its own: announcers that answered the current one
	// through another interface would take this as a copy of it. It is
	// repeated once a second later, in case the new link did not pass
	// traffic yet (a switch port that is not forwarding yet).
	request := endpoint.RandomID()
	s.sendQueryTo(request, 0, q.withKnown, targets)
	if !s.requery.at.IsZero() { // one pending already: send it now instead
		s.requeryDue(s.requery.at)
	}
	s.requery = requery{
		at:        s.now().Add(time.Second),
		request:   request,
		withKnown: q.withKnown,
		targets:   targets,
	}
}

// requery is the one repeat of a query sent on new interfaces.
type requery struct {
	at        time.Time // zero: none pending
	request   uint64
	withKnown bool
	targets   []iface.Target
}

// requeryDue sends the pending repeat if it is due at now, to those of its
// targets that are still there.
func (s *session) requeryDue(now time.Time) {
	r := s.requery
	if r.at.IsZero() || now.Before(r.at) {
		return
	}
	s.requery = requery{}
	st := s.l.ep.Plan()
	targets := slices.DeleteFunc(r.targets, func(t iface.Target) bool {
		return !slices.Contains(st.Targets, t)
	})
	if len(targets) > 0 {
		s.sendQueryTo(r.request, 1, r.withKnown, targets)
	}
}

// dropPaths removes the paths through the interfaces in gone.
func (s *session) dropPaths(gone map[int]bool) {
	for inst, bySender := range s.byInstance {
		for sender, e := range bySender {
			n := len(e.paths)
			maps.DeleteFunc(e.paths, func(k pathKey, _ time.Time) bool { return gone[k.ifIndex] })
			switch {
			case len(e.paths) == 0:
				s.emitEvent(EventDown, ReasonIfaceDown, e)
				s.remove(inst, sender)
			case len(e.paths) < n:
				if gone[e.primary.ifIndex] {
					keys := slices.Collect(maps.Keys(e.paths))
					e.primary = slices.MinFunc(keys, comparePaths)
				}
				s.emitEvent(EventUpdate, "", e)
			}
		}
	}
}
