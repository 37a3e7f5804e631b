package udp

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

var _ Conn = (*conn6)(nil)

// conn6 is the Conn Listen returns for an IPv6 address: a "udp6" socket
// with IPV6_V6ONLY, wrapped in ipv6.PacketConn.
type conn6 struct {
	uc    *net.UDPConn
	pc    *ipv6.PacketConn
	local netip.AddrPort

	// mu guards sources.
	mu      sync.Mutex
	sources map[int]netip.Addr // see SetSources
}

// SetSources gives c, a socket of [Listen], the source address to send
// from out of each interface (by index); an interface not in src gets the
// kernel's choice. It matters for IPv6 sockets only, and does nothing for
// others: the kernel picks the link-local address for a link-local-scope
// group or destination (RFC 6724 rule 2), while lanfind's records list a
// wider address where the interface has one, and a keyed listener accepts
// only sources the records list. Safe for concurrent use with writes.
func SetSources(c Conn, src map[int]netip.Addr) {
	k, ok := c.(*conn6)
	if !ok {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sources = maps.Clone(src)
}

// control returns the control message of a write out of ifIndex (nil
// when 0 and no source is set): the interface, and the source set for it.
func (c *conn6) control(ifIndex int) *ipv6.ControlMessage {
	if ifIndex == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// IPV6_PKTINFO (RFC 3542) picks the interface of any write, multicast
	// included, on every system x/net/ipv6 supports, and the source.
	cm := &ipv6.ControlMessage{IfIndex: ifIndex}
	if s, ok := c.sources[ifIndex]; ok {
		cm.Src = s.AsSlice()
	}
	return cm
}

// withoutSource reports whether a write that failed with err named a
// source (cm.Src) the kernel refused, as when the address has just gone:
// the write is then tried again with the kernel's choice.
func withoutSource(cm *ipv6.ControlMessage, err error) bool {
	if cm == nil || cm.Src == nil {
		return false
	}
	cm.Src = nil
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EINVAL)
}

func newConn6(uc *net.UDPConn, hops int, loop bool, readBuffer int) (*conn6, error) {
	pc := ipv6.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv6.FlagInterface|ipv6.FlagDst, true); err != nil {
		return nil, fmt.Errorf("enable control messages: %w", err)
	}
	if err := pc.SetMulticastHopLimit(hops); err != nil {
		return nil, fmt.Errorf("set multicast hop limit %d: %w", hops, err)
	}
	// Unicast too: replies go only to neighbours (see IPv6 in doc.go).
	if err := pc.SetHopLimit(hops); err != nil {
		return nil, fmt.Errorf("set hop limit %d: %w", hops, err)
	}
	if err := pc.SetMulticastLoopback(loop); err != nil {
		return nil, fmt.Errorf("set multicast loopback %t: %w", loop, err)
	}
	local, err := finish(uc, readBuffer)
	if err != nil {
		return nil, err
	}
	return &conn6{uc: uc, pc: pc, local: local}, nil
}

// ReadFrom reads like [Conn.ReadFrom]. A link-local source gets the arrival
// interface's index as its zone ("fe80::1%2"), whichever namespace the
// calling thread is in; other sources have no zone.
func (c *conn6) ReadFrom(b []byte) (int, netip.AddrPort, Meta, error) {
	n, cm, src, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, Meta{}, err
	}
	var m Meta
	if cm != nil {
		m.IfIndex = cm.IfIndex
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			m.Dst = d
		}
	}
	var ap netip.AddrPort
	if ua, ok := src.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
		a := ap.Addr().WithZone("")
		if a.IsLinkLocalUnicast() && m.IfIndex != 0 {
			a = a.WithZone(strconv.Itoa(m.IfIndex))
		}
		ap = netip.AddrPortFrom(a, ap.Port())
	}
	return n, ap, m, nil
}

