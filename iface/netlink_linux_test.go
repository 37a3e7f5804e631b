package iface_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
)

func find(t *testing.T, all []iface.Interface, name string) iface.Interface {
	t.Helper()
	k := slices.IndexFunc(all, func(i iface.Interface) bool { return i.Name == name })
	if k < 0 {
		t.Fatalf("no interface %q in %v", name, all)
	}
	return all[k]
}

func checkHost(t *testing.T, h *netnstest.Host, all []iface.Interface) {
	t.Helper()
	if len(all) != 2 {
		t.Fatalf("got %d interfaces %v, want lo and eth0", len(all), all)
	}
	if !slices.IsSortedFunc(all, func(a, b iface.Interface) int { return a.Index - b.Index }) {
		t.Errorf("interfaces not sorted by index: %v", all)
	}

	lo := find(t, all, "lo")
	if want := iface.FlagUp | iface.FlagRunning | iface.FlagLoopback; lo.Flags != want {
		t.Errorf("lo flags: got %v, want %v", lo.Flags, want)
	}
	wantLo := []iface.Addr{{
		Prefix:    netip.MustParsePrefix("127.0.0.1/8"),
		Broadcast: netip.MustParseAddr("127.255.255.255"),
	}}
	if !slices.Equal(lo.Addrs, wantLo) {
		t.Errorf("lo addresses: got %v, want %v", lo.Addrs, wantLo)
	}
	if lo.HardwareAddr != nil {
		t.Errorf("lo hardware address: got %v, want none", lo.HardwareAddr)
	}
	if ok, reason := lo.Usable(); ok || reason != "loopback" {
		t.Errorf("lo.Usable() = %v, %q; want false, loopback", ok, reason)
	}

	eth0 := find(t, all, "eth0")
	if want := iface.FlagUp | iface.FlagRunning | iface.FlagBroadcast | iface.FlagMulticast; eth0.Flags != want {
		t.Errorf("eth0 flags: got %v, want %v", eth0.Flags, want)
	}
	wantEth := []iface.Addr{{Prefix: h.Prefix("eth0"), Broadcast: h.Broadcast("eth0")}}
	if !slices.Equal(eth0.Addrs, wantEth) {
		t.Errorf("eth0 addresses: got %v, want %v", eth0.Addrs, wantEth)
	}
	if got, want := eth0.HardwareAddr.String(), h.HardwareAddr("eth0").String(); got != want {
		t.Errorf("eth0 hardware address: got %s, want %s", got, want)
	}
	if eth0.MTU != 1500 {
		t.Errorf("eth0 MTU: got %d, want 1500", eth0.MTU)
	}
	if ok, reason := eth0.Usable(); !ok {
		t.Errorf("eth0.Usable() = false, %q; want true", reason)
	}
	sel, err := iface.Select(all, nil, nil)
	if err != nil || len(sel) != 1 || sel[0].Name != "eth0" {
		t.Errorf("Select(all, nil) = %v, %v; want [eth0]", sel, err)
	}
}

func TestNSNetlink(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h := lab.Hosts[1]
	all, err := h.Lister(t).Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	checkHost(t, h, all)
	if got, want := h.Prefix("eth0"), netip.MustParsePrefix("10.77.0.11/24"); got != want {
		t.Errorf("host prefix: got %v, want %v", got, want)
	}
}

// TestNSSystem checks that System made inside a namespace keeps listing that
// namespace when called from outside it, and that a link's state shows.
func TestNSSystem(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	var (
		l     iface.Lister
		close func()
		err   error
	)
	h.Do(t, func() { l, close, err = iface.System() })
	if err != nil {
		t.Fatal(err)
	}
	defer close()
	all, err := l.Interfaces() // on whatever thread, outside the host
	if err != nil {
		t.Fatal(err)
	}
	checkHost(t, h, all)

	h.SetLink(t, "eth0", false)
	all, err = l.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	eth0 := find(t, all, "eth0")
	if eth0.Flags&(iface.FlagUp|iface.FlagRunning) != 0 {
		t.Errorf("eth0 flags after link down: got %v, want neither up nor running", eth0.Flags)
	}
	if _, err := iface.Select(all, []string{"eth0"}, nil); err == nil || err.Error() != "iface: eth0 is down" {
		t.Errorf("Select(eth0) with eth0 down: got %v, want iface: eth0 is down", err)
	}

	close()
	close() // idempotent
	if _, err := l.Interfaces(); err == nil {
		t.Errorf("Interfaces after Close: got no error")
	}
}

// BenchmarkSystemList is what a one-shot command pays for the interfaces
// at start: open the system lister, list once, close it. It lists the
// calling thread's namespace and sends nothing.
func BenchmarkSystemList(b *testing.B) {
	for b.Loop() {
		l, closeLister, err := iface.System()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Interfaces(); err != nil {
			b.Fatal(err)
		}
		closeLister()
	}
}
