package publish

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// probe sends one probe for the units whose next probe is due (each unit
// probes probeInterval apart), and moves units that have sent probeCount
// probes, the last one probeInterval ago, to announcing.
func (p *Publisher) probe(now time.Time) {
	var due []*unit
	for _, u := range p.all() {
		if u.state != probing || now.Before(u.next) {
			continue
		}
		if u.probes >= probeCount {
			u.state, u.announces = announcing, 0
			continue
		}
		due = append(due, u)
	}
	if len(due) == 0 {
		return
	}
	for _, ifc := range p.ep.Interfaces() {
		p.sendProbe(due, ifc)
	}
	for _, u := range due {
		u.probes++
		u.next = now.Add(probeInterval)
	}
}

// announce sends the announcements that are due.
func (p *Publisher) announce(now time.Time) {
	var due []*unit
	for _, u := range p.all() {
		if u.state == announcing && !now.Before(u.next) {
			due = append(due, u)
		}
	}
	if len(due) == 0 {
		return
	}
	for _, ifc := range p.ep.Interfaces() {
		p.sendAnnouncement(due, ifc, now)
	}
	for _, u := range due {
		u.announces++
		u.next = now.Add(announceGap)
		if u.announces >= announceCount {
			u.state = announced
		}
	}
}

// sendProbe multicasts one probe for units on ifc.
func (p *Publisher) sendProbe(units []*unit, ifc iface.Interface) {
	var m mdns.Message
	for _, u := range units {
		m.Questions = append(m.Questions, mdns.Question{
			Name: u.name(),
			Type: dnsmessage.TypeALL,
			// No QU bit, though RFC 6762 §8.1 suggests it on the
			// first probe: port 5353 is shared with the host's
			// own stack, so a unicast defence could reach its
			// socket instead of this one and the conflict go
			// unseen.
		})
		m.Authorities = append(m.Authorities, p.unique(u, ifc, p.ttl)...)
	}
	if err := p.ep.Send(&m, ifc.Index); err != nil {
		p.log.Warn("mdns: probe", "iface", ifc.Name, "err", err)
	}
}

// sendAnnouncement multicasts the records of units on ifc.
func (p *Publisher) sendAnnouncement(units []*unit, ifc iface.Interface, now time.Time) {
	m := mdns.Message{Response: true}
	for _, u := range units {
		m.Answers = append(m.Answers, p.records(u, ifc, p.ttl)...)
	}
	m.Answers = dedupRecords(m.Answers)
	p.multicast(&m, ifc, now)
}

// goodbyeAll says goodbye for every unit that probed successfully.
func (p *Publisher) goodbyeAll() {
	p.goodbye(p.all())
}

// goodbye multicasts the records of units with TTL 0, twice.
func (p *Publisher) goodbye(units []*unit) {
	var owned []*unit
	for _, u := range units {
		if u.state != probing {
			owned = append(owned, u)
		}
	}
	if len(owned) == 0 {
		return
	}
	for i := range 2 {
		if i > 0 {
			time.Sleep(goodbyeGap)
		}
		for _, ifc := range p.ep.Interfaces() {
			m := mdns.Message{Response: true}
			for _, u := range owned {
				m.Answers = append(m.Answers, p.records(u, ifc, 0)...)
			}
			m.Answers = dedupRecords(m.Answers)
			if len(m.Answers) == 0 {
				continue
			}
			if err := p.ep.Send(&m, ifc.Index); err != nil {
				p.log.Warn("mdns: goodbye", "iface", ifc.Name, "err", err)
			}
		}
	}
}

