package discover_test

import (
	"context"
	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/seal"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// IPv6 lab tests: IPv6-only, dual-stack and mixed segments.

// collectOn collects on h within a few seconds.
func collectOn(t *testing.T, h *netnstest.Host) []discover.Result {
	t.Helper()
	l, err := discover.New(discover.Config{
		ListenPacket: h.ListenPacket,
		Lister:       h.Lister(t),
		Logger:       testLogger(t),
	})
	if err != nil {
		t.Fatalf("discover.New on %s: %v", h.Name, err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect on %s: %v", h.Name, err)
	}
	return rs
}

func families(ps []discover.Path) (v4, v6 bool) {
	for _, p := range ps {
		if p.Addr.Is6() {
			v6 = true
		} else {
			v4 = true
		}
	}
	return v4, v6
}

// TestNSIPv6Only: on a segment with no IPv4 at all, a listener finds every
// service, over IPv6 only, with the announcer's unique local address
// first and a connectable [addr]:port.
func TestNSIPv6Only(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv6, netnstest.StackIPv6, netnstest.StackIPv6)
	for i, h := range lab.Hosts[1:] {
		startAnnouncer(t, h, string(rune('a'+i)), time.Minute)
	}
	rs := collectOn(t, lab.Hosts[0])
	if got := names(rs); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %v, want [a b]", got)
	}
	for i, r := range rs {
		h := lab.Hosts[1+i]
		if v4, v6 := families(r.Paths); v4 || !v6 {
			t.Errorf("%s: paths %v, want IPv6 only", r.Name, r.Paths)
		}
		if len(r.Addrs) == 0 || r.Addrs[0] != h.Addr6("eth0") {
			t.Errorf("%s: addrs %v, want %v first", r.Name, r.Addrs, h.Addr6("eth0"))
		}
		ap := r.AddrPort().String()
		if !strings.HasPrefix(ap, "[") || !strings.HasSuffix(ap, "]:7000") {
			t.Errorf("%s: AddrPort %s, want [addr]:7000", r.Name, ap)
		}
		if r.Addr.IsLinkLocalUnicast() && r.Addr.Zone() != "eth0" {
			t.Errorf("%s: link-local source %v, want zone eth0", r.Name, r.Addr)
		}
	}
}

// TestNSDualStack: on a dual-stack segment each instance is one result,
// heard over both families, listing its IPv4 and IPv6 addresses.
func TestNSDualStack(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackDual, netnstest.StackDual, netnstest.StackDual)
	for i, h := range lab.Hosts[1:] {
		startAnnouncer(t, h, string(rune('a'+i)), 200*time.Millisecond)
	}
	_, ev := startHostWatch(t, lab.Hosts[0])
	for i, name := range []string{"a", "b"} {
		h := lab.Hosts[1+i]
		what := name + " heard over both families with both addresses"
		ev.wait(t, 0, 5*time.Second, what, func(e discover.Event) bool {
			v4, v6 := families(e.Service.Paths)
			as := e.Service.Addrs
			return e.Service.Name == name && v4 && v6 &&
				slices.Contains(as, h.Addr("eth0")) && slices.Contains(as, h.Addr6("eth0"))
		})
	}
	rs := collectOn(t, lab.Hosts[0])
	if got := names(rs); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Collect: got %v, want each instance once: [a b]", got)
	}
	for _, r := range rs {
		// IPv4 before IPv6 by default; the link-local one is not listed
		// (the interface has a wider IPv6 address).
		if len(r.Addrs) != 2 || !r.Addrs[0].Is4() || !r.Addrs[1].Is6() {
			t.Errorf("%s: addrs %v, want [IPv4 IPv6-ULA]", r.Name, r.Addrs)
		}
		if r.Conflict {
			t.Errorf("%s: marked conflict, heard over two families from one sender", r.Name)
		}
	}
}

