package udp_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/udp"
)

// Tier 3 for IPv6: unicast on ::1 only. Never multicast here.

var localhost6 = netip.MustParseAddrPort("[::1]:0")

func listen6(t *testing.T, o udp.Options) udp.Conn {
	t.Helper()
	if _, err := udp.Listen(t.Context(), localhost6, o); err != nil &&
		strings.Contains(err.Error(), "cannot assign requested address") {
		t.Skip("no ::1 on this host")
	}
	return listen(t, localhost6, o)
}

func TestRoundTrip6(t *testing.T) {
	a := listen6(t, udp.Options{})
	b := listen6(t, udp.Options{})
	lo := loopback(t)
	write(t, a, []byte("hello"), b.LocalAddr(), lo.Index)
	got, src, m := read(t, b, 64)
	if !bytes.Equal(got, []byte("hello")) {
		t.Errorf("got %q, want %q", got, "hello")
	}
	if src != a.LocalAddr() {
		t.Errorf("src: got %v, want %v", src, a.LocalAddr())
	}
	if m.IfIndex != lo.Index || m.Dst != localhost6.Addr() || !m.Is6() {
		t.Errorf("meta: got %+v, want ifindex %d dst ::1", m, lo.Index)
	}
	// A reply to a neighbour: ::1 is on the loopback link.
	if _, err := b.WriteToNeighbor([]byte("re"), src, lo.Index); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := read(t, a, 64); string(got) != "re" {
		t.Errorf("reply: got %q, want %q", got, "re")
	}
}

// An IPv6 socket is IPv6 only (IPV6_V6ONLY): IPv4 neither goes in nor out.
func TestV6Only(t *testing.T) {
	c := listen6(t, udp.Options{})
	c4 := listen(t, localhost, udp.Options{})
	if _, err := c.WriteTo([]byte("x"), c4.LocalAddr(), 0); err == nil {
		t.Error("IPv4 destination on an IPv6 socket: got no error")
	}
	if _, err := c4.WriteTo([]byte("x"), c.LocalAddr(), 0); err == nil {
		t.Error("IPv6 destination on an IPv4 socket: got no error")
	}
}

func TestInvalid6(t *testing.T) {
	c := listen6(t, udp.Options{})
	lo := loopback(t)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"link-local without interface", write6(c, "[fe80::1]:9", 0), "needs an interface"},
		{"bad zone", write6(c, "[fe80::1%eth0]:9", 0), "not an interface index"},
		{"neighbour multicast", neighbour6(c, "[ff02::1]:9", lo.Index), "not a unicast neighbour"},
		{"neighbour port 0", neighbour6(c, "[::1]:0", lo.Index), "not a unicast neighbour"},
		{"join IPv4 group", c.JoinGroup(lo.Index, netip.MustParseAddr("239.255.70.70")),
			"not an IPv6 multicast group"},
		{"join without interface", c.JoinGroup(0, netip.MustParseAddr("ff02::efff:4646")),
			"needs an interface"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func write6(c udp.Conn, dst string, ifIndex int) error {
	_, err := c.WriteTo([]byte("x"), netip.MustParseAddrPort(dst), ifIndex)
	return err
}

func neighbour6(c udp.Conn, dst string, ifIndex int) error {
	_, err := c.WriteToNeighbor([]byte("x"), netip.MustParseAddrPort(dst), ifIndex)
	return err
}

// TestSetSources: a write goes from the source set for its interface; a
// source the kernel refuses (not an address of this host) falls back to
// the kernel's choice.
func TestSetSources(t *testing.T) {
	a := listen6(t, udp.Options{})
	b := listen6(t, udp.Options{})
	lo := loopback(t)
	udp.SetSources(a, map[int]netip.Addr{lo.Index: netip.MustParseAddr("::1")})
	write(t, a, []byte("1"), b.LocalAddr(), lo.Index)
	if _, src, _ := read(t, b, 8); src.Addr() != netip.MustParseAddr("::1") {
		t.Errorf("got source %v, want ::1", src)
	}
	udp.SetSources(a, map[int]netip.Addr{lo.Index: netip.MustParseAddr("fd00:77::dead")})
	write(t, a, []byte("2"), b.LocalAddr(), lo.Index)
	if _, err := a.WriteToNeighbor([]byte("3"), b.LocalAddr(), lo.Index); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2", "3"} {
		if got, src, _ := read(t, b, 8); string(got) != want || src.Addr() != netip.MustParseAddr("::1") {
			t.Errorf("got %q from %v, want %q from ::1", got, src, want)
		}
	}
	udp.SetSources(listen(t, localhost, udp.Options{}), nil) // IPv4: nothing to do
}
