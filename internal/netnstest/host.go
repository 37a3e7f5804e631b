//go:build linux

package netnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Host is one network namespace of a lab.
type Host struct {
	// Name is "h0", "h1", ...: host i is Name "h<i>" with Index i.
	Name  string
	Index int

	lab *Lab
	ns  netns.NsHandle
	nl  *netlink.Handle // for the harness; Lister makes its own
	ifs []hostIf
}

// hostIf is one eth interface of a host.
type hostIf struct {
	name      string       // eth0, eth1, ...
	prefix    netip.Prefix // 10.77.seg.(10+i)/24; invalid for StackIPv6
	prefix6   netip.Prefix // fd00:77:seg::(10+i)/64; invalid for StackIPv4
	linkLocal netip.Addr   // fe80::... from the MAC; invalid for StackIPv4
	mac       net.HardwareAddr
	port      string // the veth end in the switch namespace
	seg       int
	stack     Stack
}

func (hi hostIf) broadcast() netip.Addr { return iface.BroadcastOf(hi.prefix) }

func (h *Host) iface(ifname string) hostIf {
	k := slices.IndexFunc(h.ifs, func(hi hostIf) bool { return hi.name == ifname })
	if k < 0 {
		panic(fmt.Sprintf("netnstest: host %s has no interface %q", h.Name, ifname))
	}
	return h.ifs[k]
}

// Addr returns the host's IPv4 address on interface ifname, e.g.
// 10.77.0.11 for h1's eth0, invalid when the interface has no IPv4 (see
// [Stack]). It panics if the host has no such interface.
func (h *Host) Addr(ifname string) netip.Addr { return h.iface(ifname).prefix.Addr() }

// Addr6 returns the host's unique local IPv6 address on interface ifname,
// e.g. fd00:77:0::b for h1's eth0, invalid when the interface has no IPv6.
// It panics if the host has no such interface.
func (h *Host) Addr6(ifname string) netip.Addr { return h.iface(ifname).prefix6.Addr() }

// Prefix6 returns Addr6 with its prefix length, /64.
func (h *Host) Prefix6(ifname string) netip.Prefix { return h.iface(ifname).prefix6 }

// LinkLocal returns the host's IPv6 link-local address on interface ifname
// (without zone), invalid when the interface has no IPv6. It panics if the
// host has no such interface.
func (h *Host) LinkLocal(ifname string) netip.Addr { return h.iface(ifname).linkLocal }

// Prefix returns the host's address on interface ifname with its prefix
// length, e.g. 10.77.0.11/24. It panics if the host has no such interface.
func (h *Host) Prefix(ifname string) netip.Prefix { return h.iface(ifname).prefix }

// Broadcast returns the broadcast address of interface ifname's subnet,
// e.g. 10.77.0.255. It panics if the host has no such interface.
func (h *Host) Broadcast(ifname string) netip.Addr { return h.iface(ifname).broadcast() }

// HardwareAddr returns the MAC address of interface ifname,
// 02:00:0a:4d:<segment>:<10+index>. It panics if the host has no such
// interface.
func (h *Host) HardwareAddr(ifname string) net.HardwareAddr {
	return slices.Clone(h.iface(ifname).mac)
}

// enter locks the calling goroutine to its thread and moves the thread into
// the host's namespace. restore moves it back and unlocks it; if moving back
// fails, restore leaves the thread locked, so the runtime discards it when
// the goroutine exits, and reports the error.
func (h *Host) enter() (restore func() error, err error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("netnstest: get current namespace: %w", err)
	}
	if err := netns.Set(h.ns); err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("netnstest: enter %s: %w", h.Name, err)
	}
	return func() error {
		defer orig.Close()
		if err := netns.Set(orig); err != nil {
			return fmt.Errorf("netnstest: leave %s (thread left locked): %w", h.Name, err)
		}
		runtime.UnlockOSThread()
		return nil
	}, nil
}

