package doctor

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/udp"
)

// conn is what the probe needs of the network: sending a datagram out of
// an interface, and the datagrams heard. It is small on purpose: the
// sockets below implement it today, with a read loop of their own; the
// endpoint announce and discover share can implement it instead.
type conn interface {
	// Send sends msg to dst out of the interface with index ifIndex.
	Send(msg []byte, dst netip.AddrPort, ifIndex int) error
	// Packets delivers what is heard, in arrival order, until Close.
	Packets() <-chan packet
	// Close stops delivering and waits for what it started; it does not
	// close sockets it was given.
	Close()
}

// packet is one datagram heard.
type packet struct {
	data []byte
	src  netip.AddrPort
	meta udp.Meta
	at   time.Time
}

// sockets is the probe's conn over sockets of internal/udp, a pair per
// address family: ins, bound to the lanfind port (they hear broadcast,
// multicast and replies), and outs, the probe's sources (they hear
// replies to the probe's port).
type sockets struct {
	ins, outs []udp.Conn
	pkts      chan packet
	stop      chan struct{}
	wg        sync.WaitGroup
}

var _ conn = (*sockets)(nil)

// listenSockets starts reading ins and outs. The caller closes the
// sockets after Close.
func listenSockets(ins, outs []udp.Conn) *sockets {
	s := &sockets{ins: ins, outs: outs, pkts: make(chan packet), stop: make(chan struct{})}
	for _, c := range slices.Concat(ins, outs) {
		s.wg.Go(func() { s.read(c) })
	}
	return s
}

func (s *sockets) read(c udp.Conn) {
	buf := make([]byte, beacon.MaxSize+1)
	for {
		n, src, m, err := c.ReadFrom(buf)
		if err != nil {
			return // the deadline Close sets, or a closed socket
		}
		select {
		case s.pkts <- packet{data: slices.Clone(buf[:n]), src: src, meta: m, at: time.Now()}:
		case <-s.stop:
			return
		}
	}
}

// Send sends from the out socket of dst's family.
func (s *sockets) Send(msg []byte, dst netip.AddrPort, ifIndex int) error {
	for _, out := range s.outs {
		if out.LocalAddr().Addr().Is6() == dst.Addr().Is6() {
			_, err := out.WriteTo(msg, dst, ifIndex)
			return err
		}
	}
	return fmt.Errorf("no socket to send to %s", dst)
}

func (s *sockets) Packets() <-chan packet { return s.pkts }

func (s *sockets) Close() {
	close(s.stop)
	past := time.Unix(1, 0)
	for _, c := range slices.Concat(s.ins, s.outs) {
		c.SetReadDeadline(past) // unblocks the readers
	}
	s.wg.Wait()
}
