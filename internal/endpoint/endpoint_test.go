package endpoint

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestReadDrops: Read returns the one usable datagram among those it
// drops, and counts each drop under its reason.
func TestReadDrops(t *testing.T) {
	p0, p1 := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.1.1/24")
	hub := udptest.NewHub()
	h := hub.AddHost("h",
		udptest.Interface{Index: 2, Name: "eth0", Prefix: p0},
		udptest.Interface{Index: 3, Name: "eth1", Prefix: p1})
	e, err := New(Config{
		Interfaces: []string{"eth0"},
		Lister:     iface.Static{eth0, eth1},
		OnLinkOnly: true,
		Seam:       &Seam{Listen: h.Listen},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := e.Listen(Socket{})
	if err != nil {
		t.Fatal(err)
	}
	good := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 7, Seq: 1,
		Services: []beacon.Service{{Instance: 1, Name: "db", TTL: 15e9}}}
	msg, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(p0.Addr(), c.LocalAddr().Port())
	neighbour := netip.MustParseAddrPort("10.0.0.2:4000")
	for _, in := range []struct {
		ifIndex int
		src     netip.AddrPort
		dst     netip.AddrPort
		p       []byte
	}{
		{2, neighbour, dst, []byte("not lanfind")},                 // Foreign
		{2, neighbour, dst, msg[:len(msg)-3]},                      // Malformed
		{3, netip.MustParseAddrPort("10.0.1.2:4000"), dst, msg},    // OtherIface
		{2, netip.MustParseAddrPort("192.168.5.5:4000"), dst, msg}, // OffLink
		{2, neighbour, dst, msg},                                   // kept
	} {
		if n := h.Inject(in.ifIndex, in.src, in.dst, in.p); n != 1 {
			t.Fatalf("injected datagram reached %d conns, want 1", n)
		}
	}
	if n := len(c.Sockets()); n != 1 {
		t.Fatalf("got %d sockets, want 1: the hub has no IPv6", n)
	}
	d, err := e.Read(c.Sockets()[0], make([]byte, beacon.MaxSize+1))
	if err != nil {
		t.Fatal(err)
	}
	if d.Src != neighbour || d.Meta.IfIndex != 2 || d.Beacon.Sender != 7 || d.Plan != e.Plan() {
		t.Errorf("got %v on %d from sender %d, want %v on 2 from 7 with the plan in force",
			d.Src, d.Meta.IfIndex, d.Beacon.Sender, neighbour)
	}
	want := DropStats{Received: 5, Foreign: 1, Malformed: 1, OtherIface: 1, OffLink: 1}
	if got := e.Drops.Load(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Read(c.Sockets()[0], make([]byte, beacon.MaxSize+1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: got %v, want net.ErrClosed", err)
	}
}

// TestFamilyFails: the hub has no IPv6, like a kernel without it. The
// endpoint warns once, however many sockets it opens, keeps IPv4 working,
// and fails only when IPv6 is all that is left.
func TestFamilyFails(t *testing.T) {
	hub := udptest.NewHub()
	h := hub.AddHost("h", udptest.Interface{Index: 2, Name: "eth0", Prefix: netip.MustParsePrefix("10.0.0.1/24")})
	var warns counter
	e, err := New(Config{Lister: iface.Static{eth0}, Logger: slog.New(&warns), Seam: &Seam{Listen: h.Listen}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for range 2 {
		c, err := e.Listen(Socket{Join: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.Socket(IPv4) == nil || c.Socket(IPv6) != nil {
			t.Fatalf("got sockets %v, want IPv4 only", c.Sockets())
		}
		if _, err := c.WriteTo([]byte("x"), netip.MustParseAddrPort("[ff02::1]:9"), 2); err == nil {
			t.Error("IPv6 write without an IPv6 socket: got no error")
		}
	}
	if n := warns.n(); n != 1 {
		t.Errorf("got %d warnings, want 1", n)
	}
	if got := e.FailedFamilies(); !slices.Equal(got, []Family{IPv6}) {
		t.Errorf("failed families: got %v, want [IPv6]", got)
	}

	dual := eth0
	dual.Addrs = append(slices.Clone(dual.Addrs), iface.Addr{Prefix: netip.MustParsePrefix("fe80::1/64")})
	e6, err := New(Config{Lister: iface.Static{dual}, NoIPv4: true, Seam: &Seam{Listen: h.Listen}})
	if err != nil {
		t.Fatal(err)
	}
	defer e6.Close()
	if _, err = e6.Listen(Socket{}); err == nil {
		t.Fatal("IPv6 only on a host without IPv6: got no error")
	}

	// Both families in the plan; IPv6 fails, and its group goes from the
	// destinations.
	ed, err := New(Config{Lister: iface.Static{dual}, Seam: &Seam{Listen: h.Listen}})
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	if !slices.ContainsFunc(ed.Plan().Targets, func(t iface.Target) bool { return t.Dst.Addr().Is6() }) {
		t.Fatalf("targets %v: want the IPv6 group before Listen", ed.Plan().Targets)
	}
	if _, err := ed.Listen(Socket{Join: true}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(ed.Plan().Targets, func(t iface.Target) bool { return t.Dst.Addr().Is6() }) {
		t.Errorf("targets %v: want no IPv6 destination once IPv6 failed", ed.Plan().Targets)
	}
}