// check6 checks an IPv6 destination and returns the interface to name: a
// link-local destination needs one, from ifIndex or a numeric zone.
func check6(op string, dst netip.AddrPort, ifIndex int) (int, error) {
	a := dst.Addr()
	if !a.Is6() || a.Is4In6() {
		return 0, fmt.Errorf("udp: %s %s: not an IPv6 address", op, dst)
	}
	if ifIndex < 0 {
		return 0, fmt.Errorf("udp: %s %s: negative ifindex %d", op, dst, ifIndex)
	}
	if z := a.Zone(); z != "" && ifIndex == 0 {
		k, err := strconv.Atoi(z)
		if err != nil || k <= 0 {
			return 0, fmt.Errorf("udp: %s %s: zone %q is not an interface index", op, dst, z)
		}
		ifIndex = k
	}
	if (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) && ifIndex == 0 {
		return 0, fmt.Errorf("udp: %s %s: a link-local destination needs an interface", op, dst)
	}
	return ifIndex, nil
}

func (c *conn6) WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	ifIndex, err := check6("write to", dst, ifIndex)
	if err != nil {
		return 0, err
	}
	cm := c.control(ifIndex)
	ua := &net.UDPAddr{IP: dst.Addr().AsSlice(), Port: int(dst.Port())}
	n, err := c.pc.WriteTo(b, cm, ua)
	if err != nil && withoutSource(cm, err) {
		n, err = c.pc.WriteTo(b, cm, ua)
	}
	if err != nil {
		return n, fmt.Errorf("udp: write to %s via ifindex %d: %w", dst, ifIndex, err)
	}
	return n, nil
}

// WriteToNeighbor implements [Conn.WriteToNeighbor] for IPv6: sendmsg with
// MSG_DONTROUTE and IPV6_PKTINFO naming the interface. The socket's hop
// limit (1 for lanfind) is the guard that holds on every system: a reply a
// router would forward expires there.
func (c *conn6) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	ifIndex, err := check6("write to", dst, ifIndex)
	if err != nil {
		return 0, err
	}
	a := dst.Addr()
	if a.IsMulticast() || a.IsUnspecified() || dst.Port() == 0 {
		return 0, fmt.Errorf("udp: write to %s: not a unicast neighbour: %w", dst, syscall.EINVAL)
	}
	sa := &unix.SockaddrInet6{Port: int(dst.Port()), Addr: a.As16()}
	if a.IsLinkLocalUnicast() {
		sa.ZoneId = uint32(ifIndex)
	}
	cm := c.control(ifIndex)
	n, err := sendDontRoute(c.uc, b, cm.Marshal(), sa, dst, ifIndex)
	if err != nil && withoutSource(cm, err) {
		n, err = sendDontRoute(c.uc, b, cm.Marshal(), sa, dst, ifIndex)
	}
	return n, err
}

func (c *conn6) JoinGroup(ifIndex int, group netip.Addr) error {
	return c.membership("join", ifIndex, group, c.pc.JoinGroup)
}

func (c *conn6) LeaveGroup(ifIndex int, group netip.Addr) error {
	return c.membership("leave", ifIndex, group, c.pc.LeaveGroup)
}

// membership joins or leaves through x/net/ipv6, which names the interface
// by index only (MCAST_JOIN_GROUP or ipv6_mreq), with no lookup in the
// calling thread's namespace.
func (c *conn6) membership(op string, ifIndex int, group netip.Addr,
	f func(*net.Interface, net.Addr) error) error {
	if !group.Is6() || group.Is4In6() || !group.IsMulticast() {
		return fmt.Errorf("udp: %s %s on ifindex %d: not an IPv6 multicast group",
			op, group, ifIndex)
	}
	if ifIndex <= 0 {
		return fmt.Errorf("udp: %s %s on ifindex %d: an IPv6 group needs an interface",
			op, group, ifIndex)
	}
	if err := f(&net.Interface{Index: ifIndex}, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		return fmt.Errorf("udp: %s %s on ifindex %d: %w", op, group, ifIndex, err)
	}
	return nil
}

func (c *conn6) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

func (c *conn6) LocalAddr() netip.AddrPort { return c.local }

func (c *conn6) Close() error { return c.uc.Close() }
