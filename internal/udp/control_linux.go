package udp

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// ListenConfig returns the net.ListenConfig lanfind opens every socket with.
// Its Control sets, before bind, SO_REUSEADDR and SO_REUSEPORT (several
// lanfind processes share the discovery port), SO_BROADCAST (set explicitly
// even where the stdlib already does) and IP_MTU_DISCOVER=IP_PMTUDISC_DO (the
// don't-fragment bit: lanfind datagrams are small enough never to need
// fragmentation, and a send that would need it fails loudly instead) and
// IP_MULTICAST_ALL=0 (deliver only the groups this socket joined, not every
// group some other socket on the host joined), and IP_PKTINFO, so that even a
// datagram that arrives between bind and the first read says on which
// interface it came. On an IPv6 socket it sets SO_REUSEADDR, SO_REUSEPORT,
// IPV6_V6ONLY, IPV6_MTU_DISCOVER=IPV6_PMTUDISC_DO, IPV6_MULTICAST_ALL=0
// and IPV6_RECVPKTINFO, for the same reasons.
func ListenConfig() *net.ListenConfig {
	return listenConfig(false)
}

// listenConfig is ListenConfig, without SO_REUSEPORT if noReusePort (see
// Options.NoReusePort and "Sharing a port" in the package comment).
func listenConfig(noReusePort bool) *net.ListenConfig {
	return &net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		return control(network, address, c, noReusePort)
	}}
}

func control(network, address string, c syscall.RawConn, noReusePort bool) error {
	opts := sockopts4
	if strings.HasSuffix(network, "6") {
		opts = sockopts6
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if noReusePort && o.level == unix.SOL_SOCKET && o.opt == unix.SO_REUSEPORT {
				continue
			}
			if v, err := unix.GetsockoptInt(int(fd), o.level, o.opt); err == nil && v == o.val {
				continue // IPV6_V6ONLY cannot be set again after bind
			}
			if err := unix.SetsockoptInt(int(fd), o.level, o.opt, o.val); err != nil {
				serr = fmt.Errorf("udp: set %s on %s %s: %w", o.name, network, address, err)
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("udp: control %s %s: %w", network, address, err)
	}
	return serr
}

type sockopt struct {
	name       string
	level, opt int
	val        int
}

var sockopts4 = []sockopt{
	{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
	{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
	{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1},
	{"IP_MTU_DISCOVER", unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO},
	{"IP_MULTICAST_ALL", unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
	// Before bind, so that no datagram is queued without its
	// arrival interface (ipv4.PacketConn enables it again later).
	{"IP_PKTINFO", unix.IPPROTO_IP, unix.IP_PKTINFO, 1},
}

// sockopts6 are the IPv6 counterparts; IPV6_V6ONLY keeps IPv4 off the
// socket (one socket per family, never v4-mapped addresses).
var sockopts6 = []sockopt{
	{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
	{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
	{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1},
	{"IPV6_MTU_DISCOVER", unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO},
	{"IPV6_MULTICAST_ALL", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0},
	{"IPV6_RECVPKTINFO", unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
}

// platform holds per-OS write state; Linux needs none.
//
//lint:ignore U1000 the field of this type is used on other systems
type platform struct{}

// writeTo sends b with IP_PKTINFO naming the outgoing interface; Linux
// honours it for unicast, broadcast and multicast alike.
func (c *conn) writeTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	var cm *ipv4.ControlMessage
	if ifIndex != 0 {
		cm = &ipv4.ControlMessage{IfIndex: ifIndex}
	}
	return c.pc.WriteTo(b, cm, net.UDPAddrFromAddrPort(dst))
}

func (c *conn) joinGroup(ifIndex int, group netip.Addr) error {
	return c.setMreqn(unix.IP_ADD_MEMBERSHIP, ifIndex, group)
}

func (c *conn) leaveGroup(ifIndex int, group netip.Addr) error {
	return c.setMreqn(unix.IP_DROP_MEMBERSHIP, ifIndex, group)
}

// setMreqn sets a membership option with struct ip_mreqn, which names the
// interface by index only, so no interface lookup (in whichever namespace
// the calling thread happens to be) is needed.
func (c *conn) setMreqn(opt, ifIndex int, group netip.Addr) error {
	if ifIndex > math.MaxInt32 {
		return fmt.Errorf("ifindex %d out of range", ifIndex)
	}
	mreq := &unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifIndex)}
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, opt, mreq)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("setsockopt", serr)
	}
	return nil
}
