package browse

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/mdns"
)

// Entry is one DNS-SD service instance.
type Entry struct {
	// ID is a stable ID of the full instance name (mdns.InstanceID).
	ID uint64
	// Instance is the full instance name without its trailing dot.
	Instance string
	// Name is the instance label.
	Name string
	Type mdns.ServiceType
	Port uint16
	// Host is the SRV target without its trailing dot.
	Host string
	// Addrs are the host's addresses from A and AAAA records, IPv4 first.
	Addrs []netip.Addr
	Meta  map[string]string
	// TTL is the shortest TTL of the instance's PTR and SRV records.
	TTL time.Duration
	// Addr is the source address of the responder; Iface the interface
	// its answer arrived on.
	Addr     netip.Addr
	Iface    string
	LastSeen time.Time
}

// AddrPort returns the address to connect to: the first of Addrs, else
// the responder's address, with the port.
func (e Entry) AddrPort() netip.AddrPort {
	a := e.Addr
	if len(e.Addrs) > 0 {
		a = e.Addrs[0]
	}
	return netip.AddrPortFrom(a, e.Port)
}

// Kind is the kind of an Event.
type Kind int

// Event kinds.
const (
	// Up: a new instance.
	Up Kind = iota + 1
	// Update: an instance's port, host, addresses or metadata changed.
	Update
	// Down: an instance left; Reason says why.
	Down
)

func (k Kind) String() string {
	switch k {
	case Up:
		return "up"
	case Update:
		return "update"
	case Down:
		return "down"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Event is a change of an instance.
type Event struct {
	Kind Kind
	// Reason is "goodbye", "expired" or "iface-down" ([ReasonIfaceDown])
	// for Down, else "".
	Reason string
	Entry  Entry
}
