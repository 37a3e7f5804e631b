package iface_test

import (
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSSubscribe checks that a netlink subscription made for a lab host
// (from the test goroutine, which is not in that namespace) reports address
// changes, link down and up, and a new interface, and that closing done
// stops it and leaves no goroutine behind.
func TestNSSubscribe(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0}}})
	h := lab.Hosts[0]
	l := h.Lister(t)
	ch := make(chan struct{})
	done := make(chan struct{})
	if err := l.Subscribe(ch, done); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			close(done)
			for range ch {
			}
		}
	})

	// waitFor waits for notifications until the lister shows what ok wants.
	waitFor := func(what string, ok func([]iface.Interface) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case _, open := <-ch:
				if !open {
					t.Fatalf("%s: channel closed", what)
				}
			case <-deadline:
				t.Fatalf("%s: no notification within 5s", what)
			}
			all, err := l.Interfaces()
			if err != nil {
				t.Fatal(err)
			}
			if ok(all) {
				return
			}
		}
	}
	hasAddr := func(name string, a netip.Addr) func([]iface.Interface) bool {
		return func(all []iface.Interface) bool {
			k := slices.IndexFunc(all, func(i iface.Interface) bool { return i.Name == name })
			return k >= 0 && all[k].Contains(a) && slices.ContainsFunc(all[k].Addrs, func(ad iface.Addr) bool { return ad.Prefix.Addr() == a })
		}
	}
	up := func(name string, want bool) func([]iface.Interface) bool {
		return func(all []iface.Interface) bool {
			k := slices.IndexFunc(all, func(i iface.Interface) bool { return i.Name == name })
			return k >= 0 && (all[k].Flags&iface.FlagUp != 0) == want
		}
	}
	not := func(f func([]iface.Interface) bool) func([]iface.Interface) bool {
		return func(all []iface.Interface) bool { return !f(all) }
	}

	extra := netip.MustParsePrefix("10.77.0.100/24")
	h.AddAddr(t, "eth0", extra)
	waitFor("address added", hasAddr("eth0", extra.Addr()))
	h.DelAddr(t, "eth0", extra)
	waitFor("address removed", not(hasAddr("eth0", extra.Addr())))
	h.SetLink(t, "eth0", false)
	waitFor("link down", up("eth0", false))
	h.SetLink(t, "eth0", true)
	waitFor("link up", up("eth0", true))
	name := lab.AddLink(t, h, 1)
	waitFor("new interface", hasAddr(name, h.Addr(name)))
	h.DelLink(t, name)
	waitFor("interface deleted", func(all []iface.Interface) bool {
		return !slices.ContainsFunc(all, func(i iface.Interface) bool { return i.Name == name })
	})

	if n := subscriptionGoroutines(); n == 0 {
		t.Fatal("found no subscription goroutine while subscribed: the leak check below would prove nothing")
	}
	close(done)
	stopped = true
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("channel not closed within 5s of done")
		}
	}
	// The subscription's goroutines (ours and the netlink package's) end
	// with it.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		left := subscriptionGoroutines()
		if left == 0 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d subscription goroutine(s) still running after done", left)
		}
	}
}

func subscriptionGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "SubscribeAt") || strings.Contains(g, "iface.(*nlSub)") {
			n++
		}
	}
	return n
}
