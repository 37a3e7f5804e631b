package announce_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// gatedConn is a udp.Conn whose beacon writes wait while the gate is
// shut, and which counts the goodbyes written.
type gatedConn struct {
	udp.Conn
	mu       sync.Mutex    // guards gate and goodbyes
	gate     chan struct{} // nil: open; else closed when it opens
	goodbyes int
}

func (c *gatedConn) WriteTo(p []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	c.mu.Lock()
	gate := c.gate
	if b, err := beacon.Parse(p); err == nil && b.Kind == beacon.KindGoodbye {
		c.goodbyes++
	}
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return c.Conn.WriteTo(p, dst, ifIndex)
}

// TestGoodbyeWhileBusy ends Run while its reader waits to hand over a
// reply (Run was busy sending, and a burst of queries filled the queue
// between them): the reader stops for the context too, and Run must
// still say goodbye whichever it notices first.
func TestGoodbyeWhileBusy(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			synctest.Test(t, testGoodbyeWhileBusy)
		})
	}
}

func testGoodbyeWhileBusy(t *testing.T) {
	hub := udptest.NewHub()
	ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixA})
	hq := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: prefixQ})
	var gc *gatedConn
	cfg := announce.Config{Services: []announce.Service{{Name: "db"}}, Lister: staticLister(prefixA), Hostname: "a", MachineID: "m", NoMulticast: true}
	cfg.Seam = &endpoint.Seam{Listen: func(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error) {
		c, err := ha.Listen(ctx, addr, o)
		if err != nil {
			return nil, err // the hub has no IPv6
		}
		gc = &gatedConn{Conn: c}
		return gc, nil
	}}
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := hq.Listen(context.Background(), netip.AddrPort{}, udp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	synctest.Wait() // the first beacon went

	// Shut the gate and make Run send (Update announces a new service).
	open := make(chan struct{})
	gc.mu.Lock()
	gc.gate = open
	gc.mu.Unlock()
	if err := s.Update([]announce.Service{{Name: "db"}, {Name: "web"}}); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	// More queries than Run's queue holds, while Run waits at the gate.
	for id := range uint64(100) {
		b := beacon.Beacon{Kind: beacon.KindQuery, Sender: 42, Seq: uint32(id + 1), RequestID: id + 1, Query: &beacon.Query{Name: "db"}}
		p, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.WriteTo(p, netip.AddrPortFrom(prefixA.Addr(), beacon.DefaultPort), 0); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait() // the reader waits to hand over a reply
	cancel()
	synctest.Wait() // and has stopped
	gc.mu.Lock()
	gc.gate = nil
	gc.mu.Unlock()
	close(open)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if gc.goodbyes == 0 {
		t.Fatal("Run ended without a goodbye")
	}
}
