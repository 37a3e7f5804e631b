//go:build linux

package netnstest

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
)

// Spec describes a lab with several segments.
type Spec struct {
	// Segments is the number of segments, each a bridge: br0, br1, ...
	// It must be at least 1 and at most 256.
	Segments int
	// Hosts[i] lists the segments host i has an interface on, in interface
	// order: eth0 on Hosts[i][0], eth1 on Hosts[i][1], and so on. A host is
	// on each segment at most once. There are at most 245 hosts.
	Hosts [][]int
	// Stacks[i][j] is the address family setup of host i's eth<j>; a
	// missing entry is StackIPv4. See [Stack].
	Stacks [][]Stack
}

// Stack says which address families a lab interface has.
type Stack int

const (
	// StackIPv4: an IPv4 address only; IPv6 is disabled on the
	// interface (no link-local address either). The default.
	StackIPv4 Stack = iota
	// StackDual: the IPv4 address and the IPv6 ones of StackIPv6.
	StackDual
	// StackIPv6: no IPv4 at all; the unique local address
	// fd00:77:<seg>::<10+i>/64 and the link-local address the kernel
	// derives from the MAC (see [Host.LinkLocal]). Duplicate address
	// detection is off, so both are usable at once.
	StackIPv6
)

func (st Stack) has4() bool { return st != StackIPv6 }
func (st Stack) has6() bool { return st != StackIPv4 }

func (s Spec) stack(i, j int) Stack {
	if i < len(s.Stacks) && j < len(s.Stacks[i]) {
		return s.Stacks[i][j]
	}
	return StackIPv4
}

const maxHosts = 245 // addresses 10.77.s.10 to 10.77.s.254

func (s Spec) validate() error {
	if s.Segments < 1 || s.Segments > 256 {
		return fmt.Errorf("netnstest: %d segments, want 1 to 256", s.Segments)
	}
	if len(s.Hosts) > maxHosts {
		return fmt.Errorf("netnstest: %d hosts, want at most %d", len(s.Hosts), maxHosts)
	}
	if len(s.Stacks) > len(s.Hosts) {
		return fmt.Errorf("netnstest: stacks for %d hosts, have %d", len(s.Stacks), len(s.Hosts))
	}
	for i, segs := range s.Hosts {
		if i < len(s.Stacks) && len(s.Stacks[i]) > len(segs) {
			return fmt.Errorf("netnstest: host %d: stacks for %d interfaces, has %d",
				i, len(s.Stacks[i]), len(segs))
		}
		for j, seg := range segs {
			if seg < 0 || seg >= s.Segments {
				return fmt.Errorf("netnstest: host %d: eth%d on segment %d, want 0 to %d", i, j, seg, s.Segments-1)
			}
			if slices.Index(segs, seg) != j {
				return fmt.Errorf("netnstest: host %d: two interfaces on segment %d", i, seg)
			}
		}
	}
	return nil
}

// Lab is a fake LAN of network namespaces. Its methods and its hosts'
// methods are safe for concurrent use, except that only the test goroutine
// may call those that take a testing.TB.
type Lab struct {
	// Hosts are the lab's hosts, in the order of the spec.
	Hosts []*Host

	t    testing.TB
	sw   *netlink.Handle  // the switch namespace
	swnl *nl.SocketHandle // the switch namespace, for bridge port state

	// mu guards the fields below.
	mu      sync.Mutex
	closers []io.Closer      // sockets made in hosts
	handles []func()         // close netlink handles and sockets the lab made
	nss     []netns.NsHandle // switch and host namespaces
}

// New builds a lab with one segment (bridge br0) and n hosts, each with eth0
// on it. It skips t unless the test runs on Linux as root, or fails it
// instead when LANFIND_LAB=require. Everything is torn down by t.Cleanup.
func New(t testing.TB, n int) *Lab {
	t.Helper()
	spec := Spec{Segments: 1, Hosts: make([][]int, n)}
	for i := range spec.Hosts {
		spec.Hosts[i] = []int{0}
	}
	return NewLab(t, spec)
}

