package endpoint

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
)

// Family is an address family an endpoint has sockets of.
type Family int

// Address families, named by their IP version.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "IPv4" or "IPv6".
func (f Family) String() string { return fmt.Sprintf("IPv%d", int(f)) }

// FamilyOf returns the family of a (IPv4-mapped addresses are IPv4).
func FamilyOf(a netip.Addr) Family {
	if a.Is6() && !a.Is4In6() {
		return IPv6
	}
	return IPv4
}

// unspecified returns the empty address of f, to bind.
func (f Family) unspecified() netip.Addr {
	if f == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// Members returns the interfaces of ifs that can join a group of family f:
// multicast-capable, with a usable address of f (an IPv6 link-local one is
// enough).
func Members(ifs []iface.Interface, f Family) []iface.Interface {
	var out []iface.Interface
	for _, i := range ifs {
		if i.Flags&iface.FlagMulticast == 0 {
			continue
		}
		if f == IPv6 && i.Has6() || f == IPv4 && i.Has4() {
			out = append(out, i)
		}
	}
	return out
}

// Conn is the sockets one [Endpoint.Listen] opened: one per address family
// that works. Writes go to the socket of the destination's family; each
// socket is read by its own loop ([Conn.Sockets], [Endpoint.Read]). Its
// methods are safe for concurrent use.
type Conn struct {
	v4, v6 udp.Conn // nil when the family is off or failed
}

// Sockets returns the open sockets, IPv4 first; each needs a read loop.
func (c *Conn) Sockets() []udp.Conn {
	var out []udp.Conn
	for _, s := range []udp.Conn{c.v4, c.v6} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Socket returns the socket of family f, or nil when there is none.
func (c *Conn) Socket(f Family) udp.Conn {
	if f == IPv6 {
		return c.v6
	}
	return c.v4
}

// errNoFamily is returned by writes to a family the Conn has no socket of.
var errNoFamily = errors.New("no socket of this address family")

func (c *Conn) socket(dst netip.AddrPort) (udp.Conn, error) {
	f := FamilyOf(dst.Addr())
	if s := c.Socket(f); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("write to %s: %w (%v)", dst, errNoFamily, f)
}

// WriteTo sends b to dst out of interface ifIndex on the socket of dst's
// family; see [udp.Conn.WriteTo].
func (c *Conn) WriteTo(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	s, err := c.socket(dst)
	if err != nil {
		return 0, err
	}
	return s.WriteTo(b, dst, ifIndex)
}

// WriteToNeighbor sends b to the neighbour dst on the socket of dst's
// family; see [udp.Conn.WriteToNeighbor].
func (c *Conn) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	s, err := c.socket(dst)
	if err != nil {
		return 0, err
	}
	return s.WriteToNeighbor(b, dst, ifIndex)
}

// SetReadDeadline sets the read deadline of every socket.
func (c *Conn) SetReadDeadline(t time.Time) error {
	var errs []error
	for _, s := range c.Sockets() {
		errs = append(errs, s.SetReadDeadline(t))
	}
	return errors.Join(errs...)
}

// LocalAddr returns the bound address of the IPv4 socket, or of the IPv6
// one when there is no IPv4 socket. (With port 0 the two sockets have
// different ports.)
func (c *Conn) LocalAddr() netip.AddrPort {
	if c.v4 != nil {
		return c.v4.LocalAddr()
	}
	return c.v6.LocalAddr()
}
