//go:build linux

package mdnslab

import (
	"net/netip"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
)

// Peer opens a plain mDNS socket on lab host h, for a test that plays the
// other side by hand (hand-built queries, answers or defences): bound to
// 0.0.0.0:5353 as lanfind's sockets are, multicast TTL 255, multicast
// loopback off, joined to 224.0.0.251 on eth0. It returns the socket and
// eth0's interface index, for sends. The socket is closed at cleanup; a
// test that reads it in a goroutine closes it earlier to end the reads.
func Peer(t testing.TB, h *netnstest.Host) (udp.Conn, int) {
	t.Helper()
	c, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), mdns.Port), udp.Options{
		ListenPacket:        h.ListenPacket,
		MulticastTTL:        255,
		NoMulticastLoopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	all, err := h.Lister(t).Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	idx := 0
	for _, ifc := range all {
		if ifc.Name == "eth0" {
			idx = ifc.Index
		}
	}
	if idx == 0 {
		t.Fatal("mdnslab: the lab host has no eth0")
	}
	if err := c.JoinGroup(idx, mdns.GroupV4); err != nil {
		t.Fatal(err)
	}
	return c, idx
}
