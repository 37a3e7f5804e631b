//go:build linux

package netnstest

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/iface"
	"github.com/vishvananda/netlink"
)

// AddLink gives host h one more interface at runtime, on segment seg (an
// existing bridge, br<seg>), as a test of interface hot-plug needs: a veth
// pair whose host end is named eth<N> (N the number of interfaces h has),
// up, with address 10.77.seg.(10+h.Index)/24 and its broadcast. It returns
// the new interface's name once it has carrier and its bridge port
// forwards. Like the lab's own interfaces, it is removed with the lab.
func (l *Lab) AddLink(t testing.TB, h *Host, seg int) string {
	t.Helper()
	if slices.ContainsFunc(h.ifs, func(hi hostIf) bool { return hi.seg == seg }) {
		t.Fatalf("netnstest: %s already has an interface on segment %d", h.Name, seg)
	}
	br, err := l.sw.LinkByName(fmt.Sprintf("br%d", seg))
	if err != nil {
		t.Fatalf("netnstest: switch: find br%d: %v", seg, err)
	}
	hi := newHostIf(h.Index, len(h.ifs), seg, StackIPv4)
	if err := l.addVeth(h, hi); err != nil {
		t.Fatal(err)
	}
	if _, err := h.setUp(hi); err != nil {
		t.Fatal(err)
	}
	if err := waitOperUp(l.sw, []string{hi.port}); err != nil {
		t.Fatalf("netnstest: switch: %v", err)
	}
	port, err := l.sw.LinkByName(hi.port)
	if err != nil {
		t.Fatalf("netnstest: switch: find %s: %v", hi.port, err)
	}
	if err := l.sw.LinkSetMasterByIndex(port, br.Attrs().Index); err != nil {
		t.Fatalf("netnstest: switch: attach %s to br%d: %v", hi.port, seg, err)
	}
	if err := waitOperUp(h.nl, []string{hi.name}); err != nil {
		t.Fatalf("netnstest: %s: %v", h.Name, err)
	}
	if err := waitForwarding(l.swnl, []string{hi.port}); err != nil {
		t.Fatalf("netnstest: switch: %v", err)
	}
	h.ifs = append(h.ifs, hi)
	return hi.name
}

// DelLink deletes host h's interface ifname (and the veth pair it belongs
// to) at runtime, as when a USB adapter is unplugged.
func (h *Host) DelLink(t testing.TB, ifname string) {
	t.Helper()
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		t.Fatalf("netnstest: %s: find %s: %v", h.Name, ifname, err)
	}
	if err := h.nl.LinkDel(link); err != nil {
		t.Fatalf("netnstest: %s: delete %s: %v", h.Name, ifname, err)
	}
	h.ifs = slices.DeleteFunc(h.ifs, func(hi hostIf) bool { return hi.name == ifname })
}

// AddAddr adds the address p (with its subnet's broadcast) to host h's
// interface ifname at runtime. The lab's helpers that describe interfaces
// (Addr, Prefix, Broadcast) keep reporting the interface's first address.
func (h *Host) AddAddr(t testing.TB, ifname string, p netip.Prefix) {
	t.Helper()
	h.changeAddr(t, ifname, p, true)
}

// DelAddr removes the address p from host h's interface ifname.
func (h *Host) DelAddr(t testing.TB, ifname string, p netip.Prefix) {
	t.Helper()
	h.changeAddr(t, ifname, p, false)
}

func (h *Host) changeAddr(t testing.TB, ifname string, p netip.Prefix, add bool) {
	t.Helper()
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		t.Fatalf("netnstest: %s: find %s: %v", h.Name, ifname, err)
	}
	a := &netlink.Addr{IPNet: prefixIPNet(p)}
	if p.Addr().Is6() {
		a.Flags = syscall.IFA_F_NODAD // usable at once, as the lab's own
	}
	if add {
		if brd := iface.BroadcastOf(p); brd.IsValid() {
			a.Broadcast = brd.AsSlice()
		}
		err = h.nl.AddrAdd(link, a)
	} else {
		err = h.nl.AddrDel(link, a)
	}
	if err != nil {
		t.Fatalf("netnstest: %s: change %s on %s (add %t): %v", h.Name, p, ifname, add, err)
	}
}

// SetDAD switches IPv6 duplicate address detection on or off for
// addresses added later to host h's interface ifname (the lab switches it
// off), so a test can watch addresses go through the tentative and
// DAD-failed states.
func (h *Host) SetDAD(t testing.TB, ifname string, on bool) {
	t.Helper()
	val := "0"
	if on {
		val = "1"
	}
	if err := h.sysctl(ifname, "accept_dad", val); err != nil {
		t.Fatal(err)
	}
}

// AddAddrDAD adds the IPv6 address p to h's interface ifname with
// duplicate address detection (see [Host.SetDAD]), unlike [Host.AddAddr].
func (h *Host) AddAddrDAD(t testing.TB, ifname string, p netip.Prefix) {
	t.Helper()
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		t.Fatalf("netnstest: %s: find %s: %v", h.Name, ifname, err)
	}
	if err := h.nl.AddrAdd(link, &netlink.Addr{IPNet: prefixIPNet(p)}); err != nil {
		t.Fatalf("netnstest: %s: add %s to %s: %v", h.Name, p, ifname, err)
	}
}
