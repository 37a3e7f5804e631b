package zone_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/zone"
)

// TestNSRateLimit serves on a lab host's LAN address, where UDP answers
// are rate-limited per source: a burst of queries from one neighbour gets
// about the burst answered and the rest dropped and counted, while a
// second neighbour is still answered.
func TestNSRateLimit(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	const rate = 10 // per second; a burst of 20
	var s *zone.Server
	var err error
	addr := netip.AddrPortFrom(h0.Addr("eth0"), 5354)
	h0.Do(t, func() { s, err = zone.New(zone.Config{Addr: addr.String(), Rate: rate}) })
	if err != nil {
		t.Fatal(err)
	}
	s.Set(zone.Key{Instance: 1}, db1)
	serve(t, s)

	// flood sends n queries from h without waiting and counts the answers
	// that arrive within a second of the last.
	flood := func(h *netnstest.Host, n int) int {
		t.Helper()
		var c *net.UDPConn
		h.Do(t, func() { c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr)) })
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range n {
			if _, err := c.Write(q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, uint16(i))); err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		buf := make([]byte, 1500)
		for {
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err != nil {
				return got
			}
			got++
		}
	}
	const n = 200
	got := flood(h1, n)
	// The burst, and what the rate adds while the queries arrive.
	if got < 2*rate || got > 2*rate+rate {
		t.Errorf("%d queries at once from one source: %d answered, want about the burst of %d", n, got, 2*rate)
	}
	if st := s.Stats(); st.RateLimited < uint64(n-got-rate) {
		t.Errorf("stats %+v: want the %d unanswered queries counted in RateLimited", st, n-got)
	}
	if got := flood(h2, 5); got != 5 {
		t.Errorf("another source: %d of 5 answered, want all", got)
	}
}
