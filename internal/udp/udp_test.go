package udp_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/udp"
)

// Tier 3: real sockets, unicast on 127.0.0.1 only. Never broadcast or
// multicast here.

var localhost = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)

func listen(t *testing.T, addr netip.AddrPort, o udp.Options) udp.Conn {
	t.Helper()
	c, err := udp.Listen(t.Context(), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Error(err)
		}
	})
	return c
}

// read reads one datagram with a deadline a few seconds away.
func read(t *testing.T, c udp.Conn, size int) ([]byte, netip.AddrPort, udp.Meta) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	n, src, m, err := c.ReadFrom(b)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b[:n], src, m
}

func write(t *testing.T, c udp.Conn, b []byte, dst netip.AddrPort, ifIndex int) {
	t.Helper()
	n, err := c.WriteTo(b, dst, ifIndex)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b) {
		t.Fatalf("write: got %d bytes, want %d", n, len(b))
	}
}

// loopback returns the loopback interface (read-only look-up in the test's
// own namespace).
func loopback(t *testing.T) net.Interface {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
			return ifi
		}
	}
	t.Skip("no loopback interface up")
	return net.Interface{}
}

func TestRoundTrip(t *testing.T) {
	lo := loopback(t)
	a := listen(t, localhost, udp.Options{})
	b := listen(t, localhost, udp.Options{})
	if p := b.LocalAddr(); p.Addr() != localhost.Addr() || p.Port() == 0 {
		t.Fatalf("LocalAddr: got %v, want 127.0.0.1 with a port", p)
	}
	for _, ifIndex := range []int{0, lo.Index} {
		msg := []byte("hello " + lo.Name)
		write(t, a, msg, b.LocalAddr(), ifIndex)
		got, src, m := read(t, b, 100)
		if !bytes.Equal(got, msg) {
			t.Errorf("ifindex %d: got %q, want %q", ifIndex, got, msg)
		}
		if src != a.LocalAddr() {
			t.Errorf("ifindex %d: got src %v, want %v", ifIndex, src, a.LocalAddr())
		}
		if want := (udp.Meta{IfIndex: lo.Index, Dst: localhost.Addr()}); m != want {
			t.Errorf("ifindex %d: got meta %+v, want %+v", ifIndex, m, want)
		}
	}
}

func TestSharedPort(t *testing.T) {
	a := listen(t, localhost, udp.Options{})
	b := listen(t, a.LocalAddr(), udp.Options{})
	if a.LocalAddr() != b.LocalAddr() {
		t.Fatalf("got %v and %v, want the same address", a.LocalAddr(), b.LocalAddr())
	}
	// The plain ListenConfig shares the port too.
	pc, err := udp.ListenConfig().ListenPacket(t.Context(), "udp4", a.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadDeadline(t *testing.T) {
	c := listen(t, localhost, udp.Options{})
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := c.ReadFrom(make([]byte, 10))
	if !os.IsTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}

	// A past deadline set from another goroutine unblocks a pending read.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := c.ReadFrom(make([]byte, 10))
		done <- err
	}()
	time.AfterFunc(10*time.Millisecond, func() {
		if err := c.SetReadDeadline(time.Now()); err != nil {
			t.Error(err)
		}
	})
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked 5s after the deadline")
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c := listen(t, localhost, udp.Options{})
	done := make(chan error, 1)
	go func() {
		_, _, _, err := c.ReadFrom(make([]byte, 10))
		done <- err
	}()
	time.AfterFunc(10*time.Millisecond, func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked 5s after Close")
	}
	if _, err := c.WriteTo([]byte("x"), localhost, 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: got %v, want net.ErrClosed", err)
	}
}

// TestTruncate documents that a datagram longer than the buffer fills it,
// reports n == len(b) without an error, and loses the rest.
func TestTruncate(t *testing.T) {
	a := listen(t, localhost, udp.Options{})
	b := listen(t, localhost, udp.Options{})
	long := bytes.Repeat([]byte("0123456789"), 200) // 2000 bytes, DF is fine on loopback
	write(t, a, long, b.LocalAddr(), 0)
	write(t, a, []byte("next"), b.LocalAddr(), 0)
	got, _, _ := read(t, b, 10)
	if !bytes.Equal(got, long[:10]) {
		t.Errorf("got %q, want %q", got, long[:10])
	}
	if got, _, _ := read(t, b, 10); string(got) != "next" {
		t.Errorf("after truncation: got %q, want %q", got, "next")
	}
}

