package browse

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// TestCacheBoundedPerSource: one responder address holds at most
// MaxPerSource records; when forging hosts fill the whole cache, a record
// of a host holding less still gets in, in place of the oldest record of
// the host holding most; and a TTL of years is cut to MaxTTL.
func TestCacheBoundedPerSource(t *testing.T) {
	b := &Browser{
		cache: map[string]*cached{},
		bySrc: map[netip.Addr]int{},
		found: map[string]bool{},
		asked: map[string]bool{},
	}
	http := mdns.ServiceType{Name: "http", Proto: "tcp"}
	now := time.Now()
	n := 0
	send := func(src string, count int, ttl uint32) {
		p := mdnsnet.Packet{Src: netip.MustParseAddrPort(src + ":5353")}
		for range count {
			n++
			b.add(mdns.Record{Name: http.FQDN(), Type: dnsmessage.TypePTR, TTL: ttl,
				Target: mdns.InstanceName(fmt.Sprintf("forged %d", n), http)}, now, p)
			now = now.Add(time.Millisecond)
		}
	}
	count := func(src string) int {
		k := 0
		for _, c := range b.cache {
			if c.owner == netip.MustParseAddr(src) {
				k++
			}
		}
		if k != b.bySrc[netip.MustParseAddr(src)] {
			t.Errorf("%s: %d records in cache, %d counted", src, k, b.bySrc[netip.MustParseAddr(src)])
		}
		return k
	}

	send("10.0.0.66", MaxPerSource+100, 1<<31)
	if got := count("10.0.0.66"); got != MaxPerSource {
		t.Fatalf("one source holds %d records, want MaxPerSource (%d)", got, MaxPerSource)
	}
	for _, c := range b.cache {
		if c.rec.TTL != MaxTTL || c.expires.Sub(c.received) != MaxTTL*time.Second {
			t.Fatalf("TTL %d (expires after %v), want MaxTTL (%d s)", c.rec.TTL, c.expires.Sub(c.received), MaxTTL)
		}
	}
	send("10.0.0.67", MaxPerSource, 4500)
	send("10.0.0.68", MaxPerSource, 4500)
	send("10.0.0.69", MaxPerSource, 4500)
	if len(b.cache) != MaxRecords {
		t.Fatalf("cache holds %d, want it full (%d)", len(b.cache), MaxRecords)
	}
	oldest := mdns.InstanceName("forged 1", http)
	send("10.0.0.9", 1, 120) // a genuine host, late
	if got := count("10.0.0.9"); got != 1 {
		t.Errorf("the late host got %d records in, want 1", got)
	}
	if got := count("10.0.0.66"); got != MaxPerSource-1 {
		t.Errorf("the first flooder holds %d, want %d: the eviction took its oldest", got, MaxPerSource-1)
	}
	for _, c := range b.cache {
		if c.rec.Target == oldest {
			t.Errorf("the oldest record (%s) is still cached", oldest)
		}
	}
	// Expiry and removal keep the counts.
	b.expire(now.Add(MaxTTL*time.Second), func(Event) {})
	if len(b.cache) != 0 || len(b.bySrc) != 0 {
		t.Errorf("after every TTL: %d records, counts %v, want none", len(b.cache), b.bySrc)
	}
}
