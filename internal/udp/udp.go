package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Meta is what the kernel told us about one received datagram.
type Meta struct {
	// IfIndex is the index of the interface the datagram arrived on.
	IfIndex int
	// Dst is the datagram's destination address: a unicast address of
	// this host, a subnet broadcast address, or a multicast group.
	Dst netip.Addr
}

// Is6 reports whether the datagram came over IPv6 (from its destination).
func (m Meta) Is6() bool { return m.Dst.Is6() && !m.Dst.Is4In6() }

// Conn is a UDP socket configured for lanfind. Implementations are safe for
// concurrent use by one reader and many writers; Close and SetReadDeadline
// may be called from any goroutine.
type Conn interface {
	// ReadFrom reads one datagram into b. A datagram longer than b is
	// truncated to len(b) bytes without an error. After Close it returns an
	// error wrapping net.ErrClosed; after the read deadline one wrapping
	// os.ErrDeadlineExceeded.
	ReadFrom(b []byte) (n int, src netip.AddrPort, m Meta, err error)
	// WriteTo sends b to dst out of the interface with index ifIndex
	// (0: let routing choose).
	WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error)
	// WriteToNeighbor sends b to dst, a unicast address on the link of the
	// interface with index ifIndex (0: let the kernel choose), and never
	// through a router: it is sent with MSG_DONTROUTE, so the kernel
	// delivers it only to a directly connected destination and fails with
	// ENETUNREACH otherwise. It refuses multicast groups, the limited
	// broadcast address, the unspecified address and port 0 without
	// sending. Replies to received datagrams go through it.
	WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error)
	// JoinGroup joins the multicast group on the interface.
	JoinGroup(ifIndex int, group netip.Addr) error
	// LeaveGroup leaves the multicast group on the interface.
	LeaveGroup(ifIndex int, group netip.Addr) error
	// SetReadDeadline sets the deadline for pending and future reads; a
	// time in the past unblocks a pending read at once.
	SetReadDeadline(t time.Time) error
	// LocalAddr reports the bound address.
	LocalAddr() netip.AddrPort
	// Close closes the socket; a pending read returns net.ErrClosed.
	Close() error
}

// ListenFunc opens a packet socket. It has the shape of
// (*net.ListenConfig).ListenPacket and must return a *net.UDPConn.
type ListenFunc func(ctx context.Context, network, address string) (net.PacketConn, error)

// Options configures [Listen]. The zero value is valid.
type Options struct {
	// ListenPacket opens the socket, with network "udp4" or "udp6". Defaults to
	// ListenConfig().ListenPacket (without SO_REUSEPORT if NoReusePort).
	// Tests inject one that opens the socket in another network namespace.
	ListenPacket ListenFunc
	// ReadBuffer is the socket receive buffer size in bytes (SO_RCVBUF).
	// Defaults to 0: leave the system default.
	ReadBuffer int
	// MulticastTTL is the IP TTL of multicast datagrams, 1 to 255 (on
	// IPv6 the hop limit of every datagram, see [IPv6]). Defaults to 0,
	// meaning 1: multicast stays on the link.
	MulticastTTL int
	// NoMulticastLoopback stops multicast datagrams sent on this socket
	// from being delivered to sockets on the sending host. Defaults to
	// false: loopback on, so listeners on the same host see beacons.
	NoMulticastLoopback bool
	// NoReusePort opens the socket with SO_REUSEADDR but without
	// SO_REUSEPORT, for a socket that must hear the unicast datagrams sent
	// to a port it shares with sockets of its own user: an mDNS querier
	// that asks for unicast answers (see "Sharing a port" in the package
	// comment). Defaults to false: both options, for a socket that waits
	// for broadcast and multicast. An injected ListenPacket decides
	// itself, before bind, whether to set SO_REUSEPORT; Listen then only
	// does not add it after bind. It has no effect on macOS and FreeBSD.
	NoReusePort bool
}

// Listen opens a UDP socket bound to addr and configures it for lanfind:
// control messages for the arrival interface and destination address,
// multicast TTL (hop limit) and loopback, receive buffer. addr chooses the
// family: an IPv4 address (or the zero AddrPort, for 0.0.0.0 with an
// ephemeral port) opens a "udp4" socket wrapped in ipv4.PacketConn, an IPv6
// address such as [::]:PORT a "udp6" socket with IPV6_V6ONLY wrapped in
// ipv6.PacketConn (see [IPv6]). It opens the socket on the calling
// goroutine, so the socket belongs to that thread's network namespace when
// ListenPacket does not pick one itself.
func Listen(ctx context.Context, addr netip.AddrPort, o Options) (Conn, error) {
	a := addr.Addr().Unmap()
	if !addr.Addr().IsValid() {
		a = netip.IPv4Unspecified()
	}
	network := "udp4"
	if a.Is6() {
		network = "udp6"
	}
	addr = netip.AddrPortFrom(a, addr.Port())
	if a.Zone() != "" {
		return nil, fmt.Errorf("udp: listen %s: an address with a zone", addr)
	}
	ttl := o.MulticastTTL
	if ttl == 0 {
		ttl = 1
	}
	if ttl < 0 || ttl > 255 {
		return nil, fmt.Errorf("udp: listen %s: multicast ttl %d out of range 1 to 255", addr, o.MulticastTTL)
	}
	if o.ReadBuffer < 0 {
		return nil, fmt.Errorf("udp: listen %s: negative read buffer size %d", addr, o.ReadBuffer)
	}
	listen := o.ListenPacket
	if listen == nil {
		listen = listenConfig(o.NoReusePort).ListenPacket
	}
	pc, err := listen(ctx, network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("udp: listen %s: %w", addr, err)
	}
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		err := fmt.Errorf("udp: listen %s: ListenPacket returned %T, want *net.UDPConn", addr, pc)
		return nil, errors.Join(err, pc.Close())
	}
	if o.ListenPacket != nil {
		// An injected opener may not have set lanfind's socket options.
		// Those that matter after bind (SO_BROADCAST, don't-fragment,
		// IP_MULTICAST_ALL) take effect now; setting them twice is
		// harmless. Sharing the port needs SO_REUSEADDR/SO_REUSEPORT
		// before bind, which only the opener can do (ListenConfig does);
		// with NoReusePort, SO_REUSEPORT is not added after bind (see
		// "Sharing a port" in the package comment).
		rc, err := uc.SyscallConn()
		if err == nil {
			err = listenConfig(o.NoReusePort).Control(network, addr.String(), rc)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("udp: listen %s: %w", addr, err), uc.Close())
		}
	}
	var c Conn
	if network == "udp6" {
		c, err = newConn6(uc, ttl, !o.NoMulticastLoopback, o.ReadBuffer)
	} else {
		c, err = newConn(uc, ttl, !o.NoMulticastLoopback, o.ReadBuffer)
	}
	if err != nil {
		err := fmt.Errorf("udp: listen %s: %w", addr, err)
		return nil, errors.Join(err, uc.Close())
	}
	return c, nil
}
