package zone_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/zone"
)

// serve starts s on its sockets until the test ends.
func serve(t *testing.T, s *zone.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close after Run: %v", err)
		}
	})
}

// resolver returns a stdlib resolver that asks only s.
func resolver(s *zone.Server) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr().String())
		},
	}
}

// TestServerLoopback serves on 127.0.0.1 and asks with the Go resolver, a
// real client that retries a truncated answer over TCP.
func TestServerLoopback(t *testing.T) {
	s := newZone(t, zone.Config{Addr: "127.0.0.1:0"})
	for i := range 100 { // too many A records for 1232 bytes
		r := web
		r.Name = "many"
		r.Heard = []netip.Addr{netipFrom(10, 2, 0, byte(i))}
		s.Set(zone.Key{Instance: 100 + uint64(i)}, r)
	}
	serve(t, s)
	r := resolver(s)
	ctx := t.Context()

	addrs, err := r.LookupHost(ctx, "db.lan")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if want := []string{"10.0.0.1", "10.0.0.2", "fd00::1"}; !slices.Equal(addrs, want) {
		t.Errorf("LookupHost db.lan: got %q, want %q", addrs, want)
	}
	_, srvs, err := r.LookupSRV(ctx, "postgres", "tcp", "lan")
	if err != nil {
		t.Fatal(err)
	}
	var ports []uint16
	for _, srv := range srvs {
		ports = append(ports, srv.Port)
		if srv.Target != "db.lan." {
			t.Errorf("SRV target %q, want db.lan.", srv.Target)
		}
	}
	slices.Sort(ports)
	if want := []uint16{5432, 5433}; !slices.Equal(ports, want) {
		t.Errorf("SRV ports %v, want %v", ports, want)
	}
	txt, err := r.LookupTXT(ctx, "db.lan")
	if err != nil {
		t.Fatal(err)
	}
	// The Go resolver joins the strings of one record.
	if !slices.Contains(txt, "role=primaryversion=16") {
		t.Errorf("TXT %q: want role=primaryversion=16 among them", txt)
	}
	_, err = r.LookupHost(ctx, "nosuch.lan")
	if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("LookupHost nosuch.lan: got %v, want not found", err)
	}
	many, err := r.LookupHost(ctx, "many.lan")
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 100 {
		t.Errorf("LookupHost many.lan: got %d addresses, want 100 (over TCP after TC)", len(many))
	}
	st := s.Stats()
	if st.Truncated == 0 || st.TCP == 0 {
		t.Errorf("stats %+v: want a truncated UDP answer and a TCP query", st)
	}
	if st.RateLimited != 0 {
		t.Errorf("stats %+v: want no rate limit on loopback", st)
	}
}

func netipFrom(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// TestServerTCP checks several queries on one TCP connection, the idle
// timeout, and the cap on connections.
func TestServerTCP(t *testing.T) {
	s := newZone(t, zone.Config{Addr: "127.0.0.1:0", MaxConns: 1, IdleTimeout: 300 * time.Millisecond})
	serve(t, s)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	for id := range uint16(3) {
		msg := q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, id)
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
			t.Fatal(err)
		}
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatal(err)
		}
		resp := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, resp); err != nil {
			t.Fatal(err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatal(err)
		}
		if m.Header.ID != id || len(m.Answers) != 2 {
			t.Errorf("query %d: got ID %d and %d answers, want 2", id, m.Header.ID, len(m.Answers))
		}
	}

	// A second connection while the first is open is closed at once.
	c2, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := c2.Read(make([]byte, 1)); err == nil {
		t.Errorf("second connection: read %d bytes, want it closed", n)
	}
	if got := s.Stats().ConnsRejected; got != 1 {
		t.Errorf("ConnsRejected %d, want 1", got)
	}

	// The first is closed once idle.
	start := time.Now()
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("idle connection: read %d bytes, want it closed", n)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 300ms", d)
	}
}

// TestServerClose checks that Close stops Run and is idempotent, and that
// a server without an address needs no sockets.
func TestServerClose(t *testing.T) {
	s := newZone(t, zone.Config{Addr: "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running 5s after Close")
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("open connection survived Close")
	}

	bare := newZone(t, zone.Config{})
	if bare.Addr().IsValid() {
		t.Errorf("no Addr: got %v", bare.Addr())
	}
	if err := bare.Close(); err != nil {
		t.Errorf("Close without sockets: %v", err)
	}
	if _, err := zone.New(zone.Config{Addr: "localhost:53"}); err == nil {
		t.Error("Addr localhost:53: want an error (IP:PORT only)")
	}
}
