package resident

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peer returns the credentials of c's peer (SO_PEERCRED).
func peer(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{PID: 0, UID: -1}, nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("resident: %w", err)
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("resident: %w", err)
	}
	if serr != nil {
		return Peer{}, fmt.Errorf("resident: peer credentials: %w", serr)
	}
	return Peer{PID: int(cred.Pid), UID: int(cred.Uid)}, nil
}
