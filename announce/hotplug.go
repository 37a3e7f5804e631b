package announce

import (
	"net/netip"
	"slices"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
)

// addrsOf lists the addresses of ifs, each once, at most beacon.MaxAddrs:
// those each interface advertises ([iface.Interface.Advertised]). (The
// wire carries no zone: a listener zones a link-local address with the
// interface it heard the beacon on.)
func addrsOf(ifs []iface.Interface) []netip.Addr {
	var addrs []netip.Addr
	for _, ifc := range ifs {
		for _, a := range ifc.Advertised() {
			if len(addrs) < beacon.MaxAddrs && !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
	}
	return addrs
}

// applyPlan takes a new interface plan, from the endpoint's watcher
// (which has made the memberships follow it and put it in force): the
// addresses beacons list follow it, and a running Run is told.
func (s *Sender) applyPlan(p *endpoint.Plan) {
	// An interface coming or going changes the addresses beacons list,
	// never the instance IDs.
	s.recs.setAddrs(addrsOf(p.Selected))
	select {
	case s.netChanged <- struct{}{}:
	default: // a notice is already pending: Run reads the latest plan anyway
	}
}

// burst is a pending burst on one interface: its next beacon is due at at,
// and left beacons remain.
type burst struct {
	at   time.Time
	left int
}

// hotplug is Run's view of interface changes. It is owned by Run's
// goroutine.
type hotplug struct {
	known  []iface.Interface        // the selection Run last acted on
	damp   map[int]*endpoint.Damper // by interface index
	bursts map[int]*burst           // by interface index
}

// newHotplug starts from the selection Run begins with. Run's first
// beacons do not count as a burst: a change soon after start (an address
// from DHCP, say) is announced at once.
func newHotplug(ifs []iface.Interface) *hotplug {
	return &hotplug{known: ifs, damp: map[int]*endpoint.Damper{}, bursts: map[int]*burst{}}
}

func (h *hotplug) damper(index int) *endpoint.Damper {
	d := h.damp[index]
	if d == nil {
		d = &endpoint.Damper{}
		h.damp[index] = d
	}
	return d
}

// changed compares the selection with the one Run last acted on and
// schedules a burst on every interface that appeared or gained an
// address, as its endpoint.Damper allows.
func (h *hotplug) changed(s *Sender, now time.Time) {
	st := s.ep.Plan()
	added, removed := endpoint.Diff(h.known, st.Selected)
	h.known = st.Selected
	for _, ifc := range removed {
		delete(h.bursts, ifc.Index)
		s.log.Info("interface gone: stopped announcing on it", "iface", ifc.Name)
	}
	for _, ifc := range added {
		if ifc.Flags&iface.FlagRunning == 0 {
			// Set up but no carrier yet: a beacon now would be lost. Its
			// carrier coming makes it "added" again (endpoint.Diff).
			delete(h.bursts, ifc.Index)
			s.log.Debug("interface without carrier: waiting for it", "iface", ifc.Name)
			continue
		}
		at := h.damper(ifc.Index).Next(now)
		h.bursts[ifc.Index] = &burst{at: at, left: 2}
		s.log.Info("interface added or changed: announcing on it",
			"iface", ifc.Name, "addrs", len(ifc.Addrs),
			"in", at.Sub(now).Round(time.Millisecond).String())
	}
	if len(added) == 0 && len(st.Selected) == 0 && len(removed) > 0 {
		s.log.Info("no usable interface left: idle until one comes back")
	}
	for index, d := range h.damp { // forget interfaces long gone
		gone := !slices.ContainsFunc(st.Selected, endpoint.HasIndex(index))
		if gone && d.Idle(now) {
			delete(h.damp, index)
		}
	}
}

// next returns when the earliest pending burst beacon is due; zero if none.
func (h *hotplug) next() time.Time {
	var at time.Time
	for _, b := range h.bursts {
		if at.IsZero() || b.at.Before(at) {
			at = b.at
		}
	}
	return at
}

// fire sends the burst beacons due at now.
func (h *hotplug) fire(s *Sender, now time.Time) {
	st := s.ep.Plan()
	for index, b := range h.bursts {
		if b.at.After(now) {
			continue
		}
		var targets []iface.Target
		for _, t := range st.Targets {
			if t.IfIndex == index {
				targets = append(targets, t)
			}
		}
		s.sendTo(beacon.KindAnnounce, s.recs.current(), targets)
		if b.left == 2 {
			h.damper(index).Sent(now)
		}
		b.left--
		b.at = now.Add(min(fastRepeat, s.cfg.Interval))
		if b.left == 0 {
			delete(h.bursts, index)
		}
	}
}

// noteSend counts one datagram sent to t, or refused with err, and logs a
// failure once per target until a send to it succeeds again: a vanished
// interface costs a line, not one per beacon. It is called from Run's
// goroutine only.
func (s *Sender) noteSend(t iface.Target, err error) {
	if err == nil {
		s.stats.beacons.Add(1)
		if s.failing[t] {
			delete(s.failing, t)
			s.log.Info("send works again", "iface", t.IfName, "dst", t.Dst.String())
		}
		return
	}
	s.stats.sendErrors.Add(1)
	if s.failing[t] {
		s.log.Debug("send failed", "iface", t.IfName, "dst", t.Dst.String(), "err", err)
		return
	}
	if len(s.failing) < 1024 {
		s.failing[t] = true
	}
	s.log.Warn("send failed", "iface", t.IfName, "dst", t.Dst.String(), "err", err)
}

// goodbyeRepeat is the pause before the goodbye is sent a second time, so
// that one lost datagram does not hide a departure. Receivers drop the
// copy that arrives (same sender and sequence number).
const goodbyeRepeat = 75 * time.Millisecond

// goodbye sends the goodbye twice, goodbyeRepeat apart, unless Close
// comes first.
func (s *Sender) goodbye(recs []beacon.Service) {
	p := s.packGoodbye(recs)
	s.write(p, s.ep.Plan().Targets)
	t := time.NewTimer(goodbyeRepeat)
	defer t.Stop()
	select {
	case <-t.C:
		s.write(p, s.ep.Plan().Targets)
	case <-s.closing:
	}
}
