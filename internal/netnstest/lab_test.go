//go:build linux

package netnstest_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/vishvananda/netns"
)

// port is the test port; each namespace has its own port space.
const port = 7777

var anyPort = ":" + strconv.Itoa(port)

func listen(t *testing.T, h *netnstest.Host, address string) *net.UDPConn {
	t.Helper()
	c, err := h.ListenPacket(t.Context(), "udp4", address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

func send(t *testing.T, c *net.UDPConn, msg string, dst netip.Addr) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort([]byte(msg), netip.AddrPortFrom(dst, port)); err != nil {
		t.Fatalf("send %q to %v: %v", msg, dst, err)
	}
}

// recv reads one datagram, waiting a few seconds at most.
func recv(t *testing.T, c *net.UDPConn) (string, netip.AddrPort) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1500)
	n, src, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		t.Fatalf("receive on %v: %v", c.LocalAddr(), err)
	}
	return string(b[:n]), netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
}

func expect(t *testing.T, c *net.UDPConn, msg string, from netip.Addr) {
	t.Helper()
	got, src := recv(t, c)
	if got != msg || src.Addr() != from {
		t.Errorf("got %q from %v, want %q from %v", got, src.Addr(), msg, from)
	}
}

func TestNSLayout(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	if len(lab.Hosts) != 3 {
		t.Fatalf("got %d hosts, want 3", len(lab.Hosts))
	}
	for i, h := range lab.Hosts {
		want := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, 0, byte(10 + i)}), 24)
		if h.Index != i || h.Prefix("eth0") != want || h.Addr("eth0") != want.Addr() {
			t.Errorf("host %d: got %s index %d prefix %v addr %v, want prefix %v",
				i, h.Name, h.Index, h.Prefix("eth0"), h.Addr("eth0"), want)
		}
		if got := h.Broadcast("eth0"); got != netip.MustParseAddr("10.77.0.255") {
			t.Errorf("host %d broadcast: got %v, want 10.77.0.255", i, got)
		}
		all, err := h.Lister(t).Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ifc := range all {
			names = append(names, ifc.Name)
		}
		if !slices.Equal(names, []string{"lo", "eth0"}) {
			t.Errorf("host %d interfaces: got %v, want [lo eth0]", i, names)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Addr(eth7): got no panic")
		}
	}()
	lab.Hosts[0].Addr("eth7")
}

func TestNSUnicast(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	a, b := lab.Hosts[0], lab.Hosts[1]
	ca := listen(t, a, ":0")
	cb := listen(t, b, netip.AddrPortFrom(b.Addr("eth0"), port).String())
	send(t, ca, "ping", b.Addr("eth0"))
	msg, src := recv(t, cb)
	if msg != "ping" || src.Addr() != a.Addr("eth0") {
		t.Fatalf("got %q from %v, want ping from %v", msg, src, a.Addr("eth0"))
	}
	if _, err := cb.WriteToUDPAddrPort([]byte("pong"), src); err != nil {
		t.Fatal(err)
	}
	expect(t, ca, "pong", b.Addr("eth0"))
}

func TestNSBroadcast(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	a := lab.Hosts[0]
	var rs []*net.UDPConn
	for _, h := range lab.Hosts[1:] {
		rs = append(rs, listen(t, h, anyPort))
	}
	ca := listen(t, a, ":0")
	send(t, ca, "hello", a.Broadcast("eth0"))
	for _, r := range rs {
		expect(t, r, "hello", a.Addr("eth0"))
	}
}

