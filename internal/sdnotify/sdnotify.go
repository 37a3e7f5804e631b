package sdnotify

import (
	"log/slog"
	"net"
	"strings"
)

// Notifier speaks the service manager's notification protocol (systemd's
// sd_notify): each state is one datagram of NAME=VALUE lines sent to the
// AF_UNIX datagram socket that NOTIFY_SOCKET names (a path, or "@name" for
// an abstract socket). Without NOTIFY_SOCKET it does nothing.
type Notifier struct {
	addr *net.UnixAddr // nil: no service manager listens
	log  *slog.Logger
}

// New returns a Notifier for the socket NOTIFY_SOCKET names; "" means no
// service manager listens. Problems are logged to log as warnings.
func New(socket string, log *slog.Logger) *Notifier {
	n := &Notifier{log: log}
	switch {
	case socket == "":
	case strings.HasPrefix(socket, "/"), strings.HasPrefix(socket, "@"):
		// Go maps a leading "@" to the abstract namespace.
		n.addr = &net.UnixAddr{Name: socket, Net: "unixgram"}
	default:
		log.Warn("NOTIFY_SOCKET is neither a path nor an abstract socket name; "+
			"not notifying the service manager", "socket", socket)
	}
	return n
}

// Notify sends state. A failure is logged: the service manager then
// reports the service as not ready, which says enough.
func (n *Notifier) Notify(state string) {
	if n.addr == nil {
		return
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err == nil {
		_, err = c.Write([]byte(state))
		c.Close()
	}
	if err != nil {
		n.log.Warn("notify the service manager",
			"socket", n.addr.Name,
			"state", strings.ReplaceAll(state, "\n", " "),
			"err", err)
		return
	}
	n.log.Debug("notified the service manager", "state", strings.ReplaceAll(state, "\n", " "))
}