// NewStacks builds a lab of one segment (br0) with one host per stack,
// each with eth0 set up as its stack says, skipping or failing t like [New].
func NewStacks(t testing.TB, stacks ...Stack) *Lab {
	t.Helper()
	spec := Spec{Segments: 1}
	for _, st := range stacks {
		spec.Hosts = append(spec.Hosts, []int{0})
		spec.Stacks = append(spec.Stacks, []Stack{st})
	}
	return NewLab(t, spec)
}

// NewLab builds the lab described by spec, skipping or failing t like [New].
func NewLab(t testing.TB, spec Spec) *Lab {
	t.Helper()
	gate(t)
	if err := spec.validate(); err != nil {
		t.Fatal(err)
	}
	l := &Lab{t: t}
	t.Cleanup(l.cleanup)

	nss, err := newNamespaces(1 + len(spec.Hosts))
	l.nss = nss
	if err != nil {
		t.Fatal(err)
	}
	if err := l.build(spec); err != nil {
		t.Fatal(err)
	}
	return l
}

// newNamespaces creates n network namespaces. Creating one moves the
// calling thread into it, so the thread is locked, and moved back to its
// original namespace after each. If moving back fails the thread stays
// locked, so the runtime discards it when the goroutine exits.
func newNamespaces(n int) (nss []netns.NsHandle, err error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("netnstest: get current namespace: %w", err)
	}
	defer orig.Close()
	for range n {
		ns, err := netns.New()
		// Go back even if New failed: it may have entered the namespace
		// before failing to open it.
		if rerr := netns.Set(orig); rerr != nil {
			if err == nil {
				nss = append(nss, ns)
			}
			return nss, fmt.Errorf("netnstest: return to original namespace (thread left locked): %w", rerr)
		}
		if err != nil {
			runtime.UnlockOSThread()
			return nss, fmt.Errorf("netnstest: create namespace: %w", err)
		}
		nss = append(nss, ns)
	}
	runtime.UnlockOSThread()
	return nss, nil
}

func (l *Lab) newHandle(ns netns.NsHandle) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netnstest: netlink handle: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handles = append(l.handles, h.Close)
	return h, nil
}

// build wires the lab in the namespaces in l.nss: l.nss[0] is the switch,
// l.nss[1+i] host i.
func (l *Lab) build(spec Spec) error {
	var err error
	if l.sw, err = l.newHandle(l.nss[0]); err != nil {
		return err
	}
	s, err := nl.GetNetlinkSocketAt(l.nss[0], netns.None(), syscall.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netnstest: switch: netlink socket: %w", err)
	}
	l.swnl = &nl.SocketHandle{Socket: s}
	l.mu.Lock()
	l.handles = append(l.handles, s.Close)
	l.mu.Unlock()
	bridges := make([]int, spec.Segments)
	for s := range bridges {
		br := &netlink.Bridge{
			LinkAttrs:         netlink.LinkAttrs{Name: fmt.Sprintf("br%d", s), Flags: net.FlagUp},
			MulticastSnooping: new(false),
		}
		if err := l.sw.LinkAdd(br); err != nil {
			return fmt.Errorf("netnstest: add bridge %s: %w", br.Name, err)
		}
		bridges[s] = br.Index
	}

	// Create every veth pair with its switch end up, and put the other end
	// into its host.
	var ports []string // switch ends
	for i, segs := range spec.Hosts {
		h := &Host{Name: fmt.Sprintf("h%d", i), Index: i, lab: l, ns: l.nss[1+i]}
		if h.nl, err = l.newHandle(h.ns); err != nil {
			return err
		}
		for j, seg := range segs {
			hi := newHostIf(i, j, seg, spec.stack(i, j))
			if err := l.addVeth(h, hi); err != nil {
				return err
			}
			ports = append(ports, hi.port)
			h.ifs = append(h.ifs, hi)
		}
		l.Hosts = append(l.Hosts, h)
	}

	// Configure the hosts.
	for _, h := range l.Hosts {
		if err := h.configure(); err != nil {
			return err
		}
	}

	// Enslave each switch end once it has carrier: a bridge without STP
	// makes a port that is up with carrier when added forward at once,
	// whereas a port that gains carrier later is enabled asynchronously
	// (from the kernel's link watch).
	if err := waitOperUp(l.sw, ports); err != nil {
		return fmt.Errorf("netnstest: switch: %w", err)
	}
	for _, h := range l.Hosts {
		for _, hi := range h.ifs {
			port, err := l.sw.LinkByName(hi.port)
			if err != nil {
				return fmt.Errorf("netnstest: switch: find %s: %w", hi.port, err)
			}
			if err := l.sw.LinkSetMasterByIndex(port, bridges[hi.seg]); err != nil {
				return fmt.Errorf("netnstest: switch: attach %s to br%d: %w", hi.port, hi.seg, err)
			}
		}
	}

	// Check each host sees exactly lo and its interfaces, all with carrier,
	// and each bridge port forwards.
	for _, h := range l.Hosts {
		if err := h.check(); err != nil {
			return err
		}
	}
	if err := waitForwarding(l.swnl, ports); err != nil {
		return fmt.Errorf("netnstest: switch: %w", err)
	}
	return nil
}