// TestNSMixedSegment: an IPv4-only host and an IPv6-only host on one
// segment each find the services they can reach and nothing else.
func TestNSMixedSegment(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv4, netnstest.StackIPv6,
		netnstest.StackIPv4, netnstest.StackIPv6, netnstest.StackDual)
	for _, a := range []struct {
		h    *netnstest.Host
		name string
	}{{lab.Hosts[2], "four"}, {lab.Hosts[3], "six"}, {lab.Hosts[4], "dual"}} {
		startAnnouncer(t, a.h, a.name, time.Minute)
	}
	for _, w := range []struct {
		h    *netnstest.Host
		want []string
		six  bool
	}{
		{lab.Hosts[0], []string{"dual", "four"}, false},
		{lab.Hosts[1], []string{"dual", "six"}, true},
	} {
		rs := collectOn(t, w.h)
		if got := names(rs); !slices.Equal(got, w.want) {
			t.Errorf("%s: got %v, want %v", w.h.Name, got, w.want)
		}
		for _, r := range rs {
			if v4, v6 := families(r.Paths); v4 == w.six || v6 != w.six {
				t.Errorf("%s: %s heard through %v, want only IPv6 %t",
					w.h.Name, r.Name, r.Paths, w.six)
			}
		}
	}
}

// TestNSDualStackOneAnswer: a dual-stack listener's query goes over both
// families, but a dual-stack announcer answers it once (over IPv4: the
// IPv6 copy carries beacon.FlagAlsoIPv4), while an IPv6-only announcer on
// the same segment answers that IPv6 copy and is found.
func TestNSDualStackOneAnswer(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackDual, netnstest.StackDual, netnstest.StackIPv6)
	dual := startAnnouncer(t, lab.Hosts[1], "dual", time.Minute)
	startAnnouncer(t, lab.Hosts[2], "six", time.Minute)
	rs := collectOn(t, lab.Hosts[0])
	if got := names(rs); !slices.Equal(got, []string{"dual", "six"}) {
		t.Fatalf("got %v, want [dual six]", got)
	}
	// Every repeat lists "dual" as known, so only the first query is
	// answered: once, not once per family.
	if st := dual.Stats(); st.Queries != 1 {
		t.Errorf("dual-stack announcer answered %d query attempts, want 1 (stats %+v)",
			st.Queries, st)
	}
}

// TestNSRemoveFamilyAddr removes the IPv6 address and then the last IPv4
// address from a running announcer's interface: the watcher hears the
// new address list within 2 s each time, without a restart.
func TestNSRemoveFamilyAddr(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackDual, netnstest.StackDual)
	h0 := lab.Hosts[0]
	startAnnouncer(t, h0, "a", time.Minute)
	_, ev := startHostWatch(t, lab.Hosts[1])
	n := ev.wait(t, 0, 5*time.Second, "a up with its IPv6 address", func(e discover.Event) bool {
		return e.Service.Name == "a" && slices.Contains(e.Service.Addrs, h0.Addr6("eth0"))
	})

	start := time.Now()
	h0.DelAddr(t, "eth0", h0.Prefix6("eth0"))
	ll := h0.LinkLocal("eth0").WithZone("eth0")
	n = ev.wait(t, n+1, 2*time.Second, "update without the IPv6 address", func(e discover.Event) bool {
		as := e.Service.Addrs
		return e.Kind == discover.EventUpdate && !slices.Contains(as, h0.Addr6("eth0")) &&
			slices.Contains(as, ll) // nothing wider left: the link-local one
	})
	t.Logf("IPv6 address removal heard after %v", time.Since(start))

	start = time.Now()
	h0.DelAddr(t, "eth0", h0.Prefix("eth0"))
	ev.wait(t, n+1, 2*time.Second, "update without the IPv4 address", func(e discover.Event) bool {
		return e.Kind == discover.EventUpdate && slices.Equal(e.Service.Addrs, []netip.Addr{ll})
	})
	t.Logf("IPv4 address removal heard after %v", time.Since(start))
}

// TestNSIPv6Keyed: keyed mode works over IPv6, where beacons and replies
// come from link-local addresses while the records list the unique local
// ones.
func TestNSIPv6Keyed(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv6, netnstest.StackIPv6)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	k, err := seal.NewKey([]byte("a lab key of at least thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	keys := seal.Keys{k}
	s, err := announce.New(announce.Config{Keys: keys, Interval: time.Minute,
		Services:     []announce.Service{{Name: "db", Port: 5432}},
		ListenPacket: h1.ListenPacket, Lister: h1.Lister(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stop := runInBackground(t, "announce Run", s.Run)
	t.Cleanup(stop)
	l, err := discover.New(discover.Config{Keys: keys, ListenPacket: h0.ListenPacket,
		Lister: h0.Lister(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Verified || rs[0].Addrs[0] != h1.Addr6("eth0") {
		t.Fatalf("got %v (stats %+v), want db, verified, at %v", rs, l.Stats(), h1.Addr6("eth0"))
	}
}
