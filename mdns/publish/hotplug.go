package publish

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// hotplug is what a Publisher keeps about interface changes: the links
// being probed again and the spacing of those probes, by interface index.
// It belongs to Run's goroutine; the zero value is ready to use.
type hotplug struct {
	links map[int]*link
	damp  map[int]*endpoint.Damper
}

// link is an interface on which the names the Publisher owns are probed
// and announced again (RFC 6762 §8): one that appeared, whose addresses
// changed or that got its carrier back.
type link struct {
	probes    int
	announces int
	next      time.Time // of the next probe or announcement
}

// ifacesChanged follows a change of the interfaces in use (see "Interface
// changes" in internal/mdnsnet): what was kept for an interface that went
// away is dropped; on one that appeared or changed, the owned names are
// probed and announced again, as the interface's endpoint.Damper allows;
// addresses an interface lost get a goodbye there.
func (p *Publisher) ifacesChanged(c mdnsnet.Change, now time.Time) {
	if p.hot.links == nil {
		p.hot = hotplug{links: map[int]*link{}, damp: map[int]*endpoint.Damper{}}
	}
	for _, ifc := range c.Removed {
		p.forget(ifc.Index)
		p.log.Info("mdns: interface gone: no longer publishing on it", "iface", ifc.Name)
	}
	for _, ifc := range c.Added {
		if k := slices.IndexFunc(c.Before, endpoint.HasIndex(ifc.Index)); k >= 0 {
			p.addrsGone(c.Before[k], ifc, now)
		}
		if ifc.Flags&iface.FlagRunning == 0 {
			// Set up but no carrier yet: a probe now would be lost. Its
			// carrier coming makes it "added" again (endpoint.Diff).
			delete(p.hot.links, ifc.Index)
			continue
		}
		d := p.hot.damp[ifc.Index]
		if d == nil {
			d = &endpoint.Damper{}
			p.hot.damp[ifc.Index] = d
		}
		at := d.Next(now).Add(rand.N(firstProbeJitter))
		p.hot.links[ifc.Index] = &link{next: at}
		p.log.Info("mdns: interface added or changed: probing and announcing on it",
			"iface", ifc.Name, "in", at.Sub(now).Round(time.Millisecond).String())
	}
	for index, d := range p.hot.damp { // forget interfaces long gone
		if !slices.ContainsFunc(p.ep.Interfaces(), endpoint.HasIndex(index)) && d.Idle(now) {
			delete(p.hot.damp, index)
		}
	}
}

// forget drops what the Publisher holds for the interface with index.
func (p *Publisher) forget(index int) {
	delete(p.hot.links, index)
	p.pending = slices.DeleteFunc(p.pending, func(d *delayed) bool { return d.ifc.Index == index })
	suffix := "\x00" + strconv.Itoa(index) // see mcastKey
	maps.DeleteFunc(p.lastMcast, func(k string, _ time.Time) bool { return strings.HasSuffix(k, suffix) })
}

// addrsGone multicasts a goodbye on now for the address records of the
// addresses the interface advertised before and no longer does, each at
// most once a second (the per-record rate limit of answers): on a link
// whose addresses flap, the cache-flush bit of the announcements that
// follow removes what a goodbye left out.
func (p *Publisher) addrsGone(before, now iface.Interface, at time.Time) {
	if p.host.state == probing || p.hostShare {
		return
	}
	var m mdns.Message
	m.Response = true
	for _, a := range before.Advertised() {
		if slices.Contains(now.Advertised(), a) {
			continue
		}
		t := dnsmessage.TypeA
		if a.Is6() && !a.Is4In6() {
			t = dnsmessage.TypeAAAA
		}
		r := mdns.Record{Name: p.host.name(), Type: t, Flush: true, Addr: a.WithZone("")}
		if !p.multicastWithin(r, now, mcastInterval, at) {
			m.Answers = append(m.Answers, r)
		}
	}
	if len(m.Answers) == 0 {
		return
	}
	p.log.Info("mdns: address gone: goodbye for its record", "iface", now.Name, "addrs", addrList(m.Answers))
	p.multicast(&m, now, at)
}

func addrList(rs []mdns.Record) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Addr.String())
	}
	return strings.Join(out, " ")
}

// probeLinks sends the probes and announcements due on the links being
// probed again and returns when the next one is due (an hour ahead when
// none is).
func (p *Publisher) probeLinks(now time.Time) time.Time {
	wake := now.Add(time.Hour)
	if len(p.hot.links) == 0 {
		return wake
	}
	// The names still probing everywhere are probed on every interface
	// anyway; the others are this link's business.
	var owned []*unit
	for _, u := range p.all() {
		if u.state != probing {
			owned = append(owned, u)
		}
	}
	ifs := p.ep.Interfaces() // one snapshot: it may change meanwhile
	for index, l := range p.hot.links {
		k := slices.IndexFunc(ifs, endpoint.HasIndex(index))
		if k < 0 || len(owned) == 0 {
			delete(p.hot.links, index)
			continue
		}
		if now.Before(l.next) {
			wake = earliest(wake, l.next)
			continue
		}
		ifc := ifs[k]
		switch {
		case l.probes < probeCount:
			if l.probes == 0 {
				p.hot.damp[index].Sent(now)
			}
			p.sendProbe(owned, ifc)
			l.probes++
			l.next = now.Add(probeInterval)
		case l.announces < announceCount:
			p.sendAnnouncement(owned, ifc, now)
			l.announces++
			l.next = now.Add(announceGap)
		}
		if l.announces >= announceCount {
			delete(p.hot.links, index)
			continue
		}
		wake = earliest(wake, l.next)
	}
	return wake
}
