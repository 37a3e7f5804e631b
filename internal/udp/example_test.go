package udp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"

	"github.com/lanfind/lanfind/internal/udp"
)

// A receiver binds the empty address on the discovery port, joins the group
// on an interface and reads datagrams until the conn is closed.
func ExampleListen() {
	ctx := context.Background()
	c, err := udp.Listen(ctx, netip.AddrPortFrom(netip.IPv4Unspecified(), 28471), udp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	const eth0 = 2 // an interface index from an iface.Lister
	if err := c.JoinGroup(eth0, netip.MustParseAddr("239.255.70.70")); err != nil {
		log.Fatal(err)
	}
	b := make([]byte, 1500+1) // one byte more than the largest accepted datagram
	for {
		n, src, m, err := c.ReadFrom(b)
		if errors.Is(err, net.ErrClosed) {
			return // closed: normal shutdown
		}
		if err != nil {
			log.Fatal(err)
		}
		if n == len(b) {
			continue // too long: truncated
		}
		fmt.Printf("%d bytes from %v to %v on ifindex %d\n", n, src, m.Dst, m.IfIndex)
	}
}
