package udp_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
)

// TestNSWriteToNeighbor proves in a namespace lab that the kernel itself
// refuses to route what WriteToNeighbor sends. h0 reaches 10.99.0.5 only
// through the router h1 (which owns that address on lo): WriteTo gets
// there, WriteToNeighbor fails with ENETUNREACH, or, with the outgoing
// interface named, looks for 10.99.0.5 on the link itself (an ARP entry
// for it, not the router's MAC) and so never reaches the router.
// Broadcast and multicast writes on the same socket still work, and
// WriteToNeighbor refuses them.
func TestNSWriteToNeighbor(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	far := netip.MustParseAddr("10.99.0.5")
	mustRun(t, h1, "ip", "addr", "add", far.String()+"/32", "dev", "lo")
	// h1 answers ARP only for addresses of the asking interface, so
	// 10.99.0.5 is reachable through it as a router and not on the link.
	mustRun(t, h1, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1")
	mustRun(t, h0, "ip", "route", "add", "10.99.0.0/24", "via", h1.Addr("eth0").String())

	const port = 28471
	open := func(h *netnstest.Host, p uint16) udp.Conn {
		c, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), p), udp.Options{ListenPacket: h.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tx, rx := open(h0, 0), open(h1, port)
	eth0 := ifIndex(t, h0, "eth0")

	// Routed: WriteTo reaches 10.99.0.5 through h1.
	write(t, tx, []byte("routed"), netip.AddrPortFrom(far, port), 0)
	if got, _, m := read(t, rx, 64); string(got) != "routed" || m.Dst != far {
		t.Fatalf("got %q to %s, want %q to %s", got, m.Dst, "routed", far)
	}

	// Not routed: no interface named, the kernel finds no on-link route.
	if _, err := tx.WriteToNeighbor([]byte("neighbour"), netip.AddrPortFrom(far, port), 0); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("WriteToNeighbor to %s: got %v, want ENETUNREACH", far, err)
	}
	// With the interface named the kernel treats 10.99.0.5 as on the link
	// and resolves it there: an ARP entry for 10.99.0.5 appears, and the
	// datagram never goes to the router.
	if _, err := tx.WriteToNeighbor([]byte("neighbour"), netip.AddrPortFrom(far, port), eth0); err != nil {
		t.Fatalf("WriteToNeighbor to %s via eth0: %v", far, err)
	}
	if out := mustRun(t, h0, "ip", "-4", "neigh", "show", far.String(), "dev", "eth0"); !strings.Contains(out, far.String()) {
		t.Fatalf("no neighbour entry for %s on eth0 after WriteToNeighbor (ip neigh: %q): it was not sent on the link", far, out)
	}
	// The next datagram h1 receives is the marker, not the neighbour write.
	write(t, tx, []byte("marker"), netip.AddrPortFrom(far, port), 0)
	if got, _, _ := read(t, rx, 64); string(got) != "marker" {
		t.Fatalf("got %q, want %q: WriteToNeighbor reached the router", got, "marker")
	}

	// A neighbour gets it, by both forms.
	for _, ifi := range []int{0, eth0} {
		if _, err := tx.WriteToNeighbor([]byte("hi"), netip.AddrPortFrom(h1.Addr("eth0"), port), ifi); err != nil {
			t.Fatalf("WriteToNeighbor to %s via ifindex %d: %v", h1.Addr("eth0"), ifi, err)
		}
		if got, src, _ := read(t, rx, 64); string(got) != "hi" || src.Addr() != h0.Addr("eth0") {
			t.Fatalf("got %q from %s, want %q from %s", got, src, "hi", h0.Addr("eth0"))
		}
	}

	// Broadcast and multicast on the same socket are unaffected;
	// WriteToNeighbor refuses multicast and the limited broadcast. (A
	// directed broadcast it cannot tell from unicast: SO_BROADCAST is set
	// and the kernel sends it, so callers check subnet broadcast addresses
	// themselves, as announce does.)
	if err := rx.JoinGroup(ifIndex(t, h1, "eth0"), netip.MustParseAddr("239.255.70.70")); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []netip.Addr{netip.MustParseAddr("239.255.70.70"), netip.MustParseAddr("255.255.255.255"), h0.Broadcast("eth0")} {
		if _, err := tx.WriteToNeighbor([]byte("no"), netip.AddrPortFrom(dst, port), eth0); dst != h0.Broadcast("eth0") && !errors.Is(err, syscall.EINVAL) {
			t.Errorf("WriteToNeighbor to %s: got %v, want EINVAL", dst, err)
		}
		write(t, tx, []byte("all"), netip.AddrPortFrom(dst, port), eth0)
		got, _, m := read(t, rx, 64)
		if dst == h0.Broadcast("eth0") && string(got) == "no" {
			got, _, m = read(t, rx, 64)
		}
		if string(got) != "all" || m.Dst != dst {
			t.Errorf("got %q to %s, want %q to %s", got, m.Dst, "all", dst)
		}
	}
}

func mustRun(t *testing.T, h *netnstest.Host, name string, args ...string) string {
	t.Helper()
	out, err := h.Run(t, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

func ifIndex(t *testing.T, h *netnstest.Host, name string) int {
	t.Helper()
	ifs, err := h.Lister(t).Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(ifs, func(i iface.Interface) bool { return i.Name == name })
	if k < 0 {
		t.Fatalf("%s has no %s", h.Name, name)
	}
	return ifs[k].Index
}
