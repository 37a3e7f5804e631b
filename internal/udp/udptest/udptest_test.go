package udptest_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

const port = 28471

var (
	group = netip.MustParseAddr("239.255.70.70")
	aAddr = netip.MustParseAddr("10.0.0.1")
	bAddr = netip.MustParseAddr("10.0.0.2")
)

// lan returns a hub with host a on 10.0.0.0/24 (ifindex 2) and
// 192.168.1.0/24 (ifindex 3), host b on 10.0.0.0/24 (ifindex 2) and host c
// on 192.168.1.0/24 (ifindex 5).
func lan() (h *udptest.Hub, a, b, c *udptest.Host) {
	h = udptest.NewHub()
	a = h.AddHost("a",
		udptest.Interface{Index: 2, Name: "eth0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
		udptest.Interface{Index: 3, Name: "eth1", Prefix: netip.MustParsePrefix("192.168.1.1/24")})
	b = h.AddHost("b", udptest.Interface{Index: 2, Name: "eth0", Prefix: netip.MustParsePrefix("10.0.0.2/24")})
	c = h.AddHost("c", udptest.Interface{Index: 5, Name: "eth0", Prefix: netip.MustParsePrefix("192.168.1.3/24")})
	return h, a, b, c
}

func listen(t *testing.T, h *udptest.Host, addr netip.AddrPort, o udp.Options) udp.Conn {
	t.Helper()
	c, err := h.Listen(t.Context(), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func wild(p uint16) netip.AddrPort { return netip.AddrPortFrom(netip.IPv4Unspecified(), p) }

func write(t *testing.T, c udp.Conn, msg string, dst netip.AddrPort, ifIndex int) {
	t.Helper()
	if n, err := c.WriteTo([]byte(msg), dst, ifIndex); err != nil || n != len(msg) {
		t.Fatalf("write %q to %v: got %d, %v, want %d, nil", msg, dst, n, err, len(msg))
	}
}

type got struct {
	msg string
	src netip.AddrPort
	m   udp.Meta
}

// read reads one datagram, failing after a second of (bubble) time.
func read(t *testing.T, c udp.Conn) got {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 100)
	n, src, m, err := c.ReadFrom(b)
	if err != nil {
		t.Fatalf("read on %v: %v", c.LocalAddr(), err)
	}
	return got{string(b[:n]), src, m}
}

// none checks that nothing arrives within a second of (bubble) time.
func none(t *testing.T, name string, c udp.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	n, src, _, err := c.ReadFrom(make([]byte, 100))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s: got %d bytes from %v (err %v), want nothing", name, n, src, err)
	}
}

func TestBroadcast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b, c := lan()
		recv := map[string]udp.Conn{
			"a":  listen(t, a, wild(port), udp.Options{}),
			"b1": listen(t, b, wild(port), udp.Options{}),
			"b2": listen(t, b, wild(port), udp.Options{}),
		}
		quiet := map[string]udp.Conn{
			"c":            listen(t, c, wild(port), udp.Options{}),
			"b bound addr": listen(t, b, netip.AddrPortFrom(bAddr, port), udp.Options{}),
			"b other port": listen(t, b, wild(port+1), udp.Options{}),
		}
		s := listen(t, a, netip.AddrPort{}, udp.Options{})
		for _, ifIndex := range []int{0, 2} {
			write(t, s, "hi", netip.MustParseAddrPort("10.0.0.255:28471"), ifIndex)
			want := got{"hi", netip.AddrPortFrom(aAddr, s.LocalAddr().Port()), udp.Meta{IfIndex: 2, Dst: netip.MustParseAddr("10.0.0.255")}}
			for name, r := range recv {
				if g := read(t, r); g != want {
					t.Errorf("ifindex %d, %s: got %+v, want %+v", ifIndex, name, g, want)
				}
			}
			for name, r := range quiet {
				none(t, name, r)
			}
		}

		// The limited broadcast leaves by the chosen interface.
		write(t, s, "all", netip.MustParseAddrPort("255.255.255.255:28471"), 3)
		want := got{"all", netip.AddrPortFrom(netip.MustParseAddr("192.168.1.1"), s.LocalAddr().Port()), udp.Meta{IfIndex: 5, Dst: netip.MustParseAddr("255.255.255.255")}}
		if g := read(t, quiet["c"]); g != want {
			t.Errorf("limited broadcast: got %+v, want %+v", g, want)
		}
		none(t, "b1", recv["b1"])
	})
}

