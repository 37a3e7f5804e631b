package udp

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"
)

// Unsent reports how many bytes of the datagrams written on c the kernel
// still holds (SIOCOUTQ): queued for a device, or waiting for the
// destination's link-layer address, which a neighbour that never answers
// holds for seconds, charged to the socket's send buffer. A Conn that is
// not a socket of [Listen] (a test double or a wrapper) reports
// errors.ErrUnsupported, as do systems without the call.
func Unsent(c Conn) (int, error) {
	return intOf(c, func(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCOUTQ) })
}

// SendBuffer reports c's send buffer size (SO_SNDBUF), the bytes [Unsent]
// may reach before a write waits. It fails like Unsent for a Conn that is
// not a socket of [Listen].
func SendBuffer(c Conn) (int, error) {
	return intOf(c, func(fd int) (int, error) {
		return unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	})
}

// intOf runs get on the descriptor of c, a socket of Listen.
func intOf(c Conn, get func(fd int) (int, error)) (int, error) {
	var uc *net.UDPConn
	switch k := c.(type) {
	case *conn:
		uc = k.uc
	case *conn6:
		uc = k.uc
	default:
		return 0, errors.ErrUnsupported
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var gerr error
	if err := rc.Control(func(fd uintptr) { n, gerr = get(int(fd)) }); err != nil {
		return 0, err
	}
	return n, gerr
}