type notUDP struct {
	net.PacketConn
	closed bool
}

func (c *notUDP) Close() error { c.closed = true; return nil }

func TestListenPacket(t *testing.T) {
	// The zero AddrPort means 0.0.0.0:0, opened as udp4.
	var network, address string
	_, err := udp.Listen(t.Context(), netip.AddrPort{}, udp.Options{
		ListenPacket: func(ctx context.Context, n, a string) (net.PacketConn, error) {
			network, address = n, a
			return udp.ListenConfig().ListenPacket(ctx, n, localhost.String())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if network != "udp4" || address != "0.0.0.0:0" {
		t.Errorf("got ListenPacket(%q, %q), want (%q, %q)", network, address, "udp4", "0.0.0.0:0")
	}

	fake := &notUDP{}
	_, err = udp.Listen(t.Context(), localhost, udp.Options{
		ListenPacket: func(context.Context, string, string) (net.PacketConn, error) { return fake, nil },
	})
	if want := "udp: listen 127.0.0.1:0: ListenPacket returned *udp_test.notUDP, want *net.UDPConn"; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	if !fake.closed {
		t.Error("the non-UDP conn was not closed")
	}

	cause := errors.New("no sockets today")
	_, err = udp.Listen(t.Context(), localhost, udp.Options{
		ListenPacket: func(context.Context, string, string) (net.PacketConn, error) { return nil, cause },
	})
	if !errors.Is(err, cause) || !strings.HasPrefix(err.Error(), "udp: listen 127.0.0.1:0: ") {
		t.Errorf("got %v, want %v wrapped with a prefix", err, cause)
	}
}

func TestListenInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr netip.AddrPort
		o    udp.Options
	}{
		{"zone", netip.MustParseAddrPort("[fe80::1%1]:0"), udp.Options{}},
		{"ipv6 ttl", netip.MustParseAddrPort("[::1]:0"), udp.Options{MulticastTTL: 256}},
		{"ttl", localhost, udp.Options{MulticastTTL: 256}},
		{"negative ttl", localhost, udp.Options{MulticastTTL: -1}},
		{"read buffer", localhost, udp.Options{ReadBuffer: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := udp.Listen(t.Context(), tc.addr, tc.o)
			if err == nil {
				c.Close()
				t.Fatal("got no error")
			}
			if !strings.HasPrefix(err.Error(), "udp: listen ") {
				t.Errorf("got %q, want prefix %q", err, "udp: listen ")
			}
		})
	}
}

func TestWriteToInvalid(t *testing.T) {
	c := listen(t, localhost, udp.Options{})
	if _, err := c.WriteTo([]byte("x"), netip.MustParseAddrPort("[::1]:9"), 0); err == nil {
		t.Error("IPv6 destination: got no error")
	}
	// A missing interface fails in the kernel before anything is sent.
	_, err := c.WriteTo([]byte("x"), c.LocalAddr(), 1<<30)
	if err == nil || !strings.Contains(err.Error(), "ifindex 1073741824") {
		t.Errorf("missing interface: got %v, want an error naming the ifindex", err)
	}
}

// TestJoinGroupLoopback joins only on the loopback interface, so any
// membership report stays on this host.
func TestJoinGroupLoopback(t *testing.T) {
	lo := loopback(t)
	c := listen(t, localhost, udp.Options{})
	group := netip.MustParseAddr("239.255.70.70")
	if err := c.JoinGroup(lo.Index, group); err != nil {
		t.Fatal(err)
	}
	if err := c.LeaveGroup(lo.Index, group); err != nil {
		t.Fatal(err)
	}
	if err := c.LeaveGroup(lo.Index, group); err == nil {
		t.Error("second leave: got no error")
	}
	for _, tc := range []struct {
		name    string
		ifIndex int
		group   netip.Addr
		want    string
	}{
		{"unicast", lo.Index, netip.MustParseAddr("10.0.0.1"), "not an IPv4 multicast group"},
		{"ipv6", lo.Index, netip.MustParseAddr("ff02::1"), "not an IPv4 multicast group"},
		{"no interface", 1 << 30, group, "udp: join 239.255.70.70 on ifindex 1073741824: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.JoinGroup(tc.ifIndex, tc.group)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
