package udp

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

var _ Conn = (*conn)(nil)

// conn is the Conn returned by Listen.
type conn struct {
	uc    *net.UDPConn
	pc    *ipv4.PacketConn
	local netip.AddrPort
	//lint:ignore U1000 used by control_other.go; empty on Linux
	plat platform // per-OS write state; see control_*.go
}

func newConn(uc *net.UDPConn, ttl int, loop bool, readBuffer int) (*conn, error) {
	pc := ipv4.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true); err != nil {
		return nil, fmt.Errorf("enable control messages: %w", err)
	}
	if err := pc.SetMulticastTTL(ttl); err != nil {
		return nil, fmt.Errorf("set multicast ttl %d: %w", ttl, err)
	}
	if err := pc.SetMulticastLoopback(loop); err != nil {
		return nil, fmt.Errorf("set multicast loopback %t: %w", loop, err)
	}
	local, err := finish(uc, readBuffer)
	if err != nil {
		return nil, err
	}
	return &conn{uc: uc, pc: pc, local: local}, nil
}

// finish sets the receive buffer (when readBuffer > 0) and returns the
// bound address, unmapped and without zone: the part of configuring a
// socket both families share.
func finish(uc *net.UDPConn, readBuffer int) (netip.AddrPort, error) {
	if readBuffer > 0 {
		if err := uc.SetReadBuffer(readBuffer); err != nil {
			return netip.AddrPort{}, fmt.Errorf("set read buffer %d: %w", readBuffer, err)
		}
	}
	ua, ok := uc.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("local address %v is not a UDP address", uc.LocalAddr())
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), nil
}

func (c *conn) ReadFrom(b []byte) (int, netip.AddrPort, Meta, error) {
	n, cm, src, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, Meta{}, err
	}
	var ap netip.AddrPort
	if ua, ok := src.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	var m Meta
	if cm != nil {
		m.IfIndex = cm.IfIndex
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			m.Dst = d.Unmap()
		}
	}
	return n, ap, m, nil
}

func (c *conn) WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	a := dst.Addr().Unmap()
	if !a.Is4() {
		return 0, fmt.Errorf("udp: write to %s: not an IPv4 address", dst)
	}
	if ifIndex < 0 {
		return 0, fmt.Errorf("udp: write to %s: negative ifindex %d", dst, ifIndex)
	}
	dst = netip.AddrPortFrom(a, dst.Port())
	n, err := c.writeTo(b, dst, ifIndex)
	if err != nil {
		return n, fmt.Errorf("udp: write to %s via ifindex %d: %w", dst, ifIndex, err)
	}
	return n, nil
}

func (c *conn) JoinGroup(ifIndex int, group netip.Addr) error {
	return c.membership("join", ifIndex, group, c.joinGroup)
}

func (c *conn) LeaveGroup(ifIndex int, group netip.Addr) error {
	return c.membership("leave", ifIndex, group, c.leaveGroup)
}

func (c *conn) membership(op string, ifIndex int, group netip.Addr, f func(int, netip.Addr) error) error {
	g := group.Unmap()
	if !g.Is4() || !g.IsMulticast() {
		return fmt.Errorf("udp: %s %s on ifindex %d: not an IPv4 multicast group", op, group, ifIndex)
	}
	if ifIndex < 0 {
		return fmt.Errorf("udp: %s %s on ifindex %d: negative ifindex", op, group, ifIndex)
	}
	if err := f(ifIndex, g); err != nil {
		return fmt.Errorf("udp: %s %s on ifindex %d: %w", op, g, ifIndex, err)
	}
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

func (c *conn) LocalAddr() netip.AddrPort { return c.local }

func (c *conn) Close() error { return c.uc.Close() }
