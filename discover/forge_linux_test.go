package discover_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"encoding/binary"

	"golang.org/x/net/ipv4"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// The attacks of a LAN host without a key on listeners in clear mode, each
// as the hardening review described it. The attacker reads every clear
// beacon (they are broadcast) and sends what it likes.

// spoofer sends UDP datagrams with any source address from a lab host,
// through a raw socket that writes the IP header itself.
type spoofer struct{ c *ipv4.RawConn }

func newSpoofer(t *testing.T, h *netnstest.Host) *spoofer {
	t.Helper()
	var pc net.PacketConn
	var err error
	h.Do(t, func() { pc, err = net.ListenPacket("ip4:udp", "0.0.0.0") })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c, err := ipv4.NewRawConn(pc)
	if err != nil {
		t.Fatal(err)
	}
	return &spoofer{c}
}

// send sends b from src to dst (UDP checksum 0: none).
func (s *spoofer) send(t *testing.T, b beacon.Beacon, src, dst netip.AddrPort) {
	t.Helper()
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	udp := binary.BigEndian.AppendUint16(nil, src.Port())
	udp = binary.BigEndian.AppendUint16(udp, dst.Port())
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(p)))
	udp = append(binary.BigEndian.AppendUint16(udp, 0), p...)
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TotalLen: ipv4.HeaderLen + len(udp),
		TTL: 64, Protocol: 17, Src: src.Addr().AsSlice(), Dst: dst.Addr().AsSlice()}
	if err := s.c.WriteTo(h, udp, nil); err != nil {
		t.Fatalf("spoofer: send from %v to %v: %v", src, dst, err)
	}
}

// watchLog records the events of a Run.
type watchLog struct {
	mu  sync.Mutex // guards evs
	evs []discover.Event
}

func (w *watchLog) add(ev discover.Event) {
	w.mu.Lock()
	w.evs = append(w.evs, ev)
	w.mu.Unlock()
}

// live returns the services up now, by name, as the events tell.
func (w *watchLog) live() map[string]discover.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]discover.Result{}
	for _, ev := range w.evs {
		k := fmt.Sprintf("%s/%016x", ev.Service.Name, ev.Service.Sender)
		if ev.Kind == discover.EventDown {
			delete(m, k)
		} else {
			m[k] = ev.Service
		}
	}
	out := map[string]discover.Result{}
	for _, r := range m {
		if old, ok := out[r.Name]; !ok || r.LastSeen.After(old.LastSeen) {
			out[r.Name] = r
		}
	}
	return out
}

// runWatch runs a Listener on h with Run until the test ends.
func runWatch(t *testing.T, h *netnstest.Host, cfg discover.Config) (*discover.Listener, *watchLog) {
	t.Helper()
	cfg.ListenPacket, cfg.Lister = h.ListenPacket, h.Lister(t)
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	l, err := discover.New(cfg)
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	w := &watchLog{}
	runInBackground(t, "watch Run", func(ctx context.Context) error { return l.Run(ctx, w.add) })
	return l, w
}

// waitLive waits until cond holds for the live services, for 5s at most.
func (w *watchLog) waitLive(t *testing.T, what string, cond func(map[string]discover.Result) bool) {
	t.Helper()
	waitFor(t, what, func() bool { return cond(w.live()) })
}

// TestNSBroadcastSourceRefused: beacons sent from the subnet's broadcast
// address and from its network address (forged by an attacker's raw
// socket) are not listed; a service at such an address would make a
// UDP client broadcast its data to the whole LAN.
func TestNSBroadcastSourceRefused(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	l, w := runWatch(t, h0, discover.Config{})
	evil := newSpoofer(t, h1)
	from := func(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, beacon.DefaultPort) }
	bcast, network := h1.Broadcast("eth0"), h1.Prefix("eth0").Masked().Addr()
	dst := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	rec := func(name string, sender uint64) beacon.Beacon {
		return beacon.Beacon{Kind: beacon.KindAnnounce, Sender: sender, Seq: 1,
			Services: []beacon.Service{{Instance: sender, Name: name, Port: 514, TTL: time.Minute}}}
	}
	evil.send(t, rec("from-broadcast", 1), from(bcast), dst)
	evil.send(t, rec("from-network", 2), from(network), dst)
	evil.send(t, rec("from-host", 3), from(h1.Addr("eth0")), dst) // after the others
	w.waitLive(t, "from-host up", func(m map[string]discover.Result) bool { return m["from-host"].Name != "" })
	live := w.live()
	for _, name := range []string{"from-broadcast", "from-network"} {
		if r, ok := live[name]; ok {
			t.Errorf("%s listed at %v, want it refused", name, r.AddrPort())
		}
	}
	if st := l.Stats(); st.OffLink != 2 {
		t.Errorf("got off_link=%d, want 2 (both refused beacons counted)", st.OffLink)
	}
}
