package publish

import (
	"math/rand/v2"
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

// answer answers the questions of a query that arrived on pk.Iface.
func (p *Publisher) answer(pk mdnsnet.Packet, now time.Time) {
	ifc := pk.Iface
	var owned []*unit
	for _, u := range p.all() {
		if u.state != probing {
			owned = append(owned, u)
		}
	}
	var all []mdns.Record
	for _, u := range owned {
		all = append(all, p.records(u, ifc, p.ttl)...)
	}
	all = dedupRecords(all)
	known := map[string]bool{}
	for _, r := range pk.Msg.Answers {
		if r.TTL >= p.ttl/2 {
			known[r.Key()] = true
		}
	}
	var answers []mdns.Record
	unicast := map[string]bool{}
	for _, q := range pk.Msg.Questions {
		for i := range all {
			r := &all[i]
			if !matches(q, r) || known[r.Key()] {
				continue
			}
			answers = append(answers, *r)
			if q.Unicast {
				unicast[r.Key()] = true
			}
		}
	}
	answers = dedupRecords(answers)
	if len(answers) == 0 {
		return
	}
	extra := p.additionals(answers, all, known)
	if pk.Src.Port() != mdns.Port {
		p.legacyReply(pk, answers, extra)
		return
	}
	probe := len(pk.Msg.Authorities) > 0
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
		if err := p.ep.SendTo(&m, pk.Src, ifc.Index); err != nil {
			p.log.Debug("mdns: unicast answer", "to", pk.Src, "err", err)
		}
	}
	gap := mcastInterval
	if probe {
		gap = probeReplyGap
	}
	mcast = slices.DeleteFunc(mcast, func(r mdns.Record) bool { return p.multicastWithin(r, ifc, gap, now) })
	if len(mcast) == 0 {
		return
	}
	shared := slices.ContainsFunc(mcast, func(r mdns.Record) bool { return !r.Flush })
	if !shared || probe {
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
func (p *Publisher) legacyReply(pk mdnsnet.Packet, answers, extra []mdns.Record) {
	m := mdns.Message{ID: pk.Msg.ID, Response: true, Questions: pk.Msg.Questions}
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
	if err := p.ep.SendTo(&m, pk.Src, pk.Iface.Index); err != nil {
		p.log.Debug("mdns: legacy unicast answer", "to", pk.Src, "err", err)
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