// newHostIf describes interface eth<j> of host i, on segment seg.
func newHostIf(i, j, seg int, st Stack) hostIf {
	hi := hostIf{
		name:  fmt.Sprintf("eth%d", j),
		mac:   net.HardwareAddr{0x02, 0x00, 0x0a, 0x4d, byte(seg), byte(10 + i)},
		port:  fmt.Sprintf("h%de%d", i, j),
		seg:   seg,
		stack: st,
	}
	if st.has4() {
		hi.prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, byte(seg), byte(10 + i)}), 24)
	}
	if st.has6() {
		hi.prefix6 = netip.PrefixFrom(netip.AddrFrom16([16]byte{
			0xfd, 0x00, 0x00, 0x77, 0x00, byte(seg), 15: byte(10 + i)}), 64)
		// EUI-64 from the MAC (RFC 4291 appendix A): the kernel's default.
		m := hi.mac
		hi.linkLocal = netip.AddrFrom16([16]byte{
			0xfe, 0x80,
			8: m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5],
		})
	}
	return hi
}

// addVeth creates hi's veth pair: the switch end up, the other end in h.
func (l *Lab) addVeth(h *Host, hi hostIf) error {
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: hi.port, Flags: net.FlagUp},
		PeerName:         hi.name,
		PeerHardwareAddr: hi.mac,
		PeerNamespace:    netlink.NsFd(h.ns),
	}
	if err := l.sw.LinkAdd(veth); err != nil {
		return fmt.Errorf("netnstest: add veth %s for %s %s: %w", hi.port, h.Name, hi.name, err)
	}
	return nil
}

// configure brings up the host's lo and eth interfaces, adds their
// addresses and the multicast route.
func (h *Host) configure() error {
	// IPv6 on lo only when some interface has it, so an IPv4-only host
	// has no IPv6 address at all.
	if !slices.ContainsFunc(h.ifs, func(hi hostIf) bool { return hi.stack.has6() }) {
		if err := h.sysctl("lo", "disable_ipv6", "1"); err != nil {
			return err
		}
	}
	lo, err := h.nl.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("netnstest: %s: find lo: %w", h.Name, err)
	}
	if err := h.nl.LinkSetUp(lo); err != nil {
		return fmt.Errorf("netnstest: %s: set lo up: %w", h.Name, err)
	}
	routed := false // the IPv4 multicast route goes to the first IPv4 interface
	for _, hi := range h.ifs {
		link, err := h.setUp(hi)
		if err != nil {
			return err
		}
		if !routed && hi.stack.has4() {
			routed = true
			route := &netlink.Route{
				LinkIndex: link.Attrs().Index,
				Dst:       prefixIPNet(netip.MustParsePrefix("224.0.0.0/4")),
				Scope:     netlink.SCOPE_LINK,
			}
			if err := h.nl.RouteAdd(route); err != nil {
				return fmt.Errorf("netnstest: %s: add route 224.0.0.0/4 dev %s: %w", h.Name, hi.name, err)
			}
		}
	}
	return nil
}

