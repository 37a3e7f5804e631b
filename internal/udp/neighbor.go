package udp

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// WriteToNeighbor implements [Conn.WriteToNeighbor] with sendmsg and
// MSG_DONTROUTE, a per-write flag: the socket's broadcast and multicast
// writes keep their normal routing. (SO_DONTROUTE on the whole socket
// would do the same for unicast on Linux, where broadcast routes have link
// scope and multicast with a chosen interface skips the routing table, but
// the per-write flag needs no such argument on any system.) The outgoing
// interface is named with IP_PKTINFO where the system has it.
func (c *conn) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	a := dst.Addr().Unmap()
	dst = netip.AddrPortFrom(a, dst.Port())
	if err := checkNeighbor(dst, ifIndex); err != nil {
		return 0, err
	}
	var oob []byte
	if ifIndex != 0 {
		oob = (&ipv4.ControlMessage{IfIndex: ifIndex}).Marshal()
	}
	sa := &unix.SockaddrInet4{Port: int(dst.Port()), Addr: a.As4()}
	return sendDontRoute(c.uc, b, oob, sa, dst, ifIndex)
}

// sendDontRoute sends b to sa (dst, for errors) with sendmsg, the control
// message oob and MSG_DONTROUTE.
func sendDontRoute(uc *net.UDPConn, b, oob []byte, sa unix.Sockaddr,
	dst netip.AddrPort, ifIndex int) (int, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("udp: write to %s via ifindex %d: %w", dst, ifIndex, err)
	}
	var n int
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		n, serr = unix.SendmsgN(int(fd), b, oob, sa, unix.MSG_DONTROUTE)
		return serr != unix.EAGAIN // else wait until the socket is writable
	})
	if err == nil && serr != nil {
		err = os.NewSyscallError("sendmsg", serr)
	}
	if err != nil {
		return n, fmt.Errorf("udp: write to %s via ifindex %d: %w", dst, ifIndex, err)
	}
	return n, nil
}

// checkNeighbor refuses destinations a reply must never go to.
func checkNeighbor(dst netip.AddrPort, ifIndex int) error {
	a := dst.Addr()
	switch {
	case !a.Is4():
		return fmt.Errorf("udp: write to %s: not an IPv4 address", dst)
	case ifIndex < 0:
		return fmt.Errorf("udp: write to %s: negative ifindex %d", dst, ifIndex)
	case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a.IsUnspecified() || dst.Port() == 0:
		return fmt.Errorf("udp: write to %s: not a unicast neighbour: %w", dst, syscall.EINVAL)
	}
	return nil
}
