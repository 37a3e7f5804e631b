package udp_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestNSUnsent: a datagram to a neighbour that answers ARP leaves at
// once, while one to an unused address of the subnet stays charged to the
// socket while the kernel waits for a neighbour that never answers.
func TestNSUnsent(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	open := func() udp.Conn {
		c, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
			udp.Options{ListenPacket: h0.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	settled := func(c udp.Conn) int {
		var n int
		for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
			var err error
			if n, err = udp.Unsent(c); err != nil {
				t.Fatal(err)
			}
			if n == 0 || time.Now().After(deadline) {
				return n
			}
		}
	}
	there, nobody := open(), open()
	write(t, there, []byte("hello"), netip.AddrPortFrom(h1.Addr("eth0"), 9), 0)
	write(t, nobody, []byte("hello"), netip.MustParseAddrPort("10.77.0.200:9"), 0)
	if n := settled(there); n != 0 {
		t.Errorf("to a neighbour: %d bytes still held after a second, want 0", n)
	}
	held, err := udp.Unsent(nobody)
	if err != nil || held == 0 {
		t.Errorf("to an unused address: Unsent = %d, %v; want the datagram held", held, err)
	}
	if buf, err := udp.SendBuffer(nobody); err != nil || buf <= held {
		t.Errorf("SendBuffer = %d, %v; want more than the %d bytes held", buf, err, held)
	}
	hub := udptest.NewHub()
	fake, err := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0",
		Prefix: netip.MustParsePrefix("10.1.0.2/24")}).Listen(t.Context(),
		netip.MustParseAddrPort("10.1.0.2:0"), udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if _, err := udp.Unsent(fake); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Unsent of a test double: %v, want errors.ErrUnsupported", err)
	}
	if _, err := udp.SendBuffer(fake); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SendBuffer of a test double: %v, want errors.ErrUnsupported", err)
	}
}