func TestMulticast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b, _ := lan()
		dst := netip.AddrPortFrom(group, port)
		self := listen(t, a, wild(port), udp.Options{})
		joined := listen(t, b, wild(port), udp.Options{})
		other := listen(t, b, wild(port), udp.Options{})
		for _, j := range []struct {
			c       udp.Conn
			ifIndex int
		}{{self, 2}, {joined, 2}} {
			if err := j.c.JoinGroup(j.ifIndex, group); err != nil {
				t.Fatal(err)
			}
		}
		wrongIf := listen(t, a, wild(port), udp.Options{})
		if err := wrongIf.JoinGroup(3, group); err != nil {
			t.Fatal(err)
		}

		s := listen(t, a, netip.AddrPort{}, udp.Options{})
		write(t, s, "m", dst, 2)
		want := got{"m", netip.AddrPortFrom(aAddr, s.LocalAddr().Port()), udp.Meta{IfIndex: 2, Dst: group}}
		for name, r := range map[string]udp.Conn{"self": self, "joined": joined} {
			if g := read(t, r); g != want {
				t.Errorf("%s: got %+v, want %+v", name, g, want)
			}
		}
		none(t, "not joined", other)
		none(t, "joined elsewhere", wrongIf)

		// Without loopback the sender's host hears nothing.
		quiet := listen(t, a, netip.AddrPort{}, udp.Options{NoMulticastLoopback: true})
		write(t, quiet, "q", dst, 2)
		if g := read(t, joined); g.msg != "q" {
			t.Errorf("no loopback: b got %q, want %q", g.msg, "q")
		}
		none(t, "no loopback, self", self)

		// After leaving, nothing arrives.
		if err := joined.LeaveGroup(2, group); err != nil {
			t.Fatal(err)
		}
		write(t, s, "gone", dst, 2)
		none(t, "left", joined)
		if g := read(t, self); g.msg != "gone" {
			t.Errorf("self after b left: got %q, want %q", g.msg, "gone")
		}
	})
}

func TestUnicast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b, _ := lan()
		first := listen(t, b, wild(port), udp.Options{})
		last := listen(t, b, wild(port), udp.Options{})
		s := listen(t, a, netip.AddrPortFrom(aAddr, 0), udp.Options{})
		write(t, s, "u", netip.AddrPortFrom(bAddr, port), 0)
		want := got{"u", s.LocalAddr(), udp.Meta{IfIndex: 2, Dst: bAddr}}
		if g := read(t, last); g != want {
			t.Errorf("got %+v, want %+v", g, want)
		}
		none(t, "earlier conn on the port", first)

		// Nobody owns 10.0.0.99: lost without an error, as on a real LAN.
		write(t, s, "lost", netip.MustParseAddrPort("10.0.0.99:28471"), 0)

		for _, tc := range []struct {
			name    string
			dst     netip.AddrPort
			ifIndex int
			want    error
		}{
			{"no route", netip.MustParseAddrPort("172.16.0.1:1"), 0, syscall.ENETUNREACH},
			{"no interface", netip.AddrPortFrom(bAddr, port), 9, syscall.ENODEV},
			{"port 0", netip.AddrPortFrom(bAddr, 0), 0, syscall.EINVAL},
			{"ipv6", netip.MustParseAddrPort("[::1]:1"), 0, syscall.EINVAL},
		} {
			if _, err := s.WriteTo([]byte("x"), tc.dst, tc.ifIndex); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		}
	})
}

func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, b, _ := lan()
		c := listen(t, b, netip.AddrPort{}, udp.Options{})
		start := time.Now()
		if err := c.SetReadDeadline(start.Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := c.ReadFrom(make([]byte, 10))
		if !os.IsTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("timed out after %v, want 3s", d)
		}

		// Moving the deadline into the past unblocks a pending read.
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, _, err := c.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b, _ := lan()
		c, err := b.Listen(t.Context(), wild(port), udp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, _, err := c.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending read: got %v, want net.ErrClosed", err)
		}
		if err := c.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second close: got %v, want net.ErrClosed", err)
		}
		if _, err := c.WriteTo([]byte("x"), netip.AddrPortFrom(aAddr, port), 0); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write: got %v, want net.ErrClosed", err)
		}
		if err := c.JoinGroup(2, group); !errors.Is(err, net.ErrClosed) {
			t.Errorf("join: got %v, want net.ErrClosed", err)
		}
		// The port no longer receives.
		s := listen(t, a, netip.AddrPort{}, udp.Options{})
		write(t, s, "x", netip.AddrPortFrom(bAddr, port), 0)
		if _, _, _, err := c.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: got %v, want net.ErrClosed", err)
		}
	})
}

