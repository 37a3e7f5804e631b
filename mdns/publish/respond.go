package publish

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// Answer timing (RFC 6762 §6).
const (
	sharedDelayMin = 20 * time.Millisecond
	sharedDelayMax = 120 * time.Millisecond
	mcastInterval  = time.Second
	probeReplyGap  = 250 * time.Millisecond
	legacyMaxTTL   = 10
)

// delayed is a multicast answer waiting for its send time.
type delayed struct {
	at    time.Time
	ifc   iface.Interface
	recs  []mdns.Record
	extra []mdns.Record
}

// hostRecords returns the address records of the host for interface ifc,
// or none if the host's own stack answers for the name.
func (p *Publisher) hostRecords(ifc iface.Interface, ttl uint32) []mdns.Record {
	if p.hostShare {
		return nil
	}
	var rs []mdns.Record
	for _, a := range ifc.Advertised() {
		t := dnsmessage.TypeA
		if a.Is6() && !a.Is4In6() {
			t = dnsmessage.TypeAAAA
		}
		rs = append(rs, mdns.Record{Name: p.host.name(), Type: t, Flush: true, TTL: ttl, Addr: a.WithZone("")})
	}
	return rs
}

// unique returns the records unit u owns alone (the ones it probes for).
func (p *Publisher) unique(u *unit, ifc iface.Interface, ttl uint32) []mdns.Record {
	if u.svc == nil {
		return p.hostRecords(ifc, ttl)
	}
	txt, _ := mdns.Text(u.svc.Meta) // validated
	inst := u.name()
	return []mdns.Record{
		{Name: inst, Type: dnsmessage.TypeSRV, Flush: true, TTL: ttl, Port: u.svc.Port, Target: p.host.name()},
		{Name: inst, Type: dnsmessage.TypeTXT, Flush: true, TTL: ttl, Text: txt},
	}
}

// records returns every record of unit u on interface ifc.
func (p *Publisher) records(u *unit, ifc iface.Interface, ttl uint32) []mdns.Record {
	rs := p.unique(u, ifc, ttl)
	if u.svc != nil {
		typ := u.svc.Type.FQDN()
		rs = append(rs,
			mdns.Record{Name: typ, Type: dnsmessage.TypePTR, TTL: ttl, Target: u.name()},
			mdns.Record{Name: mdns.ServicesName, Type: dnsmessage.TypePTR, TTL: ttl, Target: typ})
	}
	return rs
}

// matches reports whether r answers q.
func matches(q mdns.Question, r *mdns.Record) bool {
	return mdns.EqualNames(q.Name, r.Name) && (q.Type == r.Type || q.Type == dnsmessage.TypeALL)
}

// query is a query to answer: one packet, or a truncated one together
// with the known answers of the packets that followed it (RFC 6762 §7.2).
type query struct {
	src       netip.AddrPort
	ifc       iface.Interface
	id        uint16
	questions []mdns.Question
	// known holds the keys of the records the querier listed as known
	// with at least half their TTL left (§7.1).
	known map[string]bool
	// dup holds the keys of records another responder multicast, with at
	// least our TTL, while the answer waited (§7.4).
	dup   map[string]bool
	probe bool
	// at is when a truncated query is answered.
	at time.Time
}

// newQuery returns the query of one received packet.
func (p *Publisher) newQuery(pk mdnsnet.Packet) *query {
	q := &query{
		src:       pk.Src,
		ifc:       pk.Iface,
		id:        pk.Msg.ID,
		questions: pk.Msg.Questions,
		known:     map[string]bool{},
		probe:     len(pk.Msg.Authorities) > 0,
	}
	p.addKnown(q, pk.Msg.Answers, nil)
	return q
}

// addKnown notes the known answers rs in q. Only records this Publisher
// could answer with (ours, a set of keys) are kept when ours is not nil,
// so a query collecting the known answers of several packets holds at
// most as many keys as the Publisher has records.
func (p *Publisher) addKnown(q *query, rs []mdns.Record, ours map[string]bool) {
	for _, r := range rs {
		k := r.Key()
		if r.TTL >= p.ttl/2 && (ours == nil || ours[k]) {
			q.known[k] = true
		}
	}
}

// owned returns every record of the units that are past probing, on
// interface ifc.
func (p *Publisher) owned(ifc iface.Interface) []mdns.Record {
	var all []mdns.Record
	for _, u := range p.all() {
		if u.state != probing {
			all = append(all, p.records(u, ifc, p.ttl)...)
		}
	}
	return dedupRecords(all)
}

// answer answers q's questions on the interface it arrived on.
func (p *Publisher) answer(q *query, now time.Time) {
	ifc := q.ifc
	all := p.owned(ifc)
	known := q.known
	var answers []mdns.Record
	unicast := map[string]bool{}
	dropped := map[string]bool{}
	for _, qu := range q.questions {
		for i := range all {
			r := &all[i]
			if !matches(qu, r) || known[r.Key()] {
				continue
			}
			if q.dup[r.Key()] && !qu.Unicast && q.src.Port() == mdns.Port {
				if !dropped[r.Key()] {
					dropped[r.Key()] = true
					p.stats.duplicates.Add(1)
				}
				continue
			}
			answers = append(answers, *r)
			if qu.Unicast {
				unicast[r.Key()] = true
			}
		}
	}
	answers = dedupRecords(answers)
	if len(answers) == 0 {
		return
	}
	extra := p.additionals(answers, all, known)
	if q.src.Port() != mdns.Port {
		p.legacyReply(q, answers, extra)
		return
	}
	var mcast, ucast []mdns.Record
	for _, r := range answers {
		if unicast[r.Key()] && p.multicastWithin(r, ifc, time.Duration(p.ttl)*time.Second/4, now) {
			ucast = append(ucast, r)
		} else {
			mcast = append(mcast, r)
		}
	}
	if len(ucast) > 0 {
		m := mdns.Message{Response: true, Answers: ucast, Additionals: p.additionals(ucast, all, known)}
		if err := p.ep.SendTo(&m, q.src, ifc.Index); err != nil {
			p.log.Debug("mdns: unicast answer", "to", q.src, "err", err)
		}
	}
	gap := mcastInterval
	if q.probe {
		gap = probeReplyGap
	}
	mcast = slices.DeleteFunc(mcast, func(r mdns.Record) bool { return p.multicastWithin(r, ifc, gap, now) })
	if len(mcast) == 0 {
		return
	}
	// A truncated query waited 400 to 500 ms already, instead of the
	// 20 to 120 ms of an answer with shared records (§6).
	shared := slices.ContainsFunc(mcast, func(r mdns.Record) bool { return !r.Flush })
	if !shared || q.probe || !q.at.IsZero() {
		m := mdns.Message{Response: true, Answers: mcast, Additionals: p.additionals(mcast, all, known)}
		p.multicast(&m, ifc, now)
		return
	}
	p.schedule(ifc, mcast, p.additionals(mcast, all, known), now)
}

