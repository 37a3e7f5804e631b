// Package udptest is an in-memory IPv4 LAN implementing [udp.Conn], for
// unprivileged tests of announce and discover loops (tier 2).
//
// A [Hub] holds simulated hosts; each [Host] has interfaces with an index and
// an address prefix. Interfaces whose prefixes share a subnet are on one
// link. [Host.Listen] has the signature of [udp.Listen] and binds a conn to
// (host, address, port); any number of conns may share a port.
//
// Delivery, as on Linux with SO_REUSEADDR and SO_REUSEPORT:
//   - unicast reaches the most recently bound matching conn on the host that
//     owns the address, if it is on the sender's link (as for a socket
//     with udp.Options.NoReusePort: the hub forms no SO_REUSEPORT groups);
//   - a write to the link's directed broadcast address or 255.255.255.255
//     reaches every conn bound to the empty address on that port on every
//     host of the link, the sender's host included;
//   - a write to a multicast group reaches the same conns, but only those
//     that joined the group on the receiving interface, and skips the
//     sender's host when udp.Options.NoMulticastLoopback is set.
//
// The outgoing interface is ifIndex if not 0, else for unicast and directed
// broadcast the interface whose prefix holds the destination, else the
// host's first interface. [udp.Meta] reports the receiving interface and the
// destination as written. Reads block until a datagram, Close or the
// deadline, using only channels and timers, so a Hub works inside a
// testing/synctest bubble (create it inside the bubble).
package udptest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/internal/udp"
)

// Interface is a simulated network interface.
type Interface struct {
	Index  int          // interface index, > 0 and unique on its host
	Name   string       // optional, for the test's own use
	Prefix netip.Prefix // IPv4 address and prefix length, e.g. 10.0.0.1/24
}

// Broadcast returns the directed broadcast address of the interface's
// subnet, or the zero Addr for /31 and /32 prefixes.
func (i Interface) Broadcast() netip.Addr {
	if i.Prefix.Bits() > 30 {
		return netip.Addr{}
	}
	a := i.Prefix.Masked().Addr().As4()
	for b := i.Prefix.Bits(); b < 32; b++ {
		a[b/8] |= 0x80 >> (b % 8)
	}
	return netip.AddrFrom4(a)
}

// Packet is one datagram on its way to one receiving conn, as shown to the
// loss function.
type Packet struct {
	Src     netip.AddrPort // sender
	Dst     netip.AddrPort // destination as written: unicast, broadcast or group
	Host    string         // receiving host
	IfIndex int            // receiving interface
	Data    []byte         // payload; do not modify or retain
}

// Hub is a simulated LAN. Its methods and those of its hosts and conns are
// safe for concurrent use.
type Hub struct {
	// mu guards every field below and all host and conn state.
	mu       sync.Mutex
	hosts    []*Host
	nextPort uint16
	loss     func(Packet) bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{nextPort: 49152} }

// SetLoss installs f, which reports whether to drop a packet; nil (the
// default) delivers everything. f runs with the hub locked and must not call
// the hub. For random loss, draw from a seeded math/rand/v2 source in f.
func (h *Hub) SetLoss(f func(Packet) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.loss = f
}

// Host is a simulated host on a Hub.
type Host struct {
	hub   *Hub
	name  string
	ifs   []Interface
	conns []*conn // in bind order; guarded by hub.mu
}

// AddHost adds a host with the given interfaces. It panics on a duplicate
// name, an index that is not positive or not unique on the host, a prefix
// that is not IPv4, or an address another interface already has.
func (h *Hub) AddHost(name string, ifs ...Interface) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[netip.Addr]bool{}
	for _, o := range h.hosts {
		if o.name == name {
			panic("udptest: duplicate host " + name)
		}
		for _, ifc := range o.ifs {
			seen[ifc.Prefix.Addr()] = true
		}
	}
	for i, ifc := range ifs {
		if ifc.Index <= 0 || !ifc.Prefix.Addr().Is4() || slices.ContainsFunc(ifs[:i], func(o Interface) bool { return o.Index == ifc.Index }) {
			panic(fmt.Sprintf("udptest: host %s: bad interface %+v", name, ifc))
		}
		if seen[ifc.Prefix.Addr()] {
			panic(fmt.Sprintf("udptest: host %s: duplicate address %s", name, ifc.Prefix.Addr()))
		}
		seen[ifc.Prefix.Addr()] = true
	}
	host := &Host{hub: h, name: name, ifs: slices.Clone(ifs)}
	h.hosts = append(h.hosts, host)
	return host
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Interfaces returns a copy of the host's interfaces.
func (h *Host) Interfaces() []Interface { return slices.Clone(h.ifs) }

func (h *Host) owns(a netip.Addr) bool {
	return slices.ContainsFunc(h.ifs, func(i Interface) bool { return i.Prefix.Addr() == a })
}