func TestLossAndInject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, a, b, _ := lan()
		ra := listen(t, a, wild(port), udp.Options{})
		rb := listen(t, b, wild(port), udp.Options{})
		var seen []udptest.Packet
		hub.SetLoss(func(p udptest.Packet) bool {
			seen = append(seen, udptest.Packet{Src: p.Src, Dst: p.Dst, Host: p.Host, IfIndex: p.IfIndex})
			return p.Host == "b"
		})
		s := listen(t, a, netip.AddrPort{}, udp.Options{})
		bcast := netip.MustParseAddrPort("10.0.0.255:28471")
		write(t, s, "x", bcast, 2)
		if g := read(t, ra); g.msg != "x" {
			t.Errorf("a: got %q, want %q", g.msg, "x")
		}
		none(t, "b behind loss", rb)
		src := netip.AddrPortFrom(aAddr, s.LocalAddr().Port())
		want := []udptest.Packet{{Src: src, Dst: bcast, Host: "a", IfIndex: 2}, {Src: src, Dst: bcast, Host: "b", IfIndex: 2}}
		if !slices.EqualFunc(seen, want, func(x, y udptest.Packet) bool {
			return x.Src == y.Src && x.Dst == y.Dst && x.Host == y.Host && x.IfIndex == y.IfIndex
		}) {
			t.Errorf("loss saw %+v, want %+v", seen, want)
		}

		// Injected datagrams bypass the loss function and may come from anywhere.
		rb2 := listen(t, b, wild(port), udp.Options{})
		evil := netip.MustParseAddrPort("10.0.0.66:666")
		if n := b.Inject(2, evil, bcast, []byte("\xff\x00garbage")); n != 2 {
			t.Errorf("inject reached %d conns, want 2", n)
		}
		want1 := got{"\xff\x00garbage", evil, udp.Meta{IfIndex: 2, Dst: bcast.Addr()}}
		for _, r := range []udp.Conn{rb, rb2} {
			if g := read(t, r); g != want1 {
				t.Errorf("injected: got %+v, want %+v", g, want1)
			}
		}
		if n := b.Inject(2, evil, netip.AddrPortFrom(aAddr, port), []byte("x")); n != 0 {
			t.Errorf("inject to an address b does not own reached %d conns, want 0", n)
		}
	})
}

func TestTruncate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, b, _ := lan()
		c := listen(t, b, wild(port), udp.Options{})
		b.Inject(2, netip.MustParseAddrPort("10.0.0.9:1"), netip.AddrPortFrom(bAddr, port), []byte("0123456789"))
		buf := make([]byte, 4)
		n, _, _, err := c.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "0123" {
			t.Errorf("got %q, %v, want %q, nil", buf[:n], err, "0123")
		}
	})
}

func TestListenAndJoinErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, _, _ := lan()
		c1 := listen(t, a, netip.AddrPort{}, udp.Options{})
		c2 := listen(t, a, netip.AddrPortFrom(aAddr, 0), udp.Options{})
		if p1, p2 := c1.LocalAddr().Port(), c2.LocalAddr().Port(); p1 == 0 || p2 == 0 || p1 == p2 {
			t.Errorf("ephemeral ports: got %d and %d, want two different non-zero ports", p1, p2)
		}
		if c, err := a.Listen(t.Context(), netip.AddrPortFrom(bAddr, port), udp.Options{}); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("listen on b's address: got %v, %v, want EADDRNOTAVAIL", c, err)
		}
		if err := c1.JoinGroup(2, group); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			f       func(int, netip.Addr) error
			ifIndex int
			group   netip.Addr
			want    error
		}{
			{"join twice", c1.JoinGroup, 2, group, syscall.EADDRINUSE},
			{"leave not joined", c1.LeaveGroup, 3, group, syscall.EADDRNOTAVAIL},
			{"no interface", c1.JoinGroup, 9, group, syscall.ENODEV},
			{"unicast group", c1.JoinGroup, 2, aAddr, syscall.EINVAL},
		} {
			if err := tc.f(tc.ifIndex, tc.group); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		}
	})
}

func TestBroadcastAddress(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"10.0.0.1/24", "10.0.0.255"},
		{"10.1.2.3/8", "10.255.255.255"},
		{"192.168.1.130/25", "192.168.1.255"},
		{"172.16.0.1/30", "172.16.0.3"},
		{"172.16.0.1/31", "invalid IP"},
		{"172.16.0.1/32", "invalid IP"},
	} {
		i := udptest.Interface{Index: 1, Prefix: netip.MustParsePrefix(tc.prefix)}
		if got := i.Broadcast().String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.prefix, got, tc.want)
		}
	}
}
