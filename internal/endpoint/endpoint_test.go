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
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestReadDrops: Read returns the one usable datagram among those it
// drops, and counts each drop under its reason.
func TestReadDrops(t *testing.T) {
	e, c, h, msg := listenEth0(t, Config{OnLinkOnly: true})
	dst := netip.AddrPortFrom(testP0.Addr(), c.LocalAddr().Port())
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
	d, err := e.Read(c, make([]byte, beacon.MaxSize+1))
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
	if _, err := e.Read(c, make([]byte, beacon.MaxSize+1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: got %v, want net.ErrClosed", err)
	}
}

// TestFamilyFails: the hub has no IPv6, like a kernel without it. The
// endpoint warns once, however many sockets it opens, keeps IPv4 working,
// and fails only when IPv6 is all that is left.
func TestFamilyFails(t *testing.T) {
	hub := udptest.NewHub()
	h := hub.AddHost("h", udptest.Interface{Index: 2, Name: "eth0", Prefix: testP0})
	var warns counter
	seam := &Seam{Listen: h.Listen}
	e, err := New(Config{Lister: iface.Static{eth0}, Logger: slog.New(&warns), Seam: seam})
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
	ll := iface.Addr{Prefix: netip.MustParsePrefix("fe80::1/64")}
	dual.Addrs = append(slices.Clone(dual.Addrs), ll)
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
	to6 := func(t iface.Target) bool { return t.Dst.Addr().Is6() }
	if !slices.ContainsFunc(ed.Plan().Targets, to6) {
		t.Fatalf("targets %v: want the IPv6 group before Listen", ed.Plan().Targets)
	}
	if _, err := ed.Listen(Socket{Join: true}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(ed.Plan().Targets, to6) {
		t.Errorf("targets %v: want no IPv6 destination once IPv6 failed", ed.Plan().Targets)
	}
}

// TestReadKeepOtherIface: with KeepOtherIface, Read keeps a datagram that
// arrived on an interface not selected, with that interface as its
// arrival, and counts no drop; without it, the same datagram is dropped.
func TestReadKeepOtherIface(t *testing.T) {
	for _, keep := range []bool{true, false} {
		e, c, h, msg := listenEth0(t, Config{KeepOtherIface: keep})
		dst := netip.AddrPortFrom(testP1.Addr(), c.LocalAddr().Port())
		other := netip.MustParseAddrPort("10.0.1.2:4000")
		h.Inject(3, other, dst, msg)
		h.Inject(2, netip.MustParseAddrPort("10.0.0.2:4000"), dst, msg)
		d, err := e.Read(c, make([]byte, beacon.MaxSize+1))
		if err != nil {
			t.Fatal(err)
		}
		wantIf, wantDrops := 3, DropStats{Received: 1}
		if !keep {
			wantIf, wantDrops = 2, DropStats{Received: 2, OtherIface: 1}
		}
		if d.Meta.IfIndex != wantIf {
			t.Errorf("KeepOtherIface %v: kept a datagram from interface %d, want %d",
				keep, d.Meta.IfIndex, wantIf)
		}
		if got := e.Drops.Load(); got != wantDrops {
			t.Errorf("KeepOtherIface %v: got %+v, want %+v", keep, got, wantDrops)
		}
	}
}

// Two subnets of the test host: eth0 (index 2) and eth1 (index 3).
var (
	testP0 = netip.MustParsePrefix("10.0.0.1/24")
	testP1 = netip.MustParsePrefix("10.0.1.1/24")
)

// listenEth0 returns an endpoint of cfg that selects eth0 of a udptest
// host with eth0 and eth1, one socket of it, the host (to inject
// datagrams) and a marshalled announcement.
func listenEth0(t *testing.T, cfg Config) (*Endpoint, udp.Conn, *udptest.Host, []byte) {
	t.Helper()
	h := udptest.NewHub().AddHost("h",
		udptest.Interface{Index: 2, Name: "eth0", Prefix: testP0},
		udptest.Interface{Index: 3, Name: "eth1", Prefix: testP1})
	cfg.Interfaces = []string{"eth0"}
	cfg.Lister = iface.Static{eth0, eth1}
	cfg.Seam = &Seam{Listen: h.Listen}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := e.Listen(Socket{})
	if err != nil {
		t.Fatal(err)
	}
	b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 7, Seq: 1,
		Services: []beacon.Service{{Instance: 1, Name: "db", TTL: 15e9}}}
	msg, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return e, c.Socket(IPv4), h, msg // the hub has no IPv6
}