// Do runs fn on the calling goroutine, locked to its OS thread, inside the
// host's namespace, and then restores the thread's namespace. Sockets,
// netlink handles and processes fn creates belong to the host; goroutines
// fn starts do not run in it. If restoring fails, Do fails t and leaves the
// thread locked, so the runtime discards it.
func (h *Host) Do(t testing.TB, fn func()) {
	t.Helper()
	restore, err := h.enter()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := restore(); err != nil {
			t.Fatal(err)
		}
	}()
	fn()
}

// ListenPacket opens a socket inside the host with lanfind's socket options
// (udp.ListenConfig), restoring the calling thread's namespace afterwards.
// It has the shape of udp.ListenFunc, to be injected into the code under
// test. The lab closes the socket at cleanup if its user has not.
func (h *Host) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	restore, err := h.enter()
	if err != nil {
		return nil, err
	}
	c, err := udp.ListenConfig().ListenPacket(ctx, network, address)
	if rerr := restore(); rerr != nil {
		if c != nil {
			c.Close()
		}
		return nil, rerr
	}
	if err != nil {
		return nil, fmt.Errorf("netnstest: %s: %w", h.Name, err)
	}
	h.lab.track(c)
	return c, nil
}

// Lister returns an interface lister for the host: an iface.Netlink made
// for the host's namespace (iface.NewNetlinkAt), so it can also subscribe
// to the host's changes; closed by t.Cleanup.
func (h *Host) Lister(t testing.TB) *iface.Netlink {
	t.Helper()
	n, err := iface.NewNetlinkAt(h.ns)
	if err != nil {
		t.Fatalf("netnstest: %s: %v", h.Name, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// Start starts cmd so that the process runs in the host's namespace: the
// calling thread enters the host, forks the child (which inherits the
// thread's namespace) and returns. The caller still calls cmd.Wait; a
// cleanup on t kills the process if it is still running then.
func (h *Host) Start(t testing.TB, cmd *exec.Cmd) error {
	t.Helper()
	restore, err := h.enter()
	if err != nil {
		return err
	}
	serr := cmd.Start()
	if err := restore(); err != nil {
		if serr == nil {
			cmd.Process.Kill()
		}
		t.Fatal(err)
	}
	if serr != nil {
		return fmt.Errorf("netnstest: %s: start %s: %w", h.Name, cmd.Path, serr)
	}
	p := cmd.Process
	t.Cleanup(func() {
		// os.Process refers to the child by pidfd, so this cannot hit a
		// reused PID once the child has been waited for.
		if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("netnstest: %s: kill %s (pid %d): %v", h.Name, cmd.Path, p.Pid, err)
		}
	})
	return nil
}

// Run runs a command, such as "ip" or "nft", in the host's namespace and
// returns its combined output. The command is killed if t's context ends.
func (h *Host) Run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := h.Start(t, cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return out.String(), fmt.Errorf("netnstest: %s: %s: %w", h.Name, cmd, err)
	}
	return out.String(), nil
}

// SetLink sets the host's interface ifname administratively up or down.
// Setting it up waits until it has carrier again, so traffic passes when
// SetLink returns.
func (h *Host) SetLink(t testing.TB, ifname string, up bool) {
	t.Helper()
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		t.Fatalf("netnstest: %s: find %s: %v", h.Name, ifname, err)
	}
	if !up {
		if err := h.nl.LinkSetDown(link); err != nil {
			t.Fatalf("netnstest: %s: set %s down: %v", h.Name, ifname, err)
		}
		return
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		t.Fatalf("netnstest: %s: set %s up: %v", h.Name, ifname, err)
	}
	if err := waitOperUp(h.nl, []string{ifname}); err != nil {
		t.Fatalf("netnstest: %s: %v", h.Name, err)
	}
	if err := waitForwarding(h.lab.swnl, []string{h.iface(ifname).port}); err != nil {
		t.Fatalf("netnstest: switch: %v", err)
	}
}
