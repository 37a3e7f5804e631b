package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSIPv6OnlyCLI: on a segment without IPv4, list finds the services,
// resolve prints [addr]:port with the announcer's unique local address,
// JSON keeps plain address strings and seen says the path was IPv6 (from
// that address, not the link-local one), and
// the table brackets the address.
func TestNSIPv6OnlyCLI(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv6, netnstest.StackIPv6, netnstest.StackIPv6)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h1, "--name", "db", "--port", "5432")
	startAnnouncer(t, h2, "--name", "web", "--port", "80")

	ss := list(t, h0)
	if got := names(ss); !slices.Equal(got, []string{"db", "web"}) {
		t.Fatalf("list: got %v, want [db web]", got)
	}
	for i, s := range ss {
		h := lab.Hosts[1+i]
		if s.Addr != h.Addr6("eth0").String() || len(s.Addrs) == 0 || s.Addrs[0] != s.Addr {
			t.Errorf("%s: addr %q addrs %v, want %v first",
				s.Name, s.Addr, s.Addrs, h.Addr6("eth0"))
		}
		// Sent from the address the records list, not the link-local one.
		want := []seenPath{{"eth0", h.Addr6("eth0").String(), "ipv6"}}
		if !slices.Equal(s.Seen, want) {
			t.Errorf("%s: seen %+v, want %+v", s.Name, s.Seen, want)
		}
	}

	r := runCode(t, h0, 0, "resolve", "db")
	if want := "[" + h1.Addr6("eth0").String() + "]:5432\n"; r.stdout != want {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, want)
	}
	// No IPv4 here: IPv4 only leaves no usable interface.
	r = runCode(t, h0, 2, "resolve", "db", "--family", "4", "--timeout", "500ms")
	if r.stdout != "" || !strings.Contains(r.stderr, "eth0: no address") {
		t.Errorf("%s: got %q, %q; want nothing, and eth0 without an address",
			r.desc, r.stdout, r.stderr)
	}
	r = runCode(t, h0, 0, "list", "--no-color")
	if want := "[" + h1.Addr6("eth0").String() + "]"; !strings.Contains(r.stdout, want) {
		t.Errorf("%s: table %q lacks %s", r.desc, r.stdout, want)
	}
	r = runCode(t, h0, 0, "iface", "--json")
	prefix := `"prefix":"` + h0.Prefix6("eth0").String() + `"`
	if !strings.Contains(r.stdout, prefix) || !strings.Contains(r.stdout, `"[ff02::efff:4646]:28471"`) {
		t.Errorf("%s: got %s, want the IPv6 address and the IPv6 group as a target",
			r.desc, r.stdout)
	}
}

// TestNSDualStackCLI: on a dual-stack segment one instance is one result
// with both families' addresses and paths; --family picks one, and the
// IPv6 one prints as [addr]:port.
func TestNSDualStackCLI(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackDual, netnstest.StackDual)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--port", "5432", "--interval", "200ms")

	want4, want6 := h1.Addr("eth0").String(), h1.Addr6("eth0").String()
	// Wait until both families' paths are in (beacons every 200ms).
	var s service
	for range 20 {
		ss := list(t, h0, "--timeout", "1s")
		if len(ss) != 1 {
			t.Fatalf("list: got %v, want db once", names(ss))
		}
		s = ss[0]
		var fams []string
		for _, p := range s.Seen {
			fams = append(fams, p.Family)
		}
		if slices.Contains(fams, "ipv4") && slices.Contains(fams, "ipv6") {
			break
		}
	}
	if !slices.Equal(s.Addrs, []string{want4, want6}) || s.Addr != want4 {
		t.Errorf("list: addr %q addrs %v, want %s first, then %s", s.Addr, s.Addrs, want4, want6)
	}
	if r := runCode(t, h0, 0, "resolve", "db"); r.stdout != want4+":5432\n" {
		t.Errorf("%s: got %q, want %s:5432 (IPv4 first by default)", r.desc, r.stdout, want4)
	}
	if r := runCode(t, h0, 0, "resolve", "db", "--family", "6"); r.stdout != "["+want6+"]:5432\n" {
		t.Errorf("%s: got %q, want [%s]:5432", r.desc, r.stdout, want6)
	}
	if r := runCode(t, h0, 0, "resolve", "db", "--prefer-ipv6"); r.stdout != "["+want6+"]:5432\n" {
		t.Errorf("%s: got %q, want [%s]:5432", r.desc, r.stdout, want6)
	}
	ss := list(t, h0, "--family", "4")
	if len(ss) != 1 || ss[0].Addr != want4 || slices.ContainsFunc(ss[0].Addrs, func(a string) bool {
		return netip.MustParseAddr(a).Is6()
	}) {
		t.Errorf("list --family 4: got %+v, want db with IPv4 addresses only", ss)
	}
	runCode(t, h0, 2, "list", "--family", "6", "--no-ipv6")
	runCode(t, h0, 2, "list", "--no-ipv4", "--no-ipv6")
}