// Listen binds a conn on the host, with the signature of [udp.Listen]. addr
// is the zero AddrPort, the empty address or one of the host's addresses;
// port 0 picks an unused port. Of o only NoMulticastLoopback matters. An
// IPv6 address fails with EAFNOSUPPORT: the hub is an IPv4-only link.
func (h *Host) Listen(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := addr.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if a.Is6() {
		// The hub is an IPv4 link: like a kernel without IPv6.
		return nil, fmt.Errorf("udptest: listen %s on %s: %w", addr, h.name, syscall.EAFNOSUPPORT)
	}
	if !a.IsUnspecified() && !h.owns(a) {
		return nil, fmt.Errorf("udptest: listen %s on %s: %w", addr, h.name, syscall.EADDRNOTAVAIL)
	}
	hub := h.hub
	hub.mu.Lock()
	defer hub.mu.Unlock()
	port := addr.Port()
	for port == 0 {
		p := hub.nextPort
		hub.nextPort++
		if hub.nextPort == 0 {
			hub.nextPort = 49152
		}
		if !slices.ContainsFunc(h.conns, func(c *conn) bool { return c.local.Port() == p }) {
			port = p
		}
	}
	c := &conn{host: h, local: netip.AddrPortFrom(a, port), noLoop: o.NoMulticastLoopback,
		groups: map[membership]bool{}, changed: make(chan struct{})}
	h.conns = append(h.conns, c)
	return c, nil
}

// Inject delivers b as if it arrived on the host's interface ifIndex from
// src to dst, bypassing the loss function, and returns how many conns
// received it. It panics if the host has no such interface.
func (h *Host) Inject(ifIndex int, src, dst netip.AddrPort, b []byte) int {
	i := slices.IndexFunc(h.ifs, func(i Interface) bool { return i.Index == ifIndex })
	if i < 0 {
		panic(fmt.Sprintf("udptest: host %s has no interface %d", h.name, ifIndex))
	}
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	return h.deliver(h.ifs[i], src, dst, b, nil)
}

// deliver queues b for every conn on h that accepts it on ifc and returns
// their number. loss, if not nil, may drop each copy. hub.mu must be held.
func (h *Host) deliver(ifc Interface, src, dst netip.AddrPort, b []byte, loss func(Packet) bool) int {
	d, n := dst.Addr(), 0
	unicast := !d.IsMulticast() && d != ifc.Broadcast() && d != limitedBroadcast
	if unicast && !h.owns(d) {
		return 0
	}
	for _, c := range slices.Backward(h.conns) {
		la := c.local.Addr()
		switch {
		case c.local.Port() != dst.Port():
			continue
		case unicast && !la.IsUnspecified() && la != d:
			continue
		case !unicast && !la.IsUnspecified():
			continue
		case d.IsMulticast() && !c.groups[membership{ifc.Index, d}]:
			continue
		}
		if loss == nil || !loss(Packet{Src: src, Dst: dst, Host: h.name, IfIndex: ifc.Index, Data: b}) {
			c.queue = append(c.queue, datagram{slices.Clone(b), src, udp.Meta{IfIndex: ifc.Index, Dst: d}})
			c.notify()
			n++
		}
		if unicast {
			break
		}
	}
	return n
}

// limitedBroadcast is 255.255.255.255 (RFC 919).
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

type membership struct {
	ifIndex int
	group   netip.Addr
}

type datagram struct {
	b   []byte
	src netip.AddrPort
	m   udp.Meta
}

var _ udp.Conn = (*conn)(nil)

type conn struct {
	host   *Host
	local  netip.AddrPort
	noLoop bool
	// host.hub.mu guards the fields below.
	groups   map[membership]bool
	queue    []datagram
	closed   bool
	deadline time.Time
	changed  chan struct{} // closed and replaced when the above change
}

func (c *conn) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *conn) opError(op string, dst netip.AddrPort, err error) error {
	e := &net.OpError{Op: op, Net: "udp", Source: net.UDPAddrFromAddrPort(c.local), Err: err}
	if dst.IsValid() {
		e.Addr = net.UDPAddrFromAddrPort(dst)
	}
	return e
}

