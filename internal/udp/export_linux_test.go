package udp

import "net"

// Socket returns the socket under c, a Conn that Listen returned (nil for
// another Conn), for tests that read its options.
func Socket(c Conn) *net.UDPConn {
	switch k := c.(type) {
	case *conn:
		return k.uc
	case *conn6:
		return k.uc
	}
	return nil
}
