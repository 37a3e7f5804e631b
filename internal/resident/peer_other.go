//go:build !linux

package resident

import "net"

// peer says nothing of c's peer: the socket file's owner is the check.
func peer(net.Conn) (Peer, error) { return Peer{PID: 0, UID: -1}, nil }
