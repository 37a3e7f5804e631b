package iface_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSIPv6Addrs lists an IPv6-only host's addresses (unique local and
// link-local), then follows an address through duplicate address
// detection: tentative (not usable) until DAD ends, and one that another
// host already holds marked DAD-failed; each change is reported.
func TestNSIPv6Addrs(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv6, netnstest.StackIPv6)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	l := h1.Lister(t)
	eth0 := func() iface.Interface {
		all, err := l.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		return find(t, all, "eth0")
	}
	want := []iface.Addr{
		{Prefix: h1.Prefix6("eth0")},
		{Prefix: netip.PrefixFrom(h1.LinkLocal("eth0"), 64)},
	}
	if got := eth0(); !slices.Equal(got.Addrs, want) || !got.Has6() || got.Has4() {
		t.Fatalf("eth0 addresses: got %v, want %v", got.Addrs, want)
	}
	if ok, _ := eth0().Usable(); !ok {
		t.Error("an IPv6-only interface is not usable")
	}

	changes := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	if err := l.Subscribe(changes, done); err != nil {
		t.Fatal(err)
	}
	h1.SetDAD(t, "eth0", true)
	fresh := netip.MustParsePrefix("fd00:77::99/64")
	taken := h0.Prefix6("eth0") // h0 holds it: DAD on h1 fails
	h1.AddAddrDAD(t, "eth0", fresh)
	h1.AddAddrDAD(t, "eth0", taken)
	state := func(p netip.Prefix) (iface.AddrFlags, bool) {
		for _, a := range eth0().Addrs {
			if a.Prefix == p {
				return a.Flags, a.Usable()
			}
		}
		t.Fatalf("%v not listed", p)
		return 0, false
	}
	if f, usable := state(fresh); f&iface.AddrTentative == 0 || usable {
		t.Errorf("%v right after adding: flags %v, usable %t; want tentative, not usable",
			fresh, f, usable)
	}
	deadline := time.After(5 * time.Second)
	for {
		fFresh, usable := state(fresh)
		fTaken, _ := state(taken)
		if fFresh == 0 && usable && fTaken&iface.AddrDADFailed != 0 {
			break
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatalf("after 5s: %v %v (usable %t), %v %v; want usable, and dadfailed",
				fresh, fFresh, usable, taken, fTaken)
		}
	}
	a := iface.Addr{Prefix: taken, Flags: iface.AddrDADFailed}
	if a.Usable() || a.String() != taken.String()+" dadfailed" {
		t.Errorf("a DAD-failed address: usable %t, %q", a.Usable(), a.String())
	}
}
