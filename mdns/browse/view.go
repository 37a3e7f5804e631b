package browse

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/mdns"
)

// live returns the live records with this owner name and type.
func (b *Browser) live(name string, t dnsmessage.Type) []*cached {
	var out []*cached
	for _, c := range b.cache {
		if !c.gone && c.rec.Type == t && mdns.EqualNames(c.rec.Name, name) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y *cached) int { return strings.Compare(x.rec.Key(), y.rec.Key()) })
	return out
}

// instances returns the live PTR records of browsed types.
func (b *Browser) instances() []*cached {
	var out []*cached
	have := map[string]bool{}
	for _, c := range b.cache {
		if !c.gone && c.rec.Type == dnsmessage.TypePTR && b.browsing(strings.ToLower(c.rec.Name)) {
			out = append(out, c)
			have[strings.ToLower(c.rec.Target)] = true
		}
	}
	// An instance asked for by name is there as soon as its SRV record
	// is, PTR or not: a stand-in PTR carries the SRV record's TTL.
	for _, inst := range b.direct() {
		srvs := b.live(inst, dnsmessage.TypeSRV)
		if len(srvs) == 0 || have[strings.ToLower(inst)] {
			continue
		}
		_, t, _ := mdns.SplitInstance(inst)
		ptr := mdns.Record{Name: t.FQDN(), Type: dnsmessage.TypePTR, TTL: srvs[0].rec.TTL, Target: inst}
		out = append(out, &cached{rec: ptr, received: srvs[0].received, expires: srvs[0].expires})
	}
	return out
}

// direct returns the full names of the instances a Browser with a name
// and types asks for directly (SRV and TXT), without waiting for PTRs.
func (b *Browser) direct() []string {
	if b.name == "" || mdns.ValidInstanceLabel(b.name) != nil {
		return nil
	}
	var out []string
	for _, t := range b.types {
		out = append(out, mdns.InstanceName(b.name, t))
	}
	return out
}

// assemble builds the entries the cache holds now: instances with an SRV
// record.
func (b *Browser) assemble() map[uint64]Entry {
	view := map[uint64]Entry{}
	for _, ptr := range b.instances() {
		label, typ, ok := mdns.SplitInstance(ptr.rec.Target)
		if !ok || !mdns.EqualNames(typ.FQDN(), ptr.rec.Name) {
			continue
		}
		if b.name != "" && !strings.EqualFold(label, b.name) {
			continue
		}
		srvs := b.live(ptr.rec.Target, dnsmessage.TypeSRV)
		if len(srvs) == 0 {
			continue
		}
		srv := srvs[0]
		id := mdns.InstanceID(ptr.rec.Target)
		if _, dup := view[id]; dup {
			continue
		}
		if len(view) >= MaxEntries {
			b.dropped++
			continue
		}
		e := Entry{
			ID:       id,
			Instance: strings.TrimSuffix(ptr.rec.Target, "."),
			Name:     label,
			Type:     typ,
			Port:     srv.rec.Port,
			Host:     mdns.HostName(srv.rec.Target),
			TTL:      time.Duration(min(ptr.rec.TTL, srv.rec.TTL)) * time.Second,
			Addr:     srv.src.Addr(),
			Iface:    srv.iface,
			LastSeen: srv.received,
		}
		if txt := b.live(ptr.rec.Target, dnsmessage.TypeTXT); len(txt) > 0 {
			e.Meta, _ = mdns.Meta(txt[0].rec.Text)
		}
		for _, t := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
			for _, a := range b.live(srv.rec.Target, t) {
				if len(e.Addrs) < beacon.MaxAddrs {
					e.Addrs = append(e.Addrs, a.rec.Addr)
				}
			}
		}
		view[id] = e
	}
	return view
}

// update recomputes the view and reports its differences; reason is the
// Down reason for entries that vanished.
func (b *Browser) update(now time.Time, fn func(Event), reason string) {
	view := b.assemble()
	var events []Event
	for id, e := range view {
		old, ok := b.view[id]
		switch {
		case !ok:
			events = append(events, Event{Kind: Up, Entry: e})
		case !sameEntry(old, e):
			events = append(events, Event{Kind: Update, Entry: e})
		}
	}
	for id, e := range b.view {
		if _, ok := view[id]; !ok {
			events = append(events, Event{Kind: Down, Reason: reason, Entry: e})
		}
	}
	b.view = view
	if len(events) > 0 {
		b.changed = now
	}
	if fn == nil {
		return
	}
	slices.SortFunc(events, func(x, y Event) int { return compareEntries(x.Entry, y.Entry) })
	for _, ev := range events {
		fn(ev)
	}
}

func sameEntry(a, b Entry) bool {
	if a.Port != b.Port || a.Host != b.Host || !slices.Equal(a.Addrs, b.Addrs) || len(a.Meta) != len(b.Meta) {
		return false
	}
	for k, v := range a.Meta {
		if w, ok := b.Meta[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// complete reports whether every instance whose PTR is known has an SRV
// record and every SRV target an address.
func (b *Browser) complete() bool {
	q := b.missing()
	return len(q) == 0
}

// missing returns questions for what incomplete instances lack.
func (b *Browser) missing() []mdns.Question {
	var qs []mdns.Question
	seen := map[string]bool{}
	ask := func(name string, t dnsmessage.Type) {
		k := fmt.Sprintf("%s\x00%d", strings.ToLower(name), t)
		if !seen[k] {
			seen[k] = true
			qs = append(qs, mdns.Question{Name: name, Type: t})
		}
	}
	for _, ptr := range b.instances() {
		label, _, ok := mdns.SplitInstance(ptr.rec.Target)
		if !ok || (b.name != "" && !strings.EqualFold(label, b.name)) {
			continue
		}
		srvs := b.live(ptr.rec.Target, dnsmessage.TypeSRV)
		if len(srvs) == 0 {
			ask(ptr.rec.Target, dnsmessage.TypeSRV)
			ask(ptr.rec.Target, dnsmessage.TypeTXT)
			continue
		}
		if len(b.live(srvs[0].rec.Target, dnsmessage.TypeA)) == 0 &&
			len(b.live(srvs[0].rec.Target, dnsmessage.TypeAAAA)) == 0 {
			ask(srvs[0].rec.Target, dnsmessage.TypeA)
		}
	}
	return qs
}