// TestNSSegments checks a two-segment lab: h0 is on both, h1 only on
// segment 0, h2 only on segment 1.
func TestNSSegments(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {0}, {1}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	for _, tc := range []struct {
		h      *netnstest.Host
		ifname string
		want   string
	}{
		{h0, "eth0", "10.77.0.10/24"},
		{h0, "eth1", "10.77.1.10/24"},
		{h1, "eth0", "10.77.0.11/24"},
		{h2, "eth0", "10.77.1.12/24"},
	} {
		if got := tc.h.Prefix(tc.ifname).String(); got != tc.want {
			t.Errorf("%s %s: got %s, want %s", tc.h.Name, tc.ifname, got, tc.want)
		}
	}
	all, err := h0.Lister(t).Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if sel, err := iface.Select(all, nil, nil); err != nil || len(sel) != 2 ||
		sel[0].Name != "eth0" || sel[1].Name != "eth1" || !sel[1].Contains(h2.Addr("eth0")) {
		t.Errorf("h0 usable interfaces: got %v, %v; want eth0 and eth1", sel, err)
	}

	c0 := listen(t, h0, anyPort)
	c1 := listen(t, h1, anyPort)
	c2 := listen(t, h2, anyPort)

	// h0 reaches both.
	send(t, c0, "to h1", h1.Addr("eth0"))
	expect(t, c1, "to h1", h0.Addr("eth0"))
	send(t, c0, "to h2", h2.Addr("eth0"))
	expect(t, c2, "to h2", h0.Addr("eth1"))

	// h1 has no route to segment 1.
	_, err = c1.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(h2.Addr("eth0"), port))
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("h1 to h2: got error %v, want ENETUNREACH", err)
	}

	// A broadcast on segment 1 reaches h0 but not h1: h1 gets the marker
	// h0 sends after receiving the broadcast first.
	send(t, c2, "seg1 broadcast", h2.Broadcast("eth0"))
	expect(t, c0, "seg1 broadcast", h2.Addr("eth0"))
	send(t, c0, "marker", h1.Addr("eth0"))
	expect(t, c1, "marker", h0.Addr("eth0"))
}

func TestNSRun(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h := lab.Hosts[1]
	out, err := h.Run(t, "ip", "-o", "-4", "addr", "show")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var ifnames []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("unexpected line %q", line)
		}
		ifnames = append(ifnames, f[1]+" "+f[3])
	}
	want := []string{"lo 127.0.0.1/8", "eth0 10.77.0.11/24"}
	if !slices.Equal(ifnames, want) {
		t.Errorf("ip addr in %s: got %q, want %q\n%s", h.Name, ifnames, want, out)
	}
	if !strings.Contains(out, "brd 10.77.0.255") {
		t.Errorf("ip addr in %s: no brd 10.77.0.255 in\n%s", h.Name, out)
	}

	if out, err := h.Run(t, "false"); err == nil {
		t.Errorf("Run(false): got no error, output %q", out)
	}
}

// TestNSStartKill checks that a process still running at cleanup is killed.
func TestNSStartKill(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	var cmd *exec.Cmd
	t.Run("start", func(t *testing.T) {
		cmd = exec.Command("sleep", "60")
		if err := lab.Hosts[0].Start(t, cmd); err != nil {
			t.Fatal(err)
		}
		if link, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"); err != nil {
			t.Error(err)
		} else if self, err := os.Readlink("/proc/self/ns/net"); err != nil {
			t.Error(err)
		} else if link == self {
			t.Errorf("child in namespace %s, the test's own", link)
		}
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want killed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sleep still running after its test ended")
	}
}

func TestNSDo(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h := lab.Hosts[1]

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()

	var ifs []net.Interface
	h.Do(t, func() { ifs, err = net.Interfaces() })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ifc := range ifs {
		names = append(names, ifc.Name)
	}
	if !slices.Equal(names, []string{"lo", "eth0"}) {
		t.Errorf("interfaces inside Do: got %v, want [lo eth0]", names)
	}

	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !after.Equal(before) {
		t.Errorf("namespace after Do: got %v, want %v", after, before)
	}
}

func TestNSSetLink(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	a, b := lab.Hosts[0], lab.Hosts[1]
	ca := listen(t, a, ":0")
	cb := listen(t, b, anyPort)
	send(t, ca, "1", b.Addr("eth0"))
	expect(t, cb, "1", a.Addr("eth0"))

	a.SetLink(t, "eth0", false)
	if _, err := ca.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(b.Addr("eth0"), port)); err == nil {
		t.Errorf("send with eth0 down: got no error")
	}
	a.SetLink(t, "eth0", true)
	send(t, ca, "2", b.Addr("eth0"))
	expect(t, cb, "2", a.Addr("eth0"))
}

// TestNSCleanup checks that a lab leaves no file descriptor behind. It does
// not run in parallel, so no other test opens or closes descriptors meanwhile.
func TestNSCleanup(t *testing.T) {
	build := func(t *testing.T) {
		lab := netnstest.New(t, 2)
		h := lab.Hosts[0]
		if _, err := h.ListenPacket(t.Context(), "udp4", ":0"); err != nil { // closed by the lab
			t.Fatal(err)
		}
		if _, err := h.Lister(t).Interfaces(); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "60")
		t.Cleanup(func() { cmd.Wait() }) // runs after Start's cleanup kills it
		if err := h.Start(t, cmd); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("warm up", build)
	before := fds(t)
	t.Run("lab", build)
	if after := fds(t); after != before {
		t.Errorf("open descriptors: got %d after a lab, want %d", after, before)
	}
}

func fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
