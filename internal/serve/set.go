package serve

import (
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/zone"
)

// liveSet is the set of services present now, fed by discover's events.
// It updates the DNS table and the event streams as it changes. Its
// methods are safe for concurrent use.
type liveSet struct {
	dns   *zone.Server // nil without DNS
	keyed bool         // only verified instances are served

	// mu guards the fields below.
	mu       sync.Mutex
	services map[zone.Key]discover.Result
	streams  map[*stream]struct{}
	events   map[eventKind]uint64 // events applied, by kind and reason
	dropped  uint64               // streams cut for lagging
}

// eventKind is an event's kind and reason, for counting.
type eventKind struct {
	kind   discover.EventKind
	reason string
}

// stream is one /v1/events client.
type stream struct {
	f  filter
	ch chan timedEvent // closed when the stream lagged behind
}

// timedEvent is an event and when the live set learnt of it.
type timedEvent struct {
	discover.Event
	at time.Time
}

func newLiveSet(dns *zone.Server, keyed bool) *liveSet {
	return &liveSet{
		dns:      dns,
		keyed:    keyed,
		services: map[zone.Key]discover.Result{},
		streams:  map[*stream]struct{}{},
		events:   map[eventKind]uint64{},
	}
}

func keyOf(r discover.Result) zone.Key {
	return zone.Key{Instance: r.Instance, Sender: r.Sender}
}

// record returns what DNS serves for r.
func record(r discover.Result) zone.Record {
	heard := []netip.Addr{r.Addr}
	for _, p := range r.Paths {
		heard = append(heard, p.Addr)
	}
	return zone.Record{
		Name:  r.Name,
		Type:  r.Type,
		Proto: r.Proto,
		Port:  r.Port,
		Heard: heard,
		Addrs: r.Addrs,
		Meta:  r.Meta,
		TTL:   r.TTL,
	}
}

// apply applies one event. It runs in discover's receive loop and
// returns quickly: a stream that cannot take the event is cut, not waited
// for.
func (s *liveSet) apply(ev discover.Event) {
	if s.keyed && !ev.Service.Verified {
		return
	}
	k := keyOf(ev.Service)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Kind {
	case discover.EventUp, discover.EventUpdate:
		s.services[k] = ev.Service
		if s.dns != nil {
			s.dns.Set(k, record(ev.Service))
		}
	case discover.EventDown:
		if _, ok := s.services[k]; !ok {
			return
		}
		delete(s.services, k)
		if s.dns != nil {
			s.dns.Delete(k)
		}
	default:
		return
	}
	s.events[eventKind{ev.Kind, ev.Reason}]++
	now := time.Now()
	for st := range s.streams {
		if !st.f.match(ev.Service) {
			continue
		}
		select {
		case st.ch <- timedEvent{ev, now}:
		default:
			close(st.ch)
			delete(s.streams, st)
			s.dropped++
		}
	}
}

// snapshot returns the services that match f, in list's order.
func (s *liveSet) snapshot(f filter) []discover.Result {
	return s.snapshotMatch(f.match)
}

// snapshotMatch returns the services that match, in list's order.
func (s *liveSet) snapshotMatch(match func(discover.Result) bool) []discover.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked(match)
}

func (s *liveSet) snapshotLocked(match func(discover.Result) bool) []discover.Result {
	var out []discover.Result
	for _, r := range s.services {
		if match(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, discover.CompareResults)
	return out
}

// subscribe returns the services that match f and a stream of the events
// that follow, or ok false when maxStreams are open.
func (s *liveSet) subscribe(f filter) (snap []discover.Result, st *stream, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.streams) >= maxStreams {
		return nil, nil, false
	}
	st = &stream{f: f, ch: make(chan timedEvent, streamBuffer)}
	s.streams[st] = struct{}{}
	return s.snapshotLocked(f.match), st, true
}

// unsubscribe ends st, if it has not been cut.
func (s *liveSet) unsubscribe(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[st]; ok {
		delete(s.streams, st)
		close(st.ch)
	}
}

// setCounts are the live set's counters.
type setCounts struct {
	events  map[eventKind]uint64 // by kind and reason
	open    int                  // streams open
	dropped uint64               // streams cut for lagging
	byIface map[string]int       // services by interface
}

// counts returns the counters.
func (s *liveSet) counts() setCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := setCounts{
		events:  maps.Clone(s.events),
		open:    len(s.streams),
		dropped: s.dropped,
		byIface: map[string]int{},
	}
	for _, r := range s.services {
		c.byIface[r.Iface]++
	}
	return c
}

// filter selects services by exact name and type; empty matches all.
type filter struct {
	name string
	typ  string
}

func (f filter) match(r discover.Result) bool {
	return (f.name == "" || r.Name == f.name) && (f.typ == "" || r.Type == f.typ)
}
