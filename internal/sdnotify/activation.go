package sdnotify

import (
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

// UnixListener returns the listening unix stream socket the service
// manager passed (socket activation: LISTEN_PID and LISTEN_FDS), or nil
// when it passed none. Other sockets it passed are closed. It reads the
// environment once: a second call returns nil.
func UnixListener() *net.UnixListener {
	lns, _ := activation.Listeners() // never fails: a socket that is not a listener is left out
	var out *net.UnixListener
	for _, ln := range lns {
		if ul, ok := ln.(*net.UnixListener); ok && out == nil {
			out = ul
			continue
		}
		if ln != nil {
			ln.Close()
		}
	}
	return out
}
