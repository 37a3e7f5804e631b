// Replies to neighbours whose link-layer address is not known yet.

package announce

import (
	"context"
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
)

// A reply to an address the kernel has no link-layer address for waits
// in the kernel's neighbour queue until the neighbour answers ARP, or for
// about three seconds if it never does, and meanwhile holds its place in
// the sending socket's buffer. Queries forged from unused addresses of the
// subnet would thus fill the discovery socket's buffer and stall every
// reply, beacon and goodbye behind them. So the first reply to an address
// not proven reachable goes out as a probe: its first datagram alone, from
// a socket of its own, which the Sender watches (udp.Unsent). When the
// kernel has let it go, the neighbour answered: the reply goes out whole
// on the discovery socket, charged to the source's byte budget only then,
// and the address counts as reachable for a while. A probe still held
// after probeWait is given up and counted (Stats.Unresolved), and its
// socket closed; what the kernel still holds is no longer ours.
const (
	// probeWait is how long a probe may wait for a neighbour: ARP answers
	// within milliseconds on a LAN, and a querier that is slower repeats
	// its query, which then finds the neighbour resolved.
	probeWait = 500 * time.Millisecond
	// probePoll is how often the probes in flight are checked.
	probePoll = 5 * time.Millisecond
	// maxProbes caps the probes in flight, each with a socket; when full,
	// the oldest is given up, so a flood of forged sources holds each
	// probe for a short time only and a genuine querier's probe (answered
	// in milliseconds) still completes.
	maxProbes = 64
	// reachableFor is how long a neighbour a probe proved reachable is
	// sent to at once: less than the kernel keeps a neighbour entry in use.
	reachableFor = 30 * time.Second
	// maxReachable caps the addresses remembered as reachable; only
	// neighbours that answered are, so this is the LAN's size at most.
	maxReachable = 4096
)

// probe is a reply waiting for its first datagram to leave.
type probe struct {
	conn  udp.Conn
	r     reply
	until time.Time
}

// probing is the Sender's state of probes. reachable is guarded by
// Sender.mu (the reader consults it); the rest belongs to Run's
// goroutine.
type probing struct {
	reachable map[netip.Addr]time.Time // when proven
	inflight  []probe                  // oldest first
	armed     bool                     // Run's probe timer is set
	sendBuf   int                      // the discovery socket's; 0: not known yet
}

// A neighbour proven reachable may still vanish: its kernel entry fails or
// is forgotten while this Sender still counts it as reachable, and
// replies to it wait in the kernel again. So replies also go out as
// probes while the discovery socket holds more than half its send buffer
// unsent (backlogged); the Sender then forgets which neighbours it had
// proven, and a probe that succeeds sends the rest of its reply from its
// own socket. Beacons and goodbyes, sent on the discovery socket from
// Run's goroutine as replies are, thus always find half the buffer free.

// backlogged reports whether the discovery socket of dst's family holds
// more than half its send buffer unsent, and if so forgets every proven
// neighbour.
func (s *Sender) backlogged(dst netip.Addr) bool {
	c := s.conn.Socket(endpoint.FamilyOf(dst))
	n, err := udp.Unsent(c)
	if err != nil {
		return false
	}
	if s.probes.sendBuf == 0 {
		if s.probes.sendBuf, err = udp.SendBuffer(c); err != nil || s.probes.sendBuf <= 0 {
			s.probes.sendBuf = 0
			return false
		}
	}
	if n <= s.probes.sendBuf/2 {
		return false
	}
	s.mu.Lock()
	clear(s.probes.reachable)
	s.mu.Unlock()
	return true
}

// mustProbe reports whether a reply to dst must be probed first: the
// discovery socket is a kernel socket whose queue can be watched, and dst
// has not been proven reachable lately.
func (s *Sender) mustProbe(dst netip.Addr, now time.Time) bool {
	if _, err := udp.Unsent(s.conn.Socket(endpoint.FamilyOf(dst))); err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.probes.reachable[dst]
	return !ok || now.Sub(at) >= reachableFor
}