// additionals returns the records that complete answers (RFC 6763 §12):
// SRV, TXT and addresses for a PTR to an instance, addresses for an SRV;
// none that is an answer or known.
func (p *Publisher) additionals(answers, all []mdns.Record, known map[string]bool) []mdns.Record {
	in := map[string]bool{}
	for _, r := range answers {
		in[r.Key()] = true
	}
	var out []mdns.Record
	add := func(name string, types ...dnsmessage.Type) {
		for _, r := range all {
			if mdns.EqualNames(r.Name, name) && slices.Contains(types, r.Type) && !in[r.Key()] && !known[r.Key()] {
				in[r.Key()] = true
				out = append(out, r)
			}
		}
	}
	for _, r := range answers {
		switch r.Type {
		case dnsmessage.TypePTR:
			add(r.Target, dnsmessage.TypeSRV, dnsmessage.TypeTXT)
			add(p.host.name(), dnsmessage.TypeA, dnsmessage.TypeAAAA)
		case dnsmessage.TypeSRV:
			add(r.Target, dnsmessage.TypeA, dnsmessage.TypeAAAA)
		}
	}
	return out
}

// legacyReply answers a legacy unicast query (RFC 6762 §6.7).
func (p *Publisher) legacyReply(q *query, answers, extra []mdns.Record) {
	m := mdns.Message{ID: q.id, Response: true, Questions: q.questions}
	for _, rs := range [][]mdns.Record{answers, extra} {
		out := make([]mdns.Record, len(rs))
		for i, r := range rs {
			r.Flush = false
			r.TTL = min(r.TTL, legacyMaxTTL)
			out[i] = r
		}
		if len(m.Answers) == 0 {
			m.Answers = out
		} else {
			m.Additionals = out
		}
	}
	if err := p.ep.SendTo(&m, q.src, q.ifc.Index); err != nil {
		p.log.Debug("mdns: legacy unicast answer", "to", q.src, "err", err)
	}
}

func mcastKey(r mdns.Record, ifc iface.Interface) string {
	return r.Key() + "\x00" + strconv.Itoa(ifc.Index)
}

// multicastWithin reports whether r was multicast on ifc less than d ago.
func (p *Publisher) multicastWithin(r mdns.Record, ifc iface.Interface, d time.Duration, now time.Time) bool {
	t, ok := p.lastMcast[mcastKey(r, ifc)]
	return ok && now.Sub(t) < d
}

// multicast sends m on ifc and notes when its records went out.
func (p *Publisher) multicast(m *mdns.Message, ifc iface.Interface, now time.Time) {
	if err := p.ep.Send(m, ifc.Index); err != nil {
		p.log.Warn("mdns: multicast answer", "iface", ifc.Name, "err", err)
		return
	}
	for _, r := range m.Records() {
		p.lastMcast[mcastKey(r, ifc)] = now
	}
	if len(p.lastMcast) > 4*MaxServices*8 {
		for k, t := range p.lastMcast {
			if now.Sub(t) > mcastInterval {
				delete(p.lastMcast, k)
			}
		}
	}
}

// schedule queues a multicast answer with shared records 20 to 120 ms
// ahead, merged into one already queued for the interface.
func (p *Publisher) schedule(ifc iface.Interface, recs, extra []mdns.Record, now time.Time) {
	for _, d := range p.pending {
		if d.ifc.Index == ifc.Index {
			d.recs = dedupRecords(append(d.recs, recs...))
			d.extra = dedupRecords(append(d.extra, extra...))
			return
		}
	}
	at := now.Add(sharedDelayMin + rand.N(sharedDelayMax-sharedDelayMin))
	p.pending = append(p.pending, &delayed{at: at, ifc: ifc, recs: recs, extra: extra})
}

// sendDelayed sends the queued answers that are due, leaving out records
// multicast since they were queued.
func (p *Publisher) sendDelayed(now time.Time) {
	p.pending = slices.DeleteFunc(p.pending, func(d *delayed) bool {
		if now.Before(d.at) {
			return false
		}
		recs := slices.DeleteFunc(d.recs, func(r mdns.Record) bool { return p.multicastWithin(r, d.ifc, mcastInterval, now) })
		if len(recs) > 0 {
			in := map[string]bool{}
			for _, r := range recs {
				in[r.Key()] = true
			}
			extra := slices.DeleteFunc(d.extra, func(r mdns.Record) bool { return in[r.Key()] })
			m := mdns.Message{Response: true, Answers: recs, Additionals: extra}
			p.multicast(&m, d.ifc, now)
		}
		return true
	})
}
