package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
)

// TestNSMDNSListHearsUnicastBesideWatch: a one-shot "list --mdns" hears
// every unicast answer to its questions while "watch --mdns" of the same
// user (both root) holds port 5353 on the same host. The responders on h1
// answer only by unicast to the querier's port 5353, as Avahi answers a
// question with the unicast-response bit right after it multicast the
// records: eight services, each from an address of its own, so that
// sockets of one SO_REUSEPORT group would each get some of the answers
// (the kernel picks a member by a hash of the sender's address and port;
// all eight to the list: 1 in 256). The list's socket has no SO_REUSEPORT
// (browse.Config.NoReusePort), so it is outside that group and, as the
// newest socket on the port, gets every unicast answer. So does each
// resolve's.
func TestNSMDNSListHearsUnicastBesideWatch(t *testing.T) {
	t.Parallel()
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	const services = 8
	var addrs []netip.Addr
	for i := range services {
		a := netip.AddrFrom4([4]byte{10, 77, 0, byte(100 + i)})
		if out, err := h1.Run(t, "ip", "addr", "add", a.String()+"/24", "dev", "eth0"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		addrs = append(addrs, a)
	}
	answered, errs := unicastResponder(t, h1, h0.Addr("eth0"), addrs)

	// watch (no resident: TestMain sets LANFIND_SOCKET='') holds port
	// 5353 on h0 in root's SO_REUSEPORT group before the list opens its
	// socket there.
	w := startWatch(t, h0, "--mdns", "--json")
	got := list(t, h0, "--mdns", "--type", "http")
	select {
	case err := <-errs:
		t.Fatalf("responder: %v", err)
	default:
	}
	t.Logf("the responders answered %d queries of h0", answered.Load())

	want := map[string]string{}
	for i, a := range addrs {
		want[fmt.Sprintf("web %d", i)] = a.String()
	}
	heard := map[string]string{}
	for _, s := range got {
		if s.Source == "mdns" && s.Type == "http" {
			heard[s.Name] = s.Addr
		}
	}
	var missing []string
	for name, addr := range want {
		if heard[name] != addr {
			missing = append(missing, fmt.Sprintf("%s at %s", name, addr))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("list --mdns --type http beside watch --mdns: missing %d of %d: %v; got %v",
			len(missing), services, missing, names(got))
	}
	// resolve asks with the unicast-response bit too: each name, one of
	// them answered from an address of its own.
	for i, a := range addrs {
		name := fmt.Sprintf("web %d", i)
		r := runIn(t, h0, "resolve", "--mdns", "--type", "http", "--timeout", "2s", name)
		if want := fmt.Sprintf("%v:%d\n", a, 8000+i); r.code != 0 || r.stdout != want {
			t.Errorf("resolve --mdns %q beside watch --mdns: exit %d, got %q, want %q",
				name, r.code, r.stdout, want)
		}
	}
	select {
	case <-w.done:
		t.Errorf("%s exited during the list: %s", w.desc, w.cmd.ProcessState)
	default:
	}

	// A socket of root with SO_REUSEPORT but not SO_REUSEADDR on 5353
	// (as older mDNSResponder builds open theirs) lets only its group
	// bind beside it: the list joins it, as every lanfind socket did
	// before, instead of losing IPv4. In that group the responders'
	// unicast answers are hashed over the three sockets (this one,
	// watch's and the list's), so the list may find none of the eight
	// (exit 1, about 4 % of runs): only an error (exit 2) is a failure.
	holdReusePortOnly(t, h0, "udp4", "0.0.0.0:5353")
	r := runIn(t, h0, "list", "-v", "--json", "--mdns", "--type", "http")
	if r.code == 2 {
		t.Fatalf("%s: exit 2 beside a socket with SO_REUSEPORT only:\n%s", r.desc, r.stderr)
	}
	fellBack := strings.Contains(r.stderr, "joining its SO_REUSEPORT group")
	if !fellBack || strings.Contains(r.stderr, "skipped") {
		t.Errorf("%s: want the fallback to SO_REUSEPORT logged and no family skipped:\n%s",
			r.desc, r.stderr)
	}
	t.Logf("beside a socket with SO_REUSEPORT only, the list found %v", names(decodeList(t, r)))
}

// holdReusePortOnly binds address in h with a socket that has SO_REUSEPORT
// but not SO_REUSEADDR, open until t ends.
func holdReusePortOnly(t *testing.T, h *netnstest.Host, network, address string) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	var pc net.PacketConn
	var err error
	h.Do(t, func() { pc, err = lc.ListenPacket(t.Context(), network, address) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
}

// unicastResponder answers every query from querier for PTR
// _http._tcp.local on h1 by unicast to the query's source address and
// port, once from each of addrs (addresses of h1): from addrs[i], with
// the PTR, SRV, TXT and A records of service "web i" on host "host-i"
// at addrs[i]. It reports how many queries it answered, and its first
// error on errs; it stops at cleanup.
func unicastResponder(t *testing.T, h1 *netnstest.Host, querier netip.Addr, addrs []netip.Addr) (
	answered *atomic.Int64, errs <-chan error) {
	t.Helper()
	l, _ := mdnslab.Peer(t, h1)
	var from []udp.Conn
	var answers [][]byte
	http := mdns.ServiceType{Name: "http", Proto: "tcp"}
	for i, a := range addrs {
		src := netip.AddrPortFrom(a, mdns.Port)
		c, err := udp.Listen(t.Context(), src, udp.Options{ListenPacket: h1.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		from = append(from, c)
		instance := mdns.InstanceName(fmt.Sprintf("web %d", i), http)
		host := fmt.Sprintf("host-%d.%s", i, mdns.Domain)
		m := mdns.Message{
			Response: true,
			Answers: []mdns.Record{{
				Name:   http.FQDN(),
				Type:   dnsmessage.TypePTR,
				TTL:    120,
				Target: instance,
			}},
			Additionals: []mdns.Record{{
				Name:   instance,
				Type:   dnsmessage.TypeSRV,
				Flush:  true,
				TTL:    120,
				Target: host,
				Port:   uint16(8000 + i),
			}, {
				Name:  instance,
				Type:  dnsmessage.TypeTXT,
				Flush: true,
				TTL:   120,
				Text:  []string{"path=/"},
			}, {
				Name:  host,
				Type:  dnsmessage.TypeA,
				Flush: true,
				TTL:   120,
				Addr:  a,
			}},
		}
		b, err := m.AppendPack(nil)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, b)
	}
	answered = new(atomic.Int64)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		b := make([]byte, mdns.MaxMessage+1)
		for {
			n, src, _, err := l.ReadFrom(b)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				errc <- err
				return
			}
			m, err := mdns.Parse(b[:n])
			asks := func(q mdns.Question) bool {
				return q.Type == dnsmessage.TypePTR && mdns.EqualNames(q.Name, http.FQDN())
			}
			if err != nil || m.Response || src.Addr() != querier || !slices.ContainsFunc(m.Questions, asks) {
				continue
			}
			for i, c := range from {
				if _, err := c.WriteTo(answers[i], src, 0); err != nil {
					errc <- fmt.Errorf("answer from %v to %v: %w", addrs[i], src, err)
					return
				}
			}
			answered.Add(1)
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return answered, errc
}