// startProbe sends r's first datagram from a new socket and keeps r until
// the datagram leaves or probeWait ends.
func (s *Sender) startProbe(r reply, now time.Time) {
	if len(s.probes.inflight) >= maxProbes {
		s.giveUp(s.probes.inflight[0])
		s.probes.inflight = s.probes.inflight[1:]
	}
	// Opened as the endpoint opens the discovery socket: through
	// Config.ListenPacket (or the test seam), else in the network
	// namespace of the goroutine running Run.
	listen := udp.Listen
	if s.cfg.Seam != nil && s.cfg.Seam.Listen != nil {
		listen = s.cfg.Seam.Listen
	}
	any := netip.IPv4Unspecified()
	if endpoint.FamilyOf(r.dst.Addr()) == endpoint.IPv6 {
		any = netip.IPv6Unspecified()
	}
	c, err := listen(context.Background(), netip.AddrPortFrom(any, 0),
		udp.Options{ListenPacket: s.cfg.ListenPacket})
	if err != nil {
		s.stats.sendErrors.Add(1)
		s.log.Warn("reply probe: socket", "err", err)
		return
	}
	if _, err := c.WriteToNeighbor(r.packets[0], r.dst, r.ifIndex); err != nil {
		c.Close()
		s.stats.sendErrors.Add(1)
		s.log.Warn("reply probe failed", "dst", r.dst.String(), "err", err)
		return
	}
	s.probes.inflight = append(s.probes.inflight, probe{conn: c, r: r, until: now.Add(probeWait)})
}

// pollProbes checks the probes in flight and returns the replies whose
// destinations answered and whose source's budget allows them, to be sent
// whole now.
func (s *Sender) pollProbes(now time.Time) []reply {
	var ready []reply
	kept := s.probes.inflight[:0]
	for _, p := range s.probes.inflight {
		n, err := udp.Unsent(p.conn)
		switch {
		case err == nil && n > 0 && now.Before(p.until):
			kept = append(kept, p)
			continue
		case err == nil && n > 0:
			s.giveUp(p)
			continue
		}
		s.noteReachable(p.r.dst.Addr(), now)
		r := p.r
		if r.probe { // not charged yet
			r.probe = false
			if !s.allowReply(r.dst.Addr(), r.size) {
				p.conn.Close()
				continue
			}
			if r.repeat && len(r.packets)*2 <= MaxReplyDatagrams &&
				s.takeBudget(r.dst.Addr(), r.size) {
				r.again = 1
			}
		}
		if s.backlogged(r.dst.Addr()) {
			// The discovery socket is held up: the probe's socket
			// reaches dst, and sends the rest.
			s.sendRest(p.conn, r)
			p.conn.Close()
			continue
		}
		p.conn.Close()
		r.at = now
		ready = append(ready, r)
	}
	clear(s.probes.inflight[len(kept):])
	s.probes.inflight = kept
	return ready
}

// sendRest sends the datagrams of r after the first, which went as the
// probe, from the probe's socket c.
func (s *Sender) sendRest(c udp.Conn, r reply) {
	s.stats.replies.Add(1)
	for _, p := range r.packets[1:] {
		if _, err := c.WriteToNeighbor(p, r.dst, r.ifIndex); err != nil {
			s.stats.sendErrors.Add(1)
			s.log.Warn("reply failed", "dst", r.dst.String(), "err", err)
			continue
		}
		s.stats.replies.Add(1)
	}
}

// giveUp drops a probe whose neighbour did not answer.
func (s *Sender) giveUp(p probe) {
	p.conn.Close()
	s.stats.unresolved.Add(1)
	s.log.Debug("dropped reply: no neighbour answered for its destination",
		"dst", p.r.dst.String())
}

// noteReachable remembers that dst answered.
func (s *Sender) noteReachable(dst netip.Addr, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.probes.reachable) >= maxReachable {
		for a, at := range s.probes.reachable {
			if now.Sub(at) >= reachableFor {
				delete(s.probes.reachable, a)
			}
		}
		if len(s.probes.reachable) >= maxReachable {
			return
		}
	}
	s.probes.reachable[dst] = now
}

// closeProbes gives up every probe in flight, as Run ends.
func (s *Sender) closeProbes() {
	for _, p := range s.probes.inflight {
		p.conn.Close()
	}
	clear(s.probes.inflight)
	s.probes.inflight = s.probes.inflight[:0]
}
