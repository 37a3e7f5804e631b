package browse_test

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/browse"
)

// TestNSCollectAfterLoss: a responder on h0 plays a lossy LAN for the
// one-shot Collect on h1. It answers only the browser's second PTR query
// with "late" (the first answer was lost) and only its sixth with "shy"
// (five answers lost in a row). Once "late" shows that the LAN loses
// answers, Collect must keep asking long enough to find "shy"; settling
// after three quiet queries, as on a lossless LAN, it would stop after
// the fifth query and miss it.
func TestNSCollectAfterLoss(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	http := mdns.ServiceType{Name: "http", Proto: "tcp"}

	c, idx := mdnslab.Peer(t, h0)
	answerAt := map[int]string{1: "late", 5: "shy"} // query index -> instance
	var (
		mu      sync.Mutex
		queries []time.Duration // when each PTR query of the browser came
	)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		b := make([]byte, mdns.MaxMessage+1)
		for {
			n, src, _, err := c.ReadFrom(b)
			if err != nil {
				return
			}
			m, err := mdns.Parse(b[:n])
			if err != nil || m.Response || src.Addr() != h1.Addr("eth0") ||
				!slices.ContainsFunc(m.Questions, func(q mdns.Question) bool {
					return q.Type == dnsmessage.TypePTR && mdns.EqualNames(q.Name, http.FQDN())
				}) {
				continue
			}
			mu.Lock()
			i := len(queries)
			queries = append(queries, time.Since(start))
			mu.Unlock()
			name, ok := answerAt[i]
			if !ok {
				continue
			}
			a := answer(name, http, h0.Addr("eth0"))
			p, err := a.AppendPack(nil)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.WriteTo(p, netip.AddrPortFrom(mdns.GroupV4, mdns.Port), idx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	t.Cleanup(func() {
		c.Close()
		wg.Wait()
	})

	b := newBrowser(t, h1, browse.Config{Types: []mdns.ServiceType{http}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	began := time.Now()
	entries, err := b.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	mu.Lock()
	t.Logf("Collect took %v; its PTR queries came at %v after the peer started; found %q", time.Since(began), queries, names)
	mu.Unlock()
	if !slices.Equal(names, []string{"late", "shy"}) {
		t.Errorf("found %q, want [late shy]: after a late answer Collect must ask until five queries bring nothing new", names)
	}
	if ctx.Err() != nil {
		t.Errorf("Collect ran into its 5 s timeout instead of settling")
	}
}

// answer is a response announcing instance of typ on a host at addr.
func answer(instance string, typ mdns.ServiceType, addr netip.Addr) mdns.Message {
	fqdn := mdns.InstanceName(instance, typ)
	host := "peer.local."
	return mdns.Message{
		Response: true,
		Answers: []mdns.Record{{
			Name: typ.FQDN(), Type: dnsmessage.TypePTR, TTL: 120, Target: fqdn,
		}},
		Additionals: []mdns.Record{
			{Name: fqdn, Type: dnsmessage.TypeSRV, Flush: true, TTL: 120, Target: host, Port: 8080},
			{Name: fqdn, Type: dnsmessage.TypeTXT, Flush: true, TTL: 120, Text: []string{"path=/"}},
			{Name: host, Type: dnsmessage.TypeA, Flush: true, TTL: 120, Addr: addr},
		},
	}
}
