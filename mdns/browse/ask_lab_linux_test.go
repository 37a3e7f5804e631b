package browse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/browse"
)

// TestNSBrowseAsk: once a running Browser is warm (and Avahi has done
// announcing), Ask sends one query
// listing the 80 instances it knows (two datagrams: the known answers do
// not fit one) and avahi-daemon, which publishes them, answers nothing;
// a second Ask within the second sends nothing and waits for the first's
// answers.
func TestNSBrowseAsk(t *testing.T) {
	requiretest.Need(t, "avahi-daemon")
	lan := netnstest.New(t, 3)
	h0, h1, h2 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2]
	const n = 80
	var ss []mdnslab.Service
	for i := range n {
		ss = append(ss, mdnslab.Service{Name: fmt.Sprintf("web %d", i), Type: "_http._tcp", Port: 8000 + i})
	}
	av := mdnslab.StartAvahi(t, h0, "webhost", ss...)
	waitAvahiSees(t, av, "_http._tcp", fmt.Sprintf("web %d", n-1))
	http := []mdns.ServiceType{{Name: "http", Proto: "tcp"}}
	b := newBrowser(t, h1, browse.Config{Types: http})
	ups := make(chan struct{}, n)
	done := make(chan error, 1)
	go func() {
		done <- b.Run(t.Context(), func(ev browse.Event) {
			if ev.Kind == browse.Up {
				ups <- struct{}{}
			}
		})
	}()
	for range n {
		select {
		case <-ups:
		case <-time.After(10 * time.Second):
			t.Fatal("the browser did not find every instance within 10 s")
		}
	}
	// Avahi announces new services again 1, 2 and 4 s later: wait until
	// it has been quiet for longer than that, and the browser is warm.
	deadline := time.Now().Add(30 * time.Second)
	heard, quietSince := b.Stats().Received-b.Stats().Own, time.Now()
	for !b.Warm() || time.Since(quietSince) < 4500*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("Avahi not quiet, or the browser not warm (%v), 30 s after start", b.Warm())
		}
		time.Sleep(100 * time.Millisecond)
		if st := b.Stats(); st.Received-st.Own != heard {
			heard, quietSince = st.Received-st.Own, time.Now()
		}
	}
	before := b.Stats()
	start := time.Now()
	if err := b.Ask(t.Context(), http); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	after := b.Stats()
	t.Logf("Ask took %v: sent %d datagrams (%d bytes), received %d (%d of them its own)", took,
		after.Sent-before.Sent, after.SentBytes-before.SentBytes,
		after.Received-before.Received, after.Own-before.Own)
	if took < browse.AskWait {
		t.Errorf("Ask returned after %v, want at least %v", took, browse.AskWait)
	}
	if got := after.Sent - before.Sent; got != 2 {
		t.Errorf("Ask sent %d datagrams, want 2 (a question and %d known answers)", got, n)
	}
	// Avahi answers a PTR that the query does not list: nothing but the
	// query's own looped-back copies must come back.
	if got := (after.Received - before.Received) - (after.Own - before.Own); got > 0 {
		t.Errorf("Avahi answered with %d datagrams, want none: every instance was a known answer", got)
	}
	start = time.Now()
	if err := b.Ask(t.Context(), http); err != nil {
		t.Fatal(err)
	}
	if again := b.Stats(); again.Sent != after.Sent {
		t.Errorf("a second Ask within a second sent %d datagrams, want none", again.Sent-after.Sent)
	}
	if took := time.Since(start); took > browse.AskWait {
		t.Errorf("the second Ask waited %v, want no more than the first's answers (%v)", took, browse.AskWait)
	}

	// Right after Avahi multicast its answers to another querier (h2's
	// first question, unknown to it), a question with the
	// unicast-response bit would be answered by unicast at once for every
	// instance the query's first datagram does not list; Ask's, without
	// it, is not answered at all.
	time.Sleep(time.Until(start.Add(1100 * time.Millisecond))) // Ask's once a second
	other := newBrowser(t, h2, browse.Config{Types: http})
	first := b.Stats().Received - b.Stats().Own
	octx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	other.Collect(octx) // one query, then gone
	cancel()
	// h1 hears h2's query, then Avahi's answer, a few datagrams some 50
	// ms apart: Ask once the query and at least one answer have come and
	// 100 ms passed without another, well within Avahi's half second.
	heard, quietSince = b.Stats().Received-b.Stats().Own, time.Now()
	deadline = time.Now().Add(2 * time.Second)
	for heard < first+2 || time.Since(quietSince) < 100*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("Avahi's multicast answer to h2 did not reach h1 within 2 s")
		}
		time.Sleep(5 * time.Millisecond)
		if st := b.Stats(); st.Received-st.Own != heard {
			heard, quietSince = st.Received-st.Own, time.Now()
		}
	}
	before = b.Stats()
	if err := b.Ask(t.Context(), http); err != nil {
		t.Fatal(err)
	}
	after = b.Stats()
	if got := (after.Received - before.Received) - (after.Own - before.Own); got > 0 {
		t.Errorf("Ask after Avahi's multicast: answered with %d datagrams, want none", got)
	}
	b.Close()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
