// The shares of a session's instance table: what one source address or
// one sender may occupy, and whom a newcomer evicts when the table is full.

package discover

import "net/netip"

// shares groups the live entries by the source address they were first
// heard from and by sender, so that a flood of forged records from few
// sources cannot keep a newcomer out.
type shares struct {
	bySource map[netip.Addr]map[*entry]struct{}
	bySender map[uint64]map[*entry]struct{}
}

func newShares() shares {
	return shares{
		bySource: make(map[netip.Addr]map[*entry]struct{}),
		bySender: make(map[uint64]map[*entry]struct{}),
	}
}

func (sh *shares) add(e *entry) {
	join(sh.bySource, e.source, e)
	join(sh.bySender, e.sender, e)
}

func (sh *shares) del(e *entry) {
	leave(sh.bySource, e.source, e)
	leave(sh.bySender, e.sender, e)
}

func join[K comparable](m map[K]map[*entry]struct{}, k K, e *entry) {
	g := m[k]
	if g == nil {
		g = make(map[*entry]struct{})
		m[k] = g
	}
	g[e] = struct{}{}
}

func leave[K comparable](m map[K]map[*entry]struct{}, k K, e *entry) {
	delete(m[k], e)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// sample bounds the work of one eviction: it looks at this many groups,
// and at this many entries of the group it evicts from (map order is
// random enough to spread the choice).
const sample = 16

// share returns how many entries one source address or one sender may
// hold: a quarter of the table, so that filling it takes forging at least
// four of each.
func (s *session) share() int { return max(s.l.cfg.MaxEntries/4, 1) }

// makeRoom frees a place for a new instance of sender first heard from
// src, if one is needed and another entry has less claim to its place, and
// reports whether there is a place. A source or sender at its share gives
// up its own least recently heard entry. When the table is full the
// newcomer evicts the least recently heard entry of the largest source
// among those sampled, unless its own source is at least as large.
func (s *session) makeRoom(src netip.Addr, sender uint64) bool {
	if g := s.shares.bySource[src]; len(g) >= s.share() {
		s.evict(stalest(g))
		return true
	}
	if g := s.shares.bySender[sender]; len(g) >= s.share() {
		s.evict(stalest(g))
		return true
	}
	if s.entries < s.l.cfg.MaxEntries {
		return true
	}
	if !s.warnedFull {
		s.warnedFull = true
		s.l.log.Warn("instance table full: forgetting instances of the sources that hold the most "+
			"(a flood of forged announcements, or raise the maximum)",
			"max", s.l.cfg.MaxEntries)
	}
	var largest map[*entry]struct{}
	n := 0
	for _, g := range s.shares.bySource {
		if len(g) > len(largest) {
			largest = g
		}
		if n++; n == sample {
			break
		}
	}
	if len(largest) <= len(s.shares.bySource[src]) {
		return false
	}
	s.evict(stalest(largest))
	return true
}

// stalest returns the least recently heard of up to sample entries of g,
// which is not empty.
func stalest(g map[*entry]struct{}) *entry {
	var old *entry
	n := 0
	for e := range g {
		if old == nil || e.lastSeen.Before(old.lastSeen) {
			old = e
		}
		if n++; n == sample {
			break
		}
	}
	return old
}

// evict removes e to make room for a newcomer.
func (s *session) evict(e *entry) {
	s.l.stats.evicted.Add(1)
	s.l.log.Debug("evicted an instance to make room",
		"name", e.rec.Name, "src", e.source.String(), "max", s.l.cfg.MaxEntries)
	s.emitEvent(EventDown, ReasonEvicted, e)
	s.remove(e.rec.Instance, e.sender)
}
