package discover

import "net/netip"

// QueryAddr reports the local address of the query socket.
func (l *Listener) QueryAddr() netip.AddrPort { return l.qconn.LocalAddr() }