// dedupRecords removes repeated records (the shared PTR of a type two
// services have).
func dedupRecords(rs []mdns.Record) []mdns.Record {
	seen := map[string]bool{}
	return slices.DeleteFunc(rs, func(r mdns.Record) bool {
		k := r.Key()
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}

// handle checks a received message for conflicts and answers its
// questions.
func (p *Publisher) handle(pk mdnsnet.Packet, now time.Time) {
	if pk.Msg.Response {
		if pk.Src.Port() != mdns.Port {
			return // RFC 6762 §6: responses must come from port 5353
		}
		for _, r := range pk.Msg.Records() {
			p.checkConflict(&r, pk, now)
		}
		p.suppressDuplicates(pk)
		return
	}
	if len(pk.Msg.Authorities) > 0 {
		p.tieBreak(pk, now)
	}
	if p.collect(pk, now) {
		return
	}
	p.answer(p.newQuery(pk), now)
}

// unitFor returns the unit owning name, or nil.
func (p *Publisher) unitFor(name string) *unit {
	for _, u := range p.all() {
		if mdns.EqualNames(u.name(), name) {
			return u
		}
	}
	return nil
}

// checkConflict handles a record another responder sent: a record for a
// name this Publisher owns or probes, with data unlike its own.
func (p *Publisher) checkConflict(r *mdns.Record, pk mdnsnet.Packet, now time.Time) {
	u := p.unitFor(r.Name)
	if u == nil || r.TTL == 0 {
		return
	}
	if u.svc == nil {
		if r.Type != dnsmessage.TypeA && r.Type != dnsmessage.TypeAAAA {
			return
		}
		if r.Type == dnsmessage.TypeAAAA || p.ownAddr(r.Addr) {
			// The host's own stack answers for its name with its
			// addresses: no conflict, and no need for ours.
			if p.local(pk.Src.Addr()) && !p.hostShare {
				p.log.Info("mdns: another mDNS stack on this host answers for the host name; not publishing address records",
					"host", u.name(), "stack", pk.Src)
				p.hostShare = true
			}
			return
		}
	} else {
		if r.Type != dnsmessage.TypeSRV && r.Type != dnsmessage.TypeTXT {
			return
		}
		ours := p.unique(u, pk.Iface, p.ttl)
		if slices.ContainsFunc(ours, func(o mdns.Record) bool { return o.Key() == r.Key() }) {
			return
		}
	}
	p.conflict(u, pk, now)
}

// conflict renames a probing unit, or makes an announced one probe again.
func (p *Publisher) conflict(u *unit, pk mdnsnet.Packet, now time.Time) {
	next := p.backoff(now)
	if u.state != probing {
		p.log.Warn("mdns: name conflict after probing, probing again", "name", u.name(), "from", pk.Src)
		u.state, u.probes, u.next = probing, 0, next
		return
	}
	old := u.name()
	u.renames++
	if u.svc == nil {
		u.label = fmt.Sprintf("%s-%d", u.base, u.renames+1)
	} else {
		u.label = renamed(u.base, u.renames+1)
	}
	p.log.Warn("mdns: name conflict, renamed", "old", old, "new", u.name(), "from", pk.Src)
	u.probes, u.next = 0, next
	p.publishNames()
}

// backoff counts a conflict and returns when the next probe attempt may
// start: at once, or five seconds on once fifteen conflicts came with
// less than ten seconds between each and the next (RFC 6762 §8.1: "If
// fifteen conflicts occur within any ten-second period, then the host
// MUST wait at least five seconds before each successive additional
// probe attempt"). Ten seconds without a conflict end the back-off.
func (p *Publisher) backoff(now time.Time) time.Time {
	p.stats.conflicts.Add(1)
	if now.Sub(p.lastConflict) >= conflictWindow {
		p.conflictRun = 0
	}
	p.conflictRun++
	p.lastConflict = now
	if p.conflictRun < conflictLimit {
		return now
	}
	if p.conflictRun == conflictLimit {
		p.log.Warn("mdns: too many name conflicts, probing again only every five seconds",
			"conflicts", conflictLimit, "within", conflictWindow)
	}
	p.stats.backoffs.Add(1)
	return now.Add(conflictBackoff)
}

// probeStart returns when a new name (a service a reload adds) may start
// probing: at once, or five seconds after the last conflict while the
// back-off lasts.
func (p *Publisher) probeStart(now time.Time) time.Time {
	if p.conflictRun < conflictLimit || now.Sub(p.lastConflict) >= conflictWindow {
		return now
	}
	return later(now, p.lastConflict.Add(conflictBackoff))
}

// renamed returns "base (n)", shortening base so the label fits 63 bytes
// without cutting a UTF-8 sequence.
func renamed(base string, n int) string {
	suffix := fmt.Sprintf(" (%d)", n)
	if len(base)+len(suffix) > 63 {
		base = base[:63-len(suffix)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
	}
	return base + suffix
}

// tieBreak handles another host's probe for a name this Publisher probes
// (RFC 6762 §8.2): the side whose proposed records compare lower waits a
// second and probes again.
func (p *Publisher) tieBreak(pk mdnsnet.Packet, now time.Time) {
	for _, u := range p.all() {
		if u.state != probing {
			continue
		}
		var theirs []mdns.Record
		for _, r := range pk.Msg.Authorities {
			if mdns.EqualNames(r.Name, u.name()) {
				theirs = append(theirs, r)
			}
		}
		if len(theirs) == 0 {
			continue
		}
		if compareSets(p.unique(u, pk.Iface, p.ttl), theirs) < 0 {
			p.log.Debug("mdns: simultaneous probe lost, waiting", "name", u.name(), "from", pk.Src)
			u.probes, u.next = 0, now.Add(tieBreakBackoff)
		}
	}
}

// compareSets compares two record sets as RFC 6762 §8.2 orders them:
// sorted, then record by record on type and data; a set that is a prefix
// of the other is lower.
func compareSets(a, b []mdns.Record) int {
	ka, kb := rdataKeys(a), rdataKeys(b)
	for i := range min(len(ka), len(kb)) {
		if c := strings.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
	}
	return len(ka) - len(kb)
}

func rdataKeys(rs []mdns.Record) []string {
	ks := make([]string, len(rs))
	for i, r := range rs {
		r.Name = ""
		ks[i] = r.Key()
	}
	slices.Sort(ks)
	return ks
}

// ownAddr reports whether a is an address of one of the interfaces.
func (p *Publisher) ownAddr(a netip.Addr) bool {
	return slices.ContainsFunc(p.ep.Interfaces(), func(ifc iface.Interface) bool {
		return slices.ContainsFunc(ifc.Addrs, func(ad iface.Addr) bool { return ad.Prefix.Addr() == a })
	})
}

// local reports whether src is this host.
func (p *Publisher) local(src netip.Addr) bool { return p.ownAddr(src) }
