package announce

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
)

var errNoService = errors.New("announce: no service to announce")

// Update replaces the services s announces, for example after a
// configuration file was reloaded. It validates services as [New] does
// (names, sizes, duplicates, metadata limits); on error it keeps the old
// set and returns the error.
//
// While Run is active, the changes go out at once: removed services get a
// goodbye, added ones and changed ones (the same name and type with a new
// port or metadata; their instance IDs stay the same) an announcement, and
// the next beacon of the whole set follows a second later, then every
// interval. Interval, TTL, host name and interfaces stay as [New] set them.
// Without an active Run, the next Run announces the new set.
//
// Update returns once the new set is in place; it does not wait for the
// datagrams. It is safe for concurrent use.
func (s *Sender) Update(services []Service) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("announce: Update after Close: %w", net.ErrClosed)
	}
	cfg := s.cfg
	cfg.Services = services
	// Every record lists the addresses of the selected interfaces, which
	// the record set keeps current (see applyPlan); replace stamps the
	// latest ones on the new records.
	recs, err := buildRecords(cfg, s.hw, s.recs.addresses(), s.ep.Codec.Budget())
	if err != nil {
		return err
	}
	added, removed, changed := s.recs.replace(recs)
	s.log.Debug("services updated",
		"services", len(recs), "added", added, "removed", removed, "changed", changed)
	return nil
}

// CheckServices reports the first problem [New] or [Sender.Update] would
// find with cfg.Services announced under cfg.Hostname (by default this
// host's name): an empty or too long name, type or metadata, two services
// with one name and type, or a service whose beacon would not fit in one
// datagram. It assumes the beacon lists the largest number of addresses
// (beacon.MaxAddrs), so services that pass fit on any host; New accepts a
// little more on a host with few addresses. Other fields of cfg are
// ignored. It needs no network and is safe for concurrent use.
func CheckServices(cfg Config) error {
	host, err := defaultHostname(cfg.Hostname)
	if err != nil {
		return err
	}
	addrs := make([]netip.Addr, beacon.MaxAddrs)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	if err := cfg.Keys.Validate(); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	codec := endpoint.Codec{Keys: cfg.Keys}
	worst := Config{Services: cfg.Services, Hostname: host, TTL: beacon.MaxTTL}
	_, err = buildRecords(worst, nil, addrs, codec.Budget())
	return err
}

// recordSet holds the records a Sender announces, and the changes Update
// made that Run has not sent yet.
type recordSet struct {
	changed chan struct{} // holds a token while changes wait for Run

	// mu guards the fields below.
	mu      sync.Mutex
	records []beacon.Service // replaced, never modified in place
	addrs   []netip.Addr     // what every record lists: the selected interfaces' addresses
	gone    []beacon.Service // removed, not yet said goodbye for
	fresh   map[uint64]bool  // instances added or changed, not yet announced
}

func (r *recordSet) init(recs []beacon.Service, addrs []netip.Addr) {
	r.changed = make(chan struct{}, 1)
	r.records = recs
	r.addrs = addrs
	r.fresh = map[uint64]bool{}
}

// addresses returns the addresses records list. The caller must not
// modify them.
func (r *recordSet) addresses() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addrs
}

// setAddrs makes every record list addrs, after an interface change. It
// is not a change Update's callers see: the interface change itself
// brings beacons forward (see hotplug.go).
func (r *recordSet) setAddrs(addrs []netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs = addrs
	r.records = stampAddrs(r.records, addrs)
}

// stampAddrs returns copies of recs that list addrs.
func stampAddrs(recs []beacon.Service, addrs []netip.Addr) []beacon.Service {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Addrs = slices.Clone(addrs)
	}
	return out
}

// current returns the records to announce. The caller must not modify them.
func (r *recordSet) current() []beacon.Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records
}

// replace makes recs the records to announce, notes what changed for Run,
// and wakes it. It returns how many instances were added, removed and
// changed.
func (r *recordSet) replace(recs []beacon.Service) (added, removed, changed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recs = stampAddrs(recs, r.addrs) // the interfaces may have changed since recs were built
	old := make(map[uint64]*beacon.Service, len(r.records))
	for i := range r.records {
		old[r.records[i].Instance] = &r.records[i]
	}
	for i := range recs {
		rec := &recs[i]
		prev, ok := old[rec.Instance]
		delete(old, rec.Instance)
		switch {
		case !ok:
			added++
		case !prev.SameAs(rec):
			changed++
		default:
			continue
		}
		r.fresh[rec.Instance] = true
		// Back before Run said goodbye for it: no goodbye now.
		r.gone = slices.DeleteFunc(r.gone, func(g beacon.Service) bool {
			return g.Instance == rec.Instance
		})
	}
	for _, rec := range r.records { // in order, for stable datagrams
		if _, ok := old[rec.Instance]; ok {
			removed++
			delete(r.fresh, rec.Instance)
			r.gone = append(r.gone, rec)
		}
	}
	r.records = recs
	if added+removed+changed > 0 {
		select {
		case r.changed <- struct{}{}:
		default: // a token is already waiting; Run takes all changes at once
		}
	}
	return added, removed, changed
}

// currentOf returns the current versions of those of recs still announced,
// in the order of recs.
func (r *recordSet) currentOf(recs []beacon.Service) []beacon.Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := make(map[uint64]int, len(r.records))
	for i := range r.records {
		now[r.records[i].Instance] = i
	}
	var out []beacon.Service
	for _, rec := range recs {
		if i, ok := now[rec.Instance]; ok {
			out = append(out, r.records[i])
		}
	}
	return out
}

// takeChanges returns and forgets the records removed and the current
// records added or changed since the last call.
func (r *recordSet) takeChanges() (gone, fresh []beacon.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gone, r.gone = r.gone, nil
	for _, rec := range r.records {
		if r.fresh[rec.Instance] {
			fresh = append(fresh, rec)
		}
	}
	clear(r.fresh)
	return gone, fresh
}

// sendChanges sends what Update changed: goodbyes for removed services,
// announcements for added and changed ones, and brings the next beacon of
// the whole set forward to a second from now, as after the first one.
// Replies still waiting for their jitter, and copies of replies still to
// send, are packed again from the new records (see sendReply), so that none
// brings back a removed service or an old port after the change went out.
func (s *Sender) sendChanges(tick *time.Timer, pending replyQueue) {
	gone, fresh := s.recs.takeChanges()
	if len(gone)+len(fresh) == 0 {
		return // a token left from changes already sent
	}
	if len(gone) > 0 {
		s.send(beacon.KindGoodbye, gone)
	}
	if len(fresh) > 0 {
		s.send(beacon.KindAnnounce, fresh)
		tick.Reset(min(fastRepeat, s.cfg.Interval))
	}
	for i := range pending {
		pending[i].packets = nil // a copy still to send is packed again, from the new records
	}
	s.log.Debug("sent changes", "goodbyes", len(gone), "announced", len(fresh))
}

// goodbyeRecords returns every record to say goodbye for when Run stops:
// the current ones and those removed whose goodbye has not gone out yet.
func (s *Sender) goodbyeRecords() []beacon.Service {
	gone, _ := s.recs.takeChanges()
	return append(gone, s.recs.current()...)
}