// setUp configures IPv6 on hi as its stack says (before the link is up,
// so no tentative address appears), brings it up and adds its addresses.
func (h *Host) setUp(hi hostIf) (netlink.Link, error) {
	sysctls := [][2]string{{"disable_ipv6", "1"}}
	if hi.stack.has6() {
		sysctls = [][2]string{{"disable_ipv6", "0"}, {"accept_dad", "0"}, {"accept_ra", "0"}}
	}
	for _, kv := range sysctls {
		if err := h.sysctl(hi.name, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	link, err := h.nl.LinkByName(hi.name)
	if err != nil {
		return nil, fmt.Errorf("netnstest: %s: find %s: %w", h.Name, hi.name, err)
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("netnstest: %s: set %s up: %w", h.Name, hi.name, err)
	}
	var addrs []*netlink.Addr
	if hi.stack.has4() {
		addrs = append(addrs, &netlink.Addr{
			IPNet:     prefixIPNet(hi.prefix),
			Broadcast: hi.broadcast().AsSlice(),
		})
	}
	if hi.stack.has6() {
		addrs = append(addrs, &netlink.Addr{IPNet: prefixIPNet(hi.prefix6)})
	}
	for _, a := range addrs {
		if err := h.nl.AddrAdd(link, a); err != nil {
			return nil, fmt.Errorf("netnstest: %s: add %s to %s: %w", h.Name, a.IPNet, hi.name, err)
		}
	}
	return link, nil
}

// sysctl sets net.ipv6.conf.<ifname>.<key> in the host.
func (h *Host) sysctl(ifname, key, val string) error {
	restore, err := h.enter()
	if err != nil {
		return err
	}
	// /proc/sys/net shows the namespace of the thread that opens it.
	werr := os.WriteFile(fmt.Sprintf("/proc/sys/net/ipv6/conf/%s/%s", ifname, key), []byte(val), 0)
	if err := restore(); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("netnstest: %s: set net.ipv6.conf.%s.%s=%s: %w",
			h.Name, ifname, key, val, werr)
	}
	return nil
}

// check verifies the host's interfaces are exactly lo and its eth
// interfaces, and waits until the eth interfaces have carrier.
func (h *Host) check() error {
	var eths []string
	for _, hi := range h.ifs {
		eths = append(eths, hi.name)
	}
	want := append([]string{"lo"}, eths...)
	links, err := h.nl.LinkList()
	if err != nil {
		return fmt.Errorf("netnstest: %s: list links: %w", h.Name, err)
	}
	var got []string
	for _, l := range links {
		got = append(got, l.Attrs().Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("netnstest: %s: interfaces %v, want %v", h.Name, got, want)
	}
	if err := waitOperUp(h.nl, eths); err != nil {
		return fmt.Errorf("netnstest: %s: %w", h.Name, err)
	}
	return h.waitLinkLocal(h.ifs)
}

// waitLinkLocal waits until each IPv6 interface of ifs has its
// link-local address, which the kernel adds when the link gets carrier,
// and none of its addresses is tentative any more.
func (h *Host) waitLinkLocal(ifs []hostIf) error {
	return poll(func() ([]string, error) {
		var pending []string
		for _, hi := range ifs {
			if !hi.stack.has6() {
				continue
			}
			link, err := h.nl.LinkByName(hi.name)
			if err != nil {
				return nil, err
			}
			addrs, err := h.nl.AddrList(link, netlink.FAMILY_V6)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool {
				ip, _ := netip.AddrFromSlice(a.IP)
				return ip == hi.linkLocal
			}) {
				pending = append(pending, h.Name+" "+hi.name+" "+hi.linkLocal.String())
			}
			// With DAD off an address is usable at once, but the kernel
			// clears its tentative flag from a work queue.
			for _, a := range addrs {
				if a.Flags&syscall.IFA_F_TENTATIVE != 0 {
					pending = append(pending, h.Name+" "+hi.name+" "+a.IPNet.String()+" tentative")
				}
			}
		}
		return pending, nil
	}, "link-local address")
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// cleanup closes, in order, the sockets made in the hosts, the netlink
// handles and the namespace descriptors; the kernel then frees the
// namespaces and everything in them.
func (l *Lab) cleanup() {
	l.mu.Lock()
	closers, handles, nss := l.closers, l.handles, l.nss
	l.closers, l.handles, l.nss = nil, nil, nil
	l.mu.Unlock()
	for _, c := range closers {
		c.Close() // usually already closed by its user: errors expected
	}
	for _, close := range handles {
		close()
	}
	for _, ns := range nss {
		if err := ns.Close(); err != nil {
			l.t.Errorf("netnstest: close namespace: %v", err)
		}
	}
}

func (l *Lab) track(c io.Closer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, c)
}
