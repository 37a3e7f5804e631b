package iface

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Netlink lists interfaces through a netlink handle. Every call acts on the
// network namespace the handle was created in, not on the namespace of the
// calling thread, so a Netlink made inside a namespace (for example in a
// test harness's host) keeps describing it from any goroutine.
//
// A Netlink is safe for concurrent use.
type Netlink struct {
	// mu guards h, ns and closed.
	mu     sync.Mutex
	h      handle
	own    bool           // h was created by NewNetlink; Close closes it
	ns     netns.NsHandle // the handle's namespace, for Subscribe; -1 when unknown
	closed bool
}

var _ Subscriber = (*Netlink)(nil)

// NewNetlink returns a lister that uses h. When h is nil it creates a handle
// for the calling thread's current network namespace right away (the
// namespace is fixed at this point), closed by [Netlink.Close]; a handle the
// caller passes stays the caller's to close, after the Netlink is done with
// it. A Netlink on a caller's handle cannot [Netlink.Subscribe], since the
// handle does not tell its namespace: use [NewNetlinkAt] for that.
func NewNetlink(h *netlink.Handle) (*Netlink, error) {
	if h != nil {
		return &Netlink{h: handleOf(h), ns: netns.None()}, nil
	}
	// Keep the thread (and so the namespace) for both the handle and the
	// namespace descriptor.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("iface: open network namespace: %w", err)
	}
	// Links and addresses are all it asks for: only the routing family's
	// socket (netlink would open XFRM and NETFILTER ones as well).
	h, err = netlink.NewHandle(syscall.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("iface: open netlink handle: %w", err)
	}
	return &Netlink{h: handleOf(h), own: true, ns: ns}, nil
}

// NewNetlinkAt returns a lister for the network namespace ns, whichever
// namespace the calling thread is in. It keeps its own descriptor of ns, so
// the caller may close ns afterwards; [Netlink.Close] releases everything.
func NewNetlinkAt(ns netns.NsHandle) (*Netlink, error) {
	own, err := netns.GetFromPath(fmt.Sprintf("/proc/self/fd/%d", int(ns)))
	if err != nil {
		return nil, fmt.Errorf("iface: open network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(own, syscall.NETLINK_ROUTE) // as in NewNetlink
	if err != nil {
		own.Close()
		return nil, fmt.Errorf("iface: open netlink handle: %w", err)
	}
	return &Netlink{h: handleOf(h), own: true, ns: own}, nil
}

// dumpAttempts bounds retries of a netlink dump that the kernel interrupted
// because the interface list changed while it was being read.
const dumpAttempts = 5

// Interfaces lists the links of the handle's namespace and their IPv4 and
// IPv6 addresses (with their DAD and lifetime state), sorted by index. A
// dump interrupted by a concurrent change is retried a few times before it
// is reported.
func (n *Netlink) Interfaces() ([]Interface, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("iface: netlink lister is closed")
	}
	var err error
	for range dumpAttempts {
		var out []Interface
		out, err = n.dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return nil, err
}

func (n *Netlink) dump() ([]Interface, error) {
	links, err := n.h.links()
	if err != nil {
		return nil, fmt.Errorf("iface: list links: %w", err)
	}
	// One dump for every link's addresses: AddrList with a link filters a
	// full dump anyway.
	addrs, err := n.h.addrs()
	if err != nil {
		return nil, fmt.Errorf("iface: list addresses: %w", err)
	}
	out := make([]Interface, 0, len(links))
	byIndex := make(map[int]int, len(links))
	for _, l := range links {
		la := l.Attrs()
		i := Interface{
			Index: la.Index,
			Name:  la.Name,
			Flags: fromNetFlags(la.Flags),
			MTU:   la.MTU,
		}
		if la.RawFlags&flagIFFRunning != 0 || la.OperState == netlink.OperUp {
			i.Flags |= FlagRunning
		}
		if !allZero(la.HardwareAddr) {
			i.HardwareAddr = slices.Clone(la.HardwareAddr)
		}
		byIndex[i.Index] = len(out)
		out = append(out, i)
	}
	for _, a := range addrs {
		k, ok := byIndex[a.LinkIndex]
		if !ok {
			continue // the link appeared after the link dump
		}
		if ad, ok := newAddr(a.IPNet, a.Broadcast); ok {
			if ad.Is6() {
				ad.Flags = addrFlags(a.Flags)
			}
			out[k].Addrs = append(out[k].Addrs, ad)
		}
	}
	sortByIndex(out)
	return out, nil
}

// addrFlags converts the kernel's IFA_F_* flags of an IPv6 address.
func addrFlags(f int) AddrFlags {
	var out AddrFlags
	for _, m := range []struct {
		k int
		f AddrFlags
	}{
		{syscall.IFA_F_TENTATIVE, AddrTentative},
		{syscall.IFA_F_DEPRECATED, AddrDeprecated},
		{syscall.IFA_F_DADFAILED, AddrDADFailed},
	} {
		if f&m.k != 0 {
			out |= m.f
		}
	}
	return out
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Close closes the handle if NewNetlink created it. Later calls to
// Interfaces fail. Close is idempotent and safe for concurrent use.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.own {
		n.h.close()
		n.ns.Close()
	}
	n.h, n.ns = handle{}, netns.None()
	return nil
}

// handle is what a Netlink calls of its *netlink.Handle, as functions
// rather than the pointer itself. A value stored in an interface (a
// Netlink is an iface.Lister) makes the linker keep every exported method
// of the types its fields reach once the binary uses reflection to call
// methods by name (text/template does), and netlink.Handle has 257: as
// closures, only these are linked, and lanfind is 1.4 MB smaller.
type handle struct {
	links func() ([]netlink.Link, error)
	addrs func() ([]netlink.Addr, error)
	close func()
}

func handleOf(h *netlink.Handle) handle {
	return handle{
		links: h.LinkList,
		addrs: func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) },
		close: h.Close,
	}
}
