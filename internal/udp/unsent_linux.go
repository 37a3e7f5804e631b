package udp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Unsent reports how many bytes of the datagrams written on c the kernel
// still holds (SIOCOUTQ): queued for a device, or waiting for the
// destination's link-layer address, which a neighbour that never answers
// holds for seconds, charged to the socket's send buffer. A Conn that is
// not a socket of [Listen] (a test double or a wrapper) reports
// errors.ErrUnsupported, as do systems without the call.
func Unsent(c Conn) (int, error) {
	k, ok := c.(*conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	rc, err := k.uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil {
		return 0, err
	}
	return n, ierr
}
