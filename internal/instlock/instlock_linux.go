package instlock

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// name is the abstract socket of instance ("@" is Go's spelling of the
// leading NUL byte).
func name(instance uint64) string { return fmt.Sprintf("@lanfind-instance-%016x", instance) }

const takeOverRequest = "take-over\n"

// claim is a held instance: its listening socket.
type claim struct {
	l    *net.UnixListener
	once sync.Once
}

func listen(instance uint64) (*claim, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: name(instance), Net: "unix"})
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &HeldError{Instance: instance, PID: holderPID(instance)}
	}
	if err != nil {
		return nil, fmt.Errorf("claim instance %016x: %w", instance, err)
	}
	return &claim{l: l}, nil
}

// dial connects to the holder of instance.
func dial(instance uint64) (*net.UnixConn, error) {
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: name(instance), Net: "unix"})
}

// holderPID returns the process ID of the holder of instance, 0 if it
// cannot be told.
func holderPID(instance uint64) int {
	c, err := dial(instance)
	if err != nil {
		return 0
	}
	defer c.Close()
	return peerPID(c)
}

func peerPID(c *net.UnixConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return 0
	}
	return int(cred.Pid)
}

// askTakeOver asks the holder of instance to let go of it.
func askTakeOver(instance uint64) error {
	c, err := dial(instance)
	if err != nil {
		return nil // gone meanwhile: listen again
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(TakeOverWait))
	if _, err := io.WriteString(c, takeOverRequest); err != nil {
		return fmt.Errorf("take over instance %016x: %w", instance, err)
	}
	return nil
}

// serve answers connections until the claim is closed: a take-over
// request calls onTakeOver with the requester's process ID. Anything else
// (a "who holds it" probe) is closed unread.
func (cl *claim) serve(onTakeOver func(pid int)) {
	for {
		c, err := cl.l.AcceptUnix()
		if err != nil {
			return // closed
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, len(takeOverRequest))
		_, err = io.ReadFull(c, buf)
		pid := peerPID(c)
		c.Close()
		if err == nil && strings.EqualFold(string(buf), takeOverRequest) {
			onTakeOver(pid)
		}
	}
}

func (cl *claim) close() { cl.once.Do(func() { cl.l.Close() }) }
