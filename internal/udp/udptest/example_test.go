package udptest_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

func Example() {
	ctx := context.Background()
	hub := udptest.NewHub()
	eth0 := udptest.Interface{Index: 2, Name: "eth0", Prefix: netip.MustParsePrefix("10.0.0.1/24")}
	a := hub.AddHost("a", eth0)
	b := hub.AddHost("b", udptest.Interface{Index: 7, Name: "eth0", Prefix: netip.MustParsePrefix("10.0.0.2/24")})

	r, err := b.Listen(ctx, netip.AddrPortFrom(netip.IPv4Unspecified(), 28471), udp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	s, err := a.Listen(ctx, netip.AddrPortFrom(eth0.Prefix.Addr(), 40000), udp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if _, err := s.WriteTo([]byte("hello"), netip.AddrPortFrom(eth0.Broadcast(), 28471), eth0.Index); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 100)
	n, src, m, err := r.ReadFrom(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s from %v to %v on ifindex %d\n", buf[:n], src, m.Dst, m.IfIndex)
	// Output: hello from 10.0.0.1:40000 to 10.0.0.255 on ifindex 7
}