func (c *conn) ReadFrom(b []byte) (int, netip.AddrPort, udp.Meta, error) {
	mu := &c.host.hub.mu
	for {
		mu.Lock()
		closed, dl, changed := c.closed, c.deadline, c.changed
		var d datagram
		ok := !closed && (dl.IsZero() || time.Now().Before(dl)) && len(c.queue) > 0
		if ok {
			d, c.queue = c.queue[0], c.queue[1:]
		}
		mu.Unlock()
		switch {
		case closed:
			return 0, netip.AddrPort{}, udp.Meta{}, c.opError("read", netip.AddrPort{}, net.ErrClosed)
		case ok:
			return copy(b, d.b), d.src, d.m, nil
		case !dl.IsZero() && !time.Now().Before(dl):
			return 0, netip.AddrPort{}, udp.Meta{}, c.opError("read", netip.AddrPort{}, os.ErrDeadlineExceeded)
		}
		if dl.IsZero() {
			<-changed
			continue
		}
		t := time.NewTimer(time.Until(dl))
		select {
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

func (c *conn) WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	hub := c.host.hub
	hub.mu.Lock()
	defer hub.mu.Unlock()
	d := dst.Addr().Unmap()
	dst = netip.AddrPortFrom(d, dst.Port())
	if c.closed {
		return 0, c.opError("write", dst, net.ErrClosed)
	}
	if !d.Is4() || d.IsUnspecified() || dst.Port() == 0 {
		return 0, c.opError("write", dst, syscall.EINVAL)
	}
	out, err := c.host.route(d, ifIndex)
	if err != nil {
		return 0, c.opError("write", dst, err)
	}
	src := c.local
	if src.Addr().IsUnspecified() {
		src = netip.AddrPortFrom(out.Prefix.Addr(), src.Port())
	}
	link := out.Prefix.Masked()
	broadcast := d == out.Broadcast() || d == limitedBroadcast
	for _, h := range hub.hosts {
		if !d.IsMulticast() && !broadcast && !h.owns(d) || d.IsMulticast() && h == c.host && c.noLoop {
			continue
		}
		for _, ifc := range h.ifs {
			if ifc.Prefix.Masked() == link {
				h.deliver(ifc, src, dst, b, hub.loss)
			}
		}
	}
	return len(b), nil
}

// route picks the outgoing interface. hub.mu must be held.
func (h *Host) route(d netip.Addr, ifIndex int) (Interface, error) {
	var i int
	switch {
	case ifIndex != 0:
		i = slices.IndexFunc(h.ifs, func(i Interface) bool { return i.Index == ifIndex })
		if i < 0 {
			return Interface{}, syscall.ENODEV
		}
	case d.IsMulticast() || d == limitedBroadcast:
		if len(h.ifs) == 0 {
			return Interface{}, syscall.ENETUNREACH
		}
	default:
		i = slices.IndexFunc(h.ifs, func(i Interface) bool { return i.Prefix.Contains(d) })
		if i < 0 {
			return Interface{}, syscall.ENETUNREACH
		}
	}
	return h.ifs[i], nil
}

func (c *conn) JoinGroup(ifIndex int, group netip.Addr) error {
	return c.membership("join", ifIndex, group, true)
}

func (c *conn) LeaveGroup(ifIndex int, group netip.Addr) error {
	return c.membership("leave", ifIndex, group, false)
}

func (c *conn) membership(op string, ifIndex int, group netip.Addr, join bool) error {
	c.host.hub.mu.Lock()
	defer c.host.hub.mu.Unlock()
	g := group.Unmap()
	if ifIndex == 0 && len(c.host.ifs) > 0 {
		ifIndex = c.host.ifs[0].Index // what routing would pick
	}
	m := membership{ifIndex, g}
	var err error
	switch {
	case c.closed:
		err = net.ErrClosed
	case !g.Is4() || !g.IsMulticast():
		err = syscall.EINVAL
	case !slices.ContainsFunc(c.host.ifs, func(i Interface) bool { return i.Index == ifIndex }):
		err = syscall.ENODEV
	case join && c.groups[m]:
		err = syscall.EADDRINUSE
	case !join && !c.groups[m]:
		err = syscall.EADDRNOTAVAIL
	case join:
		c.groups[m] = true
	default:
		delete(c.groups, m)
	}
	if err != nil {
		return fmt.Errorf("udptest: %s %s on ifindex %d: %w", op, group, ifIndex, err)
	}
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.host.hub.mu.Lock()
	defer c.host.hub.mu.Unlock()
	if c.closed {
		return c.opError("set", netip.AddrPort{}, net.ErrClosed)
	}
	c.deadline = t
	c.notify()
	return nil
}

func (c *conn) LocalAddr() netip.AddrPort { return c.local }

func (c *conn) Close() error {
	h := c.host
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	if c.closed {
		return c.opError("close", netip.AddrPort{}, net.ErrClosed)
	}
	c.closed = true
	c.queue = nil
	h.conns = slices.DeleteFunc(h.conns, func(o *conn) bool { return o == c })
	c.notify()
	return nil
}

// WriteToNeighbor is WriteTo for a unicast destination on the link of the
// outgoing interface, as with MSG_DONTROUTE: multicast, limited broadcast,
// the interface's directed broadcast, the unspecified address and port 0
// are refused with EINVAL, and a destination outside the interface's
// subnet with ENETUNREACH.
func (c *conn) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	d := dst.Addr().Unmap()
	dst = netip.AddrPortFrom(d, dst.Port())
	if !d.Is4() || d.IsMulticast() || d == limitedBroadcast || d.IsUnspecified() || dst.Port() == 0 {
		return 0, c.opError("write", dst, syscall.EINVAL)
	}
	c.host.hub.mu.Lock()
	out, err := c.host.route(d, ifIndex)
	c.host.hub.mu.Unlock()
	switch {
	case err != nil:
		return 0, c.opError("write", dst, err)
	case d == out.Broadcast():
		return 0, c.opError("write", dst, syscall.EINVAL)
	case !out.Prefix.Contains(d):
		return 0, c.opError("write", dst, syscall.ENETUNREACH)
	}
	return c.WriteTo(b, dst, ifIndex)
}
