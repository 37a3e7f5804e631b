package browse

import (
	"slices"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/mdnsnet"
)

// ReasonIfaceDown is the Down reason of an entry whose records all
// arrived on interfaces that went away: the reason lanfind's own
// discover gives in the same case.
const ReasonIfaceDown = "iface-down"

// requeryDelay is when the query sent on a new interface is repeated, in
// case the link did not pass traffic yet (a switch port not forwarding).
const requeryDelay = time.Second

// hotplug is what a Browser keeps about interface changes. It belongs to
// the loop goroutine; the zero value is ready to use.
type hotplug struct {
	damp   map[int]*endpoint.Damper // spacing of queries on new interfaces, by index
	bursts map[int]*burst           // queries due on new interfaces, by index
}

// burst is the queries pending on a new interface: the next is due at at,
// and left remain.
type burst struct {
	at   time.Time
	left int
}

// ifacesChanged follows a change of the interfaces in use (see "Interface
// changes" in internal/mdnsnet): records heard only on interfaces that
// went away are dropped (their entries go Down with [ReasonIfaceDown]),
// and a query goes out at once on each interface that appeared or
// changed, and again a second later, as the interface's endpoint.Damper
// allows.
func (b *Browser) ifacesChanged(c mdnsnet.Change, now time.Time, fn func(Event)) {
	if b.hot.damp == nil {
		b.hot = hotplug{damp: map[int]*endpoint.Damper{}, bursts: map[int]*burst{}}
	}
	if len(c.Removed) > 0 {
		b.mu.Lock()
		for k, r := range b.cache {
			n := len(r.heard)
			r.heard = slices.DeleteFunc(r.heard, func(index int) bool {
				return slices.ContainsFunc(c.Removed, endpoint.HasIndex(index))
			})
			if n > 0 && len(r.heard) == 0 {
				b.forget(k)
			}
		}
		b.update(now, fn, ReasonIfaceDown)
		b.mu.Unlock()
		for _, ifc := range c.Removed {
			delete(b.hot.bursts, ifc.Index)
			b.log.Info("mdns: interface gone", "iface", ifc.Name)
		}
	}
	for _, ifc := range c.Added {
		if ifc.Flags&iface.FlagRunning == 0 {
			// Set up but no carrier yet: a query now would be lost. Its
			// carrier coming makes it "added" again (endpoint.Diff).
			continue
		}
		d := b.hot.damp[ifc.Index]
		if d == nil {
			d = &endpoint.Damper{}
			b.hot.damp[ifc.Index] = d
		}
		at := d.Next(now)
		b.hot.bursts[ifc.Index] = &burst{at: at, left: 2}
		b.log.Info("mdns: interface added or changed: querying on it",
			"iface", ifc.Name, "in", at.Sub(now).Round(time.Millisecond).String())
	}
	for index, d := range b.hot.damp { // forget interfaces long gone
		if !slices.ContainsFunc(b.ep.Interfaces(), endpoint.HasIndex(index)) && d.Idle(now) {
			delete(b.hot.damp, index)
		}
	}
}

// requeryDue sends the queries on new interfaces that are due at now (the
// loop's every tick calls it) and returns when the next one is (zero if
// none).
func (b *Browser) requeryDue(now time.Time) time.Time {
	var next time.Time
	for index, q := range b.hot.bursts {
		if !slices.ContainsFunc(b.ep.Interfaces(), endpoint.HasIndex(index)) {
			delete(b.hot.bursts, index)
			continue
		}
		if !q.at.After(now) {
			if q.left == 2 {
				b.hot.damp[index].Sent(now)
			}
			if err := b.queryOn(now, queryFirstQU, index); err != nil {
				b.log.Warn("mdns: query", "err", err)
			}
			q.left--
			q.at = now.Add(requeryDelay)
			if q.left == 0 {
				delete(b.hot.bursts, index)
				continue
			}
		}
		if next.IsZero() || q.at.Before(next) {
			next = q.at
		}
	}
	return next
}
