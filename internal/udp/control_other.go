//go:build !linux

package udp

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// ListenConfig returns the net.ListenConfig lanfind opens every socket with.
// Its Control sets, before bind, SO_REUSEADDR and SO_REUSEPORT (several
// lanfind processes share the discovery port), SO_BROADCAST (set explicitly
// even where the stdlib already does) and, on macOS and FreeBSD,
// IP_DONTFRAG (lanfind datagrams are small enough never to need
// fragmentation, and a send that would need it fails loudly instead).
func ListenConfig() *net.ListenConfig {
	return &net.ListenConfig{Control: control}
}

// listenConfig is ListenConfig, with or without Options.NoReusePort: a socket
// binds a port another socket holds only if both set SO_REUSEPORT, and
// SO_REUSEPORT forms no group that spreads unicast datagrams by a hash
// (see "Sharing a port" in the package comment).
func listenConfig(_ bool) *net.ListenConfig {
	return ListenConfig()
}

type sockopt struct {
	name       string
	level, opt int
	val        int
}

var sockopts = func() []sockopt {
	o := []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1},
	}
	// IP_DONTFRAG from <netinet/in.h>; x/sys/unix defines it only there.
	switch runtime.GOOS {
	case "darwin", "ios":
		o = append(o, sockopt{"IP_DONTFRAG", unix.IPPROTO_IP, 0x1c, 1})
	case "freebsd":
		o = append(o, sockopt{"IP_DONTFRAG", unix.IPPROTO_IP, 0x43, 1})
	}
	return o
}()

// sockopts6 are the options of IPv6 sockets: IPV6_V6ONLY keeps IPv4 off
// the socket (one socket per family).
var sockopts6 = []sockopt{
	{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
	{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
	{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1},
}

func control(network, address string, c syscall.RawConn) error {
	opts := sockopts
	if strings.HasSuffix(network, "6") {
		opts = sockopts6
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
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

// platform serializes multicast writes that choose an interface: where
// IP_PKTINFO is missing the interface is set with IP_MULTICAST_IF, which
// must not change between setting it and writing.
type platform struct {
	// mu guards mcIfIndex and the multicast writes that depend on it.
	mu        sync.Mutex
	mcIfIndex int // IP_MULTICAST_IF last set, 0: never set
}

func (c *conn) writeTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	ua := net.UDPAddrFromAddrPort(dst)
	if ifIndex == 0 {
		return c.pc.WriteTo(b, nil, ua)
	}
	// IP_PKTINFO (where x/net/ipv4 has it) picks the interface of any write.
	cm := &ipv4.ControlMessage{IfIndex: ifIndex}
	if !dst.Addr().IsMulticast() {
		return c.pc.WriteTo(b, cm, ua)
	}
	c.plat.mu.Lock()
	defer c.plat.mu.Unlock()
	if c.plat.mcIfIndex != ifIndex {
		if err := c.pc.SetMulticastInterface(&net.Interface{Index: ifIndex}); err != nil {
			return 0, fmt.Errorf("set multicast interface: %w", err)
		}
		c.plat.mcIfIndex = ifIndex
	}
	return c.pc.WriteTo(b, cm, ua)
}

// joinGroup uses x/net/ipv4, which names the interface by index
// (MCAST_JOIN_GROUP) on macOS and FreeBSD.
func (c *conn) joinGroup(ifIndex int, group netip.Addr) error {
	return c.pc.JoinGroup(ifi(ifIndex), &net.UDPAddr{IP: group.AsSlice()})
}

func (c *conn) leaveGroup(ifIndex int, group netip.Addr) error {
	return c.pc.LeaveGroup(ifi(ifIndex), &net.UDPAddr{IP: group.AsSlice()})
}

func ifi(index int) *net.Interface {
	if index == 0 {
		return nil
	}
	return &net.Interface{Index: index}
}
