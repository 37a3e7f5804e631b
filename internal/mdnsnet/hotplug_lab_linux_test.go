package mdnsnet_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/mdns"
)

// TestNSEndpointHotplug gives h0, whose endpoint runs on eth0 alone
// (segment 0), a link to h1's segment at runtime and then takes it away:
// Loop reports the new interface, the endpoint hears h1's multicast on it
// (the group was joined there) and its own multicast reaches h1 through
// it; then Loop reports it gone, and Interfaces no longer lists it.
func TestNSEndpointHotplug(t *testing.T) {
	lan := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}, {1}}})
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	e0 := newEndpoint(t, h0)
	e1 := newEndpoint(t, h1)
	e0.Follow()

	changes := make(chan mdnsnet.Change, 8)
	from0 := make(chan mdnsnet.Packet, 16)
	from1 := make(chan mdnsnet.Packet, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	wg.Go(func() {
		e0.Loop(ctx, nil, func(p mdnsnet.Packet) { push(from1, p) },
			func(c mdnsnet.Change) { changes <- c },
			func(time.Time) (time.Duration, bool) { return time.Hour, false })
	})
	wg.Go(func() { e1.Run(ctx, func(p mdnsnet.Packet) { push(from0, p) }) })
	if names(e0.Interfaces()) != "eth0" {
		t.Fatalf("h0 uses %q at start, want eth0", names(e0.Interfaces()))
	}

	ifname := lan.AddLink(t, h0, 1)
	c := next(t, changes, 3*time.Second, "interface change reported")
	if names(c.Added) != ifname || len(c.Removed) != 0 || names(c.Before) != "eth0" {
		t.Fatalf("change: added %q removed %q before %q, want %s added to eth0", names(c.Added), names(c.Removed), names(c.Before), ifname)
	}
	if got := names(e0.Interfaces()); got != "eth0 "+ifname {
		t.Fatalf("h0 uses %q, want eth0 %s", got, ifname)
	}
	// h1 asks; h0 hears it on the new link.
	q := &mdns.Message{Questions: []mdns.Question{{Name: "hot._http._tcp.local.", Type: dnsmessage.TypeSRV}}}
	if err := e1.Send(q, 0); err != nil {
		t.Fatal(err)
	}
	if p := next(t, from1, 2*time.Second, "datagram"); p.Iface.Name != ifname || p.Src.Addr() != h1.Addr("eth0") {
		t.Fatalf("h0 heard %v on %s, want h1 (%v) on %s", p.Src, p.Iface.Name, h1.Addr("eth0"), ifname)
	}
	// h0 multicasts on every interface in use: h1 hears it from the new
	// link's address.
	if err := e0.Send(q, 0); err != nil {
		t.Fatal(err)
	}
	if p := next(t, from0, 2*time.Second, "datagram"); p.Src.Addr() != h0.Addr(ifname) {
		t.Fatalf("h1 heard %v, want h0's %v", p.Src, h0.Addr(ifname))
	}

	h0.DelLink(t, ifname)
	c = next(t, changes, 3*time.Second, "interface change reported")
	if len(c.Added) != 0 || names(c.Removed) != ifname {
		t.Fatalf("change: added %q removed %q, want %s removed", names(c.Added), names(c.Removed), ifname)
	}
	if got := names(e0.Interfaces()); got != "eth0" {
		t.Fatalf("h0 uses %q after the link went, want eth0", got)
	}
}

func newEndpoint(t *testing.T, h *netnstest.Host) *mdnsnet.Endpoint {
	t.Helper()
	e, err := mdnsnet.New(t.Context(), mdnsnet.Config{Lister: h.Lister(t), ListenPacket: h.ListenPacket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func push(ch chan<- mdnsnet.Packet, p mdnsnet.Packet) {
	select {
	case ch <- p:
	default: // the test reads only the first few
	}
}

func names(ifs []iface.Interface) string {
	var out []string
	for _, i := range ifs {
		out = append(out, i.Name)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// next returns what ch gives within d, or fails t saying what was missing.
func next[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
		var zero T
		return zero
	}
}
